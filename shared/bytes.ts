/**
 * Byte helpers shared by every layer: hex, base64url (no padding), UTF-8, concat,
 * comparison. Isomorphic: no Node `Buffer`, so the renderer can use it unchanged.
 */
import { KithError } from './errors.js';

const HEX = '0123456789abcdef';
const HEX_VALUE = new Map<string, number>();
for (let i = 0; i < 16; i++) {
  HEX_VALUE.set(HEX[i]!, i);
  HEX_VALUE.set(HEX[i]!.toUpperCase(), i);
}

/** Throws `INVALID_INPUT` unless `value` is a Uint8Array (of `length`, when given). */
export function assertBytes(value: unknown, length?: number, title = 'value'): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new KithError('INVALID_INPUT', `${title}: expected Uint8Array, got ${describe(value)}`);
  }
  if (length !== undefined && value.length !== length) {
    throw new KithError('INVALID_INPUT', `${title}: expected Uint8Array of length ${length}, got length=${value.length}`);
  }
}

/** A short, secret-free description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value instanceof Uint8Array) return `Uint8Array(length=${value.length})`;
  if (Array.isArray(value)) return `array(length=${value.length})`;
  if (typeof value === 'string') return `string(length=${value.length})`;
  return typeof value;
}

const HEX_CODES = Uint16Array.from(HEX, (c) => c.charCodeAt(0));
/** Bytes per String.fromCharCode call (its arguments go on the stack), and the reused code buffer. */
const HEX_CHUNK_BYTES = 4096;
const hexCodes = new Uint16Array(2 * HEX_CHUNK_BYTES);

/**
 * Lowercase hex. The characters are built as codes and turned into one flat string per chunk:
 * appending two characters at a time built a rope of 32 pieces for a hash (0.97 against 0.44 µs
 * per 32-byte hash made and used as a Map key, measured here), and hashes are the index's keys.
 */
export function toHex(bytes: Uint8Array): string {
  let out = '';
  for (let start = 0; start < bytes.length; start += HEX_CHUNK_BYTES) {
    const end = Math.min(bytes.length, start + HEX_CHUNK_BYTES);
    for (let i = start, j = 0; i < end; i++, j += 2) {
      const b = bytes[i]!;
      hexCodes[j] = HEX_CODES[b >> 4]!;
      hexCodes[j + 1] = HEX_CODES[b & 15]!;
    }
    out += String.fromCharCode.apply(null, hexCodes.subarray(0, 2 * (end - start)) as unknown as number[]);
  }
  return out;
}

/** Whether `hex` is the lowercase hex of `bytes`, compared in place (no string is built). */
export function isHexOf(bytes: Uint8Array, hex: string): boolean {
  if (hex.length !== 2 * bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (hex.charCodeAt(2 * i) !== HEX_CODES[b >> 4] || hex.charCodeAt(2 * i + 1) !== HEX_CODES[b & 15]) return false;
  }
  return true;
}

