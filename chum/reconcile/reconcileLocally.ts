/**
 * Runs a whole reconciliation between two Reconcilers in one process, passing each reply straight
 * to the other side: the in-memory counterpart of the sync protocol's message loop, used by tests,
 * benchmarks and any host that holds both sets (e.g. comparing two local stores).
 */
import { KithError } from '../../shared/errors.js';
import type { Id, Reconciler } from './Reconciler.js';

/** The outcome of one complete exchange, with its traffic. */
export interface LocalReconciliation {
  /** Ids the initiator has and the responder lacks. */
  readonly have: Id[];
  /** Ids the responder has and the initiator lacks. */
  readonly need: Id[];
  /** Messages sent, both directions together (the first message included). */
  readonly messages: number;
  /** Bytes the initiator sent. */
  readonly bytesFromInitiator: number;
  /** Bytes the responder sent. */
  readonly bytesFromResponder: number;
  /** Largest single message either side sent. */
  readonly largestMessage: number;
}

/**
 * Reconciles `initiator` (fresh) against `responder` (fresh) until the initiator completes. Throws
 * INTERNAL if more than `maxMessages` messages would be needed (a guard for tests of termination),
 * and whatever either side throws (SYNC_PROTOCOL_ERROR) otherwise.
 */
export function reconcileLocally(initiator: Reconciler, responder: Reconciler, maxMessages = Number.POSITIVE_INFINITY): LocalReconciliation {
  const have: Id[] = [];
  const need: Id[] = [];
  let messages = 1;
  let bytesFromInitiator = 0;
  let bytesFromResponder = 0;
  let largestMessage = 0;
  let toResponder: Uint8Array | undefined = initiator.initiate();
  while (toResponder !== undefined) {
    bytesFromInitiator += toResponder.length;
    largestMessage = Math.max(largestMessage, toResponder.length);
    const answer = responder.reconcile(toResponder).reply;
    if (answer === undefined) break;
    if (++messages > maxMessages) throw new KithError('INTERNAL', `reconciliation needed more than ${maxMessages} messages`);
    bytesFromResponder += answer.length;
    largestMessage = Math.max(largestMessage, answer.length);
    const result = initiator.reconcile(answer);
    for (const id of result.have) have.push(id);
    for (const id of result.need) need.push(id);
    toResponder = result.reply;
    if (toResponder !== undefined && ++messages > maxMessages) {
      throw new KithError('INTERNAL', `reconciliation needed more than ${maxMessages} messages`);
    }
  }
  return { have, need, messages, bytesFromInitiator, bytesFromResponder, largestMessage };
}
