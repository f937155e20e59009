/**
 * CryptoProvider on `node:crypto` (OpenSSL). Node code must use this one: measured here,
 * Ed25519 verify is ~10× noble's, X25519 ~29×, SHA-256 and the AEAD 4–17×.
 * Node has no XChaCha20-Poly1305, so that one derives its subkey with noble's HChaCha
 * (0.7 µs) and runs the bulk through native ChaCha20-Poly1305 — byte-identical output.
 *
 * Where OpenSSL alone would differ from the other providers, the shared rules in
 * providerRules.ts decide first: OpenSSL verifies Ed25519 signatures under small-order and
 * non-canonical public keys (a forgery for any message under the identity key), Node caps
 * HKDF `info` at 1 KiB, OpenSSL refuses some scrypt parameters only through a misleading
 * "memory limit exceeded".
 */
import * as nodeCrypto from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import type { CryptoProvider, KeyPair, ScryptParams } from './CryptoProvider.js';
import { assertBytes, toBase64url } from '../bytes.js';
import { KithError } from '../errors.js';
import { PUBLIC_KEY_CACHE_ENTRIES, RANDOM_POOL_BYTES, SCRYPT_MAXMEM } from '../limits.js';
import { PublicKeyCache, SecretKeyCache } from './keyCache.js';
import { VerifyPool, type FallbackVerify } from './verifyPool.js';
import {
  AEAD_TAG_BYTES,
  assertAeadInput,
  assertHkdfInput,
  assertRandomLength,
  checkScryptParams,
  ed25519Precheck,
  isAllZero,
} from './providerRules.js';

/** `crypto.hkdfSync` refuses a longer `info` (a Node limit, not RFC 5869's); longer ones take the HMAC path. */
const NODE_HKDF_MAX_INFO = 1024;

const ED25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

type Curve = 'Ed25519' | 'X25519';

/** Imports a raw 32-byte secret via PKCS#8 (~360 µs in OpenSSL 3.0's decoder, hence the caches). */
function privateKeyObject(curve: Curve, secretKey: Uint8Array): nodeCrypto.KeyObject {
  const prefix = curve === 'Ed25519' ? ED25519_PKCS8_PREFIX : X25519_PKCS8_PREFIX;
  const der = Buffer.alloc(prefix.length + 32);
  der.set(prefix, 0);
  der.set(secretKey, prefix.length);
  try {
    return nodeCrypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch (err) {
    throw new KithError('CRYPTO_FAILURE', `${curve}: OpenSSL refused the secret key`, { cause: err });
  } finally {
    der.fill(0);
  }
}

/**
 * Imports a raw 32-byte secret via JWK (37 µs, against ~360 µs for PKCS#8 DER in OpenSSL 3.0's
 * decoder). JWK needs the secret as a base64url string, which cannot be wiped, so this path is
 * for fresh keys (generate), whose bytes exist nowhere else yet; imports of stored secrets keep
 * the wipeable DER path. Node reads only `d` of an OKP private JWK (`x` must be a string).
 */
function jwkPrivateKeyObject(curve: Curve, secretKey: Uint8Array): nodeCrypto.KeyObject {
  try {
    return nodeCrypto.createPrivateKey({ key: { kty: 'OKP', crv: curve, d: toBase64url(secretKey), x: '' }, format: 'jwk' });
  } catch (err) {
    throw new KithError('CRYPTO_FAILURE', `${curve}: OpenSSL refused the secret key`, { cause: err });
  }
}

/**
 * The raw public key through JWK (2 µs; SPKI DER takes 67 µs). Never for a KeyObject made by
 * generateKeyPairSync: on Node 20.20 a JWK export right after it can deadlock the main thread
 * (a GC-time cleanup of the key-generation job waits on a lock the export holds), which froze
 * handshake loops in testing. This provider therefore never calls generateKeyPairSync.
 */
function jwkRawPublicKey(key: nodeCrypto.KeyObject): Uint8Array {
  const { x } = key.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new KithError('CRYPTO_FAILURE', 'OpenSSL exported no public key');
  return u8(Buffer.from(x, 'base64url'));
}

function u8(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export interface NativeCryptoOptions {
  /** Verify Ed25519 signatures in batches on worker threads (default true); false keeps every call on libuv's threadpool. */
  readonly verifyWorkers?: boolean;
}

/**
 * `crypto.hash` (Node ≥ 20.12): one call instead of a Hash object, 1.3 against 2.1–2.3 µs for a
 * 381-byte object here. A receiving node hashes each object three times (its name, the store's
 * check, the signed digest) and a handshake a dozen times. Older Node takes createHash.
 */
const oneShotHash = (nodeCrypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'binary') => string }).hash;
const SHA256_BYTES = 32;

