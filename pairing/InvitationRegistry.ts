/**
 * The inviter's invitation registry (DESIGN §4). Entries are keyed by
 * inviteId = HMAC-SHA256(token, "kith invite id")[0..16], and hold a random nonce instead of
 * the token: token = HMAC-SHA256(registryKey, nonce), where registryKey is derived from this
 * instance's static secret. So the registry survives restarts, and a copy of the state file
 * alone cannot redeem anything.
 *
 * Rules: one-time (consumed atomically with storing the contact, see PairingService), expiry
 * on this instance's clock, burned after INVITE_MAX_FAILED_ATTEMPTS failed attempts, listable
 * and revocable, at most MAX_OPEN_INVITES open at once.
 */
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { StateDocument } from '../shared/StateDocument.js';
import type { InviteLookup } from '../connections/Router.js';
import type { InviteId } from '../shared/ids.js';
import type { Invitation, InvitePurpose } from './invitation.js';
import { invitationToLink, invitationName } from './invitation.js';
import { deriveInviteSecrets } from '../connections/handshake.js';
import type { InviteRecord, InviteStatus, PairingDocument } from './records.js';
import { KithError, type ErrorCode } from '../shared/errors.js';
import { fromBase64url, toBase64url, toHex, utf8 } from '../shared/bytes.js';
import {
  INVITE_CLOSED_RETENTION_SECONDS, INVITE_DEFAULT_TTL_SECONDS, INVITE_MAX_FAILED_ATTEMPTS, INVITE_MAX_TTL_SECONDS, MAX_INVITE_RECORDS, MAX_OPEN_INVITES,
} from '../shared/limits.js';

const REGISTRY_INFO = utf8('kith invite registry');

export interface RegistryOptions {
  readonly crypto: CryptoProvider;
  /** This instance's X25519 static key pair: the public half goes into links, the secret half keys the registry. */
  readonly staticPublicKey: Uint8Array;
  readonly staticSecret: Uint8Array;
  /** Display name put into invitations. */
  readonly name: () => string;
  /** Endpoint URLs put into invitations (where this instance listens). */
  readonly endpoints: () => readonly string[];
  /** Clock in milliseconds. */
  readonly now: () => number;
}

/** An invitation as shown to the user who created it (the link is only available at creation). */
export interface InviteSummary {
  readonly inviteId: InviteId;
  readonly purpose: InvitePurpose;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** `expired` is computed from the clock; the others are stored. */
  readonly status: InviteStatus | 'expired';
  readonly failedAttempts: number;
}

export interface CreatedInvite extends InviteSummary {
  readonly invitation: Invitation;
  /** kith://pair/v1#… — contains the token: show it to the user, never log it. */
  readonly link: string;
}

export class InvitationRegistry {
  private readonly registryKey: Uint8Array;

  constructor(
    private readonly state: StateDocument<PairingDocument>,
    private readonly opts: RegistryOptions,
  ) {
    this.registryKey = opts.crypto.hkdfSha256(opts.staticSecret, new Uint8Array(0), REGISTRY_INFO, 32);
  }

  private nowSeconds(): number {
    return Math.floor(this.opts.now() / 1000);
  }

