/**
 * Two Transports joined in memory: production code that integration tests of the whole stack
 * run on, so it keeps the properties of a socket the layers above rely on.
 *
 * - Delivery is asynchronous, from a macrotask (setImmediate in Node, a 0 ms timer elsewhere,
 *   or `latencyMs` later). A socket never calls back into the sender from inside `send()`,
 *   and its data arrives in a later event-loop turn, after the sender's pending promise
 *   continuations have run. Synchronous (or microtask) delivery would let a test pass only
 *   because of an ordering, or a re-entrancy into half-updated state, that no socket produces.
 * - `send()` copies: the two ends of a socket never share memory, so a sender that reuses its
 *   buffer, or a receiver that decrypts in place, behaves here as on the wire.
 * - Order and message boundaries are kept; the peer's close follows its messages.
 * - `bufferedAmount` counts the bytes this end sent that the peer has not consumed yet (in
 *   flight for `latencyMs`, or queued while the peer is paused), less `highWaterBytes` that
 *   stand for the kernel buffers which absorb a little before a real sender sees backpressure.
 * - A message over `maxMessageBytes` is refused by the receiving end, as ws's `maxPayload`
 *   does: it closes with FRAME_TOO_LARGE and the sender sees that close from its peer.
 */
import { KithError } from '../../shared/errors.js';
import { MAX_WS_PAYLOAD } from '../../shared/limits.js';
import type { Transport } from '../Transport.js';
import { closeCodeFor, normalizeClose } from '../closeCodes.js';
import { TransportCore } from './transportCore.js';
import { nextTurn } from '../../shared/nextTurn.js';

export interface ConnectedPairOptions {
  /** Delay of every message and close, one way (default 0: the next macrotask). */
  latencyMs?: number;
  /** Largest message the receiving end accepts (default MAX_WS_PAYLOAD, as the ws transports). */
  maxMessageBytes?: number;
  /** Unconsumed bytes that do not count in the sender's `bufferedAmount` (default 0). */
  highWaterBytes?: number;
}

type InFlight =
  | { kind: 'message'; due: number; data: Uint8Array }
  | { kind: 'tooLarge'; due: number }
  | { kind: 'close'; due: number; code: number; reason: string };

interface PairConfig {
  latencyMs: number;
  maxMessageBytes: number;
  highWaterBytes: number;
}

/** Two connected in-memory transports; what one sends, the other receives. */
export function createConnectedPair(opts: ConnectedPairOptions = {}): [Transport, Transport] {
  const config: PairConfig = {
    latencyMs: option(opts.latencyMs, 0, 'latencyMs'),
    maxMessageBytes: option(opts.maxMessageBytes, MAX_WS_PAYLOAD, 'maxMessageBytes'),
    highWaterBytes: option(opts.highWaterBytes, 0, 'highWaterBytes'),
  };
  const a = new MemoryTransport(config);
  const b = new MemoryTransport(config);
  a.connect(b);
  b.connect(a);
  return [a, b];
}

function option(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 0) throw new KithError('INVALID_INPUT', `${name} must be a non-negative integer`);
  return value;
}


class MemoryTransport implements Transport {
  readonly remoteAddress = undefined;
  readonly events;
  private readonly core: TransportCore;
  private peer!: MemoryTransport;
  /** What this end sent that has not reached the peer yet, in order. */
  private outbox: (InFlight | undefined)[] = [];
  private outboxHead = 0;
  private deliveryScheduled = false;
  /** Bytes this end sent that the peer has not consumed (or dropped) yet. */
  private unconsumed = 0;
  /** The peer's close reached this end (or this end's close went out): nothing more to send. */
  private closeExchanged = false;

  constructor(private readonly config: PairConfig) {
    this.core = new TransportCore({
      bufferedAmount: () => this.bufferedAmount,
      onConsumed: (bytes) => this.peer.credit(bytes),
      onClosed: (event) => this.onClosed(event.byPeer),
    });
    this.events = this.core.events;
  }

  connect(peer: MemoryTransport): void {
    this.peer = peer;
  }

  get isOpen(): boolean {
    return this.core.isOpen;
  }

  get bufferedAmount(): number {
    return Math.max(0, this.unconsumed - this.config.highWaterBytes);
  }

  send(data: Uint8Array): void {
    if (!this.core.isOpen || this.closeExchanged) return;
    if (data.byteLength > this.config.maxMessageBytes) {
      // Not copied: the receiver refuses it by its size alone, as ws does from the frame header.
      this.enqueue({ kind: 'tooLarge', due: this.dueTime() });
      return;
    }
    const copy = new Uint8Array(data);
    this.unconsumed += copy.byteLength;
    this.enqueue({ kind: 'message', due: this.dueTime(), data: copy });
  }

  drained(lowWater?: number): Promise<void> {
    return this.core.drained(lowWater);
  }

  pause(): void {
    this.core.pause();
  }

  resume(): void {
    this.core.resume();
  }

  close(code?: number, reason?: string): void {
    if (!this.core.isOpen) return;
    const close = normalizeClose(code, reason);
    this.core.closeLocally(close.code, close.reason);
    if (!this.closeExchanged) {
      this.closeExchanged = true;
      this.enqueue({ kind: 'close', due: this.dueTime(), code: close.code, reason: close.reason });
    }
  }

  /** The peer consumed (or will never consume) `bytes` this end sent. */
  private credit(bytes: number): void {
    this.unconsumed = Math.max(0, this.unconsumed - bytes);
    this.core.checkDrained();
  }

  private onClosed(byPeer: boolean): void {
    // What the peer still has in flight to this end will be dropped on arrival: the network took it.
    this.peer.unconsumed = 0;
    this.peer.core.checkDrained();
    if (byPeer) this.closeExchanged = true;
  }

  private dueTime(): number {
    return this.config.latencyMs > 0 ? performance.now() + this.config.latencyMs : 0;
  }

  private enqueue(item: InFlight): void {
    this.outbox.push(item);
    this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.deliveryScheduled || this.outboxHead >= this.outbox.length) return;
    this.deliveryScheduled = true;
    const head = this.outbox[this.outboxHead] as InFlight;
    const wait = this.config.latencyMs > 0 ? Math.ceil(head.due - performance.now()) : 0;
    if (wait > 0) setTimeout(() => this.deliverDue(), wait);
    else nextTurn(() => this.deliverDue());
  }

  private deliverDue(): void {
    this.deliveryScheduled = false;
    const now = this.config.latencyMs > 0 ? performance.now() : 0;
    while (this.outboxHead < this.outbox.length) {
      const item = this.outbox[this.outboxHead] as InFlight;
      if (item.due > now) break;
      this.outbox[this.outboxHead++] = undefined;
      this.arrive(item);
    }
    if (this.outboxHead >= this.outbox.length) {
      this.outbox = [];
      this.outboxHead = 0;
    }
    this.scheduleDelivery();
  }

  /** `item` reaches the peer: the peer's side of the wire. */
  private arrive(item: InFlight): void {
    const peer = this.peer;
    switch (item.kind) {
      case 'message':
        if (peer.core.isOpen) peer.core.receive(item.data);
        else this.credit(item.data.byteLength);
        return;
      case 'tooLarge':
        peer.close(closeCodeFor('FRAME_TOO_LARGE'), 'FRAME_TOO_LARGE');
        return;
      case 'close':
        peer.closeExchanged = true;
        peer.core.receiveClose(item.code, item.reason);
        return;
    }
  }
}
