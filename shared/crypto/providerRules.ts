/**
 * The checks every CryptoProvider runs before it hands anything to its engine, so that
 * `native` (OpenSSL), `noble` (pure JS) and `web` (WebCrypto: OpenSSL in Node, BoringSSL
 * in Chromium) accept and refuse exactly the same inputs. Left to themselves they do not:
 * OpenSSL verifies Ed25519 signatures under small-order and non-canonical public keys that
 * noble refuses, Node caps HKDF `info` at 1 KiB, OpenSSL refuses scrypt parameters noble
 * takes. Pure functions over bytes and numbers: no engine, no Node, safe in a browser.
 */
import { KithError } from '../errors.js';
import { assertBytes, describe } from '../bytes.js';
import { MAX_RANDOM_BYTES, SCRYPT_MAXMEM, SCRYPT_MAX_DKLEN, SCRYPT_MAX_P } from '../limits.js';
import type { ScryptParams } from './CryptoProvider.js';

/** RFC 5869 §2.3: HKDF output is at most 255 blocks of the hash length. */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;
/** Poly1305 tag length (RFC 8439). */
export const AEAD_TAG_BYTES = 16;

/** Throws `INVALID_INPUT` unless `length` is an integer in [0, MAX_RANDOM_BYTES]. */
export function assertRandomLength(length: unknown): asserts length is number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > MAX_RANDOM_BYTES) {
    throw new KithError('INVALID_INPUT', `randomBytes: length must be an integer in [0, ${MAX_RANDOM_BYTES}], got ${describeNumber(length)}`);
  }
}

/** Throws `INVALID_INPUT` unless the HKDF inputs are byte arrays and `length` is in [1, 8160]. */
export function assertHkdfInput(ikm: unknown, salt: unknown, info: unknown, length: unknown): asserts length is number {
  assertBytes(ikm, undefined, 'hkdf ikm');
  assertBytes(salt, undefined, 'hkdf salt');
  assertBytes(info, undefined, 'hkdf info');
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new KithError('INVALID_INPUT', `hkdf: length must be an integer in [1, ${HKDF_SHA256_MAX_LENGTH}], got ${describeNumber(length)}`);
  }
}

/** Throws `INVALID_INPUT` unless key, nonce, text and (optional) aad have AEAD shapes. */
export function assertAeadInput(
  algorithm: string,
  key: unknown,
  nonce: unknown,
  nonceLength: number,
  text: unknown,
  aad: unknown,
): asserts text is Uint8Array {
  assertBytes(key, 32, `${algorithm} key`);
  assertBytes(nonce, nonceLength, `${algorithm} nonce`);
  assertBytes(text, undefined, `${algorithm} input`);
  if (aad !== undefined) assertBytes(aad, undefined, `${algorithm} aad`);
}

/**
 * Validates scrypt parameters and returns a plain copy (read once, so an object whose
 * getters change their answer cannot pass the check with one value and run with another).
 * The rules are the intersection of what OpenSSL and noble accept, bounded by our limits:
 * N a power of two ≥ 2 and < 2^(16·r) (RFC 7914 §2; OpenSSL enforces it, noble does not),
 * r ≥ 1, 1 ≤ p ≤ SCRYPT_MAX_P, 1 ≤ dkLen ≤ SCRYPT_MAX_DKLEN, memory ≤ SCRYPT_MAXMEM.
 */
