import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Equals, IsString, Length, Matches } from 'class-validator';
import { validateSchema, Nested, NestedArray, HASH_HEX_RE } from '../../shared/schema.js';
import { MAX_SCHEMA_OBJECT_KEYS } from '../../shared/limits.js';
import { hostileValues, isCoded } from '../support/hostile.js';

class Inner {
  @Matches(HASH_HEX_RE) hash!: string;
}

class Outer {
  @Equals('Outer') $type!: 'Outer';
  @IsString() @Length(1, 64) name!: string;
  @Nested(() => Inner) inner!: Inner;
  @NestedArray(() => Inner, 4) list!: Inner[];
}

const valid = (): Record<string, unknown> => ({ $type: 'Outer', name: 'n', inner: { hash: 'a'.repeat(64) }, list: [{ hash: 'b'.repeat(64) }] });

test('a valid value comes back as the same plain object', () => {
  const value = valid();
  assert.equal(validateSchema(Outer, value, 'OBJECT_INVALID'), value);
});

test('missing, unknown and wrongly typed fields are refused with the given code, naming fields not values', () => {
  const cases: Array<Record<string, unknown>> = [
    { ...valid(), name: undefined },
    { ...valid(), extra: 1 },
    { ...valid(), inner: [] },
    { ...valid(), inner: { hash: 'secret-value' } },
    { ...valid(), list: [{ hash: 'a'.repeat(64) }, 'x'] },
    { ...valid(), list: Array.from({ length: 5 }, () => ({ hash: 'a'.repeat(64) })) },
    { ...valid(), ...Object.fromEntries(Array.from({ length: MAX_SCHEMA_OBJECT_KEYS + 1 }, (_, i) => [`k${i}`, i])) },
  ];
  for (const value of cases) {
    assert.throws(() => validateSchema(Outer, value, 'IDENTITY_INVALID'), (err: Error & { code?: string }) => err.code === 'IDENTITY_INVALID' && !err.message.includes('secret-value'));
  }
});

test('every hostile value is refused with the given code, whole or in any field', { timeout: 60_000 }, () => {
  const refused = (value: unknown, name: string): void => {
    assert.throws(() => validateSchema(Outer, value, 'OBJECT_INVALID'), (err: Error & { code?: string }) => isCoded(err) && err.code === 'OBJECT_INVALID', name);
  };
  for (const { name, value } of hostileValues()) {
    refused(value, name);
    refused({ ...valid(), inner: value }, `inner: ${name}`);
    if (name !== 'empty array') refused({ ...valid(), list: value }, `list: ${name}`);
    refused({ ...valid(), list: [value] }, `list[0]: ${name}`);
    refused({ ...valid(), inner: { hash: value } }, `inner.hash: ${name}`);
    // A string field may legitimately hold some hostile strings; everything else is refused.
    try {
      validateSchema(Outer, { ...valid(), name: value }, 'OBJECT_INVALID');
      assert.ok(['NUL bytes', 'hex-looking but 63 chars', 'uppercase hex'].includes(name), `name: ${name} was accepted`);
    } catch (err) {
      assert.ok(isCoded(err) && (err as { code: string }).code === 'OBJECT_INVALID', `name: ${name}: ${String(err)}`);
    }
  }
});

test('an oversized or misplaced array costs a few errors, not one per element', () => {
  const many = (n: number, item: unknown): unknown[] => Array.from({ length: n }, () => item);
  const cases: Array<[string, unknown]> = [
    ['array for one object', { ...valid(), inner: many(10_000, 0) }],
    ['array past its limit', { ...valid(), list: many(10_000, { hash: 'x' }) }],
    ['array inside an array of objects', { ...valid(), list: [many(10_000, 0)] }],
  ];
  for (const [name, value] of cases) {
    assert.throws(() => validateSchema(Outer, value, 'OBJECT_INVALID'), (err: Error & { code?: string }) => {
      const more = /\(\+(\d+) more\)/.exec(err.message);
      return err.code === 'OBJECT_INVALID' && (more === null || Number(more[1]) < 20);
    }, name);
  }
});

test('typed arrays are refused by the JSON gate without listing their elements as keys', () => {
  assert.throws(() => validateSchema(Outer, { ...valid(), inner: new Uint8Array(1000) }, 'OBJECT_INVALID'), (err: Error & { code?: string }) => err.code === 'OBJECT_INVALID' && /not a plain object/.test(err.message));
});
