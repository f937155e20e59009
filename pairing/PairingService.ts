/**
 * Pairing (DESIGN §6) on both sides.
 *
 * Inviter (this class is the router's PairingGate): after the IKpsk2 handshake and the
 * invitee's key confirmation, read pair-hello; verify the identity, that its instance key is
 * the key the handshake proved, and its binding to this handshake; optionally ask the user
 * ("Pair with NAME? code 123456"); then consume the invitation and store the contact in ONE
 * atomic state update; answer pair-welcome. Any failure answers pair-error with its code and
 * closes, so the invitee learns why.
 *
 * Invitee (`acceptInvitation`): parse the link, dial its endpoints with IKpsk2 pinned to the
 * link's key, send pair-hello, verify pair-welcome (the inviter's instance key must be the
 * link's key), store the contact.
 *
 * On success both sides keep the session: it is adopted by the ConnectionsModel as the
 * peer's regular session and CHUM starts on it.
 */
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { ConnectionsModel } from '../connections/ConnectionsModel.js';
import type { InviteLookup, PairingGate, PeerRef } from '../connections/Router.js';
import type { SecureSession } from '../connections/SecureSession.js';
import type { StateDocument } from '../shared/StateDocument.js';
import type { LocalIdentity, VerifiedIdentity } from '../shared/identity.js';
import type { InviteId } from '../shared/ids.js';
import type { InvitationRegistry } from './InvitationRegistry.js';
import type { Contacts, ContactSummary } from './Contacts.js';
import type { PairingDocument, Relation } from './records.js';
import { verifyIdentity } from '../shared/identity.js';
import { parseInvitationLink, type InvitePurpose } from './invitation.js';
import {
  decodePairingMessage, encodePairingMessage, shortAuthString, signBinding, verifyBinding,
  type PairError, type PairHello, type PairWelcome,
} from './protocol.js';
import { TypedEmitter } from '../shared/events.js';
import { KithError, toKithError, type ErrorCode } from '../shared/errors.js';
import { HANDSHAKE_DEADLINE_MS, MAX_PAIR_ERROR_MESSAGE_LENGTH, PAIRING_CONFIRM_TIMEOUT_MS } from '../shared/limits.js';

/** What the inviter's user is asked before a pairing completes. */
export interface PairingRequest {
  readonly name: string;
  readonly personId: string;
  readonly instanceName: string;
  readonly purpose: InvitePurpose;
  /** 6 digits both screens can show to rule out a man in the middle. */
  readonly sas: string;
}

export interface PairedEvent {
  readonly role: 'inviter' | 'invitee';
  readonly contact: ContactSummary;
  readonly peer: PeerRef;
  readonly sas: string;
}

export interface PairingFailedEvent {
  readonly role: 'inviter' | 'invitee';
  readonly code: ErrorCode;
  readonly message: string;
}

export interface PairingEvents {
  [event: string]: unknown;
  paired: PairedEvent;
  failed: PairingFailedEvent;
}

export interface PairingServiceOptions {
  readonly crypto: CryptoProvider;
  readonly identity: LocalIdentity;
  readonly state: StateDocument<PairingDocument>;
  readonly registry: InvitationRegistry;
  readonly contacts: Contacts;
  readonly model: () => ConnectionsModel;
  /** Where we listen (sent to the peer so it can dial us back); empty for dial-only instances. */
  readonly endpoints: () => readonly string[];
  readonly now: () => number;
  /** Asked on the inviter side before completing; resolve false to decline. Omit to accept. */
  readonly confirm?: (request: PairingRequest) => Promise<boolean>;
  readonly confirmTimeoutMs?: number;
  /** How long the invitee waits for the inviter's answer (covers the inviter's confirmation). */
  readonly responseTimeoutMs?: number;
}

export class PairingService implements PairingGate {
  readonly events = new TypedEmitter<PairingEvents>();

  constructor(private readonly opts: PairingServiceOptions) {}

  // ---- PairingGate (inviter side) ----------------------------------------------------

