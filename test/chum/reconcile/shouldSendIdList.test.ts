import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECONCILE_ID_LIST_THRESHOLD } from '../../../shared/limits.js';
import { shouldSendIdList } from '../../../chum/reconcile/shouldSendIdList.js';

test('lists win for tiny sets, empty peers and large differences; reconciliation for small ones', () => {
  assert.equal(shouldSendIdList(0, 0), true);
  assert.equal(shouldSendIdList(RECONCILE_ID_LIST_THRESHOLD - 1, 0), true);
  assert.equal(shouldSendIdList(RECONCILE_ID_LIST_THRESHOLD, 0), false);
  assert.equal(shouldSendIdList(100_000, 100_000), true, 'the peer is empty');
  assert.equal(shouldSendIdList(100_000, 20_000), true, '20%: no cheaper than the list, in many more round trips (bench)');
  assert.equal(shouldSendIdList(100_000, 10_000), true);
  assert.equal(shouldSendIdList(100_000, 5_000), false, '5%: about a third of the list\'s bytes');
  assert.equal(shouldSendIdList(100_000, 1_000), false, '1%: well under half the bytes');
  assert.equal(shouldSendIdList(100_000, 1), false);
  assert.equal(shouldSendIdList(1_000, 0), false);
  assert.equal(shouldSendIdList(Number.NaN, 5), false, 'nonsense estimates fall back to reconciling');
  assert.equal(shouldSendIdList(100, -1), false);
});
