/**
 * Noise SymmetricState (spec rev. 34 §5.2) for SHA256: the chaining key `ck`, the handshake
 * hash `h` and the handshake's CipherState. Internal to the handshake; only HandshakeState
 * uses it. Handshakes are short, so clarity wins over avoiding small copies here.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import { utf8, wipe } from '../../shared/bytes.js';
import { CipherState } from './CipherState.js';

/** HASHLEN for SHA256. */
export const HASH_BYTES = 32;

const EMPTY = new Uint8Array(0);
const ONE = Uint8Array.of(1);

export class SymmetricState {
  private readonly crypto: CryptoProvider;
  private ck: Uint8Array;
  private h: Uint8Array;
  private cipher: CipherState;

  /** InitializeSymmetric: h = the name zero-padded to 32 bytes, or its hash when longer; ck = h. */
  constructor(crypto: CryptoProvider, protocolName: string) {
    this.crypto = crypto;
    const name = utf8(protocolName);
    if (name.length <= HASH_BYTES) {
      this.h = new Uint8Array(HASH_BYTES);
      this.h.set(name);
    } else {
      this.h = crypto.sha256(name);
    }
    this.ck = this.h.slice();
    this.cipher = new CipherState(crypto);
  }

  /** True once a DH (or psk, or "e" in a PSK handshake) has produced a key. */
  hasKey(): boolean {
    return this.cipher.hasKey();
  }

  /** The current handshake hash (a copy). */
  handshakeHash(): Uint8Array {
    return this.h.slice();
  }

  /** MixHash: h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    const input = new Uint8Array(HASH_BYTES + data.length);
    input.set(this.h, 0);
    input.set(data, HASH_BYTES);
    this.h = this.crypto.sha256(input);
  }

  /** MixKey: ck, k = HKDF(ck, ikm, 2); the handshake CipherState restarts with k and n = 0. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = this.hkdf(ikm, 2);
    this.replaceChainingKey(ck!);
    this.replaceCipher(k!);
  }

  /** MixKeyAndHash (psk): ck, temp_h, k = HKDF(ck, ikm, 3); MixHash(temp_h); new cipher key k. */
  mixKeyAndHash(ikm: Uint8Array): void {
    const [ck, tempH, k] = this.hkdf(ikm, 3);
    this.replaceChainingKey(ck!);
    this.mixHash(tempH!);
    wipe(tempH);
    this.replaceCipher(k!);
  }

  /** EncryptAndHash: ciphertext = EncryptWithAd(h, plaintext) (plaintext itself while no key); MixHash(ciphertext). */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    const ciphertext = this.cipher.encryptWithAd(this.h, plaintext);
    this.mixHash(ciphertext);
    return ciphertext;
  }

  /** DecryptAndHash: plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext). Throws DECRYPT_FAILED. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    const plaintext = this.cipher.decryptWithAd(this.h, ciphertext);
    this.mixHash(ciphertext);
    return plaintext;
  }

  /** Split: k1, k2 = HKDF(ck, empty, 2); [initiator→responder, responder→initiator]. Wipes ck. */
  split(): [CipherState, CipherState] {
    const [k1, k2] = this.hkdf(EMPTY, 2);
    try {
      return [new CipherState(this.crypto, k1!), new CipherState(this.crypto, k2!)];
    } finally {
      wipe(k1, k2);
      this.destroy();
    }
  }

  /** Wipes ck and the handshake key; h stays (it is a public transcript hash, used for channel binding). */
  destroy(): void {
    wipe(this.ck);
    this.cipher.destroy();
  }

  /**
   * HKDF (§4.3): temp_key = HMAC(ck, ikm); output_i = HMAC(temp_key, output_{i-1} ‖ byte(i)).
   * This equals RFC 5869 HKDF with salt ck and empty info; HMAC is used directly because
   * an empty ikm (Split) is not accepted by every KDF implementation.
   */
  private hkdf(ikm: Uint8Array, outputs: 2 | 3): Uint8Array[] {
    const tempKey = this.crypto.hmacSha256(this.ck, ikm);
    const result: Uint8Array[] = [];
    let previous = this.crypto.hmacSha256(tempKey, ONE);
    result.push(previous);
    const input = new Uint8Array(HASH_BYTES + 1);
    for (let i = 2; i <= outputs; i++) {
      input.set(previous, 0);
      input[HASH_BYTES] = i;
      previous = this.crypto.hmacSha256(tempKey, input);
      result.push(previous);
    }
    wipe(tempKey, input);
    return result;
  }

  private replaceChainingKey(ck: Uint8Array): void {
    wipe(this.ck);
    this.ck = ck;
  }

  private replaceCipher(key: Uint8Array): void {
    this.cipher.destroy();
    this.cipher = new CipherState(this.crypto, key);
    wipe(key);
  }
}