  lookup(inviteId: InviteId): InviteLookup {
    return this.opts.registry.lookup(inviteId);
  }

  recordFailure(inviteId: InviteId): Promise<void> {
    return this.opts.registry.recordFailure(inviteId);
  }

  accept(inviteId: InviteId, session: SecureSession): void {
    void this.runInviter(inviteId, session);
  }

  private async runInviter(inviteId: InviteId, session: SecureSession): Promise<void> {
    const { crypto } = this.opts;
    try {
      const hello = decodePairingMessage<PairHello>(await receiveOne(session, HANDSHAKE_DEADLINE_MS), ['pair-hello']);
      const peer = await verifyIdentity(crypto, hello.identity, session.info.remoteStatic);
      await verifyBinding(crypto, peer.personSignKey, 'invitee', session.info.handshakeHash, peer.staticKey, hello.binding);
      if (this.opts.contacts.isRevoked(peer.personId)) throw new KithError('CONTACT_REVOKED');
      const purpose = this.opts.registry.purposeOf(inviteId) ?? 'contact';
      const precheck = this.opts.registry.lookup(inviteId);
      if (!precheck.ok) throw new KithError(precheck.code);
      const sas = shortAuthString(crypto, session.info.handshakeHash);
      if (this.opts.confirm) {
        const yes = await withTimeout(
          this.opts.confirm({ name: peer.name, personId: peer.personId, instanceName: peer.instanceName, purpose, sas }),
          this.opts.confirmTimeoutMs ?? PAIRING_CONFIRM_TIMEOUT_MS,
        );
        if (!yes) throw new KithError('PAIRING_DECLINED');
      }
      const relation: Relation = purpose === 'renderer' ? 'renderer' : 'contact';
      await this.opts.state.update((doc) => {
        this.opts.registry.consumeIn(doc, inviteId, peer.personId);
        this.opts.contacts.upsertIn(doc, peer, { relation, endpoints: hello.endpoints, via: 'invited', inviteId });
      });
      const welcome: PairWelcome = {
        t: 'pair-welcome',
        identity: this.opts.identity.public,
        endpoints: [...this.opts.endpoints()],
        binding: await signBinding(crypto, this.opts.identity, 'inviter', session.info.handshakeHash),
      };
      await session.send(encodePairingMessage(welcome));
      this.finish('inviter', session, peer, sas);
    } catch (err) {
      // Everything the peer can get wrong throws a KithError with its code; anything else is
      // ours (a failed state write, say): INTERNAL, which is not held against the invitation.
      const e = toKithError(err, 'INTERNAL');
      if (e.code === 'IDENTITY_INVALID' || e.code === 'KEY_MISMATCH' || e.code === 'CERTIFICATE_INVALID' || e.code === 'PROTOCOL_ERROR') {
        await this.opts.registry.recordFailure(inviteId).catch(() => {});
      }
      await this.refuse(session, e);
      this.events.emit('failed', { role: 'inviter', code: e.code, message: e.message });
    }
  }

  // ---- invitee side ------------------------------------------------------------------

