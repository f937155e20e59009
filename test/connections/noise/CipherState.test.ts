import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { KithError } from '../../../shared/errors.js';
import { utf8 } from '../../../shared/bytes.js';
import { MAX_NOISE_MESSAGE, MAX_NOISE_NONCE } from '../../../shared/limits.js';
import { CipherState, NOISE_TAG_BYTES } from '../../../connections/noise/CipherState.js';
import { hostileValues, isCoded } from '../../support/hostile.js';

const crypto = new NativeCrypto();
const EMPTY = new Uint8Array(0);

/** The ChaChaPoly nonce of spec §12.3, built independently: 4 zero bytes ‖ n as 64-bit little-endian. */
function noiseNonce(n: number): Uint8Array {
  const out = new Uint8Array(12);
  new DataView(out.buffer).setBigUint64(4, BigInt(n), true);
  return out;
}

function code(err: unknown): string | undefined {
  return err instanceof KithError ? err.code : undefined;
}

function throwsCode(fn: () => unknown, expected: string): void {
  assert.throws(fn, (err: unknown) => code(err) === expected, `expected ${expected}`);
}

test('encryptWithAd uses nonce 0, 1, 2 … in the ChaChaPoly layout and returns ciphertext ‖ tag', () => {
  const key = crypto.randomBytes(32);
  const cs = new CipherState(crypto, key);
  const ad = utf8('ad');
  for (let n = 0; n < 3; n++) {
    assert.equal(cs.nonce, n);
    const pt = utf8(`message ${n}`);
    const ct = cs.encryptWithAd(ad, pt);
    assert.equal(ct.length, pt.length + NOISE_TAG_BYTES);
    assert.deepEqual(ct, crypto.chacha20poly1305Seal(key, noiseNonce(n), pt, ad));
  }
  assert.equal(cs.nonce, 3);
});

test('large counters are written as 64-bit little-endian (high word included)', () => {
  const key = crypto.randomBytes(32);
  for (const n of [2 ** 32 - 1, 2 ** 32, 2 ** 40 + 5, MAX_NOISE_NONCE - 1]) {
    const cs = new CipherState(crypto, key);
    cs.setNonce(n);
    const ct = cs.encryptWithAd(EMPTY, utf8('x'));
    assert.deepEqual(ct, crypto.chacha20poly1305Seal(key, noiseNonce(n), utf8('x'), EMPTY), `n = ${n}`);
    assert.equal(cs.nonce, n + 1);
  }
});

test('decryptWithAd round-trips and advances only on success', () => {
  const key = crypto.randomBytes(32);
  const a = new CipherState(crypto, key);
  const b = new CipherState(crypto, key);
  const c1 = a.encryptWithAd(EMPTY, utf8('one'));
  const c2 = a.encryptWithAd(EMPTY, utf8('two'));
  // Out of order: the receiver expects nonce 0, so c2 fails and the counter stays.
  throwsCode(() => b.decryptWithAd(EMPTY, c2), 'DECRYPT_FAILED');
  assert.equal(b.nonce, 0);
  const tampered = c1.slice();
  tampered[0]! ^= 1;
  throwsCode(() => b.decryptWithAd(EMPTY, tampered), 'DECRYPT_FAILED');
  throwsCode(() => b.decryptWithAd(utf8('other ad'), c1), 'DECRYPT_FAILED');
  throwsCode(() => b.decryptWithAd(EMPTY, c1.subarray(0, NOISE_TAG_BYTES - 1)), 'DECRYPT_FAILED');
  assert.equal(b.nonce, 0);
  assert.deepEqual(b.decryptWithAd(EMPTY, c1), utf8('one'));
  assert.deepEqual(b.decryptWithAd(EMPTY, c2), utf8('two'));
  assert.equal(b.nonce, 2);
  // A replay of c1 is refused: its nonce is behind.
  throwsCode(() => b.decryptWithAd(EMPTY, c1), 'DECRYPT_FAILED');
});

