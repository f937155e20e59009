/**
 * The pairing invitation (DESIGN §4): what an inviter hands over, as bytes, as a
 * `kith://pair/v1#…` link, and (in qr.ts) as a QR code holding that same link.
 *
 * Binary payload v1, big-endian:
 *
 *   version u8 (=1) ‖ purpose u8 (0 contact, 1 renderer) ‖ token[32] ‖ inviterKey[32] ‖
 *   expiresAt u32 ‖ nameLen u8 ‖ name (UTF-8) ‖ endpointCount u8 ‖ (len u8 ‖ url)* ‖ checksum[4]
 *
 * The checksum (first 4 bytes of SHA-256 over everything before it) is there to catch
 * links that were mistyped, cut off or mangled on the way, so the person gets "the link
 * was altered or mistyped" instead of a confusing failure later. It is NOT an integrity
 * protection: anyone can recompute it. Real tampering (someone swapping the inviter key)
 * is caught by the handshake, which must prove the pinned key (KEY_MISMATCH).
 *
 * Isomorphic: runs in the renderer too, so no Node imports and no crypto provider. SHA-256
 * comes from @noble/hashes, which is pure JS and synchronous (WebCrypto's digest is async
 * and absent on insecure origins).
 *
 * Every parse failure is a KithError INVITE_MALFORMED (or INVITE_EXPIRED) whose message says
 * what is wrong and never contains the token, the key or the link itself.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ArrayMaxSize, Equals, IsArray, IsByteLength, IsIn, IsInt, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { KithError, type ErrorCode } from '../shared/errors.js';
import { assertBytes, describe, equalBytes, fromBase64url, fromUtf8, readU32, toBase64url, utf8, writeU32 } from '../shared/bytes.js';
import { KEY32_RE, validateSchema } from '../shared/schema.js';
import {
  INVITE_CLOCK_SKEW_SECONDS,
  MAX_ENDPOINTS,
  MAX_ENDPOINT_LENGTH,
  MAX_INVITE_LINK_INPUT_LENGTH,
  MAX_INVITE_LINK_LENGTH,
  MAX_NAME_LENGTH,
} from '../shared/limits.js';

/** What the invitation pairs: another person's instance, or the local renderer with its main process. */
export type InvitePurpose = 'contact' | 'renderer';

/** A decoded, validated invitation. */
export interface Invitation {
  /** Payload format version; only 1 exists. */
  readonly version: 1;
  /** What accepting the invitation creates. */
  readonly purpose: InvitePurpose;
  /** 32 random bytes: the one-time secret the pairing handshake proves knowledge of. */
  readonly token: Uint8Array;
  /** 32 bytes: the inviter instance's X25519 static key, pinned for the handshake. */
  readonly inviterKey: Uint8Array;
  /** Seconds since the epoch on the inviter's clock; shown to the person and checked advisorily. */
  readonly expiresAt: number;
  /** Inviter's display name: 1..64 UTF-8 bytes, no control characters. */
  readonly name: string;
  /** 0..3 canonical `ws://` / `wss://` URLs with path /kith/v1 where the inviter listens. */
  readonly endpoints: readonly string[];
}

export const INVITE_LINK_PREFIX = 'kith://pair/v1#';

const VERSION = 1;
const PURPOSES: readonly InvitePurpose[] = ['contact', 'renderer'];
const TOKEN_BYTES = 32;
const KEY_BYTES = 32;
const CHECKSUM_BYTES = 4;
const U32_MAX = 0xffff_ffff;
const ENDPOINT_PATH = '/kith/v1';
/** version, purpose, token, inviterKey, expiresAt: everything before nameLen. */
const HEADER_BYTES = 1 + 1 + TOKEN_BYTES + KEY_BYTES + 4;
const NAME_LEN_OFFSET = HEADER_BYTES;
/** Largest well-formed payload: longest name and MAX_ENDPOINTS longest endpoints (443 bytes). */
const MAX_PAYLOAD_BYTES = HEADER_BYTES + 1 + MAX_NAME_LENGTH + 1 + MAX_ENDPOINTS * (1 + MAX_ENDPOINT_LENGTH) + CHECKSUM_BYTES;
/**
 * Characters refused in names: C0/C1 controls, line and paragraph separators, and the bidi
 * controls (embeddings, overrides, isolates, marks) that reorder how the text is displayed,
 * so "Pair with NAME?" shows what the bytes say.
 */
