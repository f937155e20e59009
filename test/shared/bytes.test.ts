import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  allocForOverwrite,
  assertBytes,
  compareBytes,
  concatBytes,
  constantTimeEqual,
  describe as describeValue,
  equalBytes,
  fromBase64url,
  fromHex,
  fromUtf8,
  isHexOf,
  readU16,
  readU32,
  toBase64url,
  toHex,
  utf8,
  wipe,
  withUtf8,
  writeU16,
  writeU32,
} from '../../shared/bytes.js';
import { hostileStrings, hostileValues, isCoded } from '../support/hostile.js';

/** Deterministic test bytes (xorshift32). */
function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isCoded(err) ? (err as { code: string }).code : `uncoded: ${String(err)}`;
  }
  return undefined;
}

// ---- hex ---------------------------------------------------------------------------

test('hex: round trips every length 0..70 and matches Node', () => {
  for (let n = 0; n <= 70; n++) {
    const bytes = bytesOf(n, n + 1);
    const hex = toHex(bytes);
    assert.equal(hex, Buffer.from(bytes).toString('hex'));
    assert.match(hex, /^[0-9a-f]*$/);
    assert.deepEqual(fromHex(hex), bytes);
    assert.deepEqual(fromHex(hex.toUpperCase()), bytes, 'uppercase accepted');
  }
  assert.equal(toHex(Uint8Array.of(0, 1, 0x7f, 0x80, 0xff)), '00017f80ff');
});

test('hex: long inputs (built in 4 KiB chunks), views into larger buffers and every byte value match Node', () => {
  for (const n of [4095, 4096, 4097, 8192, 8193, 3 * 4096 + 17]) {
    const bytes = bytesOf(n, n);
    assert.equal(toHex(bytes), Buffer.from(bytes).toString('hex'), `length ${n}`);
  }
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.equal(toHex(all), Buffer.from(all).toString('hex'));
  const backing = bytesOf(5000, 7);
  const view = backing.subarray(3, 4500);
  assert.equal(toHex(view), Buffer.from(view).toString('hex'));
  // A call after a long one must not see its leftover characters.
  assert.equal(toHex(Uint8Array.of(0xab)), 'ab');
});

test('isHexOf: true exactly for the lowercase hex of the bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), fc.nat(), (bytes, at) => {
      const hex = toHex(bytes);
      assert.equal(isHexOf(bytes, hex), true);
      assert.equal(isHexOf(bytes, hex + '0'), false, 'longer');
      if (bytes.length === 0) return;
      assert.equal(isHexOf(bytes, hex.slice(0, -1)), false, 'shorter');
      const i = at % hex.length;
      const other = hex[i] === '0' ? '1' : '0';
      assert.equal(isHexOf(bytes, hex.slice(0, i) + other + hex.slice(i + 1)), false, `digit ${i} changed`);
      if (/[a-f]/.test(hex)) assert.equal(isHexOf(bytes, hex.toUpperCase()), false, 'uppercase is not the lowercase hex');
    }),
  );
});

test('hex: round trips (property)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.deepEqual(fromHex(toHex(bytes)), bytes);
    }),
  );
});

test('hex: strict decoding refuses odd lengths and non-hex characters', () => {
  for (const bad of ['0', 'abc', '0g', 'g0', ' 00', '00 ', '0x00', '-1', '+1', 'zz', '０', '\u0000\u0000', 'é0', '\ud83d\ude00', '0\n']) {
    assert.equal(codeOf(() => fromHex(bad)), 'INVALID_INPUT', JSON.stringify(bad));
  }
  assert.deepEqual(fromHex(''), new Uint8Array(0));
});

test('hex: hostile values and strings are refused with a code, never a crash', () => {
  for (const { name, value } of hostileValues()) {
    const result = codeOf(() => fromHex(value as string));
    if (typeof value === 'string' && /^([0-9a-fA-F]{2})*$/.test(value)) assert.equal(result, undefined, name);
    else assert.equal(result, 'INVALID_INPUT', name);
  }
  for (const { name, value } of hostileStrings()) {
    const valid = /^([0-9a-fA-F]{2})*$/.test(value); // '' and 'AAAA…' are hex
    assert.equal(codeOf(() => fromHex(value)), valid ? undefined : 'INVALID_INPUT', name);
  }
});

