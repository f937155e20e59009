import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, canonicalBytes, parseJson, assertJson, hasLoneSurrogate } from '../../shared/canonical.js';
import { hostileValues, hostileStrings, isCoded } from '../support/hostile.js';
import { MAX_JSON_DEPTH } from '../../shared/limits.js';
import referenceModule from 'canonicalize';
import fc from 'fast-check';

const VECTORS = join(import.meta.dirname, '../../../shared/vectors/jcs');

test('passes every RFC 8785 vector in shared/vectors/jcs', () => {
  const files = readdirSync(join(VECTORS, 'input')).sort();
  assert.ok(files.length >= 6, 'vector files present');
  for (const file of files) {
    const input = JSON.parse(readFileSync(join(VECTORS, 'input', file), 'utf8'));
    const expected = readFileSync(join(VECTORS, 'output', file), 'utf8');
    assert.equal(canonicalize(input), expected, file);
  }
});

test('sorts keys by UTF-16 code units and is idempotent', () => {
  const value = { b: 1, a: [true, null, 'x'], '\u20ac': 0, '\ud83d\ude02': 2, 'é': { z: 1, y: 2 } };
  const text = canonicalize(value);
  assert.equal(text, '{"a":[true,null,"x"],"b":1,"é":{"y":2,"z":1},"€":0,"😂":2}');
  assert.equal(canonicalize(JSON.parse(text)), text);
});

test('integersOnly accepts safe integers and refuses everything else numeric', () => {
  assert.equal(canonicalize({ n: Number.MAX_SAFE_INTEGER }, { integersOnly: true }), '{"n":9007199254740991}');
  assert.equal(canonicalize({ n: -0 }, { integersOnly: true }), '{"n":0}');
  for (const n of [1.5, 2 ** 53, -(2 ** 53), 1e300]) {
    assert.throws(() => canonicalize({ n }, { integersOnly: true }), { code: 'NOT_CANONICALIZABLE' });
  }
});

test('rejects non-canonicalizable input with a path in the message', () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ a: NaN }, /\.a: number NaN/],
    [{ a: [1, Infinity] }, /\.a\[1\]/],
    [{ s: 'x\ud800y' }, /lone surrogate/],
    [{ ['k\udc00']: 1 }, /key contains a lone surrogate/],
    [JSON.parse('{"__proto__":{"x":1}}'), /forbidden key "__proto__"/],
    [{ constructor: 1 }, /forbidden key "constructor"/],
    [{ d: new Date(0) }, /not a plain object/],
    [{ u: undefined }, /undefined is not JSON/],
    [[1, , 2], /sparse array/],
    [{ f: () => 1 }, /function is not JSON/],
    [{ b: 1n }, /bigint is not JSON/],
  ];
  for (const [value, message] of cases) {
    assert.throws(() => canonicalize(value), (err: Error & { code?: string }) => err.code === 'NOT_CANONICALIZABLE' && message.test(err.message));
  }
});

test('depth is bounded without exhausting the stack', () => {
  let ok: unknown = 0;
  for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) ok = [ok];
  assert.doesNotThrow(() => assertJson(ok));
  let bomb: unknown = 0;
  for (let i = 0; i < 100_000; i++) bomb = [bomb];
  assert.throws(() => canonicalize(bomb), { code: 'NOT_CANONICALIZABLE' });
  const text = '['.repeat(100_000) + ']'.repeat(100_000);
  assert.throws(() => parseJson(text), (err: Error & { code?: string }) => isCoded(err));
});

test('size limits apply before and after parsing', () => {
  assert.throws(() => canonicalize({ s: 'x'.repeat(200) }, { maxBytes: 100 }), { code: 'OBJECT_TOO_LARGE' });
  assert.throws(() => parseJson('"' + 'x'.repeat(200) + '"', { maxBytes: 100 }), { code: 'OBJECT_TOO_LARGE' });
  // Three-byte characters: the UTF-8 size, not the UTF-16 length, is what counts.
  assert.throws(() => canonicalize({ s: '€'.repeat(40) }, { maxBytes: 100 }), { code: 'OBJECT_TOO_LARGE' });
  assert.equal(canonicalBytes({ s: '€'.repeat(20) }, { maxBytes: 100 }).length, 68);
});

test('parseJson refuses invalid UTF-8 and non-JSON with INVALID_INPUT', () => {
  assert.throws(() => parseJson(Uint8Array.from([0x22, 0xff, 0x22])), { code: 'INVALID_INPUT' });
  assert.throws(() => parseJson('{"a":'), { code: 'INVALID_INPUT' });
  assert.throws(() => parseJson(42 as unknown as string), { code: 'INVALID_INPUT' });
  assert.deepEqual(parseJson('{"a":[1,"b"]}'), { a: [1, 'b'] });
});

