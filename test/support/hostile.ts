/**
 * One shared list of hostile values (after noble's list of ~40 values every API must
 * reject). Every public function that takes outside data is run against it: each value
 * must be refused with a KithError carrying a code, never crash, hang or be accepted.
 */
const deep = (n: number): unknown => {
  let v: unknown = 0;
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const deepObject = (n: number): unknown => {
  let v: unknown = {};
  for (let i = 0; i < n; i++) v = { a: v };
  return v;
};
const cyclic = (): unknown => {
  const o: Record<string, unknown> = {};
  o.self = o;
  return o;
};

/** Values of every JS type and shape that outside input could produce or smuggle in. */
export function hostileValues(): Array<{ name: string; value: unknown }> {
  return [
    { name: 'undefined', value: undefined },
    { name: 'null', value: null },
    { name: 'true', value: true },
    { name: 'false', value: false },
    { name: '0', value: 0 },
    { name: '-0', value: -0 },
    { name: 'NaN', value: NaN },
    { name: 'Infinity', value: Infinity },
    { name: '-Infinity', value: -Infinity },
    { name: '1.5', value: 1.5 },
    { name: '2^53', value: 2 ** 53 },
    { name: 'bigint', value: 10n },
    { name: 'symbol', value: Symbol('x') },
    { name: 'function', value: () => 1 },
    { name: 'empty string', value: '' },
    { name: 'lone high surrogate', value: '\ud800' },
    { name: 'lone low surrogate', value: 'a\udc00b' },
    { name: 'NUL bytes', value: '\u0000\u0000' },
    { name: 'huge string', value: 'x'.repeat(2 * 1024 * 1024 + 1) },
    { name: 'hex-looking but 63 chars', value: 'a'.repeat(63) },
    { name: 'uppercase hex', value: 'A'.repeat(64) },
    { name: 'empty Uint8Array', value: new Uint8Array(0) },
    { name: 'Uint8Array(31)', value: new Uint8Array(31) },
    { name: 'Uint8Array(33)', value: new Uint8Array(33) },
    { name: 'Uint8Array(65)', value: new Uint8Array(65) },
    { name: 'huge Uint8Array', value: new Uint8Array(8 * 1024 * 1024) },
    { name: 'Uint16Array', value: new Uint16Array(16) },
    { name: 'ArrayBuffer', value: new ArrayBuffer(32) },
    { name: 'DataView', value: new DataView(new ArrayBuffer(32)) },
    { name: 'plain array of numbers', value: Array.from({ length: 32 }, () => 1) },
    { name: 'empty array', value: [] },
    { name: 'sparse array', value: [1, , 3] },
    { name: 'empty object', value: {} },
    { name: 'Object.create(null)', value: Object.create(null) },
    { name: 'Date', value: new Date(0) },
    { name: 'Map', value: new Map() },
    { name: 'Promise', value: Promise.resolve(1) },
    { name: 'Error', value: new Error('x') },
    { name: 'object with toJSON', value: { toJSON: () => 'surprise' } },
    { name: 'object with getter', value: Object.defineProperty({}, 'a', { get: () => 1, enumerable: true }) },
    { name: '__proto__ key', value: JSON.parse('{"__proto__": {"polluted": true}}') },
    { name: 'constructor key', value: JSON.parse('{"constructor": {"prototype": {"polluted": true}}}') },
    { name: 'prototype key', value: JSON.parse('{"prototype": {"polluted": true}}') },
    { name: 'deep array (10k)', value: deep(10_000) },
    { name: 'deep object (10k)', value: deepObject(10_000) },
    { name: 'cycle', value: cyclic() },
    { name: 'wide object (100k keys)', value: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i])) },
    { name: 'long array (1M)', value: new Array(1_000_000).fill(0) },
  ];
}

/** Strings that look like encodings (hex, base64url, links) but are not valid ones. */
export function hostileStrings(): Array<{ name: string; value: string }> {
  return [
    { name: 'empty', value: '' },
    { name: 'whitespace', value: '   ' },
    { name: 'padding', value: 'AAAA==' },
    { name: 'standard base64 chars', value: 'ab+/cd' },
    { name: 'non-ascii', value: 'äöü' },
    { name: 'lone surrogate', value: '\ud83d' },
    { name: 'NUL', value: '\u0000' },
    { name: 'newline injection', value: 'a\r\nb' },
    { name: 'javascript url', value: 'javascript:alert(1)' },
    { name: 'file url', value: 'file:///etc/passwd' },
    { name: 'path traversal', value: '../../etc/passwd' },
    { name: 'very long', value: 'A'.repeat(1_000_000) },
    { name: 'format string', value: '%s%s%s%n' },
  ];
}

/** True when `err` is a Kith error (has a string `code` from the stable list). */
export function isCoded(err: unknown): boolean {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' && /^[A-Z_]+$/.test((err as { code: string }).code);
}
