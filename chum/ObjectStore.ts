/**
 * The object store seam (DESIGN §7). A content-addressed store of canonical objects and
 * blob chunks, with a local insert sequence per store and an epoch that changes when the
 * store is reset. Implementations: memory (tests), file (Node), IndexedDB (browser). All
 * pass the same conformance suite (test/chum/storeConformance.ts).
 *
 * Guarantees every implementation keeps:
 * - **Integrity**: `put` checks SHA-256(bytes) = hash; a store never holds bytes under a
 *   wrong name.
 * - **Closure**: an entry is stored only when every hash in its `refs` is already stored or
 *   comes earlier in the same batch; otherwise the whole batch fails with DANGLING_REFERENCE.
 * - **Atomic batches**: after a crash, a batch is either entirely present or entirely absent.
 * - **Sequences**: each newly stored entry gets the next integer (1, 2, 3 …) in insert order;
 *   re-putting a stored hash is a no-op that returns the existing meta.
 * - **Cheap open**: opening reads the index (metadata), never every object's bytes.
 */
import type { ObjectHash, InstanceId } from '../shared/ids.js';

export type EntryKind = 'object' | 'chunk';

/** What the store knows about one entry without reading its bytes. Kept in memory. */
export interface StoredMeta {
  /** Local insert sequence, dense from 1 within the store's epoch. */
  readonly seq: number;
  readonly hash: ObjectHash;
  /** `object` = canonical JSON object, `chunk` = raw blob chunk bytes. */
  readonly kind: EntryKind;
  /** The object's `$type`; "chunk" for chunks. */
  readonly type: string;
  /** Size of the stored bytes. */
  readonly size: number;
  /** Hashes this entry references (objects or chunks), in the object's own order. */
  readonly refs: readonly ObjectHash[];
  /** Author instance of a signed object. */
  readonly author?: InstanceId;
  /** For a version of a versioned object: the id hash it is a version of. */
  readonly idHash?: ObjectHash;
}

/** One entry to store. `bytes` are canonical JSON for objects, raw data for chunks. */
export interface PutEntry {
  readonly hash: ObjectHash;
  readonly kind: EntryKind;
  readonly type: string;
  readonly bytes: Uint8Array;
  readonly refs: readonly ObjectHash[];
  readonly author?: InstanceId;
  readonly idHash?: ObjectHash;
}

export interface PutOptions {
  /**
   * The caller hands the entries' bytes over: it will neither read nor change them after `put`
   * returns, so the store keeps them as they are instead of copying (the sync layer does this
   * for blob chunks it has just reassembled; a copy of each 1 MiB chunk was a visible share of
   * a receiver's CPU). Only plain Uint8Arrays are kept; anything else is copied as usual.
   */
  readonly handOver?: boolean;
}

export interface StoreStats {
  readonly objects: number;
  readonly chunks: number;
  readonly bytes: number;
}

export interface ObjectStore {
  /** Random id of this store's life; a reset store gets a new one, and sequences restart. */
  readonly epoch: string;
  /** Highest sequence assigned so far (0 when empty). */
  readonly lastSeq: number;
  /** Whether `hash` is stored. */
  has(hash: ObjectHash): boolean;
  /** Metadata of a stored entry, without reading its bytes. */
  meta(hash: ObjectHash): StoredMeta | undefined;
  /** The stored bytes, or undefined. */
  get(hash: ObjectHash): Promise<Uint8Array | undefined>;
  /**
   * The stored bytes of several entries, in the order asked (undefined where absent): one
   * read where the entries lie next to each other (a sync batch in store order does).
   */
  getMany(hashes: readonly ObjectHash[]): Promise<Array<Uint8Array | undefined>>;
  /**
   * Stores a batch atomically (see the guarantees above). Returns one meta per entry, in
   * order; already stored entries return their existing meta. Rejects with HASH_MISMATCH,
   * DANGLING_REFERENCE, OBJECT_TOO_LARGE or INVALID_INPUT and stores nothing of the batch.
   */
  put(entries: readonly PutEntry[], options?: PutOptions): Promise<StoredMeta[]>;
  /** Up to `limit` entries with seq > `after`, in sequence order. */
  since(after: number, limit: number): StoredMeta[];
  /** All stored versions of the versioned object `idHash`, in sequence order. */
  versionsOf(idHash: ObjectHash): StoredMeta[];
  /** Counts and total bytes. */
  stats(): StoreStats;
  /** Subscribes to newly stored entries (after the batch is durable); returns the unsubscribe function. */
  onStored(listener: (metas: readonly StoredMeta[]) => void): () => void;
  /** Flushes and releases files or handles. Further calls reject with CLOSED. */
  close(): Promise<void>;
}