test('hasLoneSurrogate distinguishes pairs from halves', () => {
  assert.equal(hasLoneSurrogate('\ud83d\ude02'), false);
  assert.equal(hasLoneSurrogate('\ud83d'), true);
  assert.equal(hasLoneSurrogate('\ude02\ud83d'), true);
  assert.equal(hasLoneSurrogate('plain'), false);
});

/** Hostile-list entries that are legitimately plain JSON; everything else must be refused. */
const PLAIN_JSON = new Set([
  'null', 'true', 'false', '0', '-0', 'empty string', 'NUL bytes', 'hex-looking but 63 chars', 'uppercase hex',
  'plain array of numbers', 'empty array', 'empty object', 'Object.create(null)',
]);

test('every hostile value is refused with a code or encodes as plain JSON', () => {
  for (const { name, value } of hostileValues()) {
    let text: string | undefined;
    try {
      text = canonicalize(value, { integersOnly: true });
    } catch (err) {
      assert.ok(isCoded(err), `${name}: ${String(err)}`);
      continue;
    }
    // Accepted values must be plain JSON that round-trips exactly.
    assert.equal(canonicalize(JSON.parse(text!), { integersOnly: true }), text, name);
    assert.ok(PLAIN_JSON.has(name), `${name} was accepted as ${text!.slice(0, 40)}`);
  }
});

/** Codes parseJson may refuse input with: not text or not JSON, too large, or JSON that is not canonicalizable. */
const PARSE_CODES = new Set(['INVALID_INPUT', 'OBJECT_TOO_LARGE', 'NOT_CANONICALIZABLE']);

test('parseJson refuses every hostile value and string with a code', { timeout: 60_000 }, () => {
  // None of them is JSON text: values of other types, and strings or bytes that do not parse.
  for (const { name, value } of [...hostileValues(), ...hostileStrings()]) {
    assert.throws(() => parseJson(value as string), (err: Error & { code?: string }) => isCoded(err) && PARSE_CODES.has(err.code!), name);
  }
});

test('parseJson refuses JSON text that parses to a hostile shape with NOT_CANONICALIZABLE', () => {
  const texts = [
    '{"__proto__":{"polluted":true}}',
    '{"constructor":{"prototype":{"polluted":true}}}',
    '[1e400]',
    '"\\ud800"',
    '{"\\udc00":1}',
    '{"a":'.repeat(MAX_JSON_DEPTH + 1) + '1' + '}'.repeat(MAX_JSON_DEPTH + 1),
  ];
  for (const text of texts) {
    assert.throws(() => parseJson(text), { code: 'NOT_CANONICALIZABLE' }, text.slice(0, 40));
    assert.throws(() => parseJson(new TextEncoder().encode(text)), { code: 'NOT_CANONICALIZABLE' }, text.slice(0, 40));
  }
});

test('the native serializer takes over only where it writes what the reference library writes', () => {
  // The reference implementation as the oracle, whatever path canonicalize takes.
  const reference = ((referenceModule as unknown as { default?: unknown }).default ?? referenceModule) as (v: unknown) => string;
  // Keys of every kind JCS orders differently from insertion or from V8's integer-first order.
  const key = fc.oneof(fc.string(), fc.nat({ max: 200 }).map(String), fc.constantFrom('é', '€', '😂', '\u0000', 'A', 'a', '10', '9'));
  const { tree } = fc.letrec((tie) => ({
    tree: fc.oneof({ depthSize: 'small' }, tie('leaf'), tie('array'), tie('object')),
    leaf: fc.oneof(fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ unit: 'grapheme' })),
    array: fc.array(tie('tree'), { maxLength: 4 }),
    object: fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
  }));
  fc.assert(
    fc.property(tree, (value) => {
      const text = canonicalize(value);
      assert.equal(text, reference(value), 'as built (keys in any order)');
      // Parsed back, a canonical text has its keys in order (the native path) unless integer-like keys moved.
      assert.equal(canonicalize(JSON.parse(text)), text, 'parsed back');
      // Any other spelling of the same value is told apart from the canonical one.
      const other = JSON.stringify(value, null, 1);
      assert.equal(canonicalize(JSON.parse(other)) === other, reference(JSON.parse(other)) === other, 'another spelling');
    }),
    { numRuns: 500, seed: 42 },
  );
});
