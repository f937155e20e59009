/**
 * CryptoProvider for the browser and the Electron renderer: Ed25519 signatures and X25519
 * agreement through an injected WebCrypto `SubtleCrypto` (native in Chromium ≥ 137 and Node
 * ≥ 20, and 10–29× faster than pure JS here), everything the interface needs synchronously
 * (SHA-256, HMAC, HKDF, the AEADs) plus scrypt and key derivation from @noble, inherited from
 * NobleCrypto. WebCrypto's own SHA-256/HMAC/HKDF are asynchronous, so they cannot serve the
 * synchronous hashing hot paths.
 *
 * Browser-safe: nothing here or in what it imports touches Node (no `node:` modules, no
 * `Buffer`); test/shared/crypto/webCrypto.test.ts bundles it for the browser to keep it so.
 *
 * Public keys are derived from seeds with noble (WebCrypto cannot derive a public key from
 * a private CryptoKey without exporting the secret as a JWK string, which cannot be wiped).
 * The engine's Ed25519 verify is wrapped by the same byte-level policy as the other
 * providers (providerRules.ed25519Precheck), so BoringSSL and OpenSSL both end up applying
 * Kith's rule, whatever they accept on their own. An engine that does not implement Ed25519
 * or X25519 at all (NotSupportedError: older browsers) gets noble for that curve, with the
 * same results, slower.
 */
import type { CryptoProvider } from './CryptoProvider.js';
import { assertBytes, toBase64url } from '../bytes.js';
import { KithError } from '../errors.js';
import { PUBLIC_KEY_CACHE_ENTRIES } from '../limits.js';
import { PublicKeyCache, SecretKeyCache } from './keyCache.js';
import { NobleCrypto, type GetRandomValues } from './nobleCrypto.js';
import { ed25519Precheck, isAllZero } from './providerRules.js';

/** PKCS#8 wrappers of a raw 32-byte secret (RFC 8410): the DER prefix, then the key. */
const ED25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const X25519_PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20]);

export interface WebCryptoProviderOptions {
  /** The WebCrypto engine: `globalThis.crypto.subtle` in a page, the same in Node for tests. */
  readonly subtle: SubtleCrypto;
  /** The random source; defaults to `globalThis.crypto.getRandomValues`. */
  readonly getRandomValues?: GetRandomValues;
}

export class WebCryptoProvider extends NobleCrypto implements CryptoProvider {
  override readonly name: string = 'web';
  private readonly subtle: SubtleCrypto;
  /** Imports are cached as promises, so concurrent first uses of one key share one import. */
  private readonly verifyKeys = new PublicKeyCache<Promise<CryptoKey>>(PUBLIC_KEY_CACHE_ENTRIES);
  private readonly peerKeys = new PublicKeyCache<Promise<CryptoKey>>(PUBLIC_KEY_CACHE_ENTRIES);
  private readonly signKeys = new SecretKeyCache<Promise<CryptoKey>>();
  private readonly agreeKeys = new SecretKeyCache<Promise<CryptoKey>>();
  /** Curves the engine turned out not to implement (older browsers): those run on noble from then on. */
  private readonly unsupported = new Set<Curve>();

  constructor(options: WebCryptoProviderOptions) {
    super(checkedOptions(options));
    this.subtle = options.subtle;
  }

  /** Which curves run on the engine (true) rather than on noble, after the engine said it does not implement them. */
  get engineCurves(): { readonly Ed25519: boolean; readonly X25519: boolean } {
    return { Ed25519: !this.unsupported.has('Ed25519'), X25519: !this.unsupported.has('X25519') };
  }

