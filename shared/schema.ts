/**
 * The wire-schema gate: plain `unknown` data from outside becomes a typed value only
 * after class-validator has checked every field. Unknown fields are refused (not
 * stripped), so two parties never disagree about what a signed record contained.
 *
 * Schema classes use `@Type(() => Nested)` for nested objects: esbuild/tsx do not emit
 * decorator metadata, so class-transformer cannot infer nested types by itself.
 */
// class-transformer's @Type reads Reflect.getMetadata; this is the standard polyfill for it.
import 'reflect-metadata';
// The CommonJS build by path, not the bare name (which a bundler resolves to the esm5 build):
// shared/schemaFastPath.ts reads this copy's metadata to know which fields it transforms.
import { plainToInstance, Transform, Type } from 'class-transformer/cjs/index.js';
import type { ClassConstructor } from 'class-transformer';
import { validateSync, IsObject, ValidateNested, IsArray, ArrayMaxSize, type ValidationError } from 'class-validator';
import { KithError, type ErrorCode } from './errors.js';
import { assertJson } from './canonical.js';
import { fastAccepts } from './schemaFastPath.js';
import { MAX_JSON_DEPTH, MAX_SCHEMA_OBJECT_KEYS, SCHEMA_SCAN_ARRAY_ELEMENTS } from './limits.js';

/**
 * One nested object (never an array or null): class-validator's ValidateNested alone
 * accepts arrays, and without @Type nothing is validated under tsx/esbuild.
 */
export function Nested(type: () => ClassConstructor<object>): PropertyDecorator {
  return (target, key) => {
    IsObject()(target, key as string);
    ValidateNested()(target, key as string);
    Type(type)(target, key as string);
    // IsObject refuses an array, but ValidateNested would still validate every element (one
    // error object each: seconds for a 1M-element array). The checked value is the class
    // instance, not what validateSchema returns, so it may be cut to one that fails alone.
    Transform(({ value }) => (Array.isArray(value) ? null : value))(target, key as string);
  };
}

/** An array of at most `max` nested objects of one schema. */
export function NestedArray(type: () => ClassConstructor<object>, max: number): PropertyDecorator {
  return (target, key) => {
    IsArray()(target, key as string);
    ArrayMaxSize(max)(target, key as string);
    IsObject({ each: true })(target, key as string);
    ValidateNested({ each: true })(target, key as string);
    Type(type)(target, key as string);
    // ArrayMaxSize refuses a longer array, but ValidateNested would still validate every
    // element (and descend into elements that are arrays); one past the limit, and a null
    // for an array element, fail the same way at a bounded cost (see Nested).
    Transform(({ value }) => (Array.isArray(value) ? value.slice(0, max + 1).map((e: unknown) => (Array.isArray(e) ? null : e)) : value))(target, key as string);
  };
}

/** Flattens class-validator's tree into "path: constraint" lines. */
function describeErrors(errors: ValidationError[], prefix = ''): string[] {
  const out: string[] = [];
  for (const e of errors) {
    const path = prefix ? `${prefix}.${e.property}` : e.property;
    if (e.constraints) for (const msg of Object.values(e.constraints)) out.push(`${path}: ${msg}`);
    // A loop, not push(...): spreading a million child errors overflows the stack.
    if (e.children?.length) for (const line of describeErrors(e.children, path)) out.push(line);
  }
  return out;
}

/**
 * Validates `plain` against schema class `cls` (`jsonChecked`: it already passed assertJson).
 * Returns the plain input typed as T (not the
 * class instance: callers keep working with JSON-shaped data). Throws `code` listing at most
 * three violations; messages name fields, never their values.
 */
export function validateSchema<T extends object>(
  cls: ClassConstructor<T>,
  plain: unknown,
  code: ErrorCode,
  what = cls.name,
  options: { jsonChecked?: boolean } = {},
): T {
  if (typeof plain !== 'object' || plain === null || Array.isArray(plain)) {
    throw new KithError(code, `${what}: expected an object`);
  }
  // Schema objects are small: a wide object is refused before anything walks all its keys
  // (class-validator spends ~30 µs per unknown key, the JSON gate a few µs).
  const wide = findWideObject(plain, MAX_SCHEMA_OBJECT_KEYS);
  if (wide) throw new KithError(code, `${what}: ${wide} has more than ${MAX_SCHEMA_OBJECT_KEYS} fields`);
  try {
    // Plain-JSON gate: depth bombs, __proto__/constructor keys, accessors, non-finite numbers
    // (skipped only for values the caller already passed through it, e.g. from parseJson).
    if (!options.jsonChecked) assertJson(plain);
  } catch (err) {
    throw new KithError(code, `${what}: ${(err as Error).message}`);
  }
  // Certainly valid by class-validator's own metadata (~1 µs); anything else takes the full path.
  if (fastAccepts(cls, plain)) return plain as T;
  const instance = plainToInstance(cls, plain, { enableImplicitConversion: false, exposeDefaultValues: false });
  const errors = validateSync(instance as object, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
  });
  if (errors.length > 0) {
    const lines = describeErrors(errors);
    throw new KithError(code, `${what}: ${lines.slice(0, 3).join('; ')}${lines.length > 3 ? ` (+${lines.length - 3} more)` : ''}`);
  }
  return plain as T;
}

/** Canonical base64url of exactly 32 bytes (43 characters, unused low bits zero). */
export const KEY32_RE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
/** Canonical base64url of exactly 64 bytes (86 characters). */
export const SIG64_RE = /^[A-Za-z0-9_-]{85}[AQgw]$/;
/** A SHA-256 hash as 64 lowercase hex characters. */
export const HASH_HEX_RE = /^[0-9a-f]{64}$/;

/**
 * Path of the first object (not array) with more than `max` keys, if any. Runs before the
 * JSON gate, so it bounds its own depth (MAX_JSON_DEPTH) and stops at cycles instead of
 * trusting the input's shape; anything deeper is left for the gate to refuse.
 */
function findWideObject(value: unknown, max: number): string | undefined {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: '(root)', depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v !== 'object' || v === null || depth > MAX_JSON_DEPTH || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      const n = Math.min(v.length, SCHEMA_SCAN_ARRAY_ELEMENTS);
      for (let i = 0; i < n; i++) stack.push({ v: v[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    // Only plain objects are walked: Object.keys of an 8 MiB Uint8Array builds 8M strings
    // (seconds), and the JSON gate refuses every other prototype without listing its keys.
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) continue;
    const keys = Object.keys(v);
    if (keys.length > max) return path;
    for (const k of keys) stack.push({ v: (v as Record<string, unknown>)[k], path: `${path}.${k}`, depth: depth + 1 });
  }
  return undefined;
}
