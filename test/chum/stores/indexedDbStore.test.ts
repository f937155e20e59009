import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { openIndexedDbStore } from '../../../chum/stores/indexedDbStore.js';
import { hasCode } from '../../../shared/errors.js';
import { hostileValues } from '../../support/hostile.js';
import { runObjectStoreTests, assertStoreConsistent, objectEntry, chunkEntry } from '../storeConformance.js';

const crypto = new NativeCrypto();
let counter = 0;

function deleteDatabase(factory: IDBFactory, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = factory.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => reject(req.error);
  });
}

/** Runs `body` on a raw connection to the database, for simulating damage. */
async function withRawDb(factory: IDBFactory, name: string, body: (db: IDBDatabase) => Promise<void>): Promise<void> {
  const db = await new Promise<IDBDatabase>((resolve, reject) => {
    const req = factory.open(name);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    await body(db);
  } finally {
    db.close();
  }
}

function txDone(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}

runObjectStoreTests('indexeddb (fake-indexeddb)', async () => {
  const factory = new IDBFactory();
  const name = `kith-objects-${counter++}`;
  return {
    store: await openIndexedDbStore({ crypto, name, indexedDB: factory }),
    reopen: () => openIndexedDbStore({ crypto, name, indexedDB: factory }),
    destroy: () => deleteDatabase(factory, name),
  };
});

test('a second open of the same database in this realm fails with STORE_LOCKED', async () => {
  const factory = new IDBFactory();
  const store = await openIndexedDbStore({ crypto, name: 'locked', indexedDB: factory });
  await assert.rejects(openIndexedDbStore({ crypto, name: 'locked', indexedDB: factory }), (e: unknown) => hasCode(e, 'STORE_LOCKED'));
  const other = await openIndexedDbStore({ crypto, name: 'locked', indexedDB: new IDBFactory() });
  await other.close();
  await store.close();
  const again = await openIndexedDbStore({ crypto, name: 'locked', indexedDB: factory });
  assert.equal(again.epoch, store.epoch);
  await again.close();
});

test('damaged metadata or a missing epoch gives a fresh store with a new epoch', async () => {
  const damages: Array<(db: IDBDatabase) => Promise<void>> = [
    async (db) => {
      const tx = db.transaction('info', 'readwrite');
      tx.objectStore('info').delete('epoch');
      await txDone(tx);
    },
    async (db) => {
      const tx = db.transaction('info', 'readwrite');
      tx.objectStore('info').put('not an epoch', 'epoch');
      await txDone(tx);
    },
    async (db) => {
      // A gap in the sequences.
      const tx = db.transaction('meta', 'readwrite');
      const store = tx.objectStore('meta');
      const first = await new Promise<{ hash: string }>((resolve) => {
        const req = store.index('seq').get(1);
        req.onsuccess = () => resolve(req.result);
      });
      store.delete(first.hash);
      await txDone(tx);
    },
    async (db) => {
      const tx = db.transaction('meta', 'readwrite');
      tx.objectStore('meta').put({ hash: 'f'.repeat(64), seq: 3, kind: 'object', type: 'Note', size: 'big', refs: [] });
      await txDone(tx);
    },
  ];
  for (const damage of damages) {
    const factory = new IDBFactory();
    const store = await openIndexedDbStore({ crypto, name: 'damaged', indexedDB: factory });
    await store.put([objectEntry('Note', { n: 1 }), chunkEntry(new Uint8Array([1]))]);
    await store.close();
    await withRawDb(factory, 'damaged', damage);
    const reset = await openIndexedDbStore({ crypto, name: 'damaged', indexedDB: factory });
    assert.notEqual(reset.epoch, store.epoch);
    assert.equal(reset.lastSeq, 0);
    await reset.put([objectEntry('Note', { n: 2 })]);
    await assertStoreConsistent(reset);
    await reset.close();
  }
});

test('bytes missing or damaged in the database are refused on read', async () => {
  const factory = new IDBFactory();
  const store = await openIndexedDbStore({ crypto, name: 'rot', indexedDB: factory });
  const a = objectEntry('Note', { n: 'a' });
  const b = objectEntry('Note', { n: 'b' });
  await store.put([a, b]);
  await store.close();
  await withRawDb(factory, 'rot', async (db) => {
    const tx = db.transaction('bytes', 'readwrite');
    tx.objectStore('bytes').put(new Uint8Array([1, 2, 3]), a.hash);
    tx.objectStore('bytes').delete(b.hash);
    await txDone(tx);
  });
  const reopened = await openIndexedDbStore({ crypto, name: 'rot', indexedDB: factory });
  await assert.rejects(reopened.get(a.hash), (e: unknown) => hasCode(e, 'HASH_MISMATCH'));
  await assert.rejects(reopened.get(b.hash), (e: unknown) => hasCode(e, 'HASH_MISMATCH'));
  await reopened.close();
});

test('openIndexedDbStore validates its options', async () => {
  const factory = new IDBFactory();
  for (const { value } of hostileValues()) {
    if (typeof value === 'string' && value.length > 0) continue;
    await assert.rejects(openIndexedDbStore({ crypto, name: value as string, indexedDB: factory }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  }
  await assert.rejects(openIndexedDbStore({ crypto: undefined as never, name: 'x', indexedDB: factory }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  await assert.rejects(openIndexedDbStore({ crypto, name: 'x', indexedDB: {} as never }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  await assert.rejects(openIndexedDbStore(undefined as never), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
});
