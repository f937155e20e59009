/**
 * The NodeService of an Instance open in this process: `kith serve` answers the control
 * socket with it, and a command that finds nobody serving its home opens the home and uses
 * it directly. Everything it returns is plain JSON, the same whichever way a command got it.
 */
import type { Instance, ConnectionState } from '../../instance/Instance.js';
import type { ContactSummary } from '../../pairing/Contacts.js';
import type { InviteSummary } from '../../pairing/InvitationRegistry.js';
import type { InviteId, ObjectHash, PersonId } from '../../shared/ids.js';
import { KithError } from '../../shared/errors.js';
import { parseJson } from '../../shared/canonical.js';
import { assertKithObject } from '../../shared/objects.js';
import { MAX_JSON_OBJECT_FILE_BYTES, STORE_LIST_PAGE_ENTRIES } from '../../shared/limits.js';
import { CONTROL_PROTOCOL_VERSION } from './protocol.js';
import { readAllBounded } from '../readAll.js';
import type {
  AcceptResult, ContactListing, HelloResult, InviteListing, InviteResult, NodeService, ObjectHeader, ObjectListing, PutResult, StatusReport,
} from './NodeService.js';

export interface LocalNodeServiceOptions {
  /** The open instance. */
  readonly instance: Instance;
  /** True in `kith serve`: the node listens and dials, so connection states mean something. */
  readonly serving: boolean;
  /** The process id reported by `hello`. */
  readonly pid: number;
  /** Added to every invitation made here (a node that is not running cannot redeem it yet). */
  readonly inviteWarning?: string;
  /** Runs once on `close()` (a command that opened the home closes it and releases the lock here). */
  readonly onClose?: () => Promise<void>;
}

const iso = (ms: number) => new Date(ms).toISOString();

function inviteListing(s: InviteSummary): InviteListing {
  return {
    inviteId: s.inviteId,
    purpose: s.purpose,
    status: s.status,
    createdAt: iso(s.createdAt * 1000),
    expiresAt: iso(s.expiresAt * 1000),
    failedAttempts: s.failedAttempts,
  };
}

