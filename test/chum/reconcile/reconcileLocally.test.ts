import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { hasCode } from '../../../shared/errors.js';
import { ReconcileSet } from '../../../chum/reconcile/ReconcileSet.js';
import { Reconciler } from '../../../chum/reconcile/Reconciler.js';
import { reconcileLocally } from '../../../chum/reconcile/reconcileLocally.js';

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));

test('runs an exchange to completion and counts its traffic', () => {
  const common = ids(2000);
  const extra = ids(3);
  const a = new Reconciler(ReconcileSet.fromIds([...common, extra[0]!]));
  const b = new Reconciler(ReconcileSet.fromIds([...common, extra[1]!, extra[2]!]));
  const result = reconcileLocally(a, b);
  assert.deepEqual(result.have, [extra[0]]);
  assert.equal(result.need.length, 2);
  assert.equal(result.messages % 2, 0, 'the initiator has the last word');
  assert.ok(result.bytesFromInitiator > 0 && result.bytesFromResponder > 0);
  assert.ok(result.largestMessage <= Math.max(result.bytesFromInitiator, result.bytesFromResponder));
  assert.equal(a.complete, true);
});

test('stops with INTERNAL when more messages than allowed would be needed', () => {
  const a = new Reconciler(ReconcileSet.fromIds(ids(3000)));
  const b = new Reconciler(ReconcileSet.fromIds(ids(3000)));
  assert.throws(() => reconcileLocally(a, b, 2), (err: unknown) => hasCode(err, 'INTERNAL'));
});
