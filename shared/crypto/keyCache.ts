/**
 * The two key caches every provider keeps. Importing or decoding a key costs more than
 * using it (Node: 360 µs to import a PKCS#8 secret, 35 µs to sign with it; WebCrypto:
 * 20 µs to import a raw public key), and the same few keys come back over and over:
 * our own signing and static keys, the authors of the objects we receive.
 */
import { constantTimeEqual } from '../bytes.js';

/**
 * Public keys by their encoding (a string id), bounded: once full, the oldest entry goes.
 * First-in-first-out rather than LRU: a hit stays a single Map lookup, and a key evicted
 * while still in use only costs one more import.
 */
export class PublicKeyCache<V> {
  private readonly map = new Map<string, V>();

  constructor(private readonly capacity: number) {}

  /** The cached value for `id`, if any. */
  get(id: string): V | undefined {
    return this.map.get(id);
  }

  /** Stores `value` under `id`, evicting the oldest entry when the cache is full. */
  set(id: string, value: V): void {
    if (!this.map.has(id) && this.map.size >= this.capacity) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
    this.map.set(id, value);
  }

  /** Forgets `id` (for example after its import failed). */
  delete(id: string): void {
    this.map.delete(id);
  }

  /** Number of cached keys. */
  get size(): number {
    return this.map.size;
  }
}

/**
 * Values derived from a secret key (an imported KeyObject/CryptoKey, an expanded scalar),
 * keyed by the identity of the caller's Uint8Array so that secrets never become strings
 * or map keys, and dropped with that array by the garbage collector. A private copy of the
 * bytes is compared on every hit: a caller that wipes or reuses the array in place gets a
 * fresh import instead of a stale key.
 */
export class SecretKeyCache<V> {
  private readonly map = new WeakMap<Uint8Array, { readonly copy: Uint8Array; readonly value: V }>();

  /** The value derived from `secret`, if it was cached and the bytes did not change since. */
  get(secret: Uint8Array): V | undefined {
    const entry = this.map.get(secret);
    if (entry === undefined) return undefined;
    if (!constantTimeEqual(entry.copy, secret)) {
      entry.copy.fill(0);
      this.map.delete(secret);
      return undefined;
    }
    return entry.value;
  }

  /** Remembers `value` as derived from the current bytes of `secret`. */
  set(secret: Uint8Array, value: V): void {
    this.map.get(secret)?.copy.fill(0);
    this.map.set(secret, { copy: secret.slice(), value });
  }

  /** Forgets what was derived from `secret` (for example after its import failed). */
  delete(secret: Uint8Array): void {
    this.map.get(secret)?.copy.fill(0);
    this.map.delete(secret);
  }
}
