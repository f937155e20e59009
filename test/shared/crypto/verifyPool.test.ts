import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NativeCrypto, closeVerifyPool } from '../../../shared/crypto/nativeCrypto.js';
import { VerifyPool } from '../../../shared/crypto/verifyPool.js';
import { VERIFY_POOL_BATCH, VERIFY_POOL_MAX_FAILURES, VERIFY_POOL_MAX_MESSAGE_BYTES, VERIFY_POOL_START_BATCH } from '../../../shared/limits.js';

const crypto = new NativeCrypto({ verifyWorkers: false });

/** Signed messages, and for each a forged copy (one bit of the signature flipped). */
async function signed(count: number, messageBytes = 32) {
  const key = await crypto.ed25519Generate();
  const items: Array<{ message: Uint8Array; signature: Uint8Array; forged: Uint8Array }> = [];
  for (let i = 0; i < count; i++) {
    const message = new Uint8Array(messageBytes).fill(i & 0xff);
    message[0] = i >> 8;
    const signature = await crypto.ed25519Sign(key.secretKey, message);
    const forged = signature.slice();
    forged[5]! ^= 1;
    items.push({ message, signature, forged });
  }
  return { publicKey: key.publicKey, items };
}

/** A pool, and `verify` through it with the threadpool path as the fallback, counting how often that is taken. */
function countingPool(maxWorkers = 1) {
  let fallbacks = 0;
  const pool = new VerifyPool(maxWorkers);
  const fallback = (pk: Uint8Array, m: Uint8Array, s: Uint8Array) => {
    fallbacks++;
    return crypto.ed25519Verify(pk, m, s);
  };
  const verify = (pk: Uint8Array, m: Uint8Array, s: Uint8Array): Promise<boolean> => pool.verify(pk, m, s, fallback);
  return { pool, verify, fallbacks: () => fallbacks };
}

test('batched verification in workers gives OpenSSL\'s verdicts, many batches at once, in order', async () => {
  const { publicKey, items } = await signed(3 * VERIFY_POOL_BATCH + 7);
  const { pool, verify, fallbacks } = countingPool(2);
  try {
    const verdicts = await Promise.all(items.flatMap((it) => [verify(publicKey, it.message, it.signature), verify(publicKey, it.message, it.forged)]));
    verdicts.forEach((ok, i) => assert.equal(ok, i % 2 === 0, `request ${i}`));
    assert.equal(fallbacks(), 0, 'the workers answered everything');
    // A key OpenSSL refuses to import gives false, not an error.
    assert.equal(await verify(new Uint8Array(32).fill(0xff), items[0]!.message, items[0]!.signature), false);
  } finally {
    await pool.close();
  }
});

test('while every worker is busy, requests made one at a time wait for a free one and leave together', async () => {
  const { publicKey, items } = await signed(VERIFY_POOL_START_BATCH + 60);
  const { pool, verify, fallbacks } = countingPool(1);
  try {
    const first = items.slice(0, VERIFY_POOL_START_BATCH).map((it) => verify(publicKey, it.message, it.signature));
    await Promise.resolve(); // the first batch leaves and starts the worker
    const rest: Promise<boolean>[] = [];
    for (const it of items.slice(VERIFY_POOL_START_BATCH)) {
      rest.push(verify(publicKey, it.message, it.signature));
      await Promise.resolve(); // one per turn of the microtask queue, as a pipeline releases them
    }
    assert.ok((await Promise.all([...first, ...rest])).every(Boolean));
    assert.equal(fallbacks(), 0);
    const batches = (pool as unknown as { nextId: number }).nextId;
    assert.ok(batches <= 4, `${items.length} verifications went out in ${batches} batches`);
  } finally {
    await pool.close();
  }
});

test('a worker that dies hands its requests to the threadpool: nothing is lost, nothing defaults to true', async () => {
  const { publicKey, items } = await signed(VERIFY_POOL_BATCH);
  const { pool, verify, fallbacks } = countingPool(1);
  try {
    const pending = items.map((it, i) => verify(publicKey, it.message, i % 3 === 0 ? it.forged : it.signature));
    await Promise.resolve(); // a full batch leaves at once
    const workers = (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }).workers;
    assert.equal(workers.length, 1);
    await workers[0]!.worker.terminate();
    const verdicts = await Promise.all(pending);
    verdicts.forEach((ok, i) => assert.equal(ok, i % 3 !== 0, `request ${i}`));
    assert.ok(fallbacks() > 0, 'the lost batch was verified again on the threadpool');
    // The pool starts a new worker for later requests.
    assert.equal(await verify(publicKey, items[1]!.message, items[1]!.signature), true);
  } finally {
    await pool.close();
  }
});

