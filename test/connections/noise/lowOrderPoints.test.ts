import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { KithError } from '../../../shared/errors.js';
import { X25519_LOW_ORDER_POINTS, isLowOrderPoint } from '../../../connections/noise/lowOrderPoints.js';

const crypto = new NativeCrypto();

test('every listed point really is low order: the provider refuses the all-zero DH for several private keys', async () => {
  assert.equal(X25519_LOW_ORDER_POINTS.length, 14);
  for (let round = 0; round < 3; round++) {
    const { secretKey } = await crypto.x25519Generate();
    for (const point of X25519_LOW_ORDER_POINTS) {
      await assert.rejects(crypto.x25519(secretKey, point), (e: unknown) => e instanceof KithError && e.code === 'CRYPTO_FAILURE');
    }
  }
});

test('isLowOrderPoint: listed points yes; real keys, the base point and wrong lengths no', async () => {
  for (const point of X25519_LOW_ORDER_POINTS) assert.equal(isLowOrderPoint(point.slice()), true);
  const base = new Uint8Array(32);
  base[0] = 9;
  assert.equal(isLowOrderPoint(base), false);
  for (let i = 0; i < 20; i++) assert.equal(isLowOrderPoint((await crypto.x25519Generate()).publicKey), false);
  assert.equal(isLowOrderPoint(new Uint8Array(31)), false);
  assert.equal(isLowOrderPoint(new Uint8Array(33)), false);
});
