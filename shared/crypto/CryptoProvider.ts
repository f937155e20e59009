/**
 * The one crypto seam. Every layer receives a provider; nothing imports `node:crypto`
 * or @noble directly except the provider implementations.
 *
 * Hashing, MAC, KDF and AEAD are synchronous: they run in hot loops (object hashing,
 * frame encryption) and noble is fast enough for them in a browser. Signatures and
 * Diffie-Hellman are asynchronous: in the browser they go to WebCrypto's native
 * Ed25519/X25519 (10–29× faster than pure JS here), in Node verification can run on
 * the threadpool to use both cores.
 *
 * Keys are raw 32-byte strings: Ed25519 secret keys are RFC 8032 seeds, X25519 secret
 * keys are RFC 7748 scalars (clamped by the implementation).
 */
export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface CryptoProvider {
  /** Implementation name, for logs and benchmarks ("native", "noble", "web"). */
  readonly name: string;

  /** Cryptographically secure random bytes. */
  randomBytes(length: number): Uint8Array;

  /** SHA-256 digest (32 bytes). */
  sha256(data: Uint8Array): Uint8Array;
  /** HMAC-SHA256 (RFC 2104), 32 bytes. */
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array;
  /** HKDF-SHA256 (RFC 5869) extract-then-expand; `length` ≤ 255 × 32. */
  hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array;

  /** A new Ed25519 key pair. */
  ed25519Generate(): Promise<KeyPair>;
  /** The Ed25519 public key of a 32-byte seed. */
  ed25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array>;
  /** Ed25519 signature (64 bytes, RFC 8032, deterministic). */
  ed25519Sign(secretKey: Uint8Array, message: Uint8Array): Promise<Uint8Array>;
  /**
   * RFC 8032 verification (non-canonical S rejected). Malformed keys or signatures
   * (wrong type, wrong length, not a point) resolve to false; it never throws.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;

  /** A new X25519 key pair. */
  x25519Generate(): Promise<KeyPair>;
  /** The X25519 public key of a 32-byte secret. */
  x25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array>;
  /**
   * X25519 shared secret. Rejects with `CRYPTO_FAILURE` when the result is all zero
   * (a low-order or otherwise contributory-failing public key).
   */
  x25519(secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array>;

  /** ChaCha20-Poly1305 (RFC 8439): 32-byte key, 12-byte nonce; returns ciphertext ‖ 16-byte tag. */
  chacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Opens a sealed message; null when the tag does not verify (never throws for bad ciphertext). */
  chacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null;
  /** XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha): 24-byte nonce, safe to pick at random. */
  xchacha20poly1305Seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad?: Uint8Array): Uint8Array;
  /** Opens an XChaCha20-Poly1305 message; null when the tag does not verify. */
  xchacha20poly1305Open(key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, aad?: Uint8Array): Uint8Array | null;

  /** scrypt (RFC 7914) for passphrase-protected key files. */
  scrypt(password: Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Uint8Array>;
}

export interface ScryptParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly dkLen: number;
}