test('messages are capped at 65535 bytes in both directions', () => {
  const key = crypto.randomBytes(32);
  const a = new CipherState(crypto, key);
  const b = new CipherState(crypto, key);
  const max = new Uint8Array(MAX_NOISE_MESSAGE - NOISE_TAG_BYTES);
  const ct = a.encryptWithAd(EMPTY, max);
  assert.equal(ct.length, MAX_NOISE_MESSAGE);
  assert.equal(b.decryptWithAd(EMPTY, ct).length, max.length);
  throwsCode(() => a.encryptWithAd(EMPTY, new Uint8Array(max.length + 1)), 'INVALID_INPUT');
  assert.equal(a.nonce, 1);
  throwsCode(() => b.decryptWithAd(EMPTY, new Uint8Array(MAX_NOISE_MESSAGE + 1)), 'DECRYPT_FAILED');
  assert.equal(b.nonce, 1);
});

test('rekey follows REKEY(k) = ENCRYPT(k, 2^64 − 1, empty, zeros)[0..32], keeps n, and both sides interoperate', () => {
  const key = crypto.randomBytes(32);
  const a = new CipherState(crypto, key);
  const b = new CipherState(crypto, key);
  b.decryptWithAd(EMPTY, a.encryptWithAd(EMPTY, utf8('before')));
  a.rekey();
  b.rekey();
  assert.equal(a.nonce, 1);
  const maxNonce = new Uint8Array(12).fill(0xff, 4);
  const expectedKey = crypto.chacha20poly1305Seal(key, maxNonce, new Uint8Array(32), EMPTY).subarray(0, 32);
  const ct = a.encryptWithAd(EMPTY, utf8('after'));
  assert.deepEqual(ct, crypto.chacha20poly1305Seal(expectedKey, noiseNonce(1), utf8('after'), EMPTY));
  assert.deepEqual(b.decryptWithAd(EMPTY, ct), utf8('after'));
  // A side that did not rekey cannot read the new key's messages.
  const stale = new CipherState(crypto, key);
  stale.setNonce(2);
  throwsCode(() => stale.decryptWithAd(EMPTY, a.encryptWithAd(EMPTY, utf8('x'))), 'DECRYPT_FAILED');
  throwsCode(() => new CipherState(crypto).rekey(), 'INVALID_INPUT');
});

test('nonce exhaustion: refuses at MAX_NOISE_NONCE instead of wrapping, in both directions', () => {
  const key = crypto.randomBytes(32);
  const a = new CipherState(crypto, key);
  const b = new CipherState(crypto, key);
  a.setNonce(MAX_NOISE_NONCE - 1);
  b.setNonce(MAX_NOISE_NONCE - 1);
  const last = a.encryptWithAd(EMPTY, utf8('last'));
  assert.equal(a.nonce, MAX_NOISE_NONCE);
  assert.ok(Number.isSafeInteger(a.nonce));
  throwsCode(() => a.encryptWithAd(EMPTY, utf8('one too many')), 'NONCE_EXHAUSTED');
  assert.equal(a.nonce, MAX_NOISE_NONCE);
  assert.deepEqual(b.decryptWithAd(EMPTY, last), utf8('last'));
  throwsCode(() => b.decryptWithAd(EMPTY, last), 'NONCE_EXHAUSTED');
  // Rekey does not reset the counter, so it is no way around exhaustion.
  a.rekey();
  throwsCode(() => a.encryptWithAd(EMPTY, EMPTY), 'NONCE_EXHAUSTED');
});

test('setNonce only moves forward and stays in range', () => {
  const cs = new CipherState(crypto, crypto.randomBytes(32));
  cs.setNonce(5);
  throwsCode(() => cs.setNonce(4), 'INVALID_INPUT');
  throwsCode(() => cs.setNonce(MAX_NOISE_NONCE + 1), 'INVALID_INPUT');
  cs.setNonce(5); // staying put is allowed
  assert.equal(cs.nonce, 5);
  const fresh = new CipherState(crypto, crypto.randomBytes(32));
  fresh.setNonce(-0);
  assert.ok(Object.is(fresh.nonce, 0), '-0 is stored as 0');
});

