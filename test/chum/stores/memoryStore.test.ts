import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { openMemoryStore } from '../../../chum/stores/memoryStore.js';
import { hasCode } from '../../../shared/errors.js';
import { runObjectStoreTests } from '../storeConformance.js';

const crypto = new NativeCrypto();

runObjectStoreTests('memory', async () => ({ store: await openMemoryStore({ crypto }), destroy: async () => {} }));

test('each memory store has its own random epoch', async () => {
  const a = await openMemoryStore({ crypto });
  const b = await openMemoryStore({ crypto });
  assert.notEqual(a.epoch, b.epoch);
  await Promise.all([a.close(), b.close()]);
});

test('openMemoryStore refuses a missing crypto provider', async () => {
  for (const options of [undefined, {}, { crypto: null }, { crypto: {} }]) {
    await assert.rejects(openMemoryStore(options as never), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  }
});
