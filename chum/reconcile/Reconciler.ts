/**
 * Range-based set reconciliation (Meyer, arXiv 2212.13567; the idea behind negentropy / NIP-77),
 * written from the paper's description. Pure and transport-agnostic: bytes in, bytes out.
 *
 * Each message covers the whole id space [0, +∞) with contiguous ranges (wire.ts). On receipt,
 * every range is answered:
 *   Skip          → nothing (already settled).
 *   Fingerprint   → equal to ours: settled. Otherwise, holding fewer than `idListThreshold` ids
 *                   in it, we list them (IdList); else we split our ids in it into `branching`
 *                   ranges of (nearly) equal count and send each range's fingerprint. A split
 *                   point is the shortest prefix of an id that separates it from its predecessor.
 *   IdList        → the initiator compares the list with its own ids there and learns `have` and
 *                   `need`: settled. The responder answers with its own list of the range (Skip
 *                   when the two lists are equal), so the initiator learns the differences.
 * Only the initiator learns differences; the responder never reports any.
 *
 * Message budget. An answer that would push the reply past `maxMessageBytes` is deferred: the
 * answering side keeps the range (bounds and positions, never the peer's ids) and answers it in
 * a later round, setting FLAG_MORE so the peer keeps the exchange going even with nothing to say.
 * A deferred range is written as Skip, so nothing settled is ever reopened; the peer may not
 * open a range that we deferred. An IdList answer that does not fit is cut: the ids that fit go
 * now, over [lo, e) with e the separator after the last one, and [e, hi) is deferred.
 *
 * Termination (honest peers using the same options). (1) Every point of the id space is, at any
 * moment, settled, open in the message in flight, or deferred by exactly one side; settled points
 * stay settled (Skip is answered with Skip, deferral writes Skip). (2) A chain of answers to one
 * range ends: a split gives children holding ≤ ⌈c/branching⌉ < c of the splitter's c ≥ 2 ids, and
 * the other side's count in a sub-range cannot exceed its count in the range; a list is settled
 * by the initiator on receipt, or answered by the responder with a list the initiator settles
 * (a cut list settles [lo, e) with e > lo). So every chain settles within
 * D = 2⌈log_branching(max(n_A, n_B))⌉ + 4 answers. (3) Each message answers at least the first
 * task of its sender's work list, because one answer always fits (`maxMessageBytes` is checked
 * against the largest answer); work lists are answered in key order, and a side with deferred
 * work is always answered (FLAG_MORE), so the lowest unsettled point q gets an answer at least
 * every two messages and is settled within 2D messages, after which q strictly grows. (4) q is
 * always 0 or a separator between neighbouring ids of one side, at most n_A + n_B + 1 values,
 * so an exchange ends within 2D(n_A + n_B + 1) messages. That bound is loose: each message
 * answers a whole budget's worth of ranges in parallel, so d small differences take about
 * log_16(n) + 1 round trips and large ones add one message per ~maxMessageBytes of listed ids.
 * (5) The initiator stops exactly when its reply would carry no open range, it has nothing
 * deferred and the peer's message carried no FLAG_MORE; by (1) everything is then settled.
 *
 * Bounds against a hostile peer (anything breaking them is SYNC_PROTOCOL_ERROR, and the
 * Reconciler refuses further messages): at most `maxRounds` messages (RECONCILE_MAX_ROUNDS);
 * each ≤ maxMessageBytes, so ≤ (maxMessageBytes − 2) / 2 ranges, each costing one binary search
 * and at most one SHA-256; the initiator walks each of its own ids at most once per session (a
 * range listed twice is an error) and reports each learned id once (a repeat is an error); at
 * most RECONCILE_MAX_DEFERRED_RANGES deferred ranges; a reply never exceeds maxMessageBytes.
 */
