import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasCode } from '../../../shared/errors.js';
import { fromHex, toHex } from '../../../shared/bytes.js';
import { hostileValues } from '../../support/hostile.js';
import { MessageWriter } from '../../../chum/reconcile/MessageWriter.js';
import {
  INFINITY_BOUND,
  MODE_FINGERPRINT,
  MODE_ID_LIST,
  MODE_SKIP,
  RECONCILE_WIRE_VERSION,
  ZERO_BOUND,
  compareBounds,
  parseMessage,
  type Bound,
} from '../../../chum/reconcile/wire.js';

const LIMIT = 4096;
const bound = (hex: string): Bound => ({ src: fromHex(hex), off: 0, len: hex.length / 2 });
const id = (firstByte: number, last = 1): Uint8Array => {
  const out = new Uint8Array(32);
  out[0] = firstByte;
  out[31] = last;
  return out;
};
/** A header (version 2, flags) followed by raw bytes. */
const msg = (flags: number, ...body: number[]): Uint8Array => Uint8Array.from([RECONCILE_WIRE_VERSION, flags, ...body]);
/** A range's head byte: its mode and the length of its upper bound. */
const head = (mode: number, len: number): number => (mode << 6) | len;
const fp16 = Array.from({ length: 16 }, (_, i) => i + 1);

function rejects(bytes: unknown, pattern: RegExp, max = LIMIT): void {
  assert.throws(
    () => parseMessage(bytes, max),
    (err: unknown) => hasCode(err, 'SYNC_PROTOCOL_ERROR') && pattern.test((err as Error).message),
  );
}

test('writer and parser round-trip ranges, inserting Skips for gaps and leaving the trailing one out', () => {
  const w = new MessageWriter(LIMIT, true);
  const fp = Uint8Array.from(fp16);
  w.fingerprint(ZERO_BOUND, bound('10'), fp);
  // gap [10, 20) becomes a Skip
  const ids = new Uint8Array(64);
  ids.set(id(0x21), 0);
  ids.set(id(0x22), 32);
  w.idList(bound('20'), bound('30'), ids, 0, 2);
  w.idList(bound('30'), bound('3001'), ids, 0, 0);
  assert.equal(w.openRanges, 3);
  const bytes = w.finish(true);
  assert.equal(bytes.length, w.size);
  const parsed = parseMessage(bytes, LIMIT);
  assert.equal(parsed.fromInitiator, true);
  assert.equal(parsed.more, true);
  assert.equal(parsed.openRanges, 3);
  assert.deepEqual(
    parsed.ranges.map((r) => [toHex(r.lo.src.subarray(r.lo.off, r.lo.off + r.lo.len)), toHex(r.hi.src.subarray(r.hi.off, r.hi.off + r.hi.len)), r.mode, r.count]),
    [
      ['', '10', MODE_FINGERPRINT, 0],
      ['10', '20', MODE_SKIP, 0],
      ['20', '30', MODE_ID_LIST, 2],
      ['30', '3001', MODE_ID_LIST, 0],
    ],
  );
  assert.deepEqual(bytes.subarray(parsed.ranges[0]!.payloadOff, parsed.ranges[0]!.payloadOff + 16), fp);
  assert.deepEqual(bytes.subarray(parsed.ranges[2]!.payloadOff, parsed.ranges[2]!.payloadOff + 64), ids);
});

test('an empty message is just the header; flags carry the roles', () => {
  const bytes = new MessageWriter(LIMIT, false).finish(false);
  assert.deepEqual(bytes, Uint8Array.from([RECONCILE_WIRE_VERSION, 0]));
  const parsed = parseMessage(bytes, LIMIT);
  assert.equal(parsed.fromInitiator, false);
  assert.equal(parsed.more, false);
  assert.equal(parsed.ranges.length, 0);
});

test('the infinite bound ends the message', () => {
  const w = new MessageWriter(LIMIT, true);
  w.idList(ZERO_BOUND, INFINITY_BOUND, new Uint8Array(0), 0, 0);
  const bytes = w.finish(false);
  assert.deepEqual(bytes, Uint8Array.from([RECONCILE_WIRE_VERSION, 1, head(MODE_ID_LIST, 33), 0]));
  assert.equal(parseMessage(bytes, LIMIT).ranges[0]!.hi.len, 33);
});

test('canonical bounds compare like their zero-padded points', () => {
  const canonical = fc.uint8Array({ minLength: 1, maxLength: 32 }).filter((b) => b[b.length - 1] !== 0);
  const padded = (b: Uint8Array): string => toHex(b).padEnd(64, '0');
  fc.assert(
    fc.property(canonical, canonical, (a, b) => {
      const got = Math.sign(compareBounds({ src: a, off: 0, len: a.length }, { src: b, off: 0, len: b.length }));
      const want = Math.sign(padded(a) < padded(b) ? -1 : padded(a) > padded(b) ? 1 : 0);
      assert.equal(got, want);
    }),
    { numRuns: 500 },
  );
  assert.ok(compareBounds(ZERO_BOUND, bound('01')) < 0);
  assert.ok(compareBounds(bound('ff'.repeat(32)), INFINITY_BOUND) < 0);
  assert.equal(compareBounds(INFINITY_BOUND, INFINITY_BOUND), 0);
});