test("requests of several callers share a batch, and each lost one goes back through its own caller's fallback", async () => {
  const { publicKey, items } = await signed(VERIFY_POOL_BATCH);
  const pool = new VerifyPool(1);
  const taken = { a: 0, b: 0 };
  const fallbackFor = (name: 'a' | 'b') => (pk: Uint8Array, m: Uint8Array, sig: Uint8Array) => {
    taken[name]++;
    return crypto.ed25519Verify(pk, m, sig);
  };
  const [a, b] = [fallbackFor('a'), fallbackFor('b')];
  try {
    const pending = items.map((it, i) => pool.verify(publicKey, it.message, i % 5 === 0 ? it.forged : it.signature, i % 2 === 0 ? a : b));
    await Promise.resolve(); // a full batch leaves at once
    const workers = (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }).workers;
    assert.equal(workers.length, 1, 'one batch, one worker, both callers in it');
    await workers[0]!.worker.terminate();
    const verdicts = await Promise.all(pending);
    verdicts.forEach((ok, i) => assert.equal(ok, i % 5 !== 0, `request ${i}`));
    assert.deepEqual(taken, { a: items.length / 2, b: items.length / 2 }, 'each request went back to its own caller');
  } finally {
    await pool.close();
  }
});

test(`after ${VERIFY_POOL_MAX_FAILURES} failed workers every request takes the threadpool`, async () => {
  const { publicKey, items } = await signed(VERIFY_POOL_START_BATCH);
  const { pool, verify, fallbacks } = countingPool(1);
  try {
    for (let i = 0; i < VERIFY_POOL_MAX_FAILURES; i++) {
      const p = Promise.all(items.map((it) => verify(publicKey, it.message, it.signature)));
      await new Promise<void>((resolve) => setImmediate(resolve)); // the queue leaves on the next check phase
      const workers = (pool as unknown as { workers: Array<{ worker: { terminate(): Promise<number> } }> }).workers;
      await workers[0]!.worker.terminate();
      assert.ok((await p).every(Boolean));
    }
    assert.equal(pool.disabled, true);
    const before = fallbacks();
    assert.equal(await verify(publicKey, items[1]!.message, items[1]!.forged), false);
    assert.equal(await verify(publicKey, items[1]!.message, items[1]!.signature), true);
    assert.equal(fallbacks(), before + 2);
  } finally {
    await pool.close();
  }
});

test(`a turn with fewer than ${VERIFY_POOL_START_BATCH} verifications starts no worker`, async () => {
  const { publicKey, items } = await signed(VERIFY_POOL_START_BATCH - 1);
  const { pool, verify, fallbacks } = countingPool(1);
  try {
    assert.ok((await Promise.all(items.map((it) => verify(publicKey, it.message, it.signature)))).every(Boolean));
    assert.equal(fallbacks(), items.length);
    assert.equal((pool as unknown as { workers: unknown[] }).workers.length, 0);
  } finally {
    await pool.close();
  }
});

test('long messages skip the copy to a worker; closing the pool verifies what was outstanding', async () => {
  const long = await signed(1, VERIFY_POOL_MAX_MESSAGE_BYTES + 1);
  const { pool, verify, fallbacks } = countingPool(1);
  assert.equal(await verify(long.publicKey, long.items[0]!.message, long.items[0]!.signature), true);
  assert.equal(fallbacks(), 1);
  const short = await signed(VERIFY_POOL_START_BATCH + 4);
  const pending = short.items.map((it) => verify(short.publicKey, it.message, it.signature));
  await Promise.resolve();
  await pool.close();
  assert.deepEqual(await Promise.all(pending), short.items.map(() => true));
});

test('the provider verifies through the shared pool by default, and its workers never keep a process alive', async () => {
  const provider = new NativeCrypto();
  const { publicKey, items } = await signed(VERIFY_POOL_START_BATCH * 2);
  assert.deepEqual(await Promise.all(items.map((it) => provider.ed25519Verify(publicKey, it.message, it.signature))), items.map(() => true));
  assert.equal(await provider.ed25519Verify(publicKey, items[0]!.message, items[0]!.forged), false);
  await closeVerifyPool();
  // A process that verifies through the workers and then has nothing left to do exits on its own.
  const source = `
    import { NativeCrypto } from ${JSON.stringify(fileURLToPath(new URL('../../../shared/crypto/nativeCrypto.ts', import.meta.url)))};
    const c = new NativeCrypto();
    const k = await c.ed25519Generate();
    const m = new Uint8Array(32);
    const s = await c.ed25519Sign(k.secretKey, m);
    const all = await Promise.all(Array.from({ length: 64 }, () => c.ed25519Verify(k.publicKey, m, s)));
    console.log(all.every(Boolean) ? 'verified' : 'refused');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the process did not exit within 20 s: something kept it alive'));
    }, 20_000);
    child.on('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.equal(code, 0);
  assert.equal(out.trim(), 'verified');
});
