/**
 * lowdb adapters for the renderer's small-state documents (contacts + invitations, sync
 * marks) on IndexedDB: one record per document in one object store, written in a
 * transaction with strict durability, so a reader sees the old document or the new one.
 * A record is JSON text and is validated on read by the same parse function the Node host
 * uses (`parsePairingDocument`, `parseMarksDocument`): a damaged or foreign record is
 * reported, never half-trusted. The renderer's identity lives in the same database.
 *
 * Browser-safe: only the IndexedDB API; tests run it under fake-indexeddb.
 */
import type { Adapter } from 'lowdb';
import { KithError } from '../shared/errors.js';
import { parseJson } from '../shared/canonical.js';
import { MAX_RENDERER_STATE_BYTES } from '../shared/limits.js';

const DB_VERSION = 1;
/** The object store holding one record per key ("pairing", "marks", "identity"). */
export const RECORDS = 'records';

/** Resolves with a request's result, rejects with its error. */
export function idbRequest<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(storeFailed(req.error));
  });
}

/** Resolves when a transaction commits, rejects when it fails or aborts. */
export function idbCommitted(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(storeFailed(tx.error));
    tx.onabort = () => reject(storeFailed(tx.error));
  });
}

function storeFailed(cause: unknown): KithError {
  // The DOMException's own message can name the database; the code is what a person needs.
  return new KithError('STORE_FAILED', 'the window storage (IndexedDB) failed', { cause });
}

/** Opens (creating on first use) the renderer's small-state database. */
export async function openStateDatabase(factory: IDBFactory, name: string): Promise<IDBDatabase> {
  if (!factory || typeof factory.open !== 'function') throw new KithError('STORE_FAILED', 'this browser offers no IndexedDB');
  const req = factory.open(name, DB_VERSION);
  req.onupgradeneeded = () => {
    if (!req.result.objectStoreNames.contains(RECORDS)) req.result.createObjectStore(RECORDS);
  };
  // Another tab holding an older version would block the upgrade forever; say so instead.
  const blocked = new Promise<never>((_, reject) => {
    req.onblocked = () => reject(new KithError('STORE_LOCKED', 'another Kith tab holds the window storage'));
  });
  return Promise.race([idbRequest(req), blocked]);
}

/** Reads one record (undefined when absent). */
export async function readRecord(db: IDBDatabase, key: string): Promise<unknown> {
  const tx = db.transaction(RECORDS, 'readonly');
  return idbRequest(tx.objectStore(RECORDS).get(key));
}

/** Writes one record durably (resolves after the transaction commits). */
export async function writeRecord(db: IDBDatabase, key: string, value: unknown): Promise<void> {
  const tx = db.transaction(RECORDS, 'readwrite', { durability: 'strict' });
  tx.objectStore(RECORDS).put(value, key);
  await idbCommitted(tx);
}

/** A lowdb adapter for one small-state document, validated on every read. */
export class IdbStateAdapter<T> implements Adapter<T> {
  constructor(
    private readonly db: IDBDatabase,
    /** The document's key in the records store. */
    private readonly key: string,
    /** Turns the parsed JSON into a document or throws (the Node host's parse function). */
    private readonly validate: (value: unknown) => T,
  ) {}

  async read(): Promise<T | null> {
    const record = await readRecord(this.db, this.key);
    if (record === undefined) return null;
    if (typeof record !== 'string') throw new KithError('INVALID_INPUT', `window state "${this.key}" is not a Kith document`);
    if (record.length > MAX_RENDERER_STATE_BYTES) throw new KithError('INVALID_INPUT', `window state "${this.key}" is larger than ${MAX_RENDERER_STATE_BYTES} bytes`);
    let value: unknown;
    try {
      value = parseJson(record, { maxBytes: MAX_RENDERER_STATE_BYTES });
    } catch {
      throw new KithError('INVALID_INPUT', `window state "${this.key}" is not valid JSON`);
    }
    return this.validate(value);
  }

  async write(data: T): Promise<void> {
    await writeRecord(this.db, this.key, JSON.stringify(data));
  }
}
