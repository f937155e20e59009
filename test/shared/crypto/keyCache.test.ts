import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublicKeyCache, SecretKeyCache } from '../../../shared/crypto/keyCache.js';

test('PublicKeyCache: bounded, oldest entry evicted first', () => {
  const cache = new PublicKeyCache<number>(3);
  cache.set('a', 1);
  cache.set('b', 2);
  cache.set('c', 3);
  assert.equal(cache.size, 3);
  cache.set('a', 10); // an update does not evict
  assert.equal(cache.size, 3);
  assert.equal(cache.get('a'), 10);
  cache.set('d', 4);
  assert.equal(cache.size, 3);
  assert.equal(cache.get('a'), undefined, 'a was inserted first');
  assert.deepEqual(['b', 'c', 'd'].map((k) => cache.get(k)), [2, 3, 4]);
  cache.delete('c');
  assert.equal(cache.get('c'), undefined);
  assert.equal(cache.size, 2);
});

test('PublicKeyCache: never grows past its capacity', () => {
  const cache = new PublicKeyCache<number>(100);
  for (let i = 0; i < 10_000; i++) cache.set(`k${i}`, i);
  assert.equal(cache.size, 100);
  assert.equal(cache.get('k9999'), 9999);
  assert.equal(cache.get('k9899'), undefined);
});

test('SecretKeyCache: keyed by array identity, invalidated when the bytes change', () => {
  const cache = new SecretKeyCache<string>();
  const secret = new Uint8Array(32).fill(1);
  cache.set(secret, 'one');
  assert.equal(cache.get(secret), 'one');
  assert.equal(cache.get(new Uint8Array(32).fill(1)), undefined, 'equal bytes in another array: a miss');
  secret[31] = 2;
  assert.equal(cache.get(secret), undefined, 'rewritten in place: a miss');
  assert.equal(cache.get(secret), undefined, 'and the stale entry is gone');
  cache.set(secret, 'two');
  assert.equal(cache.get(secret), 'two');
  secret.fill(0); // wiped by its owner
  assert.equal(cache.get(secret), undefined);
  cache.set(secret, 'zero');
  cache.delete(secret);
  assert.equal(cache.get(secret), undefined);
});
