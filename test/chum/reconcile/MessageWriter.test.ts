import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasCode } from '../../../shared/errors.js';
import { fromHex } from '../../../shared/bytes.js';
import { MessageWriter } from '../../../chum/reconcile/MessageWriter.js';
import { INFINITY_BOUND, ZERO_BOUND, type Bound } from '../../../chum/reconcile/wire.js';

const bound = (hex: string): Bound => ({ src: fromHex(hex), off: 0, len: hex.length / 2 });

test('costs count the Skip needed to reach a range, and only when there is a gap', () => {
  const w = new MessageWriter(4096, false);
  assert.equal(w.gapCost(ZERO_BOUND), 0);
  // A range is one head byte (mode and bound length), its bound's bytes and its payload.
  assert.equal(w.rangeCost(ZERO_BOUND, bound('10'), 16), 1 + 1 + 16);
  w.fingerprint(ZERO_BOUND, bound('10'), new Uint8Array(16));
  assert.equal(w.size, 2 + 18);
  assert.equal(w.gapCost(bound('10')), 0);
  // The gap [10, 2001) costs a Skip range (head + 2 bytes), then the infinite bound (head only) and a 1-byte payload.
  assert.equal(w.rangeCost(bound('2001'), INFINITY_BOUND, 1), 3 + 1 + 1);
  w.idList(bound('2001'), INFINITY_BOUND, new Uint8Array(0), 0, 0);
  assert.equal(w.size, 2 + 18 + 3 + 2);
  assert.equal(w.openRanges, 2);
  assert.equal(w.finish(false).length, w.size);
});

test('the writer refuses ranges out of order and messages over its limit', () => {
  const w = new MessageWriter(38, true);
  w.fingerprint(ZERO_BOUND, bound('10'), new Uint8Array(16));
  assert.throws(() => w.fingerprint(ZERO_BOUND, bound('08'), new Uint8Array(16)), (e: unknown) => hasCode(e, 'INTERNAL'));
  assert.throws(() => w.fingerprint(bound('10'), bound('10'), new Uint8Array(16)), (e: unknown) => hasCode(e, 'INTERNAL'));
  assert.throws(() => w.fingerprint(bound('10'), bound('2001'), new Uint8Array(16)), (e: unknown) => hasCode(e, 'INTERNAL'));
});

