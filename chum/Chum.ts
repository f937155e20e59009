/**
 * CHUM for one instance: its object store, the verifier and access index over it, the
 * per-peer marks, one SyncSession per connected peer, and the local write API. Everything
 * written locally goes through the same description and verification as what arrives from
 * peers, so the store's invariants (integrity, closure, valid signatures and rights) hold
 * for both.
 */
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { ObjectStore, PutEntry, StoredMeta } from './ObjectStore.js';
import type { LocalIdentity } from '../shared/identity.js';
import type { InstanceId, ObjectHash, PersonId } from '../shared/ids.js';
import type { MarkStore } from './sync/marks.js';
import type { SyncPeer, SyncProgress } from './sync/context.js';
import { SyncSession, type MessageChannel } from './sync/SyncSession.js';
import { ObjectVerifier } from './model/verify.js';
import { AccessIndex } from './access.js';
import { describeBytes, type DescribedObject } from './model/describe.js';
import { HybridClock } from './model/hlc.js';
import { currentVersion, type VersionInfo } from './model/versions.js';
import { objectBytes, signObject, hashObject, hashBytes, type KithObject } from '../shared/objects.js';
import { TypedEmitter } from '../shared/events.js';
import { KithError } from '../shared/errors.js';
import { toBase64url } from '../shared/bytes.js';
import { BLOB_CHUNK_BYTES } from '../shared/limits.js';

export interface ChumEvents {
  [event: string]: unknown;
  progress: SyncProgress;
  /** Objects from a peer were verified and stored. */
  received: { peer: SyncPeer; hashes: readonly string[] };
  /** Anything was stored (local writes and received objects). */
  stored: readonly StoredMeta[];
}

export interface ChumOptions {
  readonly crypto: CryptoProvider;
  readonly store: ObjectStore;
  readonly marks: MarkStore;
  readonly identity: LocalIdentity;
  /** Same-human companions (the app's renderer, or the main a renderer belongs to) receive everything. */
  readonly isCompanion: (person: PersonId) => boolean;
  readonly now?: () => number;
}

export interface GrantInput {
  readonly objects?: readonly string[];
  readonly ids?: readonly string[];
  readonly persons?: readonly string[];
  readonly groups?: readonly string[];
}

/** Chunks written per store batch while importing a blob (group commit amortizes fsync). */
const BLOB_PUT_GROUP = 8;

export class Chum {
  readonly events = new TypedEmitter<ChumEvents>();
  readonly clock: HybridClock;
  private readonly sessions = new Map<string, SyncSession>();
  private readonly progressByPeer = new Map<string, SyncProgress>();
  private readonly offStored: () => void;
  private certHash!: ObjectHash;

  private constructor(
    private readonly opts: ChumOptions,
    readonly verifier: ObjectVerifier,
    readonly access: AccessIndex,
  ) {
    this.clock = new HybridClock(opts.now);
    this.offStored = opts.store.onStored((metas) => this.events.emit('stored', metas));
  }

  static async open(opts: ChumOptions): Promise<Chum> {
    const verifier = new ObjectVerifier(opts.crypto, opts.store);
    const access = await AccessIndex.open({ store: opts.store, verifier, localPerson: opts.identity.personId, isCompanion: opts.isCompanion });
    const chum = new Chum(opts, verifier, access);
    await chum.storeOwnIdentity();
    return chum;
  }

  get store(): ObjectStore {
    return this.opts.store;
  }

  /** Starts syncing with a peer over an open session. Replaces an older session with the same instance. */
  attach(channel: MessageChannel, peer: SyncPeer): SyncSession {
    this.sessions.get(peer.instanceId)?.stop();
    const ctx = {
      crypto: this.opts.crypto,
      store: this.opts.store,
      access: this.access,
      verifier: this.verifier,
      marks: this.opts.marks,
      onProgress: (p: SyncProgress) => {
        this.progressByPeer.set(`${p.peer.instanceId}:${p.direction}`, p);
        this.events.emit('progress', p);
      },
      onReceived: (p: SyncPeer, hashes: readonly string[]) => this.events.emit('received', { peer: p, hashes }),
    };
    const session = new SyncSession(ctx, channel, peer);
    this.sessions.set(peer.instanceId, session);
    void channel.closed.then(() => {
      if (this.sessions.get(peer.instanceId) === session) this.sessions.delete(peer.instanceId);
    });
    session.start();
    return session;
  }

