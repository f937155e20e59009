/**
 * The object store for the browser (DESIGN §7), on IndexedDB. No Node imports: the renderer
 * bundles this file as is.
 *
 * - `meta`  StoredMeta records keyed by hash, with a unique `seq` index for loading in order;
 * - `bytes` entry bytes keyed by hash;
 * - `info`  the epoch.
 *
 * A group of batches is one readwrite transaction with strict durability, so each batch is
 * atomic by IndexedDB semantics and durable before `put` resolves. Opening loads every meta
 * (never the bytes). A database whose epoch or metadata does not hold together is cleared and
 * starts a new epoch, so peers never trust sequences that no longer mean what they did.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore, StoredMeta } from '../ObjectStore.js';
import type { ObjectHash, InstanceId } from '../../shared/ids.js';
import { KithError } from '../../shared/errors.js';
import { toHex } from '../../shared/bytes.js';
import { isHash } from '../../shared/ids.js';
import { assertKithObject } from '../../shared/objects.js';
import { BLOB_CHUNK_BYTES, MAX_OBJECT_BYTES, STORE_EPOCH_BYTES } from '../../shared/limits.js';
import { BackedStore, type StoreBackend } from './backedStore.js';
import { makeMeta, storedRefs, type FreshEntry } from './checkBatch.js';
import { MetaIndex } from './metaIndex.js';
import { claimStore } from './openGuard.js';

export interface IndexedDbStoreOptions {
  /** For SHA-256 checks on put and get, and the epoch. */
  readonly crypto: CryptoProvider;
  /** Database name (one store per name). */
  readonly name: string;
  /** The IndexedDB factory; defaults to `globalThis.indexedDB`. */
  readonly indexedDB?: IDBFactory;
}

const DB_VERSION = 1;
const META = 'meta';
const BYTES = 'bytes';
const INFO = 'info';
const SEQ_INDEX = 'seq';
const EPOCH_KEY = 'epoch';
const EPOCH_RE = /^[0-9a-f]{32}$/;

/** Resolves with a request's result, rejects with its error. */
function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/** Resolves when a transaction commits, rejects when it fails or aborts. */
function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new KithError('STORE_FAILED', 'the IndexedDB transaction was aborted'));
  });
}

function openDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  const req = factory.open(name, DB_VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    db.createObjectStore(META, { keyPath: 'hash' }).createIndex(SEQ_INDEX, 'seq', { unique: true });
    db.createObjectStore(BYTES);
    db.createObjectStore(INFO);
  };
  return request(req);
}

/** A StoredMeta from a stored record, or undefined when the record is not one we wrote. */
function metaFromRecord(record: unknown, seq: number, index: MetaIndex): StoredMeta | undefined {
  if (typeof record !== 'object' || record === null) return undefined;
  const { hash, kind, type, size, refs, author, idHash, seq: recordSeq } = record as Record<string, unknown>;
  if (recordSeq !== seq || !isHash(hash) || (kind !== 'object' && kind !== 'chunk') || typeof type !== 'string') return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || size > (kind === 'chunk' ? BLOB_CHUNK_BYTES : MAX_OBJECT_BYTES)) return undefined;
  if (!Array.isArray(refs) || !refs.every(isHash)) return undefined;
  if ((author !== undefined && !isHash(author)) || (idHash !== undefined && !isHash(idHash))) return undefined;
  if (kind === 'chunk' ? type !== 'chunk' || refs.length > 0 || author !== undefined || idHash !== undefined : !isTypeName(type)) return undefined;
  // Every ref must be loaded already (closure); kept as the index's own strings.
  const find = (h: ObjectHash) => index.meta(h);
  const stored = storedRefs(refs as ObjectHash[], find);
  if (stored === undefined) return undefined;
  return makeMeta({ hash, kind, type, refs: stored, author: author as InstanceId | undefined, idHash: idHash as ObjectHash | undefined }, seq, size, find);
}

function isTypeName(type: string): boolean {
  try {
    assertKithObject({ $type: type });
    return true;
  } catch {
    return false;
  }
}

/** The index of a loaded database, or undefined when its metadata does not hold together. */
function buildIndex(records: readonly unknown[]): MetaIndex | undefined {
  const index = new MetaIndex();
  for (let i = 0; i < records.length; i++) {
    const meta = metaFromRecord(records[i], i + 1, index);
    if (!meta || index.has(meta.hash)) return undefined;
    index.add(meta);
  }
  return index;
}

