/**
 * Kith objects (DESIGN §3): JSON values with a `$type`, canonical by RFC 8785, numbers
 * restricted to safe integers, bytes as base64url strings. An object's hash is SHA-256
 * over its canonical bytes. A signed object's signature covers the hash of the object
 * without its `sig` field, so the `$type` inside it separates signing domains.
 */
import type { CryptoProvider } from './crypto/CryptoProvider.js';
import { canonicalize, type JsonObject, type JsonValue } from './canonical.js';
import { KithError } from './errors.js';
import { toHex, fromBase64url, toBase64url, utf8, withUtf8 } from './bytes.js';
import type { ObjectHash } from './ids.js';
import { MAX_OBJECT_BYTES, MAX_TYPE_LENGTH } from './limits.js';

const TYPE_RE = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export interface KithObject extends JsonObject {
  $type: string;
}

export interface SignedObject extends KithObject {
  sig: string;
}

export function assertKithObject(value: unknown): asserts value is KithObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new KithError('OBJECT_INVALID', 'an object must be a JSON object');
  }
  const type = (value as { $type?: unknown }).$type;
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_TYPE_LENGTH || !TYPE_RE.test(type)) {
    throw new KithError('OBJECT_INVALID', `an object needs a $type of 1–${MAX_TYPE_LENGTH} letters, digits, "_", "." or "-"`);
  }
}

/** Canonical JSON text of a Kith object (validated: $type, safe integers, size). */
function objectText(obj: unknown): string {
  assertKithObject(obj);
  return canonicalize(obj, { integersOnly: true, maxBytes: MAX_OBJECT_BYTES });
}

/** Canonical bytes of a Kith object (validated: $type, safe integers, size). */
export function objectBytes(obj: unknown): Uint8Array {
  return utf8(objectText(obj));
}

/** SHA-256 of a Kith object's canonical bytes, validated as objectBytes does, without keeping the bytes: what a signature covers. */
export function objectDigest(crypto: CryptoProvider, obj: unknown): Uint8Array {
  return withUtf8(objectText(obj), (bytes) => crypto.sha256(bytes));
}

/** Hex SHA-256 of raw bytes, as an ObjectHash (used for blob chunks too). */
export function hashBytes(crypto: CryptoProvider, bytes: Uint8Array): ObjectHash {
  return toHex(crypto.sha256(bytes)) as ObjectHash;
}

export function hashObject(crypto: CryptoProvider, obj: KithObject): ObjectHash {
  return hashBytes(crypto, objectBytes(obj));
}

/** The object without its `sig` field: what a signature covers. */
export function unsigned<T extends KithObject>(obj: T): Omit<T, 'sig'> {
  const { sig: _sig, ...rest } = obj as T & { sig?: JsonValue };
  return rest as Omit<T, 'sig'>;
}

/** Signs `obj` (which must not carry `sig`) with an Ed25519 secret key. */
export async function signObject<T extends KithObject>(crypto: CryptoProvider, obj: T, secretKey: Uint8Array): Promise<T & { sig: string }> {
  // Before the `in` test below, which throws an uncoded TypeError for a primitive.
  assertKithObject(obj);
  if ('sig' in obj) throw new KithError('INVALID_INPUT', 'signObject: object is already signed');
  const digest = objectDigest(crypto, obj);
  const sig = await crypto.ed25519Sign(secretKey, digest);
  return { ...obj, sig: toBase64url(sig) };
}

/**
 * True when `obj.sig` is a valid signature of `obj` without `sig` by `publicKey`. Never throws
 * for bad input: anything that is not a signed Kith object (null, a primitive, an array, a
 * value whose fields throw when read) resolves to false.
 */
export async function verifyObjectSignature(crypto: CryptoProvider, obj: KithObject, publicKey: Uint8Array): Promise<boolean> {
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return false;
  let sig: Uint8Array;
  let digest: Uint8Array;
  try {
    const sigText: unknown = obj.sig;
    if (typeof sigText !== 'string' || sigText.length !== 86) return false;
    sig = fromBase64url(sigText);
    digest = objectDigest(crypto, unsigned(obj));
  } catch {
    return false;
  }
  return crypto.ed25519Verify(publicKey, digest, sig);
}
