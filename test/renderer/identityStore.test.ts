import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { IdentityStore, RENDERER_INSTANCE_NAME } from '../../renderer/identityStore.js';
import { openStateDatabase, readRecord, writeRecord } from '../../renderer/idbStateAdapter.js';
import { WebCryptoProvider } from '../../shared/crypto/webCrypto.js';
import { equalBytes } from '../../shared/bytes.js';
import { hostileValues } from '../support/hostile.js';

const crypto = new WebCryptoProvider({ subtle: globalThis.crypto.subtle });

async function freshStore() {
  const factory = new IDBFactory();
  const db = await openStateDatabase(factory, 'state');
  return { factory, db, store: new IdentityStore(db, crypto) };
}

test('first run has no identity; a created one loads back, secrets and all', async () => {
  const { factory, db, store } = await freshStore();
  assert.equal(await store.load(), undefined);
  const created = await store.create('ann', 1_700_000_000_000);
  assert.equal(created.public.profile.name, 'ann');
  assert.equal(created.public.instance.name, RENDERER_INSTANCE_NAME);
  db.close();
  const again = new IdentityStore(await openStateDatabase(factory, 'state'), crypto);
  const loaded = await again.load();
  assert.ok(loaded);
  assert.equal(loaded.personId, created.personId);
  assert.equal(loaded.instanceId, created.instanceId);
  assert.ok(equalBytes(loaded.instanceSecrets.staticSecret, created.instanceSecrets.staticSecret));
  assert.ok(equalBytes(loaded.personSecrets.signSecret, created.personSecrets.signSecret));
  await assert.rejects(again.create('bob', Date.now()), { code: 'ALREADY_EXISTS' });
});

test('a record with swapped, foreign or damaged keys is refused (KEYFILE_INVALID)', async () => {
  const { db, store } = await freshStore();
  await store.create('ann', Date.now());
  const good = JSON.parse((await readRecord(db, 'identity')) as string);
  const other = await (await freshStore()).store.create('mallory', Date.now());

  const variants: Array<{ name: string; record: unknown }> = [
    { name: 'secrets swapped', record: { ...good, secrets: { ...good.secrets, personSign: good.secrets.instanceSign, instanceSign: good.secrets.personSign } } },
    { name: "someone else's public identity", record: { ...good, public: other.public } },
    { name: 'short key', record: { ...good, secrets: { ...good.secrets, instanceStatic: 'AAAA' } } },
    { name: 'profile name changed (signature breaks)', record: { ...good, public: { ...good.public, profile: { ...good.public.profile, name: 'eve' } } } },
    { name: 'unknown format', record: { ...good, format: 'something-else' } },
    { name: 'no secrets', record: { ...good, secrets: null } },
  ];
  for (const v of variants) {
    await writeRecord(db, 'identity', JSON.stringify(v.record));
    await assert.rejects(store.load(), { code: 'KEYFILE_INVALID' }, v.name);
  }
  for (const h of hostileValues()) {
    let value: unknown;
    try {
      value = structuredClone(h.value);
    } catch {
      continue;
    }
    if (value === undefined) continue;
    await writeRecord(db, 'identity', value);
    await assert.rejects(store.load(), { code: 'KEYFILE_INVALID' }, h.name);
  }
});