/** Strict hex decoding: even length, only [0-9a-fA-F]. */
export function fromHex(hex: string, title = 'hex'): Uint8Array {
  if (typeof hex !== 'string') throw new KithError('INVALID_INPUT', `${title}: expected string, got ${describe(hex)}`);
  if (hex.length % 2 !== 0) throw new KithError('INVALID_INPUT', `${title}: odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUE.get(hex[2 * i]!);
    const lo = HEX_VALUE.get(hex[2 * i + 1]!);
    if (hi === undefined || lo === undefined) {
      throw new KithError('INVALID_INPUT', `${title}: not a hex digit at offset ${hi === undefined ? 2 * i : 2 * i + 1}`);
    }
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL_VALUE[B64URL.charCodeAt(i)] = i;

/** base64url without padding (RFC 4648 §5). */
export function toBase64url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += B64URL[n >> 18]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/**
 * Strict base64url decoding: no padding, no whitespace, no standard-alphabet characters,
 * and non-canonical trailing bits are rejected so every byte string has one encoding
 * (otherwise two different strings could name the same key).
 */
export function fromBase64url(text: string, title = 'base64url'): Uint8Array {
  if (typeof text !== 'string') throw new KithError('INVALID_INPUT', `${title}: expected string, got ${describe(text)}`);
  if (text.length % 4 === 1) throw new KithError('INVALID_INPUT', `${title}: impossible length ${text.length}`);
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let o = 0;
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? B64URL_VALUE[c]! : -1;
    if (v < 0) throw new KithError('INVALID_INPUT', `${title}: invalid character at offset ${i}`);
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) {
    throw new KithError('INVALID_INPUT', `${title}: non-canonical trailing bits`);
  }
  return out;
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The buffer withUtf8 encodes into, grown as needed up to UTF8_SCRATCH_MAX_BYTES. */
let utf8Scratch = new Uint8Array(4096);
let utf8ScratchBusy = false;
const UTF8_SCRATCH_MAX_BYTES = 256 * 1024;

/**
 * Calls `use` with the UTF-8 bytes of `text`, valid only until it returns, encoded into a
 * reused buffer: for text that is hashed at once, like the form a signature covers. A fresh
 * encoding of a 300-character object cost 5.4 µs here, nearly all of it the separately
 * allocated buffer and the collections such buffers bring on; this one 0.2 µs. `use` must not
 * keep the bytes. The buffer is wiped after each use; a nested call, or text longer than the
 * buffer's bound, gets a fresh encoding instead.
 */
export function withUtf8<T>(text: string, use: (bytes: Uint8Array) => T): T {
  const worst = text.length * 3;
  if (utf8ScratchBusy || worst > UTF8_SCRATCH_MAX_BYTES) return use(utf8(text));
  if (utf8Scratch.length < worst) utf8Scratch = new Uint8Array(Math.min(UTF8_SCRATCH_MAX_BYTES, Math.max(worst, 2 * utf8Scratch.length)));
  utf8ScratchBusy = true;
  let written = 0;
  try {
    written = encoder.encodeInto(text, utf8Scratch).written;
    return use(utf8Scratch.subarray(0, written));
  } finally {
    utf8Scratch.fill(0, 0, written);
    utf8ScratchBusy = false;
  }
}

/** Strict UTF-8 decoding: invalid sequences throw `INVALID_INPUT`. */
export function fromUtf8(bytes: Uint8Array, title = 'utf8'): string {
  assertBytes(bytes, undefined, title);
  try {
    return strictDecoder.decode(bytes);
  } catch {
    throw new KithError('INVALID_INPUT', `${title}: invalid UTF-8`);
  }
}

/** Node's Buffer when this runs in Node; found at run time, so this module imports nothing Node-only. */
const nodeBuffer = (globalThis as { Buffer?: { allocUnsafeSlow(size: number): Uint8Array } }).Buffer;

/**
 * A Uint8Array of `length` bytes for a caller that writes every byte before anyone reads it
 * (reassembly, concatenation). In Node it skips the zero fill — 64 KiB of memset per message
 * was a visible share of a secure channel's receiver — and owns its memory (never a view into
 * Node's shared pool); elsewhere it is a plain zeroed array.
 */
export function allocForOverwrite(length: number): Uint8Array {
  if (nodeBuffer === undefined || length < 4096) return new Uint8Array(length);
  const b = nodeBuffer.allocUnsafeSlow(length);
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Comparison whose time does not depend on where the inputs differ (for MACs and tokens). */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Lexicographic byte order, for deterministic tie-breaks. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Overwrites a secret in place once it is no longer needed. */
export function wipe(...secrets: (Uint8Array | undefined)[]): void {
  for (const s of secrets) s?.fill(0);
}

/** Big-endian unsigned 16/32/64-bit helpers (64 via two 32-bit halves, safe-integer range). */
export function writeU16(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 8) & 0xff;
  out[offset + 1] = value & 0xff;
}
export function readU16(bytes: Uint8Array, offset: number): number {
  return (bytes[offset]! << 8) | bytes[offset + 1]!;
}
export function writeU32(out: Uint8Array, offset: number, value: number): void {
  out[offset] = (value >>> 24) & 0xff;
  out[offset + 1] = (value >>> 16) & 0xff;
  out[offset + 2] = (value >>> 8) & 0xff;
  out[offset + 3] = value & 0xff;
}
export function readU32(bytes: Uint8Array, offset: number): number {
  return ((bytes[offset]! << 24) >>> 0) + ((bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!);
}
