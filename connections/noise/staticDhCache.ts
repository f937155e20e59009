/**
 * The static-static Diffie-Hellman (the "ss" token) of a pair of instances never changes, so
 * it is computed once per pair, as WireGuard precomputes `static_static` per peer: a listener
 * answers each known peer's Noise_IK handshakes with three X25519 operations instead of four,
 * and a dialer reconnecting to a peer does the same. X25519 is most of a handshake's CPU here
 * (~44 µs each), so this is about a tenth of it.
 *
 * Keyed by the crypto provider, the identity of the caller's secret-key array (a long-lived
 * static key) and the remote public key. A private copy of the secret's bytes is compared on
 * every hit, so a caller that wipes or reuses its array in place gets a fresh computation,
 * never a stale result. Only successful results are kept (a low-order key fails every time),
 * at most STATIC_DH_CACHE_ENTRIES per local key, the oldest going first: an attacker who
 * handshakes with fresh static keys evicts entries, which costs one DH each later, nothing else.
 * Callers get a copy they may wipe.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import { constantTimeEqual, toHex } from '../../shared/bytes.js';
import { STATIC_DH_CACHE_ENTRIES } from '../../shared/limits.js';

interface PerSecret {
  readonly secretCopy: Uint8Array;
  readonly shared: Map<string, Uint8Array>;
}

const byProvider = new WeakMap<CryptoProvider, WeakMap<Uint8Array, PerSecret>>();

/** DH(secretKey, publicKey) through `crypto`, remembered for this pair of static keys. */
export async function staticDh(crypto: CryptoProvider, secretKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  let bySecret = byProvider.get(crypto);
  if (bySecret === undefined) {
    bySecret = new WeakMap();
    byProvider.set(crypto, bySecret);
  }
  const id = toHex(publicKey);
  const hit = current(bySecret, secretKey)?.shared.get(id);
  if (hit !== undefined) return hit.slice();
  const usedSecret = secretKey.slice();
  const shared = await crypto.x25519(secretKey, publicKey);
  // Kept only if the caller's array still holds the secret the result was computed from.
  if (constantTimeEqual(usedSecret, secretKey)) {
    let entry = current(bySecret, secretKey);
    if (entry === undefined) {
      entry = { secretCopy: usedSecret, shared: new Map() };
      bySecret.set(secretKey, entry);
    } else {
      usedSecret.fill(0);
    }
    if (!entry.shared.has(id)) {
      if (entry.shared.size >= STATIC_DH_CACHE_ENTRIES) {
        const oldest = entry.shared.keys().next().value!;
        entry.shared.get(oldest)!.fill(0);
        entry.shared.delete(oldest);
      }
      entry.shared.set(id, shared.slice());
    }
  } else {
    usedSecret.fill(0);
  }
  return shared;
}

/** The entry for `secretKey` if its bytes are still the ones it was made for; a stale one is wiped and dropped. */
function current(bySecret: WeakMap<Uint8Array, PerSecret>, secretKey: Uint8Array): PerSecret | undefined {
  const entry = bySecret.get(secretKey);
  if (entry === undefined || constantTimeEqual(entry.secretCopy, secretKey)) return entry;
  forget(entry);
  bySecret.delete(secretKey);
  return undefined;
}

function forget(entry: PerSecret): void {
  entry.secretCopy.fill(0);
  for (const value of entry.shared.values()) value.fill(0);
  entry.shared.clear();
}
