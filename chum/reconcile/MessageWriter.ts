/**
 * Writes one outgoing reconciliation message (format in wire.ts). Ranges are added in
 * increasing order; the gaps between them become Skip ranges and a trailing gap is left out,
 * so the message stays in its one canonical form. The caller asks `rangeCost` before adding a
 * range and keeps the total within its budget; the writer refuses (INTERNAL) to pass `limit`.
 */
import { KithError } from '../../shared/errors.js';
import {
  FLAG_FROM_INITIATOR,
  FLAG_MORE,
  HEADER_BYTES,
  INFINITE_BOUND,
  MODE_FINGERPRINT,
  MODE_ID_LIST,
  MODE_SKIP,
  RECONCILE_WIRE_VERSION,
  ZERO_BOUND,
  boundBytes,
  compareBounds,
  varintBytes,
  type Bound,
} from './wire.js';

const ID_LENGTH = 32;
const FINGERPRINT_LENGTH = 16;
/** First buffer size; most messages (small differences) are a few hundred bytes. */
const INITIAL_CAPACITY = 1024;

export class MessageWriter {
  private buf: Uint8Array;
  private pos = HEADER_BYTES;
  /** Upper bound of the last range written: where the next range or Skip starts. */
  private cursor: Bound = ZERO_BOUND;
  private open = 0;

  /**
   * @param limit largest message this writer may produce (the sender's maxMessageBytes)
   * @param fromInitiator written into the flags so the receiver can check the roles
   */
  constructor(
    private readonly limit: number,
    private readonly fromInitiator: boolean,
  ) {
    this.buf = new Uint8Array(Math.min(limit, INITIAL_CAPACITY));
  }

  /** Bytes written so far, header included. */
  get size(): number {
    return this.pos;
  }

  /** Ranges written that are not Skip (each asks the receiver for an answer). */
  get openRanges(): number {
    return this.open;
  }

  /** Bytes a range [lo, hi) with `payload` bytes of payload would add, with the Skip needed to reach `lo`. */
  rangeCost(lo: Bound, hi: Bound, payload: number): number {
    return this.gapCost(lo) + boundBytes(hi) + payload;
  }

  /** Bytes of the Skip range needed before a range starting at `lo` (0 when contiguous). */
  gapCost(lo: Bound): number {
    return compareBounds(lo, this.cursor) === 0 ? 0 : boundBytes(lo);
  }

  /** Adds a Fingerprint range. */
  fingerprint(lo: Bound, hi: Bound, fp: Uint8Array): void {
    this.begin(lo, hi, MODE_FINGERPRINT, FINGERPRINT_LENGTH);
    this.buf.set(fp.subarray(0, FINGERPRINT_LENGTH), this.pos);
    this.pos += FINGERPRINT_LENGTH;
  }

  /** Adds an IdList range listing the `count` ids stored contiguously at `src[off]`. */
  idList(lo: Bound, hi: Bound, src: Uint8Array, off: number, count: number): void {
    this.begin(lo, hi, MODE_ID_LIST, varintBytes(count) + count * ID_LENGTH);
    let n = count;
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
    this.buf.set(src.subarray(off, off + count * ID_LENGTH), this.pos);
    this.pos += count * ID_LENGTH;
  }

  /** The finished message (a copy sized to fit). `more` sets FLAG_MORE. */
  finish(more: boolean): Uint8Array {
    this.buf[0] = RECONCILE_WIRE_VERSION;
    this.buf[1] = (this.fromInitiator ? FLAG_FROM_INITIATOR : 0) | (more ? FLAG_MORE : 0);
    return this.buf.slice(0, this.pos);
  }

  private begin(lo: Bound, hi: Bound, mode: number, payload: number): void {
    if (compareBounds(lo, this.cursor) < 0 || compareBounds(hi, lo) <= 0) {
      throw new KithError('INTERNAL', 'reconcile: ranges written out of order');
    }
    this.reserve(this.rangeCost(lo, hi, payload));
    if (compareBounds(lo, this.cursor) !== 0) this.range(lo, MODE_SKIP);
    this.range(hi, mode);
    this.cursor = hi;
    this.open++;
  }

  /** A range's head (mode and bound length in one byte) and its upper bound; the payload follows. */
  private range(b: Bound, mode: number): void {
    this.buf[this.pos++] = (mode << 6) | b.len;
    if (b.len === INFINITE_BOUND) return;
    this.buf.set(b.src.subarray(b.off, b.off + b.len), this.pos);
    this.pos += b.len;
  }

  private reserve(bytes: number): void {
    const need = this.pos + bytes;
    if (need > this.limit) throw new KithError('INTERNAL', `reconcile: message would exceed ${this.limit} bytes`);
    if (need <= this.buf.length) return;
    const grown = new Uint8Array(Math.min(this.limit, Math.max(need, this.buf.length * 2)));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}