import { KithError } from '../../shared/errors.js';
import {
  MAX_APP_MESSAGE,
  RECONCILE_BRANCHING,
  RECONCILE_ID_LIST_THRESHOLD,
  RECONCILE_MAX_BRANCHING,
  RECONCILE_MAX_DEFERRED_RANGES,
  RECONCILE_MAX_ID_LIST_THRESHOLD,
  RECONCILE_MAX_MESSAGE_BYTES,
  RECONCILE_MAX_ROUNDS,
  RECONCILE_MIN_MESSAGE_BYTES,
} from '../../shared/limits.js';
import { ID_BYTES, ReconcileSet, compareAt, type Id } from './ReconcileSet.js';
import { MessageWriter } from './MessageWriter.js';
import {
  HEADER_BYTES,
  INFINITY_BOUND,
  MAX_BOUND_BYTES,
  MAX_VARINT,
  MODE_FINGERPRINT,
  MODE_ID_LIST,
  MODE_SKIP,
  ZERO_BOUND,
  boundBytes,
  compareBounds,
  copyBound,
  parseMessage,
  varintBytes,
  type Bound,
  type ParsedMessage,
} from './wire.js';

export type { Id } from './ReconcileSet.js';

/** Tuning and limits; both sides of one exchange must use the same values. */
export interface ReconcilerOptions {
  /** Ranges a mismatching range is split into (default RECONCILE_BRANCHING = 8). */
  readonly branching?: number;
  /** Below this many ids in a mismatching range, list them instead of splitting (default RECONCILE_ID_LIST_THRESHOLD = 16). */
  readonly idListThreshold?: number;
  /** Largest message sent or accepted (default RECONCILE_MAX_MESSAGE_BYTES = 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Messages processed before giving up (default RECONCILE_MAX_ROUNDS). */
  readonly maxRounds?: number;
}

/** What one incoming message produced. */
export interface ReconcileResult {
  /** The message to send back; undefined when reconciliation is complete on this side. */
  readonly reply: Uint8Array | undefined;
  /** Ids this side has and the peer lacks, learned from this message (initiator only). */
  readonly have: Id[];
  /** Ids the peer has and this side lacks, learned from this message (initiator only). */
  readonly need: Id[];
}

/** A range this side must answer: ids [i0, i1) of our set lie in [lo, hi). */
interface Task {
  readonly lo: Bound;
  readonly hi: Bound;
  readonly i0: number;
  readonly i1: number;
  /** `split`: a fingerprint mismatched, answer by listing or splitting; `list`: the initiator listed its ids, answer with ours. */
  readonly kind: 'split' | 'list';
}

type Role = 'idle' | 'initiator' | 'responder';

const FINGERPRINT_LENGTH = 16;

function protocolError(message: string): KithError {
  return new KithError('SYNC_PROTOCOL_ERROR', `reconcile: ${message}`);
}

/** Bytes of the largest single answer, a gap Skip included: what a message must always have room for. */
export function largestAnswerBytes(branching: number, idListThreshold: number): number {
  // A range costs its head and bound (≤ MAX_BOUND_BYTES) plus its payload.
  const gap = MAX_BOUND_BYTES;
  const split = branching * (MAX_BOUND_BYTES + FINGERPRINT_LENGTH);
  const list = MAX_BOUND_BYTES + varintBytes(idListThreshold) + ID_BYTES * (idListThreshold - 1);
  const cutList = MAX_BOUND_BYTES + 4 + ID_BYTES;
  return gap + Math.max(split, list, cutList);
}

