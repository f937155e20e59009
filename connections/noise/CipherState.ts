/**
 * Noise CipherState (spec rev. 34 §5.1) for ChaChaPoly: a key `k` and a counter nonce `n`.
 *
 * This is the transport hot path (a secure channel pushes hundreds of MB/s through it), so
 * it copies nothing: ciphertext and plaintext come straight from the provider, and the
 * 12-byte nonce lives in one buffer per CipherState that is rewritten before each call.
 * Reusing it is safe because the provider's AEAD calls are synchronous and keep no
 * reference to the nonce after they return (CryptoProvider contract), and a CipherState
 * is never used by two calls at once (JavaScript runs one call to completion).
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import { KithError } from '../../shared/errors.js';
import { describe } from '../../shared/bytes.js';
import { MAX_NOISE_MESSAGE, MAX_NOISE_NONCE } from '../../shared/limits.js';

/** ChaCha20-Poly1305 tag length: every ciphertext is this much longer than its plaintext. */
export const NOISE_TAG_BYTES = 16;
/** Cipher key length (32 bytes for ChaChaPoly). */
export const NOISE_KEY_BYTES = 32;

const EMPTY = new Uint8Array(0);
const ZEROS_32 = new Uint8Array(32);
/** REKEY (§4.2) encrypts with the reserved nonce 2^64 − 1: 4 zero bytes ‖ eight 0xff bytes. */
const REKEY_NONCE = Uint8Array.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const TWO_POW_32 = 2 ** 32;

/** Throws INVALID_INPUT unless `crypto` looks like a CryptoProvider with the functions Noise needs. */
export function assertNoiseCrypto(crypto: unknown): asserts crypto is CryptoProvider {
  const c = crypto as Record<string, unknown> | null;
  const needed = ['sha256', 'hmacSha256', 'x25519', 'x25519Generate', 'chacha20poly1305Seal', 'chacha20poly1305Open'];
  if (typeof c !== 'object' || c === null || needed.some((f) => typeof c[f] !== 'function')) {
    throw new KithError('INVALID_INPUT', `crypto: expected a CryptoProvider, got ${describe(crypto)}`);
  }
}

function assertInput(value: unknown, title: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new KithError('INVALID_INPUT', `${title}: expected Uint8Array, got ${describe(value)}`);
}

export class CipherState {
  private readonly crypto: CryptoProvider;
  private key: Uint8Array | undefined;
  private n = 0;
  private destroyed = false;
  private readonly nonceBytes = new Uint8Array(12);
  private readonly nonceView = new DataView(this.nonceBytes.buffer);

  /**
   * A CipherState with `key` (copied; the caller may wipe its own copy) and n = 0. Without a
   * key it is the spec's empty CipherState: encrypt and decrypt pass data through unchanged,
   * which is what the handshake needs before the first DH. Split always yields keyed ones.
   */
  constructor(crypto: CryptoProvider, key?: Uint8Array) {
    assertNoiseCrypto(crypto);
    this.crypto = crypto;
    if (key !== undefined) {
      assertInput(key, 'CipherState key');
      if (key.length !== NOISE_KEY_BYTES) throw new KithError('INVALID_INPUT', `CipherState key: expected ${NOISE_KEY_BYTES} bytes, got ${key.length}`);
      this.key = key.slice();
    }
  }

  /** Messages encrypted or decrypted so far with this state: the next nonce. A safe integer, never above MAX_NOISE_NONCE. */
  get nonce(): number {
    return this.n;
  }

  /** True when a key is set (always, for the states returned by `split`), false after `destroy`. */
  hasKey(): boolean {
    return this.key !== undefined;
  }