/** One verification pool per process, shared by every provider (each request carries its provider's threadpool path). */
let verifyPool: VerifyPool | undefined;
function sharedVerifyPool(): VerifyPool {
  return (verifyPool ??= new VerifyPool());
}

/** Terminates the shared verification workers (tests); later verifications start new ones. */
export async function closeVerifyPool(): Promise<void> {
  const pool = verifyPool;
  verifyPool = undefined;
  await pool?.close();
}

export class NativeCrypto implements CryptoProvider {
  readonly name = 'native';
  private readonly useWorkers: boolean;

  constructor(options: NativeCryptoOptions = {}) {
    this.useWorkers = options.verifyWorkers ?? true;
  }

  private readonly edPublic = new PublicKeyCache<nodeCrypto.KeyObject>(PUBLIC_KEY_CACHE_ENTRIES);
  private readonly xPublic = new PublicKeyCache<nodeCrypto.KeyObject>(PUBLIC_KEY_CACHE_ENTRIES);
  /** Own keys are few and used often (signing key, Noise static, ephemerals right after generation). */
  private readonly edPrivate = new SecretKeyCache<nodeCrypto.KeyObject>();
  private readonly xPrivate = new SecretKeyCache<nodeCrypto.KeyObject>();

  /**
   * Small random values come from a pool that one `randomFillSync` refills: Node's
   * `randomBytes(32)` measured 5–9 µs a call here (a handshake takes three: an ephemeral key, a
   * connection id, ws's mask pool aside), a copy out of the pool 0.6 µs. What a call takes is
   * wiped from the pool at once, so the pool never holds a value that was handed out.
   */
  private readonly randomPool = Buffer.allocUnsafeSlow(RANDOM_POOL_BYTES);
  private randomPoolOffset = RANDOM_POOL_BYTES;

  randomBytes(length: number): Uint8Array {
    assertRandomLength(length);
    return this.takeRandom(length);
  }

  private takeRandom(length: number): Uint8Array {
    if (length > RANDOM_POOL_BYTES / 8) return u8(nodeCrypto.randomBytes(length));
    if (this.randomPoolOffset + length > RANDOM_POOL_BYTES) {
      nodeCrypto.randomFillSync(this.randomPool);
      this.randomPoolOffset = 0;
    }
    const start = this.randomPoolOffset;
    const out = new Uint8Array(length);
    out.set(this.randomPool.subarray(start, start + length));
    this.randomPool.fill(0, start, start + length);
    this.randomPoolOffset = start + length;
    return out;
  }