  /** Creates and persists a new invitation. TTL defaults to 10 minutes and is capped at a day. */
  async create(options: { purpose?: InvitePurpose; ttlSeconds?: number } = {}): Promise<CreatedInvite> {
    const purpose = options.purpose ?? 'contact';
    if (purpose !== 'contact' && purpose !== 'renderer') throw new KithError('INVALID_INPUT', 'purpose must be "contact" or "renderer"');
    const ttl = options.ttlSeconds ?? INVITE_DEFAULT_TTL_SECONDS;
    if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > INVITE_MAX_TTL_SECONDS) {
      throw new KithError('INVALID_INPUT', `ttl must be a whole number of seconds from 1 to ${INVITE_MAX_TTL_SECONDS}`);
    }
    const nonce = this.opts.crypto.randomBytes(16);
    const token = this.tokenFor(nonce);
    const { inviteId: idBytes } = deriveInviteSecrets(this.opts.crypto, token);
    const inviteId = toHex(idBytes) as InviteId;
    const createdAt = this.nowSeconds();
    const invitation: Invitation = {
      version: 1,
      purpose,
      token,
      inviterKey: this.opts.staticPublicKey,
      expiresAt: createdAt + ttl,
      name: invitationName(this.opts.name()),
      endpoints: [...this.opts.endpoints()],
    };
    const link = invitationToLink(invitation);
    const record: InviteRecord = { inviteId, nonce: toBase64url(nonce), purpose, createdAt, expiresAt: createdAt + ttl, failedAttempts: 0, status: 'open' };
    await this.state.update((doc) => {
      this.prune(doc);
      const open = doc.invites.filter((i) => this.statusOf(i) === 'open').length;
      if (open >= MAX_OPEN_INVITES) throw new KithError('INVALID_INPUT', `at most ${MAX_OPEN_INVITES} invitations may be open; revoke some first`);
      doc.invites.push(record);
    });
    return { ...this.summarize(record), invitation, link };
  }

  /** Every invitation still remembered, newest first. */
  list(): InviteSummary[] {
    return this.state.data.invites.map((r) => this.summarize(r)).reverse();
  }

  /** Revokes an open invitation. INVITE_UNKNOWN if there is none with this id. */
  async revoke(inviteId: InviteId): Promise<InviteSummary> {
    return this.state.update((doc) => {
      const record = doc.invites.find((r) => r.inviteId === inviteId);
      if (!record) throw new KithError('INVITE_UNKNOWN');
      if (record.status === 'open') {
        record.status = 'revoked';
        record.closedAt = this.nowSeconds();
      }
      return this.summarize(record);
    });
  }

  /** The router's question, answered from memory before any DH work. */
  lookup(inviteId: InviteId): InviteLookup {
    const record = this.state.data.invites.find((r) => r.inviteId === inviteId);
    if (!record) return { ok: false, code: 'INVITE_UNKNOWN' };
    const refusal = this.refusalFor(record);
    if (refusal) return { ok: false, code: refusal };
    const { psk, macKey } = deriveInviteSecrets(this.opts.crypto, this.tokenFor(fromBase64url(record.nonce)));
    return { ok: true, psk, macKey };
  }

  /** Counts a failed attempt; the invitation burns after INVITE_MAX_FAILED_ATTEMPTS. */
  async recordFailure(inviteId: InviteId): Promise<void> {
    await this.state.update((doc) => {
      const record = doc.invites.find((r) => r.inviteId === inviteId);
      if (!record || record.status !== 'open') return;
      record.failedAttempts++;
      if (record.failedAttempts >= INVITE_MAX_FAILED_ATTEMPTS) {
        record.status = 'burned';
        record.closedAt = this.nowSeconds();
      }
    });
  }

  /** The purpose of a remembered invitation. */
  purposeOf(inviteId: InviteId): InvitePurpose | undefined {
    return this.state.data.invites.find((r) => r.inviteId === inviteId)?.purpose;
  }

  /**
   * Inside a state update: checks the invitation is still redeemable on this clock and marks
   * it used. Throws the precise code otherwise (the caller's update then changes nothing).
   */
  consumeIn(doc: PairingDocument, inviteId: InviteId, usedBy: string): InviteRecord {
    const record = doc.invites.find((r) => r.inviteId === inviteId);
    if (!record) throw new KithError('INVITE_UNKNOWN');
    const refusal = this.refusalFor(record);
    if (refusal) throw new KithError(refusal);
    record.status = 'used';
    record.usedBy = usedBy as InviteRecord['usedBy'];
    record.closedAt = this.nowSeconds();
    return record;
  }

  private tokenFor(nonce: Uint8Array): Uint8Array {
    return this.opts.crypto.hmacSha256(this.registryKey, nonce);
  }

  private statusOf(record: InviteRecord): InviteStatus | 'expired' {
    if (record.status === 'open' && this.nowSeconds() >= record.expiresAt) return 'expired';
    return record.status;
  }

  private refusalFor(record: InviteRecord): ErrorCode | undefined {
    switch (this.statusOf(record)) {
      case 'open':
        return undefined;
      case 'expired':
        return 'INVITE_EXPIRED';
      case 'used':
        return 'INVITE_USED';
      case 'revoked':
        return 'INVITE_REVOKED';
      case 'burned':
        return 'TOO_MANY_ATTEMPTS';
    }
  }

  private summarize(r: InviteRecord): InviteSummary {
    return { inviteId: r.inviteId, purpose: r.purpose, createdAt: r.createdAt, expiresAt: r.expiresAt, status: this.statusOf(r), failedAttempts: r.failedAttempts };
  }

  /** Drops closed or long-expired invitations past their retention, and caps the list. */
  private prune(doc: PairingDocument): void {
    const now = this.nowSeconds();
    doc.invites = doc.invites.filter((r) => {
      const closedAt = r.closedAt ?? (now >= r.expiresAt ? r.expiresAt : undefined);
      return closedAt === undefined || now - closedAt < INVITE_CLOSED_RETENTION_SECONDS;
    });
    while (doc.invites.length >= MAX_INVITE_RECORDS) {
      const i = doc.invites.findIndex((r) => this.statusOf(r) !== 'open');
      if (i < 0) break;
      doc.invites.splice(i, 1);
    }
  }
}