test('malformed messages are SYNC_PROTOCOL_ERROR with a reason', () => {
  rejects(new Uint8Array(0), /truncated header/);
  rejects(Uint8Array.from([2]), /truncated header/);
  rejects(Uint8Array.from([1, 0]), /unsupported version 1/);
  rejects(Uint8Array.from([3, 0]), /unsupported version 3/);
  rejects(Uint8Array.from([0, 0]), /unsupported version 0/);
  rejects(msg(4), /unknown flags/);
  rejects(msg(0x80), /unknown flags/);
  rejects(msg(1, head(MODE_FINGERPRINT, 0), ...fp16), /invalid bound length 0/);
  rejects(msg(1, head(MODE_SKIP, 34)), /invalid bound length 34/);
  rejects(msg(1, 255), /invalid bound length 63/);
  rejects(msg(1, head(MODE_FINGERPRINT, 3), 0x10, 0x20), /truncated bound/);
  rejects(msg(1, head(MODE_FINGERPRINT, 2), 0x10, 0x00, ...fp16), /non-canonical bound/);
  rejects(msg(1, head(3, 1), 0x10), /unknown mode 3/);
  rejects(msg(1, head(3, 33)), /unknown mode 3/);
  rejects(msg(1, head(MODE_SKIP, 1), 0x10), /trailing Skip/);
  rejects(msg(1, head(MODE_FINGERPRINT, 1), 0x10, 1, 2, 3), /truncated fingerprint/);
  rejects(msg(1, head(MODE_FINGERPRINT, 1), 0x20, ...fp16, head(MODE_FINGERPRINT, 1), 0x10, ...fp16), /bounds do not increase/);
  rejects(msg(1, head(MODE_FINGERPRINT, 1), 0x20, ...fp16, head(MODE_FINGERPRINT, 1), 0x20, ...fp16), /bounds do not increase/);
  rejects(msg(1, head(MODE_SKIP, 1), 0x20, head(MODE_SKIP, 1), 0x30, head(MODE_FINGERPRINT, 1), 0x40, ...fp16), /two Skip ranges in a row/);
  rejects(msg(1, head(MODE_FINGERPRINT, 1), 0x20, ...fp16, head(MODE_SKIP, 1), 0x30), /trailing Skip/);
  rejects(msg(1, head(MODE_FINGERPRINT, 33), ...fp16, 0), /trailing bytes after the infinite bound/);
  rejects(msg(1, head(MODE_FINGERPRINT, 33), ...fp16, head(MODE_SKIP, 1), 0x10), /trailing bytes/);
});

test('IdList counts are checked against the bytes present, and varints are minimal and short', () => {
  rejects(msg(1, head(MODE_ID_LIST, 33)), /truncated varint/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 0x81), /truncated varint/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 0x80, 0x00), /non-minimal varint/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 0xff, 0xff, 0xff, 0xff, 0x0f), /longer than 4 bytes/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 0xff, 0xff, 0xff, 0x7f), /claims 268435455 ids/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 2, ...id(5)), /claims 2 ids/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 1, ...id(5), 9), /trailing bytes/);
});

test('listed ids must be strictly increasing and inside their range', () => {
  rejects(msg(1, head(MODE_ID_LIST, 33), 2, ...id(5), ...id(5)), /not strictly increasing/);
  rejects(msg(1, head(MODE_ID_LIST, 33), 2, ...id(6), ...id(5)), /not strictly increasing/);
  rejects(msg(1, head(MODE_ID_LIST, 1), 0x05, 1, ...id(5)), /at or above its range's upper bound/);
  rejects(msg(1, head(MODE_ID_LIST, 1), 0x05, 1, ...id(7)), /at or above/);
  rejects(msg(1, head(MODE_SKIP, 1), 0x05, head(MODE_ID_LIST, 33), 1, ...id(4)), /below its range/);
  // The bound 05 is the point 05 00 … 00: an id equal to it belongs to the range above.
  const onBound = new Uint8Array(32);
  onBound[0] = 5;
  assert.equal(parseMessage(msg(1, head(MODE_SKIP, 1), 0x05, head(MODE_ID_LIST, 33), 1, ...onBound), LIMIT).ranges[1]!.count, 1);
  assert.equal(parseMessage(msg(1, head(MODE_ID_LIST, 1), 0x05, 1, ...id(4, 0xff)), LIMIT).ranges[0]!.count, 1);
});

test('messages over the limit are refused before parsing', () => {
  rejects(new Uint8Array(LIMIT + 1).fill(1), /exceed the 4096-byte limit/);
  rejects(new Uint8Array(8 * 1024 * 1024), /exceed/);
});

test('every hostile value is refused as SYNC_PROTOCOL_ERROR', () => {
  for (const { name, value } of hostileValues()) {
    assert.throws(
      () => parseMessage(value, LIMIT),
      (err: unknown) => hasCode(err, 'SYNC_PROTOCOL_ERROR'),
      name,
    );
  }
});
