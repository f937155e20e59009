/**
 * Branded identifiers. Only the validators below create them, so a value typed
 * `PersonId` has been checked to be 64 lowercase hex characters.
 */
import { KithError, type ErrorCode } from './errors.js';
import { describe } from './bytes.js';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

/** SHA-256 of an object's canonical bytes, 64 lowercase hex characters. */
export type ObjectHash = Brand<string, 'ObjectHash'>;
/** SHA-256 of a canonical Person record. */
export type PersonId = Brand<string, 'PersonId'>;
/** SHA-256 of a canonical Instance record. */
export type InstanceId = Brand<string, 'InstanceId'>;
/** First 16 bytes of HMAC-SHA256(token, "kith invite id"), 32 lowercase hex characters. */
export type InviteId = Brand<string, 'InviteId'>;

const HASH_RE = /^[0-9a-f]{64}$/;
const INVITE_ID_RE = /^[0-9a-f]{32}$/;

function check(re: RegExp, value: unknown, what: string, code: ErrorCode): string {
  if (typeof value !== 'string' || !re.test(value)) {
    throw new KithError(code, `${what}: expected ${re === HASH_RE ? 64 : 32} lowercase hex characters, got ${describe(value)}`);
  }
  return value;
}

export const isHash = (value: unknown): value is ObjectHash => typeof value === 'string' && HASH_RE.test(value);

export function parseObjectHash(value: unknown, code: ErrorCode = 'INVALID_INPUT'): ObjectHash {
  return check(HASH_RE, value, 'object hash', code) as ObjectHash;
}
export function parsePersonId(value: unknown, code: ErrorCode = 'INVALID_INPUT'): PersonId {
  return check(HASH_RE, value, 'person id', code) as PersonId;
}
export function parseInstanceId(value: unknown, code: ErrorCode = 'INVALID_INPUT'): InstanceId {
  return check(HASH_RE, value, 'instance id', code) as InstanceId;
}
export function parseInviteId(value: unknown, code: ErrorCode = 'INVALID_INPUT'): InviteId {
  return check(INVITE_ID_RE, value, 'invite id', code) as InviteId;
}

/** A short fingerprint for people to compare: the first 16 hex characters in groups of 4. */
export function fingerprint(id: string): string {
  return id.slice(0, 16).replace(/(.{4})(?=.)/g, '$1 ');
}