test('without a key the state passes data through (the handshake before its first DH)', () => {
  const cs = new CipherState(crypto);
  assert.equal(cs.hasKey(), false);
  const data = utf8('clear');
  assert.equal(cs.encryptWithAd(EMPTY, data), data);
  assert.equal(cs.decryptWithAd(EMPTY, data), data);
  assert.equal(cs.nonce, 0);
});

test('the key is copied in, wiped by destroy, and a destroyed state refuses every call', () => {
  const key = crypto.randomBytes(32);
  const cs = new CipherState(crypto, key);
  const reference = new CipherState(crypto, key.slice());
  key.fill(0); // the caller wiping its copy must not change ours
  const ct = cs.encryptWithAd(EMPTY, utf8('x'));
  assert.deepEqual(reference.decryptWithAd(EMPTY, ct), utf8('x'));
  cs.destroy();
  cs.destroy();
  assert.equal(cs.hasKey(), false);
  throwsCode(() => cs.encryptWithAd(EMPTY, utf8('x')), 'CLOSED');
  throwsCode(() => cs.decryptWithAd(EMPTY, ct), 'CLOSED');
  throwsCode(() => cs.rekey(), 'CLOSED');
  throwsCode(() => cs.setNonce(9), 'CLOSED');
});

test('hostile values: constructor, encryptWithAd, decryptWithAd and setNonce refuse with a code or accept what is valid', () => {
  const key = crypto.randomBytes(32);
  const peer = new CipherState(crypto, key);
  for (const { name, value } of hostileValues()) {
    const v = value as never;
    // crypto
    assert.throws(() => new CipherState(v), (e: unknown) => code(e) === 'INVALID_INPUT', `crypto = ${name}`);
    // key: only undefined (keyless) is acceptable, and no hostile value is a 32-byte Uint8Array
    if (value !== undefined) assert.throws(() => new CipherState(crypto, v), (e: unknown) => code(e) === 'INVALID_INPUT', `key = ${name}`);

    const sender = new CipherState(crypto, key);
    for (const [label, call] of [
      ['ad', () => sender.encryptWithAd(v, EMPTY)],
      ['plaintext', () => sender.encryptWithAd(EMPTY, v)],
    ] as const) {
      const ok = label === 'ad' ? value instanceof Uint8Array : value instanceof Uint8Array && value.length <= MAX_NOISE_MESSAGE - NOISE_TAG_BYTES;
      const before = sender.nonce;
      if (ok) {
        assert.equal(call().length >= NOISE_TAG_BYTES, true, `${label} = ${name}`);
        assert.equal(sender.nonce, before + 1);
      } else {
        assert.throws(call, (e: unknown) => isCoded(e) && code(e) === 'INVALID_INPUT', `${label} = ${name}`);
        assert.equal(sender.nonce, before);
      }
    }
    const before = peer.nonce;
    assert.throws(
      () => peer.decryptWithAd(EMPTY, v),
      (e: unknown) => code(e) === (value instanceof Uint8Array ? 'DECRYPT_FAILED' : 'INVALID_INPUT'),
      `ciphertext = ${name}`,
    );
    assert.throws(() => peer.decryptWithAd(v, new Uint8Array(32)), (e: unknown) => isCoded(e), `ad (decrypt) = ${name}`);
    assert.equal(peer.nonce, before);

    const counter = new CipherState(crypto, key);
    const valid = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_NOISE_NONCE;
    if (valid) counter.setNonce(value);
    else assert.throws(() => counter.setNonce(v), (e: unknown) => code(e) === 'INVALID_INPUT', `setNonce(${name})`);
  }
});
