/**
 * What NativeCrypto adds on top of OpenSSL, shown against OpenSSL used directly: the
 * conformance suite (providers.test.ts) checks the verdicts, these tests show why the
 * shared precheck has to exist and that the Node-specific paths are exercised.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nodeCrypto from 'node:crypto';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { NobleCrypto } from '../../../shared/crypto/nobleCrypto.js';
import { toBase64url, utf8 } from '../../../shared/bytes.js';
import { ed25519EdgeCases } from '../../support/vectors/ed25519Edges.js';
import { testBytes } from './providerConformance.js';

function opensslVerify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    const key = nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: toBase64url(publicKey) }, format: 'jwk' });
    return nodeCrypto.verify(null, message, key, signature);
  } catch {
    return false;
  }
}

test('OpenSSL alone accepts forgeries under small-order and non-canonical keys; NativeCrypto refuses them', async () => {
  const native = new NativeCrypto();
  const cases = ed25519EdgeCases();
  const forgeries = cases.filter((e) => e.openssl === true);
  // If a later OpenSSL refuses these itself, the precheck stays harmless, but this test says so.
  assert.ok(forgeries.length >= 10, `expected OpenSSL to accept the documented forgeries, found ${forgeries.length}`);
  for (const e of forgeries) {
    assert.equal(opensslVerify(e.publicKey, e.message, e.signature), true, `OpenSSL accepts: ${e.name}`);
    assert.equal(await native.ed25519Verify(e.publicKey, e.message, e.signature), false, `NativeCrypto refuses: ${e.name}`);
  }
  // Everywhere else OpenSSL and the rule agree, so the precheck refuses nothing OpenSSL accepts honestly.
  for (const e of cases.filter((c) => c.openssl === undefined)) {
    assert.equal(opensslVerify(e.publicKey, e.message, e.signature), e.expected, `OpenSSL on ${e.name}`);
  }
});

test('HKDF with info longer than Node accepts (1 KiB) takes the HMAC path and matches noble', () => {
  const native = new NativeCrypto();
  const noble = new NobleCrypto();
  const ikm = testBytes(32, 1);
  for (const infoLength of [1024, 1025, 4096]) {
    for (const length of [1, 32, 33, 64, 8160]) {
      const info = testBytes(infoLength, infoLength);
      assert.deepEqual(native.hkdfSha256(ikm, utf8('salt'), info, length), noble.hkdfSha256(ikm, utf8('salt'), info, length), `${infoLength}/${length}`);
      assert.deepEqual(native.hkdfSha256(ikm, new Uint8Array(0), info, length), noble.hkdfSha256(ikm, new Uint8Array(0), info, length));
    }
  }
});

test('64 verifications in flight on the threadpool all resolve correctly', async () => {
  const native = new NativeCrypto();
  const { publicKey, secretKey } = await native.ed25519Generate();
  const messages = Array.from({ length: 64 }, (_, i) => testBytes(100, i + 1));
  const sigs = await Promise.all(messages.map((m) => native.ed25519Sign(secretKey, m)));
  const verdicts = await Promise.all(messages.map((m, i) => native.ed25519Verify(publicKey, m, sigs[(i + (i % 2)) % 64]!)));
  verdicts.forEach((ok, i) => assert.equal(ok, i % 2 === 0, `message ${i}`));
});

test('generated secret keys are usable at once and are their own arrays', async () => {
  const native = new NativeCrypto();
  const a = await native.x25519Generate();
  const b = await native.x25519Generate();
  assert.deepEqual(await native.x25519(a.secretKey, b.publicKey), await native.x25519(b.secretKey, a.publicKey));
  assert.equal(a.secretKey.byteOffset, 0);
  assert.equal(a.secretKey.buffer.byteLength, 32, 'not a view into a pooled or DER buffer');
  const e = await native.ed25519Generate();
  assert.deepEqual(await native.ed25519PublicKey(e.secretKey), e.publicKey);
  assert.deepEqual(await native.ed25519PublicKey(e.secretKey.slice()), e.publicKey, 'a fresh array imports the same key');
});

test('small random values come from a pool: distinct across refills, and what was handed out is wiped from it', async () => {
  const native = new NativeCrypto();
  const seen = new Set<string>();
  // 32-byte values across several refills of the 4 KiB pool.
  for (let i = 0; i < 1000; i++) seen.add(toBase64url(native.randomBytes(32)));
  assert.equal(seen.size, 1000);
  const pool = (native as unknown as { randomPool: Buffer }).randomPool;
  const offset = (native as unknown as { randomPoolOffset: number }).randomPoolOffset;
  assert.ok(offset > 0, 'the pool was used');
  assert.ok(pool.subarray(0, offset).every((b) => b === 0), 'every byte handed out is zero in the pool');
  // Keys generated from the pool are distinct and usable.
  const keys = new Set<string>();
  for (let i = 0; i < 200; i++) keys.add(toBase64url((await native.x25519Generate()).secretKey));
  assert.equal(keys.size, 200);
  // Larger requests bypass the pool.
  assert.equal(native.randomBytes(4096).length, 4096);
});
