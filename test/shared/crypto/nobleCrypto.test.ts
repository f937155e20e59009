import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ed from '@noble/ed25519';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { NobleCrypto } from '../../../shared/crypto/nobleCrypto.js';
import { utf8 } from '../../../shared/bytes.js';
import { ed25519EdgeCases } from '../../support/vectors/ed25519Edges.js';
import { testBytes } from './providerConformance.js';

/** A deterministic "random" source for tests. */
function counterRandom(): (array: Uint8Array) => Uint8Array {
  let n = 0;
  return (array) => {
    for (let i = 0; i < array.length; i++) array[i] = (n++ * 131 + 7) & 0xff;
    return array;
  };
}

test('randomness is injectable: the same source gives the same keys, matching native derivation', async () => {
  const a = new NobleCrypto({ getRandomValues: counterRandom() });
  const b = new NobleCrypto({ getRandomValues: counterRandom() });
  const ka = await a.ed25519Generate();
  const kb = await b.ed25519Generate();
  assert.deepEqual(ka, kb);
  assert.deepEqual(ka.publicKey, await new NativeCrypto().ed25519PublicKey(ka.secretKey));
  const xa = await a.x25519Generate();
  const xb = await b.x25519Generate();
  assert.deepEqual(xa, xb);
  assert.deepEqual(xa.publicKey, await new NativeCrypto().x25519PublicKey(xa.secretKey));
  assert.deepEqual(a.randomBytes(5), b.randomBytes(5));
});

test('a failing random source is CRYPTO_FAILURE, not an uncoded error', async () => {
  const broken = new NobleCrypto({
    getRandomValues: () => {
      throw new Error('entropy exhausted');
    },
  });
  assert.throws(() => broken.randomBytes(32), { code: 'CRYPTO_FAILURE' });
  await assert.rejects(broken.ed25519Generate(), { code: 'CRYPTO_FAILURE' });
  await assert.rejects(broken.x25519Generate(), { code: 'CRYPTO_FAILURE' });
  assert.equal(broken.randomBytes(0).length, 0, 'zero bytes need no entropy');
});

test('without an injected source and without globalThis.crypto, construction fails with a code', () => {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
  assert.ok(saved?.configurable, 'globalThis.crypto can be replaced for this test');
  Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
  try {
    assert.throws(() => new NobleCrypto(), { code: 'CRYPTO_FAILURE' });
    assert.doesNotThrow(() => new NobleCrypto({ getRandomValues: counterRandom() }));
  } finally {
    Object.defineProperty(globalThis, 'crypto', saved!);
  }
});

test('no global state: @noble/ed25519 sync hook stays unset', async () => {
  const noble = new NobleCrypto();
  const { publicKey, secretKey } = await noble.ed25519Generate();
  const sig = await noble.ed25519Sign(secretKey, utf8('x'));
  assert.equal(await noble.ed25519Verify(publicKey, utf8('x'), sig), true);
  assert.equal(ed.hashes.sha512, undefined);
});

test("noble's own verify is cofactored and laxer; NobleCrypto applies Kith's cofactorless rule", async () => {
  const noble = new NobleCrypto();
  const laxer = ed25519EdgeCases().filter((e) => !e.expected && (e.name.startsWith('R = [r]B + T8') || e.name.startsWith('mixed-order A')));
  assert.ok(laxer.length >= 6);
  for (const e of laxer) {
    assert.equal(await ed.verifyAsync(e.signature, e.message, e.publicKey, { zip215: false }), true, `noble's verify accepts ${e.name}`);
    assert.equal(await noble.ed25519Verify(e.publicKey, e.message, e.signature), false, `NobleCrypto refuses ${e.name}`);
  }
});

test('signatures with a cached expanded key equal fresh ones', async () => {
  const noble = new NobleCrypto();
  const sk = testBytes(32, 77);
  const first = await noble.ed25519Sign(sk, utf8('m'));
  const again = await noble.ed25519Sign(sk, utf8('m'));
  const fresh = await new NobleCrypto().ed25519Sign(sk.slice(), utf8('m'));
  assert.deepEqual(first, again);
  assert.deepEqual(first, fresh);
  // The returned public key is a copy: changing it does not change later results.
  const pk = await noble.ed25519PublicKey(sk);
  pk.fill(0);
  assert.notDeepEqual(await noble.ed25519PublicKey(sk), pk);
});