function contactListing(c: ContactSummary, states?: ReadonlyMap<string, ConnectionState>): ContactListing {
  return {
    personId: c.personId,
    name: c.name,
    relation: c.relation,
    revoked: c.revoked,
    pairedAt: iso(c.pairedAt),
    instances: c.instances.map((i) => {
      const s = states?.get(i.instanceId);
      return {
        instanceId: i.instanceId,
        name: i.name,
        endpoints: i.endpoints,
        ...(s ? { state: s.state, failures: s.failures, ...(s.lastError ? { lastError: s.lastError } : {}) } : {}),
      };
    }),
  };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

export class LocalNodeService implements NodeService {
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: LocalNodeServiceOptions) {}

  private get instance(): Instance {
    return this.opts.instance;
  }

  async hello(): Promise<HelloResult> {
    const url = this.instance.url;
    return { protocol: CONTROL_PROTOCOL_VERSION, instanceId: this.instance.identity.instanceId, pid: this.opts.pid, ...(url ? { listening: url } : {}) };
  }

  async invite(options: { ttlSeconds?: number }): Promise<InviteResult> {
    if (this.instance.whoami().endpoints.length === 0) {
      throw new KithError('UNREACHABLE', 'this node has never listened, so an invitation could name no address: start it with `kith serve` first');
    }
    const created = await this.instance.invite({ ttlSeconds: options.ttlSeconds });
    return {
      url: created.link,
      inviteId: created.inviteId,
      expiresAt: iso(created.expiresAt * 1000),
      ...(this.opts.inviteWarning ? { warning: this.opts.inviteWarning } : {}),
    };
  }

  async invites(): Promise<InviteListing[]> {
    return this.instance.invites().map(inviteListing);
  }

  async revokeInvite(inviteId: InviteId): Promise<InviteListing> {
    return inviteListing(await this.instance.revokeInvite(inviteId));
  }

  async accept(link: string): Promise<AcceptResult> {
    const paired = await this.instance.acceptInvite(link);
    return { contact: { personId: paired.peer.personId, instanceId: paired.peer.instanceId, name: paired.peer.name }, sas: paired.sas };
  }

  async contacts(): Promise<ContactListing[]> {
    const states = this.opts.serving ? new Map(this.instance.connectionStates().map((s) => [s.instanceId as string, s])) : undefined;
    return this.instance.contacts().map((c) => contactListing(c, states));
  }

  async revoke(personId: PersonId): Promise<ContactListing> {
    return contactListing(await this.instance.revokeContact(personId));
  }

  async put(source: AsyncIterable<Uint8Array>, options: { kind: 'blob' | 'object'; share: readonly PersonId[] }): Promise<PutResult> {
    // Checked first, so a mistyped person id stores nothing.
    const share = this.shareTargets(options.share);
    const chum = this.instance.chum;
    let hash: ObjectHash;
    let type: string;
    let size: number;
    if (options.kind === 'blob') {
      const blob = await chum.putBlob(source);
      hash = blob.manifest;
      type = 'BlobManifest';
      size = blob.size;
    } else {
      const value = parseJson(await readAllBounded(source, MAX_JSON_OBJECT_FILE_BYTES, () => new KithError('OBJECT_TOO_LARGE', `a JSON object file may hold at most ${MAX_JSON_OBJECT_FILE_BYTES} bytes`)), { maxBytes: MAX_JSON_OBJECT_FILE_BYTES, integersOnly: true });
      assertKithObject(value);
      hash = await chum.put(value);
      type = value.$type;
      size = chum.store.meta(hash)?.size ?? 0;
    }
    const grant = share.length > 0 ? await chum.grant({ objects: [hash], persons: share }) : undefined;
    return { hash, kind: options.kind, type, size, shared: share, ...(grant ? { grant } : {}) };
  }

  async get(hash: ObjectHash): Promise<{ header: ObjectHeader; body: AsyncIterable<Uint8Array> }> {
    const { chum } = this.instance;
    const meta = chum.store.meta(hash);
    if (!meta) throw new KithError('NOT_FOUND', 'nothing with this hash is stored here');
    if (meta.kind !== 'object') throw new KithError('NOT_FOUND', 'this hash is one chunk of a blob; get the blob by its manifest hash');
    if (meta.type === 'BlobManifest') {
      const manifest = (await chum.getObject(hash)) as { size?: unknown; chunks?: unknown } | undefined;
      const chunks = Array.isArray(manifest?.chunks) ? (manifest.chunks as ObjectHash[]) : [];
      const missing = chunks.filter((c) => !chum.store.has(c)).length;
      // Checked before the first byte goes out: a half-written file is worse than an error.
      if (missing > 0) throw new KithError('NOT_FOUND', `this blob is not complete here yet (${missing} of ${chunks.length} chunks still to arrive)`);
      const size = typeof manifest?.size === 'number' ? manifest.size : 0;
      return { header: { hash, kind: 'blob', type: meta.type, size }, body: chum.readBlob(hash) };
    }
    const bytes = await chum.store.get(hash);
    if (!bytes) throw new KithError('NOT_FOUND', 'nothing with this hash is stored here');
    return { header: { hash, kind: 'object', type: meta.type, size: bytes.length }, body: once(bytes) };
  }

  async *ls(): AsyncGenerator<ObjectListing> {
    const store = this.instance.chum.store;
    const names = this.authorNames();
    let after = 0;
    for (;;) {
      const page = store.since(after, STORE_LIST_PAGE_ENTRIES);
      if (page.length === 0) return;
      for (const m of page) {
        after = m.seq;
        if (m.kind !== 'object') continue;
        const authorName = m.author ? names.get(m.author) : undefined;
        yield { hash: m.hash, type: m.type, size: m.size, seq: m.seq, ...(m.author ? { author: m.author } : {}), ...(authorName !== undefined ? { authorName } : {}) };
      }
    }
  }

  async status(): Promise<StatusReport> {
    const s = this.instance.status();
    const url = this.instance.url;
    return {
      running: this.opts.serving,
      ...(url ? { listening: url } : {}),
      identity: { personId: s.identity.personId, instanceId: s.identity.instanceId, name: s.identity.name },
      connections: this.opts.serving ? s.connections.map((c) => ({ ...c })) : [],
      sync: this.opts.serving ? s.sync.map((p) => ({ ...p, peer: { ...p.peer } })) : [],
      store: { ...s.store },
    };
  }

  close(): Promise<void> {
    this.closing ??= this.opts.onClose?.() ?? Promise.resolve();
    return this.closing;
  }

  /** Deduplicated share targets; each must be this person or a contact that is not revoked. */
  private shareTargets(persons: readonly PersonId[]): PersonId[] {
    const self = this.instance.identity.personId;
    const contacts = new Map(this.instance.contacts().map((c) => [c.personId as string, c]));
    const out = [...new Set(persons)];
    for (const p of out) {
      if (p === self) continue;
      const c = contacts.get(p);
      if (!c) throw new KithError('NOT_FOUND', `--share: no contact with person id ${p}`);
      if (c.revoked) throw new KithError('CONTACT_REVOKED', `--share: ${p} is revoked`);
    }
    return out;
  }

  /** Instance id → its person's name, for this node and every contact. */
  private authorNames(): Map<string, string> {
    const names = new Map<string, string>([[this.instance.identity.instanceId, this.instance.identity.public.profile.name]]);
    for (const c of this.instance.contacts()) for (const i of c.instances) names.set(i.instanceId, c.name);
    return names;
  }
}
