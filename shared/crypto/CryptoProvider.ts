/**
 * The one crypto seam. Every layer receives a provider; nothing imports `node:crypto`
 * or @noble directly except the provider implementations.
 *
 * Hashing, MAC, KDF and AEAD are synchronous: they run in hot loops (object hashing,
 * frame encryption) and noble is fast enough for them in a browser. They keep no
 * reference to their inputs and return fresh arrays, so a caller may reuse or wipe an
 * input buffer as soon as the call returns (the secure channel reuses its plaintext buffer). Signatures and
 * Diffie-Hellman are asynchronous: in the browser they go to WebCrypto's native
 * Ed25519/X25519 (10–29× faster than pure JS here), in Node verification can run on
 * the threadpool to use both cores.
 *
 * Keys are raw 32-byte strings: Ed25519 secret keys are RFC 8032 seeds, X25519 secret
 * keys are RFC 7748 scalars (clamped by the implementation).
 *
 * Every provider behaves identically (test/shared/crypto/providerConformance.ts): same
 * outputs, same accept/refuse decisions. Wrong types or lengths raise `KithError`
 * `INVALID_INPUT` — thrown by the synchronous methods, a rejected promise from the
 * asynchronous ones (they never throw synchronously) — except `ed25519Verify`, which
 * resolves false, and the AEAD `open`s, which return null for a ciphertext that does
 * not authenticate.
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
   * Ed25519 verification under one rule in every provider, so that a signature one instance
   * accepts is accepted by all (RFC 8032 §5.1.7 leaves the cofactor and key checks open, and
   * OpenSSL, BoringSSL and noble each pick differently). Accepted exactly when:
   * - the public key is 32 bytes and the signature 64;
   * - S < L (non-canonical S refused: no malleability);
   * - A is a canonical encoding (y < p; x = 0 with the sign bit set refused) of a curve point,
   *   and A is not one of the 8 points of small order (under those, OpenSSL would accept
   *   R = identity, S = 0 for any message);
   * - the cofactorless equation holds on R's encoding: encode([S]B − [k]A) = R with
   *   k = SHA-512(R ‖ A ‖ M) mod L (so R must be canonical; a small-order R is fine when the
   *   equation holds). This is OpenSSL's and BoringSSL's equation; noble's own verify is
   *   cofactored, so NobleCrypto computes this one instead.
   * Keys of mixed order (not small, not torsion-free) are not refused; honest keys never are,
   * and the cofactorless equation judges them identically everywhere.
   * Malformed input (wrong type, wrong length, not a point) resolves to false; it never throws.
   */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;

  /** A new X25519 key pair. */
  x25519Generate(): Promise<KeyPair>;
  /** The X25519 public key of a 32-byte secret. */
  x25519PublicKey(secretKey: Uint8Array): Promise<Uint8Array>;
  /**
   * X25519 shared secret (RFC 7748: the public key's top bit is ignored, u ≥ p is reduced).
   * Rejects with `CRYPTO_FAILURE` when the result is all zero (a low-order public key:
   * noble refuses those before computing, OpenSSL and WebCrypto after).
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
