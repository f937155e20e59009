/**
 * The in-memory object store: the reference implementation for tests and for instances that
 * keep nothing (DESIGN §7). Bytes live in a Map; everything else (the gate, the index, group
 * commit, events) is the shared `BackedStore`, so what passes here behaves the same in the
 * file and IndexedDB stores.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore } from '../ObjectStore.js';
import { toHex } from '../../shared/bytes.js';
import { KithError } from '../../shared/errors.js';
import { STORE_EPOCH_BYTES } from '../../shared/limits.js';
import { BackedStore, type StoreBackend } from './backedStore.js';
import { MetaIndex } from './metaIndex.js';

export interface MemoryStoreOptions {
  /** For the SHA-256 checks on put and get, and the epoch. */
  readonly crypto: CryptoProvider;
}

export async function openMemoryStore(options: MemoryStoreOptions): Promise<ObjectStore> {
  const crypto = options?.crypto;
  if (typeof crypto?.sha256 !== 'function') throw new KithError('INVALID_INPUT', 'openMemoryStore: a crypto provider is required');
  const bytes = new Map<string, Uint8Array>();
  const backend: StoreBackend = {
    async read(meta) {
      const stored = bytes.get(meta.hash);
      if (!stored) throw new KithError('INTERNAL', `memory store: no bytes for ${meta.hash}`);
      // A copy: the caller may write into what it gets, the store's copy must not change.
      return stored.slice();
    },
    async write(batches) {
      // Checked bytes are the store's own, but views of their batch's buffer: a copy per entry
      // keeps a batch of mostly re-puts from pinning the whole buffer.
      for (const batch of batches) for (const entry of batch) bytes.set(entry.meta.hash, entry.bytes.slice());
    },
    async close() {
      bytes.clear();
    },
  };
  const epoch = toHex(crypto.randomBytes(STORE_EPOCH_BYTES));
  return new BackedStore({ crypto, epoch, index: new MetaIndex(), backend, windowMs: 0, failStopOnWriteError: false });
}