// ---- base64url -----------------------------------------------------------------------

test('base64url: round trips every length 0..70 and matches Node (no padding)', () => {
  for (let n = 0; n <= 70; n++) {
    const bytes = bytesOf(n, 100 + n);
    const text = toBase64url(bytes);
    assert.equal(text, Buffer.from(bytes).toString('base64url'));
    assert.match(text, /^[A-Za-z0-9_-]*$/);
    assert.equal(text.length, Math.ceil((n * 4) / 3));
    assert.deepEqual(fromBase64url(text), bytes, `length ${n}`);
  }
  // Every byte value, and the characters that differ from standard base64.
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(fromBase64url(toBase64url(all)), all);
  assert.equal(toBase64url(Uint8Array.of(0xfb, 0xff)), '-_8');
});

test('base64url: round trips (property), and every accepted string is the canonical encoding of its bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
      assert.deepEqual(fromBase64url(toBase64url(bytes)), bytes);
    }),
  );
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 40 }), (indexes) => {
      const text = indexes.map((i) => alphabet[i]).join('');
      let bytes: Uint8Array;
      try {
        bytes = fromBase64url(text);
      } catch (err) {
        assert.ok(isCoded(err), String(err));
        return;
      }
      assert.equal(toBase64url(bytes), text, 'one string per byte string');
    }),
  );
});

test('base64url: strict decoding refuses padding, the standard alphabet, whitespace, impossible lengths and non-canonical trailing bits', () => {
  const bad = [
    'AA==', // padding
    'AAA=',
    'AA=',
    'ab+c', // standard alphabet
    'ab/c',
    'ab c', // whitespace
    ' abc',
    'abc\n',
    'ab\tc',
    'A', // length % 4 == 1
    'AAAAA',
    'AB', // 1 byte: the last 4 bits must be 0
    'AP',
    'AAB', // 2 bytes: the last 2 bits must be 0
    'AAD',
    'AAAAAB',
    'é',
    '\u0000',
    'AA\u0000A',
    '\ud83d\ude00AA',
    '%41%41',
  ];
  for (const text of bad) assert.equal(codeOf(() => fromBase64url(text)), 'INVALID_INPUT', JSON.stringify(text));
  // The canonical neighbours of those are fine.
  assert.deepEqual(fromBase64url('AA'), Uint8Array.of(0));
  assert.deepEqual(fromBase64url('AQ'), Uint8Array.of(1));
  assert.deepEqual(fromBase64url('AAE'), Uint8Array.of(0, 1));
  assert.deepEqual(fromBase64url(''), new Uint8Array(0));
});

test('base64url: hostile values and strings are refused with a code, never a crash', () => {
  for (const { name, value } of hostileValues()) {
    const result = codeOf(() => fromBase64url(value as string));
    if (typeof value === 'string' && /^[A-Za-z0-9_-]*$/.test(value) && value.length % 4 !== 1) {
      // Alphabet strings of a possible length decode, or fail only on their trailing bits.
      assert.ok(result === undefined || result === 'INVALID_INPUT', name);
    } else {
      assert.equal(result, 'INVALID_INPUT', name);
    }
  }
  for (const { name, value } of hostileStrings()) {
    if (value === '') continue;
    const result = codeOf(() => fromBase64url(value));
    if (/^[A-Za-z0-9_-]*$/.test(value)) assert.ok(result === undefined || result === 'INVALID_INPUT', name);
    else assert.equal(result, 'INVALID_INPUT', name);
  }
});

test('decoding errors describe the input without repeating it (inputs may be secrets)', () => {
  const secret = 'c2VjcmV0LXRva2Vu+';
  const err = (() => {
    try {
      fromBase64url(secret);
    } catch (e) {
      return e as Error;
    }
    return undefined;
  })();
  assert.ok(err);
  assert.ok(!err.message.includes('c2VjcmV0'), err.message);
  assert.equal(codeOf(() => fromHex(12 as unknown as string)), 'INVALID_INPUT');
  assert.equal(describeValue('top secret value'), 'string(length=16)');
});