  sha256(data: Uint8Array): Uint8Array {
    assertBytes(data, undefined, 'sha256 data');
    if (!oneShotHash) return u8(nodeCrypto.createHash('sha256').update(data).digest());
    // The digest comes back as a "binary" (latin1) string, one char per byte, copied into a
    // 32-byte array that V8 keeps on its own heap: 0.55 µs per 380-byte object, against 3.2 µs
    // for the same call returning a Buffer (a separately allocated, finalized backing store).
    const digest = oneShotHash('sha256', data, 'binary');
    const out = new Uint8Array(SHA256_BYTES);
    for (let i = 0; i < SHA256_BYTES; i++) out[i] = digest.charCodeAt(i);
    return out;
  }

  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array {
    assertBytes(key, undefined, 'hmac key');
    assertBytes(data, undefined, 'hmac data');
    return u8(nodeCrypto.createHmac('sha256', key).update(data).digest());
  }

  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
    assertHkdfInput(ikm, salt, info, length);
    if (info.length <= NODE_HKDF_MAX_INFO) return new Uint8Array(nodeCrypto.hkdfSync('sha256', ikm, salt, info, length));
    // RFC 5869 §2.2–2.3 with HMAC directly. An empty salt is HMAC's zero key, as the RFC's default.
    const prk = nodeCrypto.createHmac('sha256', salt).update(ikm).digest();
    const out = new Uint8Array(length);
    let block: Uint8Array = new Uint8Array(0);
    for (let i = 1, offset = 0; offset < length; i++) {
      block = nodeCrypto.createHmac('sha256', prk).update(block).update(info).update(Uint8Array.of(i)).digest();
      out.set(block.subarray(0, Math.min(block.length, length - offset)), offset);
      offset += block.length;
    }
    prk.fill(0);
    block.fill(0);
    return out;
  }

  async ed25519Generate(): Promise<KeyPair> {
    return this.generate('Ed25519', this.edPrivate);
  }

  async ed25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'ed25519 secret key');
    return jwkRawPublicKey(nodeCrypto.createPublicKey(this.privateKey('Ed25519', secretKey)));
  }

  async ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'ed25519 secret key');
    assertBytes(message, undefined, 'message');
    return u8(nodeCrypto.sign(null, message, this.privateKey('Ed25519', secretKey)));
  }

  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!ed25519Precheck(publicKey, message, signature)) return Promise.resolve(false);
    // Batched to worker threads (verifyPool.ts), which take the work off this thread; the
    // threadpool path below is the fallback, and the path when workers are turned off.
    if (this.useWorkers) return sharedVerifyPool().verify(publicKey, message, signature, this.threadpoolVerify);
    return this.threadpoolVerify(publicKey, message, signature);
  }

  /** `crypto.verify` in its callback form: on libuv's threadpool, so many verifications use both cores. */
  private readonly threadpoolVerify: FallbackVerify = (publicKey, message, signature) => {
    const key = this.publicKeyObject('Ed25519', publicKey);
    if (!key) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        nodeCrypto.verify(null, message, key, signature, (err, ok) => resolve(!err && ok));
      } catch {
        resolve(false);
      }
    });
  };

  async x25519Generate(): Promise<KeyPair> {
    return this.generate('X25519', this.xPrivate);
  }

  async x25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'x25519 secret key');
    return jwkRawPublicKey(nodeCrypto.createPublicKey(this.privateKey('X25519', secretKey)));
  }

  async x25519(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'x25519 secret key');
    assertBytes(publicKey, 32, 'x25519 public key');
    const pub = this.publicKeyObject('X25519', publicKey);
    if (!pub) throw new KithError('CRYPTO_FAILURE', 'x25519: invalid public key');
    const priv = this.privateKey('X25519', secretKey);
    let shared: Buffer;
    try {
      shared = nodeCrypto.diffieHellman({ privateKey: priv, publicKey: pub });
    } catch {
      // OpenSSL refuses an all-zero result (low-order point) with an error of its own.
      throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    }
    if (isAllZero(shared)) throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    return u8(shared);
  }

  chacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    assertAeadInput('chacha20poly1305', key, nonce, 12, plaintext, aad);
    return seal(key, nonce, plaintext, aad);
  }

  chacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null {
    assertAeadInput('chacha20poly1305', key, nonce, 12, ciphertext, aad);
    return open(key, nonce, ciphertext, aad);
  }

  xchacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array {
    assertAeadInput('xchacha20poly1305', key, nonce, 24, plaintext, aad);
    const [subkey, subnonce] = xchachaSubkey(key, nonce);
    try {
      return seal(subkey, subnonce, plaintext, aad);
    } finally {
      subkey.fill(0);
    }
  }

  xchacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null {
    assertAeadInput('xchacha20poly1305', key, nonce, 24, ciphertext, aad);
    const [subkey, subnonce] = xchachaSubkey(key, nonce);
    try {
      return open(subkey, subnonce, ciphertext, aad);
    } finally {
      subkey.fill(0);
    }
  }

  async scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array> {
    assertBytes(password, undefined, 'scrypt password');
    assertBytes(salt, undefined, 'scrypt salt');
    const { N, r, p, dkLen } = checkScryptParams(params);
    return new Promise((resolve, reject) => {
      nodeCrypto.scrypt(password, salt, dkLen, { N, r, p, maxmem: SCRYPT_MAXMEM }, (err, key) => {
        if (err) reject(new KithError('CRYPTO_FAILURE', 'scrypt failed', { cause: err }));
        else resolve(u8(key));
      });
    });
  }

  /**
   * A new key pair: 32 random bytes as the secret (any 32 bytes are a valid Ed25519 seed or
   * X25519 scalar), imported through JWK, the public key derived from it. Every handshake
   * makes an ephemeral pair, so the cost counts: 38 µs here, against 156 µs for
   * generateKeyPairSync followed by the two DER exports that recover the raw bytes.
   */
  private generate(curve: Curve, cache: SecretKeyCache<nodeCrypto.KeyObject>): KeyPair {
    const secretKey = this.takeRandom(32);
    const privateKey = jwkPrivateKeyObject(curve, secretKey);
    cache.set(secretKey, privateKey);
    return { publicKey: jwkRawPublicKey(nodeCrypto.createPublicKey(privateKey)), secretKey };
  }

  /** The KeyObject of one of our secrets, imported once per seed array. */
  private privateKey(curve: Curve, secretKey: Uint8Array): nodeCrypto.KeyObject {
    const cache = curve === 'Ed25519' ? this.edPrivate : this.xPrivate;
    let key = cache.get(secretKey);
    if (!key) {
      key = privateKeyObject(curve, secretKey);
      cache.set(secretKey, key);
    }
    return key;
  }

  /** Imports (and caches) a raw public key via JWK (5.6 µs, against ~80 µs for DER); undefined when OpenSSL refuses it. */
  private publicKeyObject(curve: Curve, publicKey: Uint8Array): nodeCrypto.KeyObject | undefined {
    const cache = curve === 'Ed25519' ? this.edPublic : this.xPublic;
    const id = toBase64url(publicKey);
    let key = cache.get(id);
    if (key) return key;
    try {
      key = nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: curve, x: id }, format: 'jwk' });
    } catch {
      return undefined;
    }
    cache.set(id, key);
    return key;
  }
}

