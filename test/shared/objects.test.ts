import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { hashObject, objectBytes, signObject, verifyObjectSignature, unsigned, assertKithObject } from '../../shared/objects.js';
import { hostileValues, isCoded } from '../support/hostile.js';

const crypto = new NativeCrypto();

test('hash is SHA-256 of the canonical bytes, independent of key order', () => {
  const a = hashObject(crypto, { $type: 'Note', b: 2, a: 'x' });
  const b = hashObject(crypto, { a: 'x', $type: 'Note', b: 2 });
  assert.equal(a, b);
  assert.match(a, /^[0-9a-f]{64}$/);
  assert.equal(Buffer.from(objectBytes({ $type: 'Note', b: 2, a: 'x' })).toString(), '{"$type":"Note","a":"x","b":2}');
  // Known answer: sha256('{"$type":"Note"}')
  assert.equal(hashObject(crypto, { $type: 'Note' }), Buffer.from(crypto.sha256(Buffer.from('{"$type":"Note"}'))).toString('hex'));
});

test('objects need a sane $type and integer numbers', () => {
  for (const bad of [{}, { $type: '' }, { $type: 7 }, { $type: 'a b' }, { $type: 'x'.repeat(65) }, [], null, 'Note']) {
    assert.throws(() => objectBytes(bad), { code: 'OBJECT_INVALID' });
  }
  assert.throws(() => objectBytes({ $type: 'Note', n: 0.5 }), { code: 'NOT_CANONICALIZABLE' });
  assert.throws(() => objectBytes({ $type: 'Note', s: 'x'.repeat(1024 * 1024) }), { code: 'OBJECT_TOO_LARGE' });
});

test('signatures cover everything but sig, and detect any change', async () => {
  const key = await crypto.ed25519Generate();
  const signed = await signObject(crypto, { $type: 'Note', text: 'hi', n: 1 }, key.secretKey);
  assert.equal(await verifyObjectSignature(crypto, signed, key.publicKey), true);
  assert.deepEqual(unsigned(signed), { $type: 'Note', text: 'hi', n: 1 });
  assert.equal(await verifyObjectSignature(crypto, { ...signed, text: 'ho' }, key.publicKey), false);
  assert.equal(await verifyObjectSignature(crypto, { ...signed, $type: 'Other' }, key.publicKey), false);
  assert.equal(await verifyObjectSignature(crypto, { ...signed, extra: 1 }, key.publicKey), false);
  const other = await crypto.ed25519Generate();
  assert.equal(await verifyObjectSignature(crypto, signed, other.publicKey), false);
  await assert.rejects(signObject(crypto, signed, key.secretKey), { code: 'INVALID_INPUT' });
});

test('verifyObjectSignature returns false for malformed signatures instead of throwing', async () => {
  const key = await crypto.ed25519Generate();
  const signed = await signObject(crypto, { $type: 'Note' }, key.secretKey);
  for (const sig of [undefined, 5, '', 'x', signed.sig.slice(1), signed.sig + 'A', '!'.repeat(86)]) {
    assert.equal(await verifyObjectSignature(crypto, { ...signed, sig: sig as string }, key.publicKey), false);
  }
  assert.equal(await verifyObjectSignature(crypto, signed, new Uint8Array(31)), false);
});

test('hostile values are refused with codes', () => {
  for (const { name, value } of hostileValues()) {
    assert.throws(() => assertKithObject(value), (err) => isCoded(err), name);
    assert.throws(() => objectBytes(value), (err) => isCoded(err), name);
  }
});