// ---- UTF-8 -----------------------------------------------------------------------------

test('utf8: round trips text of every plane; strict decoding refuses invalid sequences', () => {
  for (const text of ['', 'a', 'é', 'ß', '日本語', '😀', 'a\u0000b', '\uffff', 'x'.repeat(10_000)]) {
    assert.equal(fromUtf8(utf8(text)), text);
    assert.deepEqual(utf8(text), new Uint8Array(Buffer.from(text, 'utf8')));
  }
  const invalid = [
    [0xff],
    [0xc0, 0x80], // overlong NUL
    [0xe0, 0x80, 0x80], // overlong
    [0xed, 0xa0, 0x80], // an encoded surrogate (CESU-8)
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0xe2, 0x82], // truncated
    [0x80], // lone continuation
  ];
  for (const bytes of invalid) assert.equal(codeOf(() => fromUtf8(Uint8Array.from(bytes))), 'INVALID_INPUT', bytes.join(','));
  // Encoding a lone surrogate is lossy (WHATWG TextEncoder writes U+FFFD), never an error.
  assert.deepEqual(utf8('\ud800'), Uint8Array.of(0xef, 0xbf, 0xbd));
});

test('withUtf8: the same bytes as utf8, for any text (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
      withUtf8(text, (bytes) => assert.deepEqual(new Uint8Array(bytes), utf8(text)));
    }),
  );
  for (const text of ['', '\ud800', 'x'.repeat(10_000), '日本語'.repeat(5_000), 'é'.repeat(200_000)]) {
    assert.equal(withUtf8(text, (bytes) => Buffer.from(bytes).toString('utf8')), Buffer.from(utf8(text)).toString('utf8'), `length ${text.length}`);
  }
});

test('withUtf8: bytes live only during the call; nested calls and throws are safe', () => {
  let kept: Uint8Array | undefined;
  withUtf8('secret-ish text', (bytes) => {
    kept = bytes;
    assert.equal(fromUtf8(bytes), 'secret-ish text');
  });
  assert.ok(kept!.every((b) => b === 0), 'the reused buffer is wiped after the call');
  // A nested call gets its own encoding; the outer bytes stay intact.
  const outer = withUtf8('outer', (o) => {
    const inner = withUtf8('inner', (i) => fromUtf8(i));
    return `${fromUtf8(o)}+${inner}`;
  });
  assert.equal(outer, 'outer+inner');
  // A throw inside releases the buffer: the next call still uses it and is right.
  assert.throws(() => withUtf8('boom', () => { throw new Error('inside'); }), /inside/);
  assert.equal(withUtf8('after', (bytes) => fromUtf8(bytes)), 'after');
});

// ---- comparison ------------------------------------------------------------------------

test('equalBytes and constantTimeEqual agree, on lengths and on every position', () => {
  const a = bytesOf(64, 7);
  for (const eq of [equalBytes, constantTimeEqual]) {
    assert.equal(eq(a, a.slice()), true);
    assert.equal(eq(new Uint8Array(0), new Uint8Array(0)), true);
    assert.equal(eq(a, a.subarray(0, 63)), false);
    assert.equal(eq(a.subarray(0, 63), a), false);
    for (let i = 0; i < a.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const b = a.slice();
        b[i] = b[i]! ^ bit;
        assert.equal(eq(a, b), false, `${eq.name} at ${i}`);
      }
    }
    // Views compare by their contents, not by their buffers.
    const big = concatBytes(Uint8Array.of(9), a, Uint8Array.of(9));
    assert.equal(eq(big.subarray(1, 65), a), true);
  }
});