  /**
   * Redeems an invitation link: connects to the inviter, exchanges identities and stores the
   * contact. Rejects with the inviter's reason (INVITE_EXPIRED, INVITE_USED, …), KEY_MISMATCH
   * when the other side is not who the link names, or UNREACHABLE.
   */
  async acceptInvitation(link: string): Promise<PairedEvent> {
    const { crypto } = this.opts;
    try {
      const invitation = parseInvitationLink(link, { nowSeconds: Math.floor(this.opts.now() / 1000) });
      if (this.opts.contacts.lookup(invitation.inviterKey).kind === 'revoked') throw new KithError('CONTACT_REVOKED');
      if (invitation.endpoints.length === 0) throw new KithError('UNREACHABLE', 'the invitation names no address to connect to');
      const session = await this.connect(invitation.endpoints, invitation.inviterKey, invitation.token);
      try {
        const hello: PairHello = {
          t: 'pair-hello',
          identity: this.opts.identity.public,
          endpoints: [...this.opts.endpoints()],
          binding: await signBinding(crypto, this.opts.identity, 'invitee', session.info.handshakeHash),
        };
        await session.send(encodePairingMessage(hello));
        const answer = decodePairingMessage<PairWelcome | PairError>(
          await receiveOne(session, this.opts.responseTimeoutMs ?? (this.opts.confirmTimeoutMs ?? PAIRING_CONFIRM_TIMEOUT_MS) + HANDSHAKE_DEADLINE_MS),
          ['pair-welcome', 'pair-error'],
        );
        if (answer.t === 'pair-error') throw new KithError(answer.code, answer.message);
        const peer = await verifyIdentity(crypto, answer.identity, invitation.inviterKey);
        await verifyBinding(crypto, peer.personSignKey, 'inviter', session.info.handshakeHash, peer.staticKey, answer.binding);
        const relation: Relation = invitation.purpose === 'renderer' ? 'main' : 'contact';
        await this.opts.state.update((doc) => {
          this.opts.contacts.upsertIn(doc, peer, { relation, endpoints: answer.endpoints, via: 'accepted' });
        });
        return this.finish('invitee', session, peer, shortAuthString(crypto, session.info.handshakeHash));
      } catch (err) {
        const e = toKithError(err, 'INTERNAL');
        session.close(e.code);
        throw e;
      }
    } catch (err) {
      const e = toKithError(err, 'INTERNAL');
      this.events.emit('failed', { role: 'invitee', code: e.code, message: e.message });
      throw e;
    }
  }

  /** Tries each endpoint in order; a definitive answer from the inviter stops the search. */
  private async connect(endpoints: readonly string[], inviterKey: Uint8Array, token: Uint8Array): Promise<SecureSession> {
    let last: KithError = new KithError('UNREACHABLE');
    for (const url of endpoints) {
      try {
        return await this.opts.model().connectForPairing(url, inviterKey, token);
      } catch (err) {
        last = toKithError(err, 'UNREACHABLE');
        if (last.code !== 'UNREACHABLE' && last.code !== 'HANDSHAKE_TIMEOUT' && last.code !== 'PEER_CLOSED') throw last;
      }
    }
    throw last.code === 'UNREACHABLE' ? last : new KithError('UNREACHABLE', last.message);
  }

  private finish(role: 'inviter' | 'invitee', session: SecureSession, peer: VerifiedIdentity, sas: string): PairedEvent {
    const ref: PeerRef = { instanceId: peer.instanceId, personId: peer.personId, name: peer.name, staticKey: peer.staticKey };
    const contact = this.opts.contacts.get(peer.personId)!;
    this.opts.model().adopt(session, ref);
    const event: PairedEvent = { role, contact, peer: ref, sas };
    this.events.emit('paired', event);
    return event;
  }

  private async refuse(session: SecureSession, e: KithError): Promise<void> {
    if (session.isClosed) return;
    const message: PairError = { t: 'pair-error', code: e.code, message: e.message.slice(0, MAX_PAIR_ERROR_MESSAGE_LENGTH) };
    await session.send(encodePairingMessage(message)).catch(() => {});
    session.close(e.code);
  }
}

/** Receives exactly one message, then leaves the session without a handler (later messages queue for CHUM). */
function receiveOne(session: SecureSession, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new KithError('TIMEOUT', 'the other side did not answer in time'));
    }, timeoutMs);
    const offClose = session.events.once('close', (c) => {
      cleanup();
      reject(new KithError(c.code === 'NORMAL' ? 'PEER_CLOSED' : c.code, c.message));
    });
    const cleanup = () => {
      clearTimeout(timer);
      offClose();
      session.setHandler(undefined);
    };
    session.setHandler((message) => {
      cleanup();
      resolve(message);
    });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new KithError('TIMEOUT', 'nobody confirmed the pairing in time')), ms);
    promise.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

