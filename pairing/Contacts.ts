/**
 * Contacts (DESIGN §6): people we paired with, their instances with keys and endpoints, how
 * and when each was paired. Re-pairing a known person updates the record instead of adding
 * a second one. Revocation is durable: a revoked person's instances are refused by the
 * listener and not dialed, across restarts, and a later pairing does not undo it — only an
 * explicit `unrevoke` does.
 *
 * Also the PeerDirectory the router asks about every proven static key, and the list of
 * dial targets. Both are answered from an index rebuilt on each committed change.
 */
import type { StateDocument } from '../shared/StateDocument.js';
import type { PeerDecision, PeerDirectory, PeerRef } from '../connections/Router.js';
import type { DialTarget } from '../connections/Dialer.js';
import type { VerifiedIdentity } from '../shared/identity.js';
import type { PersonId } from '../shared/ids.js';
import type { ContactRecord, PairingDocument, Relation } from './records.js';
import { MAX_CONTACTS, MAX_INSTANCES_PER_CONTACT, MAX_REVOKE_REASON_LENGTH } from '../shared/limits.js';
import { KithError } from '../shared/errors.js';
import { fromBase64url, toHex } from '../shared/bytes.js';

interface IndexEntry {
  readonly contact: ContactRecord;
  readonly peer: PeerRef;
  readonly endpoints: readonly string[];
}

export interface ContactSummary {
  readonly personId: PersonId;
  readonly name: string;
  readonly relation: Relation;
  readonly revoked: boolean;
  readonly pairedAt: number;
  readonly instances: ReadonlyArray<{ instanceId: string; name: string; staticKey: string; endpoints: readonly string[]; via: string; pairedAt: number }>;
}

export class Contacts implements PeerDirectory {
  private byKey = new Map<string, IndexEntry>();
  private revokedKeys = new Set<string>();

  constructor(private readonly state: StateDocument<PairingDocument>, private readonly now: () => number) {
    this.reindex(state.data);
    state.onChange((doc) => this.reindex(doc));
  }

  /** PeerDirectory: known, revoked or unknown. */
  lookup(staticKey: Uint8Array): PeerDecision {
    const key = toHex(staticKey);
    if (this.revokedKeys.has(key)) return { kind: 'revoked' };
    const entry = this.byKey.get(key);
    return entry ? { kind: 'known', peer: entry.peer } : { kind: 'unknown' };
  }

  /** Peers to keep connected: unrevoked contacts' instances that have endpoints. */
  dialTargets(): DialTarget[] {
    return [...this.byKey.values()].filter((e) => e.endpoints.length > 0).map((e) => ({ peer: e.peer, endpoints: e.endpoints }));
  }

  list(): ContactSummary[] {
    return this.state.data.contacts.map(summarize);
  }

  get(personId: PersonId): ContactSummary | undefined {
    const c = this.state.data.contacts.find((c) => c.personId === personId);
    return c ? summarize(c) : undefined;
  }

  /** The full stored record (identity objects included), for CHUM and verification. */
  record(personId: PersonId): Readonly<ContactRecord> | undefined {
    return this.state.data.contacts.find((c) => c.personId === personId);
  }

  isRevoked(personId: PersonId): boolean {
    return this.state.data.contacts.some((c) => c.personId === personId && c.revokedAt !== undefined);
  }

  /** Revokes a person: durable, and effective for the listener and dialer at once. */
  async revoke(personId: PersonId, reason?: string): Promise<ContactSummary> {
    return this.state.update((doc) => {
      const c = doc.contacts.find((c) => c.personId === personId);
      if (!c) throw new KithError('NOT_FOUND', 'no contact with this person id');
      c.revokedAt ??= this.now();
      if (reason !== undefined) c.revokeReason = reason.slice(0, MAX_REVOKE_REASON_LENGTH);
      c.updatedAt = this.now();
      return summarize(c);
    });
  }

  /** Lifts a revocation explicitly (the only way a revoked person can pair or connect again). */
  async unrevoke(personId: PersonId): Promise<ContactSummary> {
    return this.state.update((doc) => {
      const c = doc.contacts.find((c) => c.personId === personId);
      if (!c) throw new KithError('NOT_FOUND', 'no contact with this person id');
      delete c.revokedAt;
      delete c.revokeReason;
      c.updatedAt = this.now();
      return summarize(c);
    });
  }

  /**
   * Inside a state update: adds or updates the contact for a verified identity. Throws
   * CONTACT_REVOKED for a revoked person (pairing never lifts a revocation silently).
   */
  upsertIn(
    doc: PairingDocument,
    identity: VerifiedIdentity,
    details: { relation: Relation; endpoints: readonly string[]; via: 'invited' | 'accepted'; inviteId?: string },
  ): ContactRecord {
    const now = this.now();
    let contact = doc.contacts.find((c) => c.personId === identity.personId);
    if (contact?.revokedAt !== undefined) throw new KithError('CONTACT_REVOKED');
    const instance = {
      instanceId: identity.instanceId,
      instance: identity.identity.instance,
      certificate: identity.identity.certificate,
      endpoints: [...details.endpoints],
      pairedAt: now,
      via: details.via,
      ...(details.inviteId ? { inviteId: details.inviteId } : {}),
    };
    if (!contact) {
      if (doc.contacts.length >= MAX_CONTACTS) throw new KithError('INVALID_INPUT', `at most ${MAX_CONTACTS} contacts`);
      contact = {
        personId: identity.personId,
        person: identity.identity.person,
        profile: identity.identity.profile,
        relation: details.relation,
        instances: [instance],
        pairedAt: now,
        updatedAt: now,
      };
      doc.contacts.push(contact);
      return contact;
    }
    // Re-pairing: keep one record per person, replace the instance entry, keep the newest profile.
    if (identity.identity.profile.version >= contact.profile.version) contact.profile = identity.identity.profile;
    const i = contact.instances.findIndex((x) => x.instanceId === identity.instanceId);
    if (i >= 0) contact.instances[i] = instance;
    else {
      if (contact.instances.length >= MAX_INSTANCES_PER_CONTACT) contact.instances.shift();
      contact.instances.push(instance);
    }
    if (details.relation !== 'contact') contact.relation = details.relation;
    contact.updatedAt = now;
    return contact;
  }

  private reindex(doc: Readonly<PairingDocument>): void {
    const byKey = new Map<string, IndexEntry>();
    const revoked = new Set<string>();
    for (const contact of doc.contacts) {
      for (const inst of contact.instances) {
        const staticKey = fromBase64url(inst.instance.staticKey);
        const key = toHex(staticKey);
        if (contact.revokedAt !== undefined) {
          revoked.add(key);
          continue;
        }
        byKey.set(key, {
          contact,
          endpoints: inst.endpoints,
          peer: { instanceId: inst.instanceId, personId: contact.personId, name: contact.profile.name, staticKey },
        });
      }
    }
    this.byKey = byKey;
    this.revokedKeys = revoked;
  }
}

function summarize(c: Readonly<ContactRecord>): ContactSummary {
  return {
    personId: c.personId,
    name: c.profile.name,
    relation: c.relation,
    revoked: c.revokedAt !== undefined,
    pairedAt: c.pairedAt,
    instances: c.instances.map((i) => ({
      instanceId: i.instanceId,
      name: i.instance.name,
      staticKey: i.instance.staticKey,
      endpoints: i.endpoints,
      via: i.via,
      pairedAt: i.pairedAt,
    })),
  };
}