const NAME_FORBIDDEN = String.raw`\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}`;
const NAME_ALLOWED = new RegExp(`^[^${NAME_FORBIDDEN}]*$`, 'u');
const NAME_FORBIDDEN_ALL = new RegExp(`[${NAME_FORBIDDEN}]`, 'gu');
const LONE_SURROGATE_ALL = /\p{Cs}/gu;
const BASE64URL_CHAR = /[^A-Za-z0-9_-]/;
const OTHER_VERSION_PREFIX = /^kith:\/\/pair\/v(\d{1,9})#/;

/** The field rules, checked on a JSON-shaped view (byte fields as base64url) of the invitation. */
class InvitationFields {
  @Equals(VERSION, { message: 'must be 1' }) version!: number;
  @IsIn(PURPOSES, { message: 'must be "contact" or "renderer"' }) purpose!: string;
  @Matches(KEY32_RE, { message: 'must be 32 bytes' }) token!: string;
  @Matches(KEY32_RE, { message: 'must be 32 bytes' }) inviterKey!: string;
  @IsInt({ message: 'must be a whole number of seconds' })
  @Min(0, { message: 'must not be negative' })
  @Max(U32_MAX, { message: 'must fit 32 bits' })
  expiresAt!: number;
  @IsString({ message: 'must be text' })
  @IsByteLength(1, MAX_NAME_LENGTH, { message: `must be 1 to ${MAX_NAME_LENGTH} UTF-8 bytes` })
  @Matches(NAME_ALLOWED, { message: 'must not contain control, line-break or bidi characters' })
  name!: string;
  @IsArray({ message: 'must be a list' })
  @ArrayMaxSize(MAX_ENDPOINTS, { message: `at most ${MAX_ENDPOINTS} endpoints` })
  @IsString({ each: true, message: 'each endpoint must be text' })
  @MaxLength(MAX_ENDPOINT_LENGTH, { each: true, message: `each endpoint must be at most ${MAX_ENDPOINT_LENGTH} characters` })
  endpoints!: string[];
}

type FieldsView = { [K in keyof InvitationFields]: unknown };

function malformed(message: string): never {
  throw new KithError('INVITE_MALFORMED', message);
}

function isAllZero(bytes: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < bytes.length; i++) acc |= bytes[i]!;
  return acc === 0;
}

function checksumOf(body: Uint8Array): Uint8Array {
  return sha256(body).subarray(0, CHECKSUM_BYTES);
}

