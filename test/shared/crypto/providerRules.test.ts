import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Point } from '@noble/ed25519';
import {
  assertAeadInput,
  assertHkdfInput,
  assertRandomLength,
  checkScryptParams,
  ed25519Precheck,
  HKDF_SHA256_MAX_LENGTH,
  isAllZero,
  scryptMemory,
} from '../../../shared/crypto/providerRules.js';
import { fromHex } from '../../../shared/bytes.js';
import { MAX_RANDOM_BYTES, SCRYPT_MAXMEM, SCRYPT_MAX_DKLEN, SCRYPT_MAX_P, SCRYPT_N, SCRYPT_P, SCRYPT_R } from '../../../shared/limits.js';
import { hostileValues, isCoded } from '../../support/hostile.js';
import { SMALL_ORDER_POINTS } from '../../support/vectors/ed25519Edges.js';
import { RFC8032_ED25519 } from '../../support/vectors/rfc8032.js';

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const le32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    return isCoded(err) ? (err as { code: string }).code : `uncoded: ${String(err)}`;
  }
  return undefined;
};

test('assertRandomLength: integers in [0, MAX_RANDOM_BYTES] only', () => {
  for (const ok of [0, 1, MAX_RANDOM_BYTES]) assert.equal(code(() => assertRandomLength(ok)), undefined);
  for (const bad of [-1, MAX_RANDOM_BYTES + 1, 0.5, NaN, Infinity, '16', 16n, null]) assert.equal(code(() => assertRandomLength(bad)), 'INVALID_INPUT', String(bad));
});

test('assertHkdfInput: byte arrays and a length in [1, 8160]', () => {
  const b = new Uint8Array(1);
  assert.equal(code(() => assertHkdfInput(b, b, b, 1)), undefined);
  assert.equal(code(() => assertHkdfInput(b, b, b, HKDF_SHA256_MAX_LENGTH)), undefined);
  for (const bad of [0, HKDF_SHA256_MAX_LENGTH + 1, 1.5, '32']) assert.equal(code(() => assertHkdfInput(b, b, b, bad)), 'INVALID_INPUT');
  assert.equal(code(() => assertHkdfInput('ikm', b, b, 32)), 'INVALID_INPUT');
  assert.equal(code(() => assertHkdfInput(b, [1], b, 32)), 'INVALID_INPUT');
  assert.equal(code(() => assertHkdfInput(b, b, new ArrayBuffer(1), 32)), 'INVALID_INPUT');
});

test('assertAeadInput: key 32, nonce of the given length, text bytes, aad optional', () => {
  const k = new Uint8Array(32);
  const n = new Uint8Array(12);
  assert.equal(code(() => assertAeadInput('x', k, n, 12, new Uint8Array(0), undefined)), undefined);
  assert.equal(code(() => assertAeadInput('x', k, n, 12, new Uint8Array(0), new Uint8Array(0))), undefined);
  assert.equal(code(() => assertAeadInput('x', k, n, 24, new Uint8Array(0), undefined)), 'INVALID_INPUT');
  assert.equal(code(() => assertAeadInput('x', k, n, 12, new Uint8Array(0), null)), 'INVALID_INPUT');
  assert.equal(code(() => assertAeadInput('x', k.subarray(1), n, 12, new Uint8Array(0), undefined)), 'INVALID_INPUT');
});

test('checkScryptParams: the key-file parameters and the RFC 7914 vectors pass', () => {
  assert.deepEqual(checkScryptParams({ N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, dkLen: 64 }), { N: SCRYPT_N, r: SCRYPT_R, p: SCRYPT_P, dkLen: 64 });
  for (const [N, r, p] of [
    [16, 1, 1],
    [1024, 8, 16],
    [16384, 8, 1],
  ] as const) {
    assert.equal(code(() => checkScryptParams({ N, r, p, dkLen: 64 })), undefined);
  }
});

test('checkScryptParams: returns a plain copy, extra fields dropped', () => {
  const out = checkScryptParams({ N: 16, r: 1, p: 1, dkLen: 8, maxmem: 1, onProgress: () => 1 });
  assert.deepEqual(Object.keys(out).sort(), ['N', 'dkLen', 'p', 'r']);
});

test('checkScryptParams: refuses anything else with INVALID_INPUT', () => {
  const base = { N: 16, r: 1, p: 1, dkLen: 32 };
  const bad: unknown[] = [
    null,
    [],
    'N=16',
    { ...base, N: 1 },
    { ...base, N: 24 },
    { ...base, N: 2 ** 31 },
    { ...base, N: 2 ** 16 }, // r = 1: N must be < 2^16
    { ...base, r: 0 },
    { ...base, r: 2 ** 53 },
    { ...base, p: SCRYPT_MAX_P + 1 },
    { ...base, dkLen: SCRYPT_MAX_DKLEN + 1 },
    { ...base, dkLen: -1 },
    { N: 16, r: 1, p: 1 },
    Object.defineProperty({}, 'N', {
      get() {
        throw new Error('boom');
      },
    }),
  ];
  for (const params of bad) assert.equal(code(() => checkScryptParams(params)), 'INVALID_INPUT', JSON.stringify(params));
  for (const { name, value } of hostileValues()) assert.equal(code(() => checkScryptParams(value)), 'INVALID_INPUT', name);
});

