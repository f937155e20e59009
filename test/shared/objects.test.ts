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

/** Hostile-list entries that are plain JSON with safe integers, so a field may legitimately hold them. */
const PLAIN_JSON = new Set([
  'null', 'true', 'false', '0', '-0', 'empty string', 'NUL bytes', 'hex-looking but 63 chars', 'uppercase hex',
  'plain array of numbers', 'empty array', 'empty object', 'Object.create(null)',
]);
/** Codes an object-encoding function may refuse a field value with. */
const FIELD_CODES = new Set(['NOT_CANONICALIZABLE', 'OBJECT_TOO_LARGE']);

/** Runs `fn` and returns the code it failed with, or undefined when it succeeded; an uncoded error fails the test. */
async function codeOf(name: string, fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
    return undefined;
  } catch (err) {
    assert.ok(isCoded(err), `${name}: uncoded ${String(err)}`);
    return (err as { code: string }).code;
  }
}

test('hashObject refuses every hostile value with OBJECT_INVALID, and hostile fields with a code', { timeout: 60_000 }, async () => {
  for (const { name, value } of hostileValues()) {
    assert.equal(await codeOf(name, () => hashObject(crypto, value as never)), 'OBJECT_INVALID', name);
    const code = await codeOf(name, () => hashObject(crypto, { $type: 'Note', v: value } as never));
    if (code === undefined) assert.ok(PLAIN_JSON.has(name), `${name} was hashed as a field`);
    else assert.ok(FIELD_CODES.has(code), `${name}: ${code}`);
  }
});

test('signObject refuses hostile objects, fields and secret keys with codes', { timeout: 60_000 }, async () => {
  const key = await crypto.ed25519Generate();
  for (const { name, value } of hostileValues()) {
    assert.equal(await codeOf(name, () => signObject(crypto, value as never, key.secretKey)), 'OBJECT_INVALID', name);
    const code = await codeOf(name, () => signObject(crypto, { $type: 'Note', v: value } as never, key.secretKey));
    if (code === undefined) assert.ok(PLAIN_JSON.has(name), `${name} was signed as a field`);
    else assert.ok(FIELD_CODES.has(code), `${name}: ${code}`);
    assert.equal(await codeOf(name, () => signObject(crypto, { $type: 'Note' }, value as never)), 'INVALID_INPUT', name);
  }
});

test('verifyObjectSignature(null) and other non-objects resolve false instead of throwing', async () => {
  const key = await crypto.ed25519Generate();
  for (const obj of [null, undefined, 0, 'Note', [], [{ $type: 'Note' }]]) {
    assert.equal(await verifyObjectSignature(crypto, obj as never, key.publicKey), false);
  }
  // A sig field whose read throws is bad input too.
  const trap = Object.defineProperty({ $type: 'Note' }, 'sig', { get: () => { throw new Error('boom'); }, enumerable: true });
  assert.equal(await verifyObjectSignature(crypto, trap as never, key.publicKey), false);
});

test('verifyObjectSignature resolves false for every hostile object, field, sig and public key', { timeout: 60_000 }, async () => {
  const key = await crypto.ed25519Generate();
  const signed = await signObject(crypto, { $type: 'Note', text: 'hi' }, key.secretKey);
  for (const { name, value } of hostileValues()) {
    const cases: Array<[string, () => Promise<boolean>]> = [
      ['object', () => verifyObjectSignature(crypto, value as never, key.publicKey)],
      ['field', () => verifyObjectSignature(crypto, { ...signed, v: value } as never, key.publicKey)],
      ['sig', () => verifyObjectSignature(crypto, { ...signed, sig: value } as never, key.publicKey)],
      ['public key', () => verifyObjectSignature(crypto, signed, value as never)],
    ];
    for (const [where, run] of cases) {
      let result: boolean;
      try {
        result = await run();
      } catch (err) {
        assert.fail(`${name} as ${where}: threw ${String(err)}`);
      }
      assert.equal(result, false, `${name} as ${where}`);
    }
  }
});