function checkInteger(name: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new KithError('INVALID_INPUT', `${name}: expected an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

export class Reconciler {
  private readonly set: ReconcileSet;
  private readonly branching: number;
  private readonly threshold: number;
  private readonly budget: number;
  private readonly maxRounds: number;
  private state: Role = 'idle';
  private finished = false;
  private failed = false;
  private rounds = 0;
  /** Ranges we owe the peer an answer for, in key order, disjoint; bounds are private copies. */
  private deferred: Task[] = [];
  /** Initiator: 1 for each of our ids already compared against a peer list. */
  private seen: Uint8Array | undefined;
  /** Initiator: every id reported in `need`, as a 32-character string. */
  private readonly needed = new Set<string>();

  constructor(set: ReconcileSet, opts: ReconcilerOptions = {}) {
    if (!(set instanceof ReconcileSet)) throw new KithError('INVALID_INPUT', 'set: expected a ReconcileSet');
    this.set = set;
    this.branching = checkInteger('branching', opts.branching ?? RECONCILE_BRANCHING, 2, RECONCILE_MAX_BRANCHING);
    this.threshold = checkInteger('idListThreshold', opts.idListThreshold ?? RECONCILE_ID_LIST_THRESHOLD, 2, RECONCILE_MAX_ID_LIST_THRESHOLD);
    const floor = Math.max(RECONCILE_MIN_MESSAGE_BYTES, HEADER_BYTES + largestAnswerBytes(this.branching, this.threshold));
    this.budget = checkInteger('maxMessageBytes', opts.maxMessageBytes ?? RECONCILE_MAX_MESSAGE_BYTES, floor, MAX_APP_MESSAGE);
    this.maxRounds = checkInteger('maxRounds', opts.maxRounds ?? RECONCILE_MAX_ROUNDS, 1, 1_000_000);
  }

  /** 'idle' until `initiate` or the first `reconcile`, then the role this side plays. */
  get role(): Role {
    return this.state;
  }

  /** True once reconciliation completed on this side (`reconcile` returned no reply). */
  get complete(): boolean {
    return this.finished;
  }

  /** Peer messages processed so far. */
  get messagesProcessed(): number {
    return this.rounds;
  }

  /** Initiator: the first message. Callable once, before any `reconcile`. */
  initiate(): Uint8Array {
    if (this.state !== 'idle' || this.failed) throw new KithError('INVALID_INPUT', 'initiate() must be the first call on a Reconciler');
    this.state = 'initiator';
    const out = new MessageWriter(this.budget, true);
    // The whole space, answered as a mismatch: the first message already splits (or lists), which
    // saves the round trip a single whole-set fingerprint would cost. It fits: see the constructor.
    const whole: Task = { lo: ZERO_BOUND, hi: INFINITY_BOUND, i0: 0, i1: this.set.size, kind: 'split' };
    if (!this.answerSplit(whole, out)) throw new KithError('INTERNAL', 'reconcile: first message does not fit');
    return out.finish(false);
  }

  /**
   * Processes a peer message. Returns the reply (undefined when reconciliation is complete on this
   * side) and the ids learned from this message; across a session each id is reported once.
   * Throws SYNC_PROTOCOL_ERROR for anything a correct peer would not send, after which this
   * Reconciler refuses every further message. The initiator decides the end (its reply is
   * undefined); a responder always answers, so the sync layer tells it the exchange is over (or
   * the initiator may send it a bare header, which completes it).
   */
  reconcile(message: Uint8Array): ReconcileResult {
    if (this.failed) throw protocolError('this reconciliation already failed');
    if (this.finished) throw protocolError('message after reconciliation completed');
    try {
      return this.step(message);
    } catch (err) {
      this.failed = true;
      if (err instanceof KithError && err.code === 'SYNC_PROTOCOL_ERROR') throw err;
      throw new KithError('SYNC_PROTOCOL_ERROR', 'reconcile: message could not be processed', { cause: err });
    }
  }

  private step(message: Uint8Array): ReconcileResult {
    if (++this.rounds > this.maxRounds) throw protocolError(`more than ${this.maxRounds} messages`);
    const msg = parseMessage(message, this.budget);
    if (this.state === 'idle') {
      if (!msg.fromInitiator) throw protocolError('the first message must come from the initiator');
      this.state = 'responder';
    } else if (msg.fromInitiator === (this.state === 'initiator')) {
      throw protocolError(msg.fromInitiator ? 'both sides initiated' : 'message from another responder');
    }
    this.checkNotDeferred(msg);
    const have: Id[] = [];
    const need: Id[] = [];
    const incoming = this.tasksFor(msg, have, need);
    const work = mergeTasks(incoming, this.deferred);
    const out = new MessageWriter(this.budget, this.state === 'initiator');
    this.deferred = this.answer(work, out);
    if (this.deferred.length > RECONCILE_MAX_DEFERRED_RANGES) {
      throw protocolError(`more than ${RECONCILE_MAX_DEFERRED_RANGES} deferred ranges (the sets differ too much: send id lists)`);
    }
    const more = this.deferred.length > 0;
    const done =
      this.state === 'initiator'
        ? out.openRanges === 0 && !more && !msg.more
        : msg.openRanges === 0 && !msg.more && work.length === 0;
    if (done) {
      this.finished = true;
      return { reply: undefined, have, need };
    }
    return { reply: out.finish(more), have, need };
  }

  /** The peer may not open a range we deferred: by (1) an honest peer never does. */
  private checkNotDeferred(msg: ParsedMessage): void {
    let d = 0;
    for (const r of msg.ranges) {
      if (r.mode === MODE_SKIP) continue;
      while (d < this.deferred.length && compareBounds(this.deferred[d]!.hi, r.lo) <= 0) d++;
      if (d < this.deferred.length && compareBounds(this.deferred[d]!.lo, r.hi) < 0) {
        throw protocolError('the peer opened a range this side deferred');
      }
    }
  }

  /** The peer's open ranges as tasks for us; the initiator settles IdLists here (no output needed). */
  private tasksFor(msg: ParsedMessage, have: Id[], need: Id[]): Task[] {
    const tasks: Task[] = [];
    let at = 0;
    for (const r of msg.ranges) {
      const i0 = at;
      const i1 = this.set.lowerBound(r.hi, i0);
      at = i1;
      if (r.mode === MODE_FINGERPRINT) {
        if (!this.set.fingerprintMatches(i0, i1, msg.bytes, r.payloadOff)) tasks.push({ lo: r.lo, hi: r.hi, i0, i1, kind: 'split' });
      } else if (r.mode === MODE_ID_LIST) {
        if (this.state === 'initiator') this.settle(msg.bytes, r.payloadOff, r.count, i0, i1, have, need);
        else if (!this.sameIds(msg.bytes, r.payloadOff, r.count, i0, i1)) tasks.push({ lo: r.lo, hi: r.hi, i0, i1, kind: 'list' });
      }
    }
    return tasks;
  }

  /** Initiator: compares the peer's complete list of a range with our ids [i0, i1). */
  private settle(bytes: Uint8Array, off: number, count: number, i0: number, i1: number, have: Id[], need: Id[]): void {
    const packed = this.set.packed;
    const seen = (this.seen ??= new Uint8Array(this.set.size));
    const end = off + count * ID_BYTES;
    let p = off;
    let j = i0;
    while (p < end || j < i1) {
      const c = p >= end ? 1 : j >= i1 ? -1 : compareAt(bytes, p, packed, j * ID_BYTES);
      if (c >= 0) {
        if (seen[j] === 1) throw protocolError('the peer listed a range twice');
        seen[j] = 1;
        if (c > 0) have.push(this.set.id(j));
        j++;
        if (c === 0) p += ID_BYTES;
      } else {
        const id = bytes.slice(p, p + ID_BYTES);
        // A 32-character string: several times cheaper to build than hex, and as good a Set key.
        const key = String.fromCharCode.apply(null, id as unknown as number[]);
        if (this.needed.has(key)) throw protocolError('the peer listed an id twice');
        this.needed.add(key);
        need.push(id);
        p += ID_BYTES;
      }
    }
  }

  /** Responder: true when the peer's list of a range is exactly our ids [i0, i1). */
  private sameIds(bytes: Uint8Array, off: number, count: number, i0: number, i1: number): boolean {
    if (count !== i1 - i0) return false;
    for (let k = 0; k < count; k++) {
      if (compareAt(bytes, off + k * ID_BYTES, this.set.packed, (i0 + k) * ID_BYTES) !== 0) return false;
    }
    return true;
  }

  /**
   * Answers tasks in key order while they fit; from the first that does not, everything left is
   * deferred (returned, with bounds copied out of the message). The first task always fits.
   */
  private answer(work: Task[], out: MessageWriter): Task[] {
    const deferred: Task[] = [];
    let deferring = false;
    for (const task of work) {
      if (!deferring) {
        if (task.kind === 'split') {
          if (this.answerSplit(task, out)) continue;
        } else {
          const rest = this.answerList(task, out);
          if (rest === null) continue;
          if (rest !== false) {
            deferred.push(ownTask(rest));
            deferring = true;
            continue;
          }
        }
        deferring = true;
      }
      deferred.push(ownTask(task));
    }
    return deferred;
  }

  /** A mismatching range: list our ids if few, else split them. False (nothing written) if it does not fit. */
  private answerSplit(task: Task, out: MessageWriter): boolean {
    const { packed } = this.set;
    const count = task.i1 - task.i0;
    if (count < this.threshold) {
      if (out.size + out.rangeCost(task.lo, task.hi, varintBytes(count) + count * ID_BYTES) > this.budget) return false;
      out.idList(task.lo, task.hi, packed, task.i0 * ID_BYTES, count);
      return true;
    }
    // count ≥ threshold ≥ 2, so parts ≥ 2 and every part holds ≥ 1 and < count ids.
    const parts = Math.min(this.branching, count);
    const ends: number[] = [];
    const bounds: Bound[] = [];
    let cost = out.gapCost(task.lo);
    for (let k = 1; k <= parts; k++) {
      const end = k === parts ? task.i1 : task.i0 + Math.floor((k * count) / parts);
      const hi = k === parts ? task.hi : this.separator(end);
      ends.push(end);
      bounds.push(hi);
      cost += boundBytes(hi) + FINGERPRINT_LENGTH;
    }
    if (out.size + cost > this.budget) return false;
    let lo = task.lo;
    let start = task.i0;
    for (let k = 0; k < parts; k++) {
      out.fingerprint(lo, bounds[k]!, this.set.fingerprint(start, ends[k]!));
      lo = bounds[k]!;
      start = ends[k]!;
    }
    return true;
  }

  /**
   * Responder: the initiator listed its ids, so we list ours. Returns null when the whole list was
   * written, the remaining task when a cut list was written, false when not even one id fits.
   */
  private answerList(task: Task, out: MessageWriter): Task | null | false {
    const { packed } = this.set;
    const count = task.i1 - task.i0;
    if (out.size + out.rangeCost(task.lo, task.hi, varintBytes(count) + count * ID_BYTES) <= this.budget) {
      out.idList(task.lo, task.hi, packed, task.i0 * ID_BYTES, count);
      return null;
    }
    // Room for the longest possible cut bound and a 4-byte varint, then as many ids as fit.
    const room = this.budget - out.size - out.gapCost(task.lo) - MAX_BOUND_BYTES - varintBytes(MAX_VARINT);
    const fits = Math.min(count - 1, Math.floor(room / ID_BYTES));
    if (fits < 1) return false;
    const cut = this.separator(task.i0 + fits);
    out.idList(task.lo, cut, packed, task.i0 * ID_BYTES, fits);
    return { lo: cut, hi: task.hi, i0: task.i0 + fits, i1: task.i1, kind: 'list' };
  }

  /**
   * The shortest prefix of id j that is above id j − 1 (0 < j < size): the ids share k bytes, so
   * k + 1 bytes of id j; its last byte exceeds id j − 1's, so it is non-zero (canonical).
   */
  private separator(j: number): Bound {
    const { packed } = this.set;
    const a = (j - 1) * ID_BYTES;
    const b = j * ID_BYTES;
    let k = 0;
    while (k < ID_BYTES - 1 && packed[a + k] === packed[b + k]) k++;
    return { src: packed, off: b, len: k + 1 };
  }
}

/** A task whose bounds no longer point into a message buffer. */
function ownTask(task: Task): Task {
  return { lo: copyBound(task.lo), hi: copyBound(task.hi), i0: task.i0, i1: task.i1, kind: task.kind };
}

/** Merges two key-ordered, mutually disjoint task lists (disjointness is checked beforehand). */
function mergeTasks(a: Task[], b: Task[]): Task[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const merged: Task[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && compareBounds(a[i]!.lo, b[j]!.lo) < 0)) merged.push(a[i++]!);
    else merged.push(b[j++]!);
  }
  return merged;
}
