/**
 * BackedStore over fake backends (the StoreBackend seam): what happens when storage fails,
 * which the real stores cannot be made to do on demand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { BackedStore, type StoreBackend } from '../../../chum/stores/backedStore.js';
import { MetaIndex } from '../../../chum/stores/metaIndex.js';
import type { FreshEntry } from '../../../chum/stores/checkBatch.js';
import { hasCode } from '../../../shared/errors.js';
import { objectEntry, assertStoreConsistent } from '../storeConformance.js';

const crypto = new NativeCrypto();

/** A map-backed backend whose writes and reads fail while `failing` is set. */
function flakyBackend(): StoreBackend & { failing: boolean; corrupt: boolean; writes: number } {
  const bytes = new Map<string, Uint8Array>();
  return {
    failing: false,
    corrupt: false,
    writes: 0,
    async read(meta) {
      if (this.failing) throw new Error('EIO');
      const stored = bytes.get(meta.hash)!.slice();
      if (this.corrupt) stored[0] = stored[0]! ^ 1;
      return stored;
    },
    async write(batches: readonly (readonly FreshEntry[])[]) {
      this.writes++;
      if (this.failing) throw new Error('ENOSPC');
      for (const batch of batches) for (const e of batch) bytes.set(e.meta.hash, e.bytes.slice());
    },
    async close() {},
  };
}

function storeOver(backend: StoreBackend, failStopOnWriteError: boolean): BackedStore {
  return new BackedStore({ crypto, epoch: '0'.repeat(32), index: new MetaIndex(), backend, windowMs: 0, failStopOnWriteError });
}

test('a failed write fails its group; a fail-stop store then refuses every put', async () => {
  const backend = flakyBackend();
  const store = storeOver(backend, true);
  const events: number[] = [];
  store.onStored((metas) => events.push(metas.length));
  await store.put([objectEntry('Note', { n: 1 })]);
  backend.failing = true;
  const results = await Promise.allSettled([store.put([objectEntry('Note', { n: 2 })]), store.put([objectEntry('Note', { n: 3 })])]);
  for (const r of results) assert.ok(r.status === 'rejected' && hasCode(r.reason, 'STORE_FAILED'));
  assert.equal(backend.writes, 2, 'both batches shared one failed write');
  backend.failing = false;
  await assert.rejects(store.put([objectEntry('Note', { n: 4 })]), (e: unknown) => hasCode(e, 'STORE_FAILED'));
  assert.equal(store.lastSeq, 1);
  assert.deepEqual(events, [1], 'nothing failed was announced');
  assert.ok(await store.get(store.since(0, 1)[0]!.hash), 'reads of what is stored still work');
  await store.close();
});

test('a store whose backend rolls back carries on with dense sequences after a failed write', async () => {
  const backend = flakyBackend();
  const store = storeOver(backend, false);
  await store.put([objectEntry('Note', { n: 1 })]);
  backend.failing = true;
  await assert.rejects(store.put([objectEntry('Note', { n: 2 })]), (e: unknown) => hasCode(e, 'STORE_FAILED'));
  backend.failing = false;
  const [meta] = await store.put([objectEntry('Note', { n: 2 })]);
  assert.equal(meta!.seq, 2);
  await assertStoreConsistent(store);
  await store.close();
});

test('reads that fail or return other bytes are refused with a code', async () => {
  const backend = flakyBackend();
  const store = storeOver(backend, true);
  const entry = objectEntry('Note', { n: 1 });
  await store.put([entry]);
  backend.failing = true;
  await assert.rejects(store.get(entry.hash), (e: unknown) => hasCode(e, 'STORE_FAILED'));
  backend.failing = false;
  backend.corrupt = true;
  await assert.rejects(store.get(entry.hash), (e: unknown) => hasCode(e, 'HASH_MISMATCH'));
  await store.close();
});

test('close waits for a write in progress and for puts queued behind it', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const inner = flakyBackend();
  let closed = false;
  const backend: StoreBackend = {
    read: (meta) => inner.read(meta),
    async write(batches) {
      await gate;
      assert.equal(closed, false, 'no write after close');
      await inner.write(batches);
    },
    async close() {
      closed = true;
    },
  };
  const store = storeOver(backend, true);
  const first = store.put([objectEntry('Note', { n: 1 })]);
  await new Promise((resolve) => setImmediate(resolve)); // the first group is now being written
  const second = store.put([objectEntry('Note', { n: 2 })]);
  const closing = store.close();
  release();
  await closing;
  assert.deepEqual([(await first)[0]!.seq, (await second)[0]!.seq], [1, 2]);
  assert.equal(closed, true);
});
