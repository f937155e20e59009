/**
 * When reconciliation is not worth it. Range-based reconciliation costs under 1 KB for one
 * difference (32-byte ids, default options) and about log8(n) / 2 + 1 round trips for small
 * differences, but once the differences spread over most ranges it sends nearly every id anyway,
 * in more round trips than a plain list: at 100k ids in common, 1k differences per side cost
 * 0.18× the list's bytes (3 round trips), 3k 0.37× (3), 10k 0.71× (4), while the list is one
 * message stream.
 */
import { RECONCILE_ID_LIST_DIFF_FRACTION, RECONCILE_ID_LIST_THRESHOLD } from '../../shared/limits.js';

/**
 * True when the side holding `n` ids should send its id list (32 B × n) instead of reconciling,
 * given an estimate of the differing ids (the sync layer knows at least |n − peer's count|, and
 * that a new or emptied peer differs by everything): when the estimate is at least
 * RECONCILE_ID_LIST_DIFF_FRACTION of n, or n is below the IdList threshold (the list is then what
 * the first reconciliation message would carry anyway).
 */
export function shouldSendIdList(n: number, estimatedDiff: number): boolean {
  if (!(n >= 0) || !(estimatedDiff >= 0)) return false;
  return n < RECONCILE_ID_LIST_THRESHOLD || estimatedDiff >= n * RECONCILE_ID_LIST_DIFF_FRACTION;
}
