import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, stat, truncate, appendFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { openFileStore } from '../../../chum/stores/fileStore.js';
import { hasCode } from '../../../shared/errors.js';
import { MAX_STORE_COMMIT_WINDOW_MS } from '../../../shared/limits.js';
import { hostileValues } from '../../support/hostile.js';
import { runObjectStoreTests, assertStoreConsistent, objectEntry, chunkEntry } from '../storeConformance.js';

const crypto = new NativeCrypto();
const root = await mkdtemp(join(tmpdir(), 'kith-filestore-'));
after(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = (): string => join(root, `store-${counter++}`);

runObjectStoreTests('file', async () => {
  const dir = freshDir();
  return {
    store: await openFileStore({ crypto, dir }),
    reopen: () => openFileStore({ crypto, dir }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
});

runObjectStoreTests('file with a 5 ms group-commit window', async () => {
  const dir = freshDir();
  return {
    store: await openFileStore({ crypto, dir, fsyncBatchMs: 5 }),
    reopen: () => openFileStore({ crypto, dir, fsyncBatchMs: 5 }),
    destroy: () => rm(dir, { recursive: true, force: true }),
  };
});

test('a new directory becomes a fresh store; reopening loads it', async () => {
  const dir = join(freshDir(), 'nested', 'deeper');
  const store = await openFileStore({ crypto, dir });
  assert.equal(store.recovery.reset, 'new');
  await store.put([objectEntry('Note', { n: 1 })]);
  await store.close();
  assert.deepEqual((await readdir(dir)).sort(), ['EPOCH', 'data.log', 'index.log']);
  const again = await openFileStore({ crypto, dir });
  assert.equal(again.recovery.reset, undefined);
  assert.equal(again.epoch, store.epoch);
  assert.equal(again.lastSeq, 1);
  await again.close();
});

test('a second open of the same directory in this process fails with STORE_LOCKED', async () => {
  const dir = freshDir();
  const store = await openFileStore({ crypto, dir });
  await assert.rejects(openFileStore({ crypto, dir }), (e: unknown) => hasCode(e, 'STORE_LOCKED'));
  await assert.rejects(openFileStore({ crypto, dir: join(dir, '.', '..', dir.split('/').pop()!) }), (e: unknown) => hasCode(e, 'STORE_LOCKED'), 'another spelling of the same path');
  await store.close();
  const again = await openFileStore({ crypto, dir });
  await again.close();
});

test('concurrent opens of one directory: exactly one wins', async () => {
  const dir = freshDir();
  const results = await Promise.allSettled([openFileStore({ crypto, dir }), openFileStore({ crypto, dir }), openFileStore({ crypto, dir })]);
  const won = results.filter((r) => r.status === 'fulfilled');
  assert.equal(won.length, 1);
  for (const r of results) if (r.status === 'rejected') assert.ok(hasCode(r.reason, 'STORE_LOCKED'));
  await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof openFileStore>>>).value.close();
});

test('a damaged or missing EPOCH file gives a fresh store with a new epoch and keeps the old logs aside', async () => {
  for (const damage of [
    (dir: string) => writeFile(join(dir, 'EPOCH'), 'garbage'),
    (dir: string) => rm(join(dir, 'EPOCH')),
    (dir: string) => writeFile(join(dir, 'EPOCH'), `kith-object-store 1 ${'ab'.repeat(16)}\n`), // well-formed, but not the logs' epoch
    (dir: string) => rm(join(dir, 'data.log')),
    (dir: string) => writeFile(join(dir, 'index.log'), 'KITHIDX1 but not ours'),
  ]) {
    const dir = freshDir();
    const store = await openFileStore({ crypto, dir });
    await store.put([objectEntry('Note', { n: 1 })]);
    await store.close();
    await damage(dir);
    const reset = await openFileStore({ crypto, dir });
    assert.ok(reset.recovery.reset && reset.recovery.reset !== 'new', `reason given: ${reset.recovery.reset}`);
    assert.notEqual(reset.epoch, store.epoch);
    assert.equal(reset.lastSeq, 0);
    assert.equal((await reset.put([objectEntry('Note', { n: 2 })]))[0]!.seq, 1);
    await reset.close();
    assert.ok((await readdir(dir)).some((name) => name.endsWith('.discarded')));
    const again = await openFileStore({ crypto, dir });
    assert.equal(again.epoch, reset.epoch, 'the reset store is stable');
    assert.equal(again.lastSeq, 1);
    await again.close();
  }
});

test('a directory path that is a file is refused with a code', async () => {
  const file = join(root, 'not-a-dir');
  await writeFile(file, 'x');
  await assert.rejects(openFileStore({ crypto, dir: file }), (e: unknown) => hasCode(e, 'STORE_FAILED'));
  await assert.rejects(openFileStore({ crypto, dir: join(file, 'below') }), (e: unknown) => hasCode(e, 'STORE_FAILED'));
});

test('openFileStore validates its options', async () => {
  for (const { value } of hostileValues()) {
    if (typeof value === 'string' && value.length > 0 && !value.includes('\0')) continue;
    await assert.rejects(openFileStore({ crypto, dir: value as string }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  }
  for (const bad of [-1, NaN, Infinity, MAX_STORE_COMMIT_WINDOW_MS + 1, '5', null]) {
    await assert.rejects(openFileStore({ crypto, dir: freshDir(), fsyncBatchMs: bad as number }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  }
  await assert.rejects(openFileStore({ crypto: undefined as never, dir: freshDir() }), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
  await assert.rejects(openFileStore(undefined as never), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
});

test('concurrent puts share group commits (one fsync pair per group)', async () => {
  const dir = freshDir();
  const store = await openFileStore({ crypto, dir });
  await Promise.all(Array.from({ length: 100 }, (_, i) => store.put([objectEntry('Note', { i })])));
  assert.equal(store.lastSeq, 100);
  assert.ok(store.groupCommits <= 3, `100 concurrent puts took ${store.groupCommits} group commits`);
  for (let i = 0; i < 3; i++) await store.put([objectEntry('Note', { sequential: i })]);
  assert.equal(store.groupCommits <= 6 && store.groupCommits >= 4, true, 'sequential puts each commit');
  await store.close();
});

test('a torn index tail is cut off on open and the store keeps working', async () => {
  const dir = freshDir();
  const store = await openFileStore({ crypto, dir });
  await store.put([objectEntry('Note', { n: 1 })]);
  await store.put([objectEntry('Note', { n: 2 })]);
  await store.close();
  const indexSize = (await stat(join(dir, 'index.log'))).size;
  await appendFile(join(dir, 'index.log'), Buffer.from([0, 0, 0, 40, 1, 2, 3]));
  await appendFile(join(dir, 'data.log'), Buffer.from('bytes of a batch that never got its record'));
  const reopened = await openFileStore({ crypto, dir });
  assert.equal(reopened.recovery.droppedIndexBytes, 7);
  assert.equal(reopened.recovery.droppedDataBytes, 42);
  assert.equal(reopened.lastSeq, 2);
  assert.equal((await stat(join(dir, 'index.log'))).size, indexSize, 'the tail is truncated on disk');
  await reopened.put([objectEntry('Note', { n: 3 })]);
  await reopened.close();
  const again = await openFileStore({ crypto, dir });
  assert.equal(again.recovery.droppedIndexBytes, 0);
  assert.equal(again.lastSeq, 3);
  await assertStoreConsistent(again);
  await again.close();
});

test('damage inside the index keeps the valid prefix; bytes damaged on disk are refused on read', async () => {
  const dir = freshDir();
  const store = await openFileStore({ crypto, dir });
  const a = chunkEntry(new Uint8Array(1000).fill(1));
  const b = objectEntry('Note', { n: 'b' }, [a.hash]);
  const c = objectEntry('Note', { n: 'c' });
  await store.put([a]);
  await store.put([b]);
  await store.put([c]);
  await store.close();

  // Flip a byte inside the last 1000-byte run of 1s in the data log: the chunk's bytes.
  const dataPath = join(dir, 'data.log');
  const data = await readFile(dataPath);
  const at = data.indexOf(Buffer.alloc(1000, 1)) + 500;
  data[at] = 2;
  await writeFile(dataPath, data);
  const damagedData = await openFileStore({ crypto, dir });
  assert.equal(damagedData.lastSeq, 3, 'the index does not read bytes, so it still lists the entry');
  await assert.rejects(damagedData.get(a.hash), (e: unknown) => hasCode(e, 'HASH_MISMATCH'));
  assert.deepEqual(await damagedData.get(c.hash), c.bytes);
  await damagedData.close();

  // Flip a byte in the second batch record: it and everything after it are dropped.
  const indexPath = join(dir, 'index.log');
  const index = await readFile(indexPath);
  const second = index.indexOf(Buffer.from(b.hash, 'hex'));
  assert.ok(second > 0);
  index[second] = index[second]! ^ 0xff;
  await writeFile(indexPath, index);
  const damagedIndex = await openFileStore({ crypto, dir });
  assert.equal(damagedIndex.lastSeq, 1);
  assert.ok(damagedIndex.recovery.droppedIndexBytes > 0);
  assert.equal(damagedIndex.has(c.hash), false, 'later batches may depend on the damaged one and go too');
  await damagedIndex.close();
});

test('index records that point past the end of the data log are dropped', async () => {
  const dir = freshDir();
  const store = await openFileStore({ crypto, dir });
  const first = objectEntry('Note', { n: 'first' });
  await store.put([first]);
  const dataAfterFirst = (await stat(join(dir, 'data.log'))).size;
  await store.put([objectEntry('Note', { n: 'second' }), objectEntry('Note', { n: 'third' })]);
  await store.close();
  await truncate(join(dir, 'data.log'), dataAfterFirst + 3);
  const reopened = await openFileStore({ crypto, dir });
  assert.equal(reopened.lastSeq, 1);
  assert.equal(reopened.recovery.droppedDataBytes, 3);
  await assertStoreConsistent(reopened);
  await reopened.close();
});
