/**
 * CryptoProvider in pure JavaScript on the audited @noble libraries, for any JS runtime
 * (the browser fallback, and the synchronous half of WebCryptoProvider). Measured here it is
 * 8–30× slower than `native` for signatures and X25519 and 2–17× slower for hashing and the
 * AEAD, so Node code uses NativeCrypto.
 *
 * Ed25519 runs on @noble/ed25519's point arithmetic (it signs ~1.8× faster than
 * @noble/curves here), but the RFC 8032 sign and verify steps are written out below rather
 * than calling `ed.sign`/`ed.verify`:
 * - its synchronous API needs the module-global `hashes.sha512` hook set, and its async API
 *   takes three WebCrypto digests per signature (half the speed, measured 1.9k against 3.6k
 *   signatures/s); calling @noble/hashes' sha512 directly needs neither;
 * - its verify is cofactored (`[8][S]B = [8]R + [8][k]A`), OpenSSL's and BoringSSL's are not,
 *   so a crafted signature carrying a small-order component would be accepted here and
 *   refused by the other two providers. Kith's rule is the cofactorless equation checked on
 *   R's encoding (see CryptoProvider.ed25519Verify), computed here the same way OpenSSL does.
 * No global state is touched, so this class may coexist with other users of @noble.
 */
import { Point } from '@noble/ed25519';
import { x25519 } from '@noble/curves/ed25519.js';
import { chacha20poly1305, xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import type { CryptoProvider, KeyPair, ScryptParams } from './CryptoProvider.js';
import { assertBytes, equalBytes, fromHex, toBase64url, toHex } from '../bytes.js';
import { KithError } from '../errors.js';
import { PUBLIC_KEY_CACHE_ENTRIES, SCRYPT_MAXMEM } from '../limits.js';
import { PublicKeyCache, SecretKeyCache } from './keyCache.js';
import {
  AEAD_TAG_BYTES,
  assertAeadInput,
  assertHkdfInput,
  assertRandomLength,
  checkScryptParams,
  ed25519Precheck,
  isAllZero,
} from './providerRules.js';

/** The order of the Ed25519 base point (RFC 8032 §5.1: L). */
const ED25519_L = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Fills `array` with cryptographically secure random bytes and returns it (WebCrypto's shape). */
export type GetRandomValues = (array: Uint8Array) => Uint8Array;

export interface NobleCryptoOptions {
  /** The random source; defaults to `globalThis.crypto.getRandomValues`. Inject one for deterministic tests. */
  readonly getRandomValues?: GetRandomValues;
}

/** What an Ed25519 seed expands to (RFC 8032 §5.1.5), kept per seed so signing skips a SHA-512 and a base multiplication. */
interface ExpandedSeed {
  readonly scalar: bigint;
  readonly prefix: Uint8Array;
  readonly publicKey: Uint8Array;
}

export class NobleCrypto implements CryptoProvider {
  readonly name: string = 'noble';
  private readonly fillRandom: GetRandomValues;
  private readonly expanded = new SecretKeyCache<ExpandedSeed>();
  /** Decoded and range-checked public points, so repeat authors skip a square root. */
  private readonly points = new PublicKeyCache<Point>(PUBLIC_KEY_CACHE_ENTRIES);

  constructor(options: NobleCryptoOptions = {}) {
    this.fillRandom = options.getRandomValues ?? defaultRandom();
  }

  randomBytes(length: number): Uint8Array {
    assertRandomLength(length);
    const out = new Uint8Array(length);
    if (length === 0) return out;
    try {
      this.fillRandom(out);
    } catch (err) {
      throw new KithError('CRYPTO_FAILURE', 'randomBytes: the random source failed', { cause: err });
    }
    return out;
  }

  sha256(data: Uint8Array): Uint8Array {
    assertBytes(data, undefined, 'sha256 data');
    return sha256(data);
  }

  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    assertBytes(key, undefined, 'hmac key');
    assertBytes(data, undefined, 'hmac data');
    return hmac(sha256, key, data);
  }

  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    assertHkdfInput(ikm, salt, info, length);
    return hkdf(sha256, ikm, salt, info, length);
  }

  async ed25519Generate(): Promise<KeyPair> {
    const secretKey = this.randomBytes(32);
    return { publicKey: this.expand(secretKey).publicKey.slice(), secretKey };
  }

  async ed25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'ed25519 secret key');
    return this.expand(secretKey).publicKey.slice();
  }

  async ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'ed25519 secret key');
    assertBytes(message, undefined, 'message');
    const { scalar, prefix, publicKey } = this.expand(secretKey);
    // RFC 8032 §5.1.6: r = H(prefix ‖ M), R = [r]B, k = H(R ‖ A ‖ M), S = (r + k·s) mod L.
    const r = bytesToScalar(sha512.create().update(prefix).update(message).digest());
    const R = (r === 0n ? Point.ZERO : Point.BASE.multiply(r)).toBytes();
    const k = bytesToScalar(sha512.create().update(R).update(publicKey).update(message).digest());
    const S = (r + k * scalar) % ED25519_L;
    const signature = new Uint8Array(64);
    signature.set(R, 0);
    signature.set(scalarToBytes(S), 32);
    return signature;
  }

  async ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!ed25519Precheck(publicKey, message, signature)) return false;
    const A = this.decodePoint(publicKey);
    if (A === undefined) return false;
    // Cofactorless, as OpenSSL: encode([S]B − [k]A) must equal R's bytes (so R is canonical too).
    const R = signature.subarray(0, 32);
    const S = bytesToScalar(signature.subarray(32, 64)); // < L: checked by ed25519Precheck
    const k = bytesToScalar(sha512.create().update(R).update(publicKey).update(message).digest());
    const check = Point.BASE.multiply(S, false).subtract(A.multiply(k, false));
    return equalBytes(check.toBytes(), R);
  }

  async x25519Generate(): Promise<KeyPair> {
    const secretKey = this.randomBytes(32);
    return { publicKey: x25519.getPublicKey(secretKey), secretKey };
  }

  async x25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'x25519 secret key');
    return x25519.getPublicKey(secretKey);
  }

  async x25519(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'x25519 secret key');
    assertBytes(publicKey, 32, 'x25519 public key');
    let shared: Uint8Array;
    try {
      // noble refuses the low-order u values before running the ladder (no timing oracle).
      shared = x25519.getSharedSecret(secretKey, publicKey);
    } catch {
      throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    }
    if (isAllZero(shared)) throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    return shared;
  }

  chacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    assertAeadInput('chacha20poly1305', key, nonce, 12, plaintext, aad);
    return chacha20poly1305(key, nonce, aad).encrypt(plaintext);
  }

  chacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null {
    assertAeadInput('chacha20poly1305', key, nonce, 12, ciphertext, aad);
    if (ciphertext.length < AEAD_TAG_BYTES) return null;
    try {
      return chacha20poly1305(key, nonce, aad).decrypt(ciphertext);
    } catch {
      return null;
    }
  }

  xchacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    assertAeadInput('xchacha20poly1305', key, nonce, 24, plaintext, aad);
    return xchacha20poly1305(key, nonce, aad).encrypt(plaintext);
  }

  xchacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null {
    assertAeadInput('xchacha20poly1305', key, nonce, 24, ciphertext, aad);
    if (ciphertext.length < AEAD_TAG_BYTES) return null;
    try {
      return xchacha20poly1305(key, nonce, aad).decrypt(ciphertext);
    } catch {
      return null;
    }
  }

  async scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
    assertBytes(password, undefined, 'scrypt password');
    assertBytes(salt, undefined, 'scrypt salt');
    const { N, r, p, dkLen } = checkScryptParams(params);
    try {
      // The async variant yields to the event loop every 10 ms, so a 0.3 s derivation does not freeze a page.
      return await scryptAsync(password, salt, { N, r, p, dkLen, maxmem: SCRYPT_MAXMEM });
    } catch (err) {
      throw new KithError('CRYPTO_FAILURE', 'scrypt failed', { cause: err });
    }
  }

  /** The expanded form of a 32-byte seed, cached per seed array (validated by the caller). */
  private expand(seed: Uint8Array): ExpandedSeed {
    const cached = this.expanded.get(seed);
    if (cached) return cached;
    // RFC 8032 §5.1.5: h = SHA-512(seed); s = clamp(h[0..32]); prefix = h[32..64]; A = [s]B.
    const h = sha512(seed);
    h[0]! &= 248;
    h[31]! &= 127;
    h[31]! |= 64;
    const scalar = bytesToScalar(h.subarray(0, 32));
    let publicKey: Uint8Array;
    try {
      publicKey = Point.BASE.multiply(scalar).toBytes();
    } catch (err) {
      // Only reachable if s ≡ 0 (mod L): probability 2^-250.
      throw new KithError('CRYPTO_FAILURE', 'ed25519: degenerate secret key', { cause: err });
    }
    const value: ExpandedSeed = { scalar, prefix: h.slice(32, 64), publicKey };
    h.fill(0);
    this.expanded.set(seed, value);
    return value;
  }

  /** A strictly decoded public point (RFC 8032 §5.1.3), or undefined when the bytes are not one. */
  private decodePoint(publicKey: Uint8Array): Point | undefined {
    const id = toBase64url(publicKey);
    const cached = this.points.get(id);
    if (cached) return cached;
    let point: Point;
    try {
      point = Point.fromBytes(publicKey, false);
    } catch {
      return undefined;
    }
    this.points.set(id, point);
    return point;
  }
}

function defaultRandom(): GetRandomValues {
  const webCrypto = (globalThis as { crypto?: Crypto }).crypto;
  if (!webCrypto || typeof webCrypto.getRandomValues !== 'function') {
    throw new KithError('CRYPTO_FAILURE', 'no secure random source: globalThis.crypto.getRandomValues is missing; pass getRandomValues');
  }
  return (array) => webCrypto.getRandomValues(array);
}

/** A little-endian byte string as an integer reduced mod L. */
function bytesToScalar(bytes: Uint8Array): bigint {
  const reversed = bytes.slice().reverse();
  return BigInt('0x' + toHex(reversed)) % ED25519_L;
}

/** A scalar below L as 32 little-endian bytes. */
function scalarToBytes(value: bigint): Uint8Array {
  return fromHex(value.toString(16).padStart(64, '0')).reverse();
}
