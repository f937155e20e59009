/**
 * RFC 8785 (JCS) canonical JSON. Serialization is the `canonicalize` package (the
 * reference implementation by one of the RFC's authors); this module puts a strict gate
 * in front of it, because the library happily encodes things that must not be signed:
 * lone surrogates, `undefined` in arrays (as null), objects with `toJSON`, class
 * instances, `__proto__` keys, and unbounded nesting.
 *
 * Behind the gate, a value whose objects all list their keys in canonical order (as every
 * parsed canonical object does) is serialized by `JSON.stringify` instead: RFC 8785 takes its
 * string and number forms from ECMAScript's own JSON serialization, so for such a value the
 * two texts are the same, and the native one costs a fraction (measured on received objects,
 * the library was most of the canonical-form check). Values with keys out of order go to the
 * library, which sorts them.
 */
import canonicalizeModule from 'canonicalize';
import { KithError } from './errors.js';
import { MAX_JSON_DEPTH, MAX_OBJECT_BYTES } from './limits.js';
import { utf8, fromUtf8 } from './bytes.js';

// The package is CommonJS with an ESM-style declaration: Node's interop hands us the function
// itself as the default export, some bundlers hand us { default: fn }.
const serialize = ((canonicalizeModule as unknown as { default?: unknown }).default ?? canonicalizeModule) as (value: unknown) => string;

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export interface CanonicalOptions {
  /** Only safe integers are allowed as numbers (Kith objects); otherwise any finite number (plain JCS). */
  readonly integersOnly?: boolean;
  /** Largest accepted canonical UTF-8 size in bytes. */
  readonly maxBytes?: number;
}

/** Keys that rewrite an object's prototype or shadow its constructor when merged naively. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function fail(path: string, why: string): never {
  throw new KithError('NOT_CANONICALIZABLE', `${path || '(root)'}: ${why}`);
}

/** True when `s` contains an unpaired UTF-16 surrogate (not representable in UTF-8). */
export function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = s.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return true;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return true;
  }
  return false;
}

/**
 * Checks that `value` is plain JSON that canonicalizes without loss: null, booleans,
 * finite numbers (safe integers with `integersOnly`), well-formed strings, dense arrays and
 * plain objects, at most MAX_JSON_DEPTH deep. Throws NOT_CANONICALIZABLE naming the path.
 */
export function assertJson(value: unknown, options: CanonicalOptions = {}): asserts value is JsonValue {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string, depth: number): void => {
    if (v === null || typeof v === 'boolean') return;
    switch (typeof v) {
      case 'string':
        if (hasLoneSurrogate(v)) fail(path, 'string contains a lone surrogate');
        return;
      case 'number':
        if (!Number.isFinite(v)) fail(path, `number ${v} is not finite`);
        if (options.integersOnly && !Number.isSafeInteger(v)) fail(path, `number ${v} is not a safe integer`);
        return;
      case 'object':
        break;
      default:
        fail(path, `${typeof v} is not JSON`);
    }
    const obj = v as object;
    if (depth >= MAX_JSON_DEPTH) fail(path, `nested deeper than ${MAX_JSON_DEPTH}`);
    if (seen.has(obj)) fail(path, 'cycle');
    seen.add(obj);
    if (Array.isArray(obj)) {
      for (let i = 0; i < obj.length; i++) {
        if (!(i in obj)) fail(`${path}[${i}]`, 'sparse array');
        walk(obj[i], `${path}[${i}]`, depth + 1);
      }
    } else {
      const proto = Object.getPrototypeOf(obj);
      if (proto !== Object.prototype && proto !== null) fail(path, 'not a plain object');
      if (Object.getOwnPropertySymbols(obj).length > 0) fail(path, 'symbol keys');
      for (const key of Object.keys(obj)) {
        if (FORBIDDEN_KEYS.has(key)) fail(path, `forbidden key "${key}"`);
        if (hasLoneSurrogate(key)) fail(path, 'key contains a lone surrogate');
        const desc = Object.getOwnPropertyDescriptor(obj, key)!;
        if (!('value' in desc)) fail(`${path}.${key}`, 'accessor property');
        walk(desc.value, `${path}.${key}`, depth + 1);
      }
      // Non-enumerable own string keys would be silently dropped by the serializer.
      if (Object.getOwnPropertyNames(obj).length !== Object.keys(obj).length) fail(path, 'non-enumerable properties');
    }
    seen.delete(obj);
  };
  walk(value, '', 0);
}

/**
 * Canonical text of a value that has already passed `assertJson` with the same options (for
 * example a value from `parseJson`): skips the gate, which would walk the value again.
 * Anything else must use `canonicalize`.
 */
export function serializeChecked(value: JsonValue): string {
  return keysInCanonicalOrder(value) ? JSON.stringify(value) : serialize(value);
}

/** True when every object in `value` lists its keys in JCS order (UTF-16 code units, ascending). */
function keysInCanonicalOrder(value: JsonValue): boolean {
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!keysInCanonicalOrder(item)) return false;
    return true;
  }
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  for (const key of keys) if (!keysInCanonicalOrder(value[key]!)) return false;
  return true;
}

/** RFC 8785 canonical JSON text of `value`, after `assertJson`. */
export function canonicalize(value: unknown, options: CanonicalOptions = {}): string {
  assertJson(value, options);
  const text = serializeChecked(value);
  const max = options.maxBytes ?? MAX_OBJECT_BYTES;
  // UTF-8 is at most 3 bytes per UTF-16 code unit; only measure exactly when it could matter.
  if (text.length * 3 > max && utf8(text).length > max) {
    throw new KithError('OBJECT_TOO_LARGE', `canonical form exceeds ${max} bytes`);
  }
  return text;
}

/** Canonical UTF-8 bytes of `value`. */
export function canonicalBytes(value: unknown, options: CanonicalOptions = {}): Uint8Array {
  return utf8(canonicalize(value, options));
}

/**
 * Parses JSON text or UTF-8 bytes from outside and applies the same gate, so what comes
 * back is safe to canonicalize and hash. Size is checked before parsing.
 */
export function parseJson(input: string | Uint8Array, options: CanonicalOptions = {}): JsonValue {
  const max = options.maxBytes ?? MAX_OBJECT_BYTES;
  let text: string;
  if (typeof input === 'string') {
    if (input.length > max) throw new KithError('OBJECT_TOO_LARGE', `JSON text exceeds ${max} bytes`);
    text = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > max) throw new KithError('OBJECT_TOO_LARGE', `JSON text exceeds ${max} bytes`);
    text = fromUtf8(input, 'JSON text');
  } else {
    throw new KithError('INVALID_INPUT', 'parseJson: expected a string or bytes');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new KithError('INVALID_INPUT', `not JSON: ${(err as Error).message}`);
  }
  assertJson(value, options);
  return value;
}