export function checkScryptParams(params: unknown): ScryptParams {
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw new KithError('INVALID_INPUT', `scrypt params: expected an object, got ${describe(params)}`);
  }
  let N: unknown, r: unknown, p: unknown, dkLen: unknown;
  try {
    ({ N, r, p, dkLen } = params as Record<string, unknown>);
  } catch {
    throw new KithError('INVALID_INPUT', 'scrypt params: unreadable');
  }
  const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
  if (!isPositiveInt(N) || N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 30) {
    throw new KithError('INVALID_INPUT', `scrypt: N must be a power of two ≥ 2, got ${describeNumber(N)}`);
  }
  if (!isPositiveInt(r)) throw new KithError('INVALID_INPUT', `scrypt: r must be a positive integer, got ${describeNumber(r)}`);
  if (!isPositiveInt(p) || p > SCRYPT_MAX_P) {
    throw new KithError('INVALID_INPUT', `scrypt: p must be an integer in [1, ${SCRYPT_MAX_P}], got ${describeNumber(p)}`);
  }
  if (!isPositiveInt(dkLen) || dkLen > SCRYPT_MAX_DKLEN) {
    throw new KithError('INVALID_INPUT', `scrypt: dkLen must be an integer in [1, ${SCRYPT_MAX_DKLEN}], got ${describeNumber(dkLen)}`);
  }
  if (16 * r < 31 && N >= 2 ** (16 * r)) {
    throw new KithError('INVALID_INPUT', `scrypt: N must be below 2^(16·r) (RFC 7914 §2), got N=${N}, r=${r}`);
  }
  if (scryptMemory(N, r, p) > SCRYPT_MAXMEM) {
    throw new KithError('INVALID_INPUT', `scrypt: N=${N}, r=${r}, p=${p} needs more than ${SCRYPT_MAXMEM} bytes`);
  }
  return { N, r, p, dkLen };
}

/** Bytes scrypt holds at once: V (128·r·(N+2), OpenSSL's count, noble needs less) plus B (128·r·p). */
export function scryptMemory(N: number, r: number, p: number): number {
  return 128 * r * (N + p + 2);
}

/** True when every byte is zero; its time depends on the length only. */
export function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

// ---- Ed25519 verification policy ----------------------------------------------------

/** L, the order of the Ed25519 base point, little-endian (RFC 8032 §5.1). */
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
]);

/**
 * Encodings of the eight points of order dividing 8, plus the two "x = 0 with the sign bit
 * set" encodings of the identity and of (0, −1) that RFC 8032 §5.1.3 refuses but OpenSSL
 * decodes. Their non-canonical encodings (y ≥ p) are caught by the canonical-y check.
 */
const SMALL_ORDER_KEYS: readonly Uint8Array[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
].map((hex) => Uint8Array.from(hex.match(/../g)!, (b) => parseInt(b, 16)));

/** True when the 32-byte little-endian integer at `bytes[offset..]` is below L. */
function isBelowL(bytes: Uint8Array, offset: number): boolean {
  for (let i = 31; i >= 0; i--) {
    const b = bytes[offset + i]!;
    if (b !== L_LE[i]) return b < L_LE[i]!;
  }
  return false;
}

/** True when the y coordinate (bit 255 cleared) is below p = 2^255 − 19, i.e. canonically encoded. */
function hasCanonicalY(key: Uint8Array): boolean {
  if ((key[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (key[i] !== 0xff) return true;
  return key[0]! < 0xed;
}

function isSmallOrderEncoding(key: Uint8Array): boolean {
  outer: for (const bad of SMALL_ORDER_KEYS) {
    for (let i = 0; i < 32; i++) if (key[i] !== bad[i]) continue outer;
    return true;
  }
  return false;
}

/**
 * The byte-level half of Kith's Ed25519 rule (CryptoProvider.ed25519Verify): the shapes are
 * right, S < L, the public key is a canonical encoding and not of small order. False means
 * "refuse without computing"; true means "run the cofactorless equation", which every
 * engine then does the same way. Cheap (< 1 µs): byte comparisons only.
 */
export function ed25519Precheck(publicKey: unknown, message: unknown, signature: unknown): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return false;
  if (!(message instanceof Uint8Array)) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  return isBelowL(signature, 32) && hasCanonicalY(publicKey) && !isSmallOrderEncoding(publicKey);
}

function describeNumber(value: unknown): string {
  return typeof value === 'number' ? String(value) : describe(value);
}
