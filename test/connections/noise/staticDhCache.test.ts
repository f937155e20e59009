import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { NobleCrypto } from '../../../shared/crypto/nobleCrypto.js';
import type { CryptoProvider } from '../../../shared/crypto/CryptoProvider.js';
import { staticDh } from '../../../connections/noise/staticDhCache.js';
import { STATIC_DH_CACHE_ENTRIES } from '../../../shared/limits.js';
import { X25519_LOW_ORDER_POINTS as LOW_ORDER_POINTS } from '../../../connections/noise/lowOrderPoints.js';

/** A provider that counts its X25519 calls (and otherwise is the native one). */
function counting(): { crypto: CryptoProvider; calls: () => number } {
  const native = new NativeCrypto();
  let calls = 0;
  const crypto = new Proxy(native, {
    get(target, prop, receiver) {
      if (prop === 'x25519') {
        return (s: Uint8Array, p: Uint8Array) => {
          calls++;
          return target.x25519(s, p);
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { crypto, calls: () => calls };
}

test('staticDh equals X25519, computes once per pair of keys, and hands out copies the caller may wipe', async () => {
  const { crypto, calls } = counting();
  const a = await crypto.x25519Generate();
  const b = await crypto.x25519Generate();
  const expected = await new NobleCrypto().x25519(a.secretKey, b.publicKey);
  const first = await staticDh(crypto, a.secretKey, b.publicKey);
  assert.deepEqual(first, expected);
  first.fill(0);
  const second = await staticDh(crypto, a.secretKey, b.publicKey);
  assert.deepEqual(second, expected, 'wiping a returned value does not reach the cache');
  assert.equal(calls(), 1, 'the second call was answered from the cache');
  // The other side of the pair has its own entry, with the same result.
  assert.deepEqual(await staticDh(crypto, b.secretKey, a.publicKey), expected);
  assert.equal(calls(), 2);
});

test('a secret-key array changed in place gets a fresh result, never the old one', async () => {
  const { crypto, calls } = counting();
  const a = await crypto.x25519Generate();
  const b = await crypto.x25519Generate();
  const c = await crypto.x25519Generate();
  const reused = a.secretKey.slice();
  await staticDh(crypto, reused, b.publicKey);
  reused.set(c.secretKey); // the caller reuses its array for another key
  const got = await staticDh(crypto, reused, b.publicKey);
  assert.deepEqual(got, await new NobleCrypto().x25519(c.secretKey, b.publicKey));
  assert.equal(calls(), 2);
  reused.fill(0); // and then wipes it: an all-zero scalar is a new key again, not a cache hit
  await staticDh(crypto, reused, b.publicKey).catch(() => undefined);
  assert.equal(calls(), 3);
});

test('failures are not cached, and each provider keeps its own results', async () => {
  const { crypto, calls } = counting();
  const a = await crypto.x25519Generate();
  const lowOrder = LOW_ORDER_POINTS[0]!;
  for (let i = 0; i < 2; i++) await assert.rejects(staticDh(crypto, a.secretKey, lowOrder), { code: 'CRYPTO_FAILURE' });
  assert.equal(calls(), 2, 'a refused key is refused by the provider every time');
  const other = counting();
  const b = await crypto.x25519Generate();
  await staticDh(crypto, a.secretKey, b.publicKey);
  await staticDh(other.crypto, a.secretKey, b.publicKey);
  assert.equal(other.calls(), 1, 'a second provider computes for itself');
});

test(`at most ${STATIC_DH_CACHE_ENTRIES} remote keys are remembered per local key, the oldest going first`, async () => {
  const { crypto, calls } = counting();
  const a = await crypto.x25519Generate();
  const remotes: Uint8Array[] = [];
  for (let i = 0; i <= STATIC_DH_CACHE_ENTRIES; i++) remotes.push((await crypto.x25519Generate()).publicKey);
  for (const r of remotes) await staticDh(crypto, a.secretKey, r);
  assert.equal(calls(), STATIC_DH_CACHE_ENTRIES + 1);
  await staticDh(crypto, a.secretKey, remotes[remotes.length - 1]!);
  assert.equal(calls(), STATIC_DH_CACHE_ENTRIES + 1, 'the newest is still cached');
  await staticDh(crypto, a.secretKey, remotes[0]!);
  assert.equal(calls(), STATIC_DH_CACHE_ENTRIES + 2, 'the oldest was evicted and is computed again');
});

test('a secret array changed while its DH runs: the result is returned but not kept under the new bytes', async () => {
  const { crypto, calls } = counting();
  const a = await crypto.x25519Generate();
  const b = await crypto.x25519Generate();
  const c = await crypto.x25519Generate();
  const arr = a.secretKey.slice();
  const pending = staticDh(crypto, arr, b.publicKey);
  arr.set(c.secretKey); // rewritten before the first computation finished
  assert.deepEqual(await pending, await new NobleCrypto().x25519(a.secretKey, b.publicKey));
  assert.deepEqual(await staticDh(crypto, arr, b.publicKey), await new NobleCrypto().x25519(c.secretKey, b.publicKey));
  assert.equal(calls(), 2, 'the second call computed for the new bytes');
});