  /**
   * ENCRYPT(k, n, ad, plaintext), then n + 1. Returns ciphertext ‖ 16-byte tag.
   * INVALID_INPUT when the result would exceed a Noise message (65535 bytes);
   * NONCE_EXHAUSTED at MAX_NOISE_NONCE; CLOSED after `destroy`.
   */
  encryptWithAd(ad: Uint8Array, plaintext: Uint8Array): Uint8Array {
    this.assertUsable();
    assertInput(ad, 'ad');
    assertInput(plaintext, 'plaintext');
    const key = this.key;
    if (key === undefined) return plaintext;
    if (plaintext.length > MAX_NOISE_MESSAGE - NOISE_TAG_BYTES) {
      throw new KithError('INVALID_INPUT', `plaintext: at most ${MAX_NOISE_MESSAGE - NOISE_TAG_BYTES} bytes per Noise message, got ${plaintext.length}`);
    }
    this.writeNonce();
    const ciphertext = this.crypto.chacha20poly1305Seal(key, this.nonceBytes, plaintext, ad);
    this.n++;
    return ciphertext;
  }

  /**
   * DECRYPT(k, n, ad, ciphertext). On success n + 1 and the plaintext; on any failure
   * (altered data, wrong key, too short, longer than a Noise message) DECRYPT_FAILED and n
   * is unchanged. NONCE_EXHAUSTED at MAX_NOISE_NONCE; CLOSED after `destroy`.
   */
  decryptWithAd(ad: Uint8Array, ciphertext: Uint8Array): Uint8Array {
    this.assertUsable();
    assertInput(ad, 'ad');
    assertInput(ciphertext, 'ciphertext');
    const key = this.key;
    if (key === undefined) return ciphertext;
    if (ciphertext.length > MAX_NOISE_MESSAGE || ciphertext.length < NOISE_TAG_BYTES) throw new KithError('DECRYPT_FAILED');
    this.writeNonce();
    const plaintext = this.crypto.chacha20poly1305Open(key, this.nonceBytes, ciphertext, ad);
    if (plaintext === null) throw new KithError('DECRYPT_FAILED');
    this.n++;
    return plaintext;
  }

  /**
   * REKEY (§4.2): k = the first 32 bytes of ENCRYPT(k, 2^64 − 1, empty, 32 zero bytes).
   * The nonce is not reset (§5.1), so both sides must rekey at the same message position.
   */
  rekey(): void {
    this.assertUsable();
    const key = this.key;
    if (key === undefined) throw new KithError('INVALID_INPUT', 'rekey: the CipherState has no key');
    const sealed = this.crypto.chacha20poly1305Seal(key, REKEY_NONCE, ZEROS_32, EMPTY);
    const next = sealed.slice(0, NOISE_KEY_BYTES);
    sealed.fill(0);
    key.fill(0);
    this.key = next;
  }

  /**
   * SetNonce (§5.1), restricted to moving forward: skipping nonces is harmless (the peer
   * then fails to decrypt), going back would reuse a nonce under the same key.
   */
  setNonce(nonce: number): void {
    this.assertUsable();
    if (!Number.isSafeInteger(nonce) || nonce < this.n || nonce > MAX_NOISE_NONCE) {
      throw new KithError('INVALID_INPUT', `setNonce: expected an integer in [${this.n}, ${MAX_NOISE_NONCE}]`);
    }
    this.n = nonce + 0; // + 0 turns -0 into 0
  }

  /** Wipes the key. Every later call throws CLOSED. Idempotent. */
  destroy(): void {
    this.key?.fill(0);
    this.key = undefined;
    this.destroyed = true;
  }

  private assertUsable(): void {
    if (this.destroyed) throw new KithError('CLOSED', 'CipherState: destroyed');
  }

  /** ChaChaPoly nonce (§12.3): 4 zero bytes ‖ n as 64-bit little-endian. n < 2^53, so the top bytes stay small. */
  private writeNonce(): void {
    const n = this.n;
    if (n >= MAX_NOISE_NONCE) throw new KithError('NONCE_EXHAUSTED');
    const low = n >>> 0;
    this.nonceView.setUint32(4, low, true);
    this.nonceView.setUint32(8, (n - low) / TWO_POW_32, true);
  }
}
