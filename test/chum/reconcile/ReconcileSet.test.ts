import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { hasCode } from '../../../shared/errors.js';
import { compareBytes, toHex } from '../../../shared/bytes.js';
import { hostileValues } from '../../support/hostile.js';
import { ReconcileSet } from '../../../chum/reconcile/ReconcileSet.js';
import { INFINITY_BOUND, ZERO_BOUND, type Bound } from '../../../chum/reconcile/wire.js';

/** Deterministic ids from a seed (splitmix32), so fast-check can shrink to a seed. */
function seededIds(seed: number, count: number, sharedPrefix = 0): Uint8Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return Array.from({ length: count }, () => {
    const id = new Uint8Array(32);
    for (let k = 0; k < 32; k++) id[k] = k < sharedPrefix ? 0xab : next() & 0xff;
    return id;
  });
}

/** The fingerprint as the brief defines it, with BigInt arithmetic and node:crypto. */
function referenceFingerprint(ids: Uint8Array[]): string {
  let sum = 0n;
  for (const id of ids) sum += BigInt('0x' + toHex(Uint8Array.from(id).reverse()));
  sum %= 1n << 256n;
  const le = new Uint8Array(32);
  for (let k = 0; k < 32; k++) le[k] = Number((sum >> BigInt(8 * k)) & 0xffn);
  const varint: number[] = [];
  let n = ids.length;
  while (n >= 0x80) {
    varint.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 0x80);
  }
  varint.push(n);
  return createHash('sha256').update(le).update(Uint8Array.from(varint)).digest('hex').slice(0, 32);
}

const sortedHex = (ids: Uint8Array[]): string[] => [...new Set(ids.map(toHex))].sort();
const allIds = (set: ReconcileSet): string[] => Array.from({ length: set.size }, (_, i) => toHex(set.id(i)));

test('fromIds sorts bytewise and drops duplicates', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 31 }), (seed, count, prefix) => {
      const ids = seededIds(seed, count, prefix);
      const withDuplicates = [...ids, ...ids.slice(0, count >> 1)];
      const set = ReconcileSet.fromIds(withDuplicates);
      assert.equal(set.size, new Set(ids.map(toHex)).size);
      assert.deepEqual(allIds(set), sortedHex(ids));
    }),
    { numRuns: 60 },
  );
});

test('fromIds accepts any iterable and copies the ids', () => {
  const ids = seededIds(7, 50);
  const set = ReconcileSet.fromIds(new Set(ids).values());
  assert.equal(set.size, 50);
  const before = allIds(set);
  for (const id of ids) id.fill(0);
  assert.deepEqual(allIds(set), before);
  assert.equal(ReconcileSet.fromIds([]).size, 0);
});

test('ids sharing up to 31 bytes (mined) sort correctly', () => {
  for (const prefix of [29, 30, 31]) {
    const ids = seededIds(prefix, 3000, prefix);
    assert.deepEqual(allIds(ReconcileSet.fromIds(ids)), sortedHex(ids));
  }
});

test('fingerprints are SHA-256(sum mod 2^256 little-endian ‖ varint count), first 16 bytes', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 0, max: 300 }), fc.nat(), fc.nat(), (seed, count, a, b) => {
      const set = ReconcileSet.fromIds(seededIds(seed, count));
      const i0 = count === 0 ? 0 : a % (count + 1);
      const i1 = i0 + (count === 0 ? 0 : b % (count - i0 + 1));
      const members = Array.from({ length: i1 - i0 }, (_, k) => set.id(i0 + k));
      const fp = set.fingerprint(i0, i1);
      assert.equal(fp.length, 16);
      assert.equal(toHex(fp), referenceFingerprint(members));
      assert.ok(set.fingerprintMatches(i0, i1, Uint8Array.from([0, ...fp]), 1));
      const other = Uint8Array.from(fp);
      other[15]! ^= 1;
      assert.equal(set.fingerprintMatches(i0, i1, other, 0), false);
    }),
    { numRuns: 100 },
  );
});

test('sums wrap modulo 2^256 and counts above 127 use multi-byte varints', () => {
  const ids = Array.from({ length: 200 }, (_, i) => {
    const id = new Uint8Array(32).fill(0xff);
    id[31] = i; // distinct, all close to 2^256
    return id;
  });
  const set = ReconcileSet.fromIds(ids);
  assert.equal(toHex(set.fingerprint(0, 200)), referenceFingerprint(Array.from({ length: 200 }, (_, i) => set.id(i))));
  assert.equal(toHex(set.fingerprint(5, 5)), createHash('sha256').update(new Uint8Array(33)).digest('hex').slice(0, 32));
});

test('lowerBound finds the first id at or above a bound', () => {
  fc.assert(
    fc.property(fc.integer(), fc.integer({ min: 0, max: 200 }), fc.uint8Array({ minLength: 1, maxLength: 32 }), (seed, count, prefix) => {
      const ids = seededIds(seed, count, seed & 1 ? 2 : 0);
      const set = ReconcileSet.fromIds(ids);
      // Bounds near real ids as well as random ones.
      const near = count > 0 ? set.id(Math.abs(seed) % set.size).subarray(0, prefix.length) : prefix;
      for (const candidate of [prefix, near]) {
        const b: Bound = { src: candidate, off: 0, len: candidate.length };
        const point = new Uint8Array(32);
        point.set(candidate);
        let want = 0;
        while (want < set.size && compareBytes(set.id(want), point) < 0) want++;
        assert.equal(set.lowerBound(b, 0), want);
      }
      assert.equal(set.lowerBound(ZERO_BOUND, 0), 0);
      assert.equal(set.lowerBound(INFINITY_BOUND, 0), set.size);
    }),
    { numRuns: 150 },
  );
});

test('has answers membership and refuses non-ids', () => {
  const ids = seededIds(3, 100);
  const set = ReconcileSet.fromIds(ids.slice(0, 50));
  assert.ok(ids.slice(0, 50).every((id) => set.has(id)));
  assert.ok(ids.slice(50).every((id) => !set.has(id)));
  assert.equal(set.has(new Uint8Array(31)), false);
  assert.equal(set.has('x' as unknown as Uint8Array), false);
});

test('fromIds refuses every hostile value and any id that is not 32 bytes', () => {
  for (const { name, value } of hostileValues()) {
    let result: unknown;
    try {
      result = ReconcileSet.fromIds(value as Iterable<Uint8Array>);
    } catch (err) {
      assert.ok(hasCode(err, 'INVALID_INPUT'), `${name}: ${String(err)}`);
      continue;
    }
    // Only empty iterables are acceptable inputs among the hostile values.
    assert.equal((result as ReconcileSet).size, 0, name);
  }
  for (const bad of [new Uint8Array(31), new Uint8Array(33), new Uint16Array(16), 'a'.repeat(32), null]) {
    assert.throws(() => ReconcileSet.fromIds([new Uint8Array(32), bad as Uint8Array]), (err: unknown) => hasCode(err, 'INVALID_INPUT') && /ids\[1\]/.test((err as Error).message));
  }
});