test('checkScryptParams: memory is bounded by SCRYPT_MAXMEM with OpenSSL\'s count', () => {
  // The largest N with r = 8 that fits, and the next power of two that does not.
  assert.ok(scryptMemory(2 ** 17, 8, 1) <= SCRYPT_MAXMEM);
  assert.equal(code(() => checkScryptParams({ N: 2 ** 17, r: 8, p: SCRYPT_MAX_P, dkLen: 32 })), undefined);
  assert.ok(scryptMemory(2 ** 18, 8, 1) > SCRYPT_MAXMEM);
  assert.equal(code(() => checkScryptParams({ N: 2 ** 18, r: 8, p: 1, dkLen: 32 })), 'INVALID_INPUT');
  // Huge r with tiny N is bounded too.
  assert.equal(code(() => checkScryptParams({ N: 2, r: 2 ** 21, p: 1, dkLen: 32 })), 'INVALID_INPUT');
});

test('isAllZero', () => {
  assert.equal(isAllZero(new Uint8Array(0)), true);
  assert.equal(isAllZero(new Uint8Array(32)), true);
  for (let i = 0; i < 32; i++) {
    const b = new Uint8Array(32);
    b[i] = 0x80;
    assert.equal(isAllZero(b), false);
  }
});

test('ed25519Precheck: shapes', () => {
  const v = RFC8032_ED25519[1]!;
  const [pk, msg, sig] = [fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)];
  assert.equal(ed25519Precheck(pk, msg, sig), true);
  assert.equal(ed25519Precheck(pk.subarray(1), msg, sig), false);
  assert.equal(ed25519Precheck(pk, msg, sig.subarray(1)), false);
  assert.equal(ed25519Precheck(pk, 'msg', sig), false);
  for (const { name, value } of hostileValues()) {
    assert.equal(ed25519Precheck(value, msg, sig), false, name);
    assert.equal(ed25519Precheck(pk, msg, value), false, name);
    if (!(value instanceof Uint8Array)) assert.equal(ed25519Precheck(pk, value, sig), false, name);
  }
});

test('ed25519Precheck: S must be below L (checked at the boundary)', () => {
  const v = RFC8032_ED25519[1]!;
  const pk = fromHex(v.publicKey);
  const sig = fromHex(v.signature);
  const withS = (S: bigint): Uint8Array => {
    const out = sig.slice();
    out.set(le32(S), 32);
    return out;
  };
  for (const S of [0n, 1n, L - 1n, 2n ** 252n, 2n ** 252n - 1n]) assert.equal(ed25519Precheck(pk, new Uint8Array(0), withS(S)), true, `S = ${S}`);
  for (const S of [L, L + 1n, 2n * L, 2n ** 253n, 2n ** 256n - 1n]) assert.equal(ed25519Precheck(pk, new Uint8Array(0), withS(S)), false, `S = ${S}`);
});

test('ed25519Precheck: non-canonical y refused exactly from p upwards', () => {
  const sig = fromHex(RFC8032_ED25519[1]!.signature);
  // y = p − 1 is canonical (it is the order-2 point, refused as small order: test the one below it).
  assert.equal(ed25519Precheck(le32(P - 2n), new Uint8Array(0), sig), true);
  for (let d = 0n; d < 19n; d++) {
    for (const sign of [0, 0x80]) {
      const key = le32(P + d);
      key[31] = key[31]! | sign;
      assert.equal(ed25519Precheck(key, new Uint8Array(0), sig), false, `y = p + ${d}, sign ${sign}`);
    }
  }
});

test('ed25519Precheck: every small-order point is refused, in every encoding that decodes', () => {
  const sig = fromHex(RFC8032_ED25519[1]!.signature);
  assert.equal(SMALL_ORDER_POINTS.length, 8);
  for (const point of SMALL_ORDER_POINTS) {
    assert.ok(Point.fromBytes(point).isSmallOrder());
    assert.equal(ed25519Precheck(point, new Uint8Array(0), sig), false);
    // The same point with the sign bit flipped: either another small-order point, or x = 0 with the bit set.
    const flipped = point.slice();
    flipped[31] = flipped[31]! ^ 0x80;
    assert.equal(ed25519Precheck(flipped, new Uint8Array(0), sig), false);
  }
  // And nothing else: 2000 random canonical points of large order pass.
  const base = Point.BASE;
  for (let i = 1n; i <= 2000n; i++) assert.equal(ed25519Precheck(base.multiply(i * 7919n).toBytes(), new Uint8Array(0), sig), true);
});