  /** Latest progress per peer and direction. */
  progress(): SyncProgress[] {
    return [...this.progressByPeer.values()];
  }

  // ---- reading ------------------------------------------------------------------------

  /** A stored object, parsed (undefined for unknown hashes and for blob chunks). */
  async getObject(hash: ObjectHash): Promise<KithObject | undefined> {
    const meta = this.opts.store.meta(hash);
    if (!meta || meta.kind !== 'object') return undefined;
    const bytes = await this.opts.store.get(hash);
    return bytes ? describeBytes(this.opts.crypto, bytes).object : undefined;
  }

  /** Streams a blob's bytes chunk by chunk (memory stays at one chunk). */
  async *readBlob(manifestHash: ObjectHash): AsyncGenerator<Uint8Array> {
    const manifest = await this.getObject(manifestHash);
    if (!manifest || manifest.$type !== 'BlobManifest') throw new KithError('NOT_FOUND', 'no blob manifest with this hash');
    for (const chunk of manifest.chunks as ObjectHash[]) {
      const bytes = await this.opts.store.get(chunk);
      if (!bytes) throw new KithError('NOT_FOUND', 'a chunk of this blob is not stored yet');
      yield bytes;
    }
  }

  /** All versions of a versioned id and the merged current one. */
  async versions(idHash: ObjectHash): Promise<{ versions: VersionInfo[]; current: VersionInfo | undefined }> {
    const versions: VersionInfo[] = [];
    for (const meta of this.opts.store.versionsOf(idHash)) {
      if (meta.type !== 'Version') continue;
      const o = (await this.getObject(meta.hash)) as Record<string, unknown> | undefined;
      if (o) versions.push({ hash: meta.hash, prev: o.prev as ObjectHash[], hlc: o.hlc as number, data: o.data as Record<string, unknown> });
    }
    return { versions, current: currentVersion(versions) };
  }

  // ---- writing ------------------------------------------------------------------------

  /** Stores an object as it is (unsigned application objects, or objects signed elsewhere). */
  async put(obj: KithObject): Promise<ObjectHash> {
    const described = describeBytes(this.opts.crypto, objectBytes(obj));
    await this.commit([described], false);
    return described.hash;
  }

  /** Signs an object as this instance (adds author, cert, sig) and stores it. */
  async putSigned(obj: KithObject): Promise<ObjectHash> {
    if ('sig' in obj || 'author' in obj || 'cert' in obj) throw new KithError('INVALID_INPUT', 'putSigned adds author, cert and sig itself');
    const body = { ...obj, author: this.opts.identity.instanceId, cert: this.certHash };
    const signed = await signObject(this.opts.crypto, body, this.opts.identity.instanceSecrets.signSecret);
    const described = describeBytes(this.opts.crypto, objectBytes(signed));
    await this.commit([described], false);
    return described.hash;
  }

  /** Stores a blob from bytes or a stream of byte pieces; returns its manifest hash. */
  async putBlob(source: Uint8Array | AsyncIterable<Uint8Array>, onProgress?: (bytes: number) => void): Promise<{ manifest: ObjectHash; size: number }> {
    const chunks: ObjectHash[] = [];
    let pending: PutEntry[] = [];
    let size = 0;
    const flush = async () => {
      if (pending.length) await this.opts.store.put(pending);
      pending = [];
      onProgress?.(size);
    };
    for await (const chunk of rechunk(source, BLOB_CHUNK_BYTES)) {
      const hash = this.hash(chunk);
      chunks.push(hash);
      size += chunk.length;
      pending.push({ hash, kind: 'chunk', type: 'chunk', bytes: chunk, refs: [] });
      if (pending.length >= BLOB_PUT_GROUP) await flush();
    }
    await flush();
    const manifest = await this.put({ $type: 'BlobManifest', size, chunkSize: BLOB_CHUNK_BYTES, chunks });
    return { manifest, size };
  }