/** The rules class-validator cannot express: URL shape, degenerate keys, duplicates. */
function checkEndpoint(url: string, index: number, code: ErrorCode): void {
  const where = `invitation: endpoints[${index}]`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new KithError(code, `${where}: not a URL`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new KithError(code, `${where}: must be a ws:// or wss:// URL`);
  if (parsed.username !== '' || parsed.password !== '') throw new KithError(code, `${where}: must not contain a user name or password`);
  if (parsed.search !== '' || url.includes('?')) throw new KithError(code, `${where}: must not have a query`);
  if (parsed.hash !== '' || url.includes('#')) throw new KithError(code, `${where}: must not have a fragment`);
  if (parsed.pathname !== ENDPOINT_PATH) throw new KithError(code, `${where}: the path must be ${ENDPOINT_PATH}`);
  if (parsed.port === '0') throw new KithError(code, `${where}: port 0 cannot be dialled`);
  // One spelling per address: no default ports, upper case, stray whitespace or unicode hosts
  // that the URL parser would silently rewrite (so an invitation means the same everywhere).
  if (parsed.href !== url) throw new KithError(code, `${where}: must be written in canonical form`);
}

function checkFields(view: FieldsView, token: Uint8Array, inviterKey: Uint8Array, code: ErrorCode): void {
  validateSchema(InvitationFields, view, code, 'invitation');
  // A zero token or key is never produced by a CSPRNG or a real key pair; it only shows up
  // from bugs or crafted links, and an all-zero X25519 key would make the handshake degenerate.
  if (isAllZero(token)) throw new KithError(code, 'invitation: token must not be all zero');
  if (isAllZero(inviterKey)) throw new KithError(code, 'invitation: inviterKey must not be all zero');
  const endpoints = view.endpoints as string[];
  endpoints.forEach((url, i) => checkEndpoint(url, i, code));
  if (new Set(endpoints).size !== endpoints.length) throw new KithError(code, 'invitation: endpoints must not repeat');
}

function snapshot(inv: Invitation): { view: FieldsView; token: Uint8Array; inviterKey: Uint8Array } {
  if (typeof inv !== 'object' || inv === null) throw new KithError('INVALID_INPUT', `invitation: expected an object, got ${describe(inv)}`);
  const { token, inviterKey } = inv;
  assertBytes(token, TOKEN_BYTES, 'invitation: token');
  assertBytes(inviterKey, KEY_BYTES, 'invitation: inviterKey');
  const endpoints: unknown = inv.endpoints;
  const name: unknown = inv.name;
  // Cheap bounds first, so a megabyte name or a million endpoints never reach the validator
  // (a 64-byte name is at most 64 UTF-16 code units).
  if (typeof name === 'string' && name.length > MAX_NAME_LENGTH) throw new KithError('INVALID_INPUT', `invitation: name: must be 1 to ${MAX_NAME_LENGTH} UTF-8 bytes`);
  if (Array.isArray(endpoints) && endpoints.length > MAX_ENDPOINTS) throw new KithError('INVALID_INPUT', `invitation: endpoints: at most ${MAX_ENDPOINTS} endpoints`);
  // Fields that must be scalars: anything else becomes null, so the schema names the field
  // without first walking a huge hostile object.
  const scalar = (v: unknown): unknown => (typeof v === 'string' || typeof v === 'number' ? v : null);
  const view: FieldsView = {
    version: scalar(inv.version),
    purpose: scalar(inv.purpose),
    token: toBase64url(token),
    inviterKey: toBase64url(inviterKey),
    expiresAt: scalar(inv.expiresAt),
    name: scalar(name),
    // A copy, so a caller's array cannot change between validation and encoding.
    endpoints: Array.isArray(endpoints) ? [...endpoints] : null,
  };
  return { view, token: token.slice(), inviterKey: inviterKey.slice() };
}

/** Serializes `inv` after checking every field; INVALID_INPUT names the first bad field. */
export function encodeInvitation(inv: Invitation): Uint8Array {
  let checked: ReturnType<typeof snapshot>;
  try {
    checked = snapshot(inv);
    checkFields(checked.view, checked.token, checked.inviterKey, 'INVALID_INPUT');
  } catch (err) {
    if (err instanceof KithError) throw err;
    // A throwing getter or proxy: nothing we can describe without reading it again.
    throw new KithError('INVALID_INPUT', 'invitation: could not be read');
  }
  const { view, token, inviterKey } = checked;
  const name = utf8(view.name as string);
  const endpoints = (view.endpoints as string[]).map((e) => utf8(e));
  let size = HEADER_BYTES + 1 + name.length + 1 + CHECKSUM_BYTES;
  for (const e of endpoints) size += 1 + e.length;
  const out = new Uint8Array(size);
  out[0] = VERSION;
  out[1] = PURPOSES.indexOf(view.purpose as InvitePurpose);
  out.set(token, 2);
  out.set(inviterKey, 2 + TOKEN_BYTES);
  writeU32(out, 2 + TOKEN_BYTES + KEY_BYTES, view.expiresAt as number);
  let o = NAME_LEN_OFFSET;
  out[o++] = name.length;
  out.set(name, o);
  o += name.length;
  out[o++] = endpoints.length;
  for (const e of endpoints) {
    out[o++] = e.length;
    out.set(e, o);
    o += e.length;
  }
  out.set(checksumOf(out.subarray(0, o)), o);
  return out;
}

interface Layout {
  readonly nameStart: number;
  readonly nameLength: number;
  readonly endpoints: ReadonlyArray<readonly [start: number, length: number]>;
  /** Offset of the checksum; the payload is exactly `checksumAt + CHECKSUM_BYTES` long. */
  readonly checksumAt: number;
}

function incomplete(have: number, need: number, exact: boolean): never {
  malformed(`the link is incomplete (${have} of ${exact ? '' : 'at least '}${need} bytes)`);
}

/** Follows the length fields; every offset stays inside `bytes` or the payload is reported incomplete. */
function layoutOf(bytes: Uint8Array): Layout {
  const n = bytes.length;
  // Minimal tail after a point: one length byte per field still unread, plus the checksum.
  if (n < NAME_LEN_OFFSET + 1) incomplete(n, NAME_LEN_OFFSET + 1 + 1 + CHECKSUM_BYTES, false);
  const nameStart = NAME_LEN_OFFSET + 1;
  const nameLength = bytes[NAME_LEN_OFFSET]!;
  let at = nameStart + nameLength;
  if (n < at + 1) incomplete(n, at + 1 + CHECKSUM_BYTES, false);
  const count = bytes[at++]!;
  const endpoints: Array<readonly [number, number]> = [];
  for (let i = 0; i < count; i++) {
    if (n < at + 1) incomplete(n, at + (count - i) + CHECKSUM_BYTES, false);
    const length = bytes[at++]!;
    endpoints.push([at, length]);
    at += length;
    if (n < at) incomplete(n, at + (count - i - 1) + CHECKSUM_BYTES, i === count - 1);
  }
  if (n < at + CHECKSUM_BYTES) incomplete(n, at + CHECKSUM_BYTES, true);
  return { nameStart, nameLength, endpoints, checksumAt: at };
}

function checksumMatches(bytes: Uint8Array, end: number): boolean {
  return equalBytes(checksumOf(bytes.subarray(0, end - CHECKSUM_BYTES)), bytes.subarray(end - CHECKSUM_BYTES, end));
}

/** Parses and validates a binary payload; INVITE_MALFORMED says what is wrong. */
export function decodeInvitation(bytes: Uint8Array): Invitation {
  if (!(bytes instanceof Uint8Array)) malformed(`expected the invitation as bytes, got ${describe(bytes)}`);
  if (bytes.length === 0) malformed('the link is empty');
  if (bytes[0] !== VERSION) {
    // Later versions are expected to keep "checksum = last 4 bytes": a matching checksum means
    // a genuine newer invitation, anything else is damage to the first character.
    if (bytes.length > CHECKSUM_BYTES && bytes.length <= MAX_INVITE_LINK_INPUT_LENGTH && checksumMatches(bytes, bytes.length)) {
      malformed(`unsupported invitation version ${bytes[0]}`);
    }
    malformed('the link was altered or mistyped (unknown version byte)');
  }
  if (bytes.length > MAX_PAYLOAD_BYTES) malformed(`the invitation is too large (${bytes.length} bytes, at most ${MAX_PAYLOAD_BYTES})`);
  const layout = layoutOf(bytes);
  const end = layout.checksumAt + CHECKSUM_BYTES;
  if (bytes.length > end) malformed(`the link has ${bytes.length - end} unexpected bytes after the invitation`);
  if (!checksumMatches(bytes, end)) malformed('the link was altered or mistyped (checksum mismatch)');

  // The bytes are what the inviter wrote; from here on a failure is a bad invitation, not a typo.
  const purpose = PURPOSES[bytes[1]!];
  if (purpose === undefined) malformed(`invitation: unknown purpose ${bytes[1]}`);
  const token = bytes.slice(2, 2 + TOKEN_BYTES);
  const inviterKey = bytes.slice(2 + TOKEN_BYTES, 2 + TOKEN_BYTES + KEY_BYTES);
  const expiresAt = readU32(bytes, 2 + TOKEN_BYTES + KEY_BYTES);
  const text = (start: number, length: number, title: string): string => {
    try {
      return fromUtf8(bytes.subarray(start, start + length), title);
    } catch {
      malformed(`${title}: not valid UTF-8`);
    }
  };
  const name = text(layout.nameStart, layout.nameLength, 'invitation: name');
  const endpoints = layout.endpoints.map(([start, length], i) => text(start, length, `invitation: endpoints[${i}]`));
  const view: FieldsView = { version: VERSION, purpose, token: toBase64url(token), inviterKey: toBase64url(inviterKey), expiresAt, name, endpoints };
  checkFields(view, token, inviterKey, 'INVITE_MALFORMED');
  return Object.freeze({ version: VERSION, purpose, token, inviterKey, expiresAt, name, endpoints: Object.freeze(endpoints) });
}

/** `kith://pair/v1#` + base64url(payload). INVALID_INPUT when the link would not fit a version-10 QR code. */
export function invitationToLink(inv: Invitation): string {
  const link = INVITE_LINK_PREFIX + toBase64url(encodeInvitation(inv));
  if (link.length > MAX_INVITE_LINK_LENGTH) {
    throw new KithError(
      'INVALID_INPUT',
      `invitation: the link would be ${link.length} characters, at most ${MAX_INVITE_LINK_LENGTH} fit a QR code; use a shorter name or fewer endpoints`,
    );
  }
  return link;
}

/** Options of `parseInvitationLink`. */
export interface ParseLinkOptions {
  /** This device's clock, seconds since the epoch. */
  readonly nowSeconds: number;
  /** Allowed disagreement between the two clocks; default INVITE_CLOCK_SKEW_SECONDS. */
  readonly skewSeconds?: number;
}

function ago(seconds: number): string {
  const [amount, unit] =
    seconds < 120 ? [seconds, 'second'] : seconds < 2 * 3600 ? [seconds / 60, 'minute'] : seconds < 2 * 86400 ? [seconds / 3600, 'hour'] : [seconds / 86400, 'day'];
  const n = Math.round(amount);
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * The base64url text is not canonical: its length leaves a lone character, or the last
 * character carries stray bits. Usually the link was cut short; decode what is there
 * leniently so the person hears "incomplete (N of M bytes)" when that is what happened.
 */
function explainBadEnding(encoded: string): never {
  const spare = encoded.length % 4;
  let lenient = spare === 1 ? encoded.slice(0, -1) : encoded;
  if (spare !== 1) {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const unusedBits = spare === 2 ? 4 : 2;
    const last = alphabet.indexOf(lenient[lenient.length - 1]!) & ~((1 << unusedBits) - 1);
    lenient = lenient.slice(0, -1) + alphabet[last]!;
  }
  try {
    decodeInvitation(fromBase64url(lenient));
  } catch (err) {
    if (err instanceof KithError && err.message.startsWith('the link is incomplete')) throw err;
    malformed(spare === 1 ? 'the link is incomplete or has an extra character' : 'the link was altered or mistyped (last character)');
  }
  malformed(spare === 1 ? 'the link has an extra character at the end' : 'the link was altered or mistyped (last character)');
}

/**
 * Parses a pasted or scanned link. The expiry check is advisory (the inviter's clock decides);
 * it spares the person a network round trip for a link that is clearly stale.
 */
export function parseInvitationLink(link: string, opts: ParseLinkOptions): Invitation {
  const nowSeconds = opts?.nowSeconds;
  const skew = opts?.skewSeconds ?? INVITE_CLOCK_SKEW_SECONDS;
  if (typeof nowSeconds !== 'number' || !Number.isFinite(nowSeconds)) throw new KithError('INVALID_INPUT', 'nowSeconds must be a finite number');
  if (typeof skew !== 'number' || !Number.isFinite(skew) || skew < 0) throw new KithError('INVALID_INPUT', 'skewSeconds must be a finite number ≥ 0');

  if (typeof link !== 'string') malformed(`not a Kith invitation link (expected text, got ${describe(link)})`);
  if (link.length > MAX_INVITE_LINK_INPUT_LENGTH) malformed(`the link is too long (${link.length} characters, at most ${MAX_INVITE_LINK_LENGTH})`);
  const text = link.trim();
  if (!text.startsWith(INVITE_LINK_PREFIX)) {
    const other = OTHER_VERSION_PREFIX.exec(text);
    if (other) malformed(`unsupported invitation version ${Number(other[1])}`);
    malformed('not a Kith invitation link');
  }
  if (text.length > MAX_INVITE_LINK_LENGTH) malformed(`the link is too long (${text.length} characters, at most ${MAX_INVITE_LINK_LENGTH})`);
  const encoded = text.slice(INVITE_LINK_PREFIX.length);
  const bad = BASE64URL_CHAR.exec(encoded);
  if (bad) malformed(`the link contains a character that is not allowed at position ${INVITE_LINK_PREFIX.length + bad.index + 1}`);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64url(encoded, 'invitation link');
  } catch {
    // Only the length or the last character can be wrong here (the alphabet was checked).
    explainBadEnding(encoded);
  }
  const invitation = decodeInvitation(bytes);
  if (nowSeconds > invitation.expiresAt + skew) {
    throw new KithError('INVITE_EXPIRED', `the invitation expired ${ago(nowSeconds - invitation.expiresAt)} ago (by this device's clock); ask for a new one`);
  }
  return invitation;
}

/**
 * Turns any display name into one an invitation accepts: forbidden characters become spaces,
 * surrounding whitespace is trimmed, and the text is cut to MAX_NAME_LENGTH UTF-8 bytes at a
 * code point boundary (identity names allow 64 characters, which can be up to 256 bytes).
 * INVALID_INPUT if nothing printable remains.
 */
export function invitationName(displayName: string): string {
  if (typeof displayName !== 'string') throw new KithError('INVALID_INPUT', `name: expected text, got ${describe(displayName)}`);
  // Each kept code point costs at least one byte, so MAX_NAME_LENGTH code points (two code units
  // each at most) after the leading whitespace are all that can survive: bound the work there.
  // Lone surrogates cannot be encoded as UTF-8; U+FFFD shows that something was there.
  const cleaned = displayName
    .trimStart()
    .slice(0, 2 * MAX_NAME_LENGTH)
    .replace(LONE_SURROGATE_ALL, '\uFFFD')
    .replace(NAME_FORBIDDEN_ALL, ' ')
    .trim();
  let out = '';
  let bytes = 0;
  for (const ch of cleaned) {
    const size = utf8(ch).length;
    if (bytes + size > MAX_NAME_LENGTH) break;
    out += ch;
    bytes += size;
  }
  out = out.trimEnd();
  if (out.length === 0) throw new KithError('INVALID_INPUT', 'name: nothing printable left for the invitation');
  return out;
}