function bytesOf(meta: StoredMeta, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KithError('HASH_MISMATCH', `the stored bytes of ${meta.hash} are missing`);
  return value;
}

class IndexedDbBackend implements StoreBackend {
  constructor(
    private readonly db: IDBDatabase,
    private readonly release: () => void,
  ) {}

  async read(meta: StoredMeta): Promise<Uint8Array> {
    return bytesOf(meta, await request(this.db.transaction(BYTES, 'readonly').objectStore(BYTES).get(meta.hash)));
  }

  /** Several entries in one transaction (one per entry costs a commit each). */
  async readMany(metas: readonly StoredMeta[]): Promise<Uint8Array[]> {
    if (metas.length === 0) return [];
    const bytes = this.db.transaction(BYTES, 'readonly').objectStore(BYTES);
    const values = await Promise.all(metas.map((m) => request(bytes.get(m.hash))));
    return values.map((v, i) => bytesOf(metas[i]!, v));
  }

  async write(batches: readonly (readonly FreshEntry[])[]): Promise<void> {
    // Strict: the transaction is on disk when it completes, which is when put resolves.
    const tx = this.db.transaction([META, BYTES], 'readwrite', { durability: 'strict' });
    const done = committed(tx);
    const metas = tx.objectStore(META);
    const bytes = tx.objectStore(BYTES);
    for (const batch of batches) {
      for (const { meta, bytes: data } of batch) {
        metas.add(meta);
        // Entry bytes are views of their batch's buffer, and structured clone copies a view's whole buffer.
        bytes.add(data.byteLength === data.buffer.byteLength ? data : data.slice(), meta.hash);
      }
    }
    await done;
  }

  async close(): Promise<void> {
    this.db.close();
    this.release();
  }
}

export async function openIndexedDbStore(options: IndexedDbStoreOptions): Promise<ObjectStore> {
  const crypto = options?.crypto;
  if (typeof crypto?.sha256 !== 'function' || typeof crypto.randomBytes !== 'function') {
    throw new KithError('INVALID_INPUT', 'openIndexedDbStore: a crypto provider is required');
  }
  const { name } = options;
  const factory = options.indexedDB ?? (globalThis as { indexedDB?: IDBFactory }).indexedDB;
  if (typeof name !== 'string' || name.length === 0) throw new KithError('INVALID_INPUT', 'openIndexedDbStore: name must be a non-empty string');
  if (typeof factory?.open !== 'function') throw new KithError('INVALID_INPUT', 'openIndexedDbStore: no IndexedDB here');

  const release = claimStore(factory, name, `the IndexedDB object store "${name}"`);
  let db: IDBDatabase | undefined;
  try {
    db = await openDatabase(factory, name);
    // Another tab deleting or upgrading the database: let it, and fail our later calls.
    db.onversionchange = () => db?.close();
    const tx = db.transaction([META, INFO], 'readonly');
    const [epochValue, records] = await Promise.all([
      request(tx.objectStore(INFO).get(EPOCH_KEY)),
      request(tx.objectStore(META).index(SEQ_INDEX).getAll()),
    ]);
    let epoch = typeof epochValue === 'string' && EPOCH_RE.test(epochValue) ? epochValue : undefined;
    let index = epoch !== undefined ? buildIndex(records) : undefined;
    if (epoch === undefined || index === undefined) {
      epoch = toHex(crypto.randomBytes(STORE_EPOCH_BYTES));
      index = new MetaIndex();
      const reset = db.transaction([META, BYTES, INFO], 'readwrite', { durability: 'strict' });
      const done = committed(reset);
      reset.objectStore(META).clear();
      reset.objectStore(BYTES).clear();
      reset.objectStore(INFO).put(epoch, EPOCH_KEY);
      await done;
    }
    const backend = new IndexedDbBackend(db, release);
    return new BackedStore({ crypto, epoch, index, backend, windowMs: 0, failStopOnWriteError: false });
  } catch (err) {
    db?.close();
    release();
    throw err instanceof KithError ? err : new KithError('STORE_FAILED', `openIndexedDbStore: cannot open "${name}"`, { cause: err });
  }
}