  /** Grants persons and groups access to objects and to the scopes of ids. */
  grant(input: GrantInput): Promise<ObjectHash> {
    return this.putSigned({
      $type: 'Access',
      objects: [...(input.objects ?? [])],
      ids: [...(input.ids ?? [])],
      persons: [...(input.persons ?? [])],
      groups: [...(input.groups ?? [])],
      hlc: this.clock.now(),
    });
  }

  /** Withdraws a grant: exporters stop sending what only it allowed at once. */
  revokeGrant(grant: ObjectHash): Promise<ObjectHash> {
    return this.putSigned({ $type: 'AccessRevoke', grant, hlc: this.clock.now() });
  }

  /** Creates the identity of a versioned object owned by this person (a group, a channel …). */
  createId(kind: string, name: string): Promise<ObjectHash> {
    return this.put({ $type: 'Id', kind, owner: this.opts.identity.personId, name, nonce: toBase64url(this.opts.crypto.randomBytes(16)) });
  }

  /** Writes a new version on top of the current heads. */
  async writeVersion(idHash: ObjectHash, data: Record<string, unknown>): Promise<ObjectHash> {
    const { versions } = await this.versions(idHash);
    const superseded = new Set(versions.flatMap((v) => v.prev));
    const heads = versions.filter((v) => !superseded.has(v.hash)).map((v) => v.hash).sort();
    for (const v of versions) this.clock.observe(v.hlc);
    return this.putSigned({ $type: 'Version', id: idHash, prev: heads.slice(0, 16), hlc: this.clock.now(), data: data as KithObject });
  }

  async close(): Promise<void> {
    for (const s of this.sessions.values()) s.stop();
    this.sessions.clear();
    this.offStored();
    this.access.close();
  }

  // ---- internals ----------------------------------------------------------------------

  private hash(bytes: Uint8Array): ObjectHash {
    return hashBytes(this.opts.crypto, bytes);
  }

  private async commit(items: DescribedObject[], signatures: boolean): Promise<void> {
    const fresh = items.filter((d) => !this.opts.store.has(d.hash));
    if (fresh.length === 0) return;
    await this.verifier.verifyBatch(fresh, { signatures });
    await this.opts.store.put(
      fresh.map((d) => ({
        hash: d.hash,
        kind: 'object' as const,
        type: d.type,
        bytes: d.bytes,
        refs: d.chunkRefs.length ? [...d.refs, ...d.chunkRefs] : d.refs,
        author: d.signer?.kind === 'instance' ? (d.signer.author as InstanceId) : undefined,
        idHash: d.idHash,
      })),
    );
  }

  /** Person, Instance, InstanceCertificate and Profile: what peers need to verify our objects. */
  private async storeOwnIdentity(): Promise<void> {
    const { person, instance, certificate, profile } = this.opts.identity.public;
    const records = [person, instance, certificate, profile] as unknown as KithObject[];
    const described = records.map((r) => describeBytes(this.opts.crypto, objectBytes(r)));
    await this.commit(described, true);
    this.certHash = hashObject(this.opts.crypto, certificate as unknown as KithObject);
  }
}

/** Re-cuts a byte source into pieces of exactly `size` bytes (the last one shorter). */
async function* rechunk(source: Uint8Array | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) {
    for (let i = 0; i < source.length; i += size) yield source.subarray(i, Math.min(source.length, i + size));
    return;
  }
  let buffer = new Uint8Array(size);
  let filled = 0;
  for await (const piece of source) {
    let offset = 0;
    while (offset < piece.length) {
      const n = Math.min(size - filled, piece.length - offset);
      buffer.set(piece.subarray(offset, offset + n), filled);
      filled += n;
      offset += n;
      if (filled === size) {
        yield buffer;
        buffer = new Uint8Array(size);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield buffer.subarray(0, filled);
}