test('compareBytes: lexicographic, unsigned, shorter prefix first', () => {
  const sign = (n: number): number => Math.sign(n);
  assert.equal(compareBytes(Uint8Array.of(), Uint8Array.of()), 0);
  assert.equal(sign(compareBytes(Uint8Array.of(), Uint8Array.of(0))), -1);
  assert.equal(sign(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))), -1);
  assert.equal(sign(compareBytes(Uint8Array.of(1, 3), Uint8Array.of(1, 2, 9))), 1);
  assert.equal(sign(compareBytes(Uint8Array.of(0x80), Uint8Array.of(0x7f))), 1, 'bytes are unsigned');
  assert.equal(compareBytes(Uint8Array.of(5, 6), Uint8Array.of(5, 6)), 0);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 8 }), fc.uint8Array({ maxLength: 8 }), (x, y) => {
      const expected = Buffer.compare(Buffer.from(x), Buffer.from(y));
      assert.equal(sign(compareBytes(x, y)), expected);
      assert.equal(sign(compareBytes(y, x)), 0 - expected); // 0 - 0 is +0; -0 would not be strictly equal
    }),
  );
});

// ---- the rest --------------------------------------------------------------------------

test('concatBytes copies its parts in order', () => {
  const a = Uint8Array.of(1, 2);
  const b = new Uint8Array(0);
  const c = Uint8Array.of(3);
  const joined = concatBytes(a, b, c);
  assert.deepEqual(joined, Uint8Array.of(1, 2, 3));
  a[0] = 9;
  assert.equal(joined[0], 1, 'a copy, not a view');
  assert.deepEqual(concatBytes(), new Uint8Array(0));
});

test('wipe zeroes every given array and skips undefined', () => {
  const a = bytesOf(32, 3);
  const b = bytesOf(5, 4);
  wipe(a, undefined, b);
  assert.ok(a.every((x) => x === 0) && b.every((x) => x === 0));
});

test('U16/U32 big-endian helpers round trip at their boundaries', () => {
  const buf = new Uint8Array(8);
  for (const v of [0, 1, 0x1234, 0xff00, 0xffff]) {
    writeU16(buf, 1, v);
    assert.equal(readU16(buf, 1), v);
  }
  writeU16(buf, 0, 0x0102);
  assert.deepEqual(buf.subarray(0, 2), Uint8Array.of(1, 2));
  for (const v of [0, 1, 0x7fffffff, 0x80000000, 0xdeadbeef, 0xffffffff]) {
    writeU32(buf, 3, v);
    assert.equal(readU32(buf, 3), v, 'unsigned, never negative');
  }
  writeU32(buf, 0, 0x01020304);
  assert.deepEqual(buf.subarray(0, 4), Uint8Array.of(1, 2, 3, 4));
});

test('assertBytes checks type and length, with a coded error', () => {
  assert.doesNotThrow(() => assertBytes(new Uint8Array(3), 3));
  assert.doesNotThrow(() => assertBytes(Buffer.alloc(3), 3), 'Buffer is a Uint8Array');
  assert.equal(codeOf(() => assertBytes(new Uint8Array(3), 4)), 'INVALID_INPUT');
  for (const { name, value } of hostileValues()) {
    const expected = value instanceof Uint8Array ? undefined : 'INVALID_INPUT';
    assert.equal(codeOf(() => assertBytes(value)), expected, name);
  }
});

test('fromUtf8 refuses non-bytes with INVALID_INPUT', () => {
  for (const value of [undefined, null, 'text', 42, [0x61]]) {
    assert.throws(() => fromUtf8(value as unknown as Uint8Array), { code: 'INVALID_INPUT' });
  }
});

test('allocForOverwrite: a plain Uint8Array of the asked length that owns its memory', () => {
  for (const n of [0, 1, 4095, 4096, 65_536, 1 << 20]) {
    const a = allocForOverwrite(n);
    assert.equal(a.length, n);
    assert.equal(Object.getPrototypeOf(a), Uint8Array.prototype, 'not a Buffer: callers get the same type everywhere');
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, n, 'not a view into a shared pool');
    const b = allocForOverwrite(n);
    if (n > 0) assert.notEqual(a.buffer, b.buffer);
  }
});