/** ChaCha20-Poly1305 seal into one output buffer: ciphertext ‖ tag. */
function seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array | undefined): Uint8Array {
  const cipher = nodeCrypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  if (aad && aad.length) cipher.setAAD(aad, { plaintextLength: plaintext.length });
  // Write ciphertext and tag into one buffer: Buffer.concat on 64 KiB frames measured 2–4× the cipher itself.
  // allocUnsafeSlow: every byte is written below, so skip the zero-fill, and never hand out a view into Node's shared pool.
  const out = u8(Buffer.allocUnsafeSlow(plaintext.length + AEAD_TAG_BYTES));
  const body = cipher.update(plaintext);
  out.set(body, 0);
  const tail = cipher.final();
  out.set(tail, body.length);
  out.set(cipher.getAuthTag(), plaintext.length);
  return out;
}

/** ChaCha20-Poly1305 open; null when the tag does not verify or the input is shorter than a tag. */
function open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad: Uint8Array | undefined): Uint8Array | null {
  if (ciphertext.length < AEAD_TAG_BYTES) return null;
  const bodyLength = ciphertext.length - AEAD_TAG_BYTES;
  try {
    const decipher = nodeCrypto.createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    decipher.setAuthTag(ciphertext.subarray(bodyLength));
    if (aad && aad.length) decipher.setAAD(aad, { plaintextLength: bodyLength });
    const body = decipher.update(ciphertext.subarray(0, bodyLength));
    const tail = decipher.final();
    if (tail.length === 0) return u8(body);
    const out = new Uint8Array(bodyLength);
    out.set(body, 0);
    out.set(tail, body.length);
    return out;
  } catch {
    return null;
  }
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

/** XChaCha20 = HChaCha20(key, nonce[0..16]) as the key, and 4 zero bytes ‖ nonce[16..24] as the IETF nonce. */
function xchachaSubkey(key: Uint8Array, nonce: Uint8Array): [Uint8Array, Uint8Array] {
  const k32 = new Uint32Array(8);
  const n32 = new Uint32Array(4);
  const dv = new DataView(key.buffer, key.byteOffset, 32);
  for (let i = 0; i < 8; i++) k32[i] = dv.getUint32(i * 4, true);
  const nv = new DataView(nonce.buffer, nonce.byteOffset, 16);
  for (let i = 0; i < 4; i++) n32[i] = nv.getUint32(i * 4, true);
  const out32 = new Uint32Array(8);
  hchacha(SIGMA, k32, n32, out32);
  const subkey = new Uint8Array(32);
  const sv = new DataView(subkey.buffer);
  for (let i = 0; i < 8; i++) sv.setUint32(i * 4, out32[i]!, true);
  out32.fill(0);
  k32.fill(0);
  const subnonce = new Uint8Array(12);
  subnonce.set(nonce.subarray(16, 24), 4);
  return [subkey, subnonce];
}