  override async ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'ed25519 secret key');
    assertBytes(message, undefined, 'message');
    if (this.unsupported.has('Ed25519')) return super.ed25519Sign(secretKey, message);
    let key: CryptoKey;
    try {
      key = await this.secretKey(this.signKeys, secretKey, ED25519_PKCS8_PREFIX, 'Ed25519', ['sign']);
    } catch (err) {
      if (this.fellBack('Ed25519', err)) return super.ed25519Sign(secretKey, message);
      throw new KithError('CRYPTO_FAILURE', 'ed25519: the engine refused the secret key', { cause: err });
    }
    try {
      return new Uint8Array(await this.subtle.sign('Ed25519', key, bufferSource(message)));
    } catch (err) {
      throw new KithError('CRYPTO_FAILURE', 'ed25519: signing failed', { cause: err });
    }
  }

  override async ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (!ed25519Precheck(publicKey, message, signature)) return false;
    if (this.unsupported.has('Ed25519')) return super.ed25519Verify(publicKey, message, signature);
    let key: CryptoKey;
    try {
      key = await this.publicKey(this.verifyKeys, publicKey, 'Ed25519', ['verify']);
    } catch (err) {
      if (this.fellBack('Ed25519', err)) return super.ed25519Verify(publicKey, message, signature);
      return false; // not a key the engine can decode
    }
    try {
      return await this.subtle.verify('Ed25519', key, bufferSource(signature), bufferSource(message));
    } catch {
      return false;
    }
  }

  override async x25519(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
    assertBytes(secretKey, 32, 'x25519 secret key');
    assertBytes(publicKey, 32, 'x25519 public key');
    if (this.unsupported.has('X25519')) return super.x25519(secretKey, publicKey);
    let priv: CryptoKey;
    let pub: CryptoKey;
    try {
      priv = await this.secretKey(this.agreeKeys, secretKey, X25519_PKCS8_PREFIX, 'X25519', ['deriveBits']);
      pub = await this.publicKey(this.peerKeys, publicKey, 'X25519', []);
    } catch (err) {
      if (this.fellBack('X25519', err)) return super.x25519(secretKey, publicKey);
      throw new KithError('CRYPTO_FAILURE', 'x25519: the engine refused a key', { cause: err });
    }
    let shared: Uint8Array;
    try {
      // Engines refuse an all-zero result (a low-order public key) with an OperationError.
      shared = new Uint8Array(await this.subtle.deriveBits({ name: 'X25519', public: pub } as EcdhKeyDeriveParams, priv, 256));
    } catch {
      throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    }
    if (isAllZero(shared)) throw new KithError('CRYPTO_FAILURE', 'x25519: low-order or invalid public key');
    return shared;
  }

  /**
   * WebCrypto names an algorithm it does not implement with NotSupportedError. Then, and only
   * then, the curve moves to noble for good: same results (the conformance suite holds for
   * both), 10–29× slower.
   */
  private fellBack(curve: Curve, err: unknown): boolean {
    if ((err as { name?: unknown } | null)?.name !== 'NotSupportedError') return false;
    this.unsupported.add(curve);
    return true;
  }

  /** Imports (once per seed array) a raw secret as a non-extractable private CryptoKey. */
  private secretKey(cache: SecretKeyCache<Promise<CryptoKey>>, secret: Uint8Array, prefix: Uint8Array, algorithm: Curve, usages: KeyUsage[]): Promise<CryptoKey> {
    const cached = cache.get(secret);
    if (cached) return cached;
    const der = new Uint8Array(prefix.length + 32);
    der.set(prefix, 0);
    der.set(secret, prefix.length);
    let imported: Promise<CryptoKey>;
    try {
      imported = this.subtle.importKey('pkcs8', der, { name: algorithm }, false, usages);
    } finally {
      // WebCrypto copies the key data before importKey returns (WebCrypto §14.3.9 step 2).
      der.fill(0);
    }
    cache.set(secret, imported);
    imported.catch(() => cache.delete(secret));
    return imported;
  }

  /** Imports (once per key, bounded) a raw public key; rejects with the engine's error when it refuses the key. */
  private publicKey(cache: PublicKeyCache<Promise<CryptoKey>>, raw: Uint8Array, algorithm: Curve, usages: KeyUsage[]): Promise<CryptoKey> {
    const id = toBase64url(raw);
    let pending = cache.get(id);
    if (pending === undefined) {
      pending = this.subtle.importKey('raw', bufferSource(raw), { name: algorithm }, false, usages);
      cache.set(id, pending);
      pending.catch(() => cache.delete(id));
    }
    return pending;
  }
}

type Curve = 'Ed25519' | 'X25519';

function checkedOptions(options: WebCryptoProviderOptions): { getRandomValues?: GetRandomValues } {
  if (typeof options !== 'object' || options === null || typeof options.subtle?.importKey !== 'function') {
    throw new KithError('INVALID_INPUT', 'WebCryptoProvider: options.subtle must be a SubtleCrypto');
  }
  return options.getRandomValues ? { getRandomValues: options.getRandomValues } : {};
}

/**
 * WebCrypto takes ArrayBuffer-backed views only (not SharedArrayBuffer); pass ours through
 * without a copy when they already are, which is every array Kith allocates itself.
 */
function bufferSource(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}
