/**
 * The part of a Transport every implementation shares: the typed events, `close` exactly
 * once, the queue that holds messages while paused, and the `drained()` waiters. Each
 * transport feeds it what its socket delivers and says when the send buffer shrank; the
 * rules that make the three transports behave alike live here, once.
 *
 * Ordering rule: the peer's close comes after the peer's messages. While paused, nothing
 * from the peer is delivered, not even its close (a paused ws socket does not read the close
 * frame either); `resume()` delivers the queue, then the close. A close the owner makes
 * itself, or the transport makes on a protocol violation, is emitted at once and drops
 * whatever is queued.
 */
import { TypedEmitter } from '../../shared/events.js';
import { DRAIN_POLL_MAX_MS, DRAIN_POLL_MIN_MS } from '../../shared/limits.js';
import type { TransportEvents } from '../Transport.js';
import { nextTurn } from '../../shared/nextTurn.js';

type CloseEvent = TransportEvents['close'];

/** Delivered slots at the head of the queue before it is compacted (a slice costs a copy; do it rarely). */
const COMPACT_AFTER = 1024;

export interface TransportCoreHooks {
  /** The transport's current `bufferedAmount`; read by `drained()` and `checkDrained()`. */
  bufferedAmount(): number;
  /** Called after a message reached the owner's listeners (the memory pair counts consumed bytes). */
  onConsumed?(bytes: number): void;
  /** Called once, just before `close` is emitted (cancel timers, tell a peer). */
  onClosed?(event: CloseEvent): void;
}

interface DrainWaiter {
  lowWater: number;
  resolve: () => void;
}

export class TransportCore {
  /** The events the owning Transport exposes as its own. */
  readonly events = new TypedEmitter<TransportEvents>();
  private queue: (Uint8Array | undefined)[] = [];
  private head = 0;
  private heldClose: CloseEvent | undefined;
  private paused = false;
  /** Set by the transport itself, independently of the owner's pause (see `holdUntilNextTurn`). */
  private held = false;
  private closed = false;
  private flushScheduled = false;
  private waiters: DrainWaiter[] = [];
  private pollTimer: ReturnType<typeof setTimeout> | undefined;
  private pollDelay = DRAIN_POLL_MIN_MS;

  constructor(private readonly hooks: TransportCoreHooks) {}

  /** True until `close` has been emitted. */
  get isOpen(): boolean {
    return !this.closed;
  }

  /** True between `pause()` and `resume()`. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** True while someone waits in `drained()`; lets hot paths skip `checkDrained()` cheaply. */
  get hasDrainWaiters(): boolean {
    return this.waiters.length > 0;
  }

  /** One message from the peer: delivered now, or queued behind earlier ones while paused. */
  receive(message: Uint8Array): void {
    if (this.closed || this.heldClose) return;
    if (this.paused || this.held || this.head < this.queue.length) {
      this.queue.push(message);
      return;
    }
    this.deliver(message);
  }

  /** The peer closed, or the connection dropped: emitted after the queued messages. */
  receiveClose(code: number, reason: string): void {
    if (this.closed || this.heldClose) return;
    const event = { code, reason, byPeer: true };
    if (this.paused || this.held || this.head < this.queue.length) this.heldClose = event;
    else this.finish(event);
  }

  /** The owner (or the transport on its behalf) closed: emitted now. False if already closed. */
  closeLocally(code: number, reason: string): boolean {
    if (this.closed) return false;
    this.finish({ code, reason, byPeer: false });
    return true;
  }

  /** Stops delivery; what arrives is queued. */
  pause(): void {
    if (!this.closed) this.paused = true;
  }

  /**
   * Restarts delivery. The queue is flushed from a microtask, not inside `resume()`, so an
   * owner that resumes from its own code is not re-entered before `resume()` returns.
   */
  resume(): void {
    if (this.closed || !this.paused) return;
    this.paused = false;
    this.scheduleFlush();
  }

  /**
   * Holds delivery until a later macrotask. A transport that is handed over through a promise
   * (a dial) calls this: the owner subscribes in a promise continuation, and Node may deliver
   * socket data (via process.nextTick) before that continuation runs; held, nothing is lost.
   */
  holdUntilNextTurn(): void {
    if (this.closed) return;
    this.held = true;
    const release = (): void => {
      this.held = false;
      this.scheduleFlush();
    };
    nextTurn(release);
  }

  /** Resolves once `bufferedAmount ≤ lowWater` or the transport has closed. */
  drained(lowWater = 0): Promise<void> {
    const bound = Number.isFinite(lowWater) && lowWater > 0 ? lowWater : 0;
    if (this.closed || this.hooks.bufferedAmount() <= bound) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ lowWater: bound, resolve }));
  }

  /** Re-reads `bufferedAmount` and releases the waiters it satisfies; call when the send buffer shrank. */
  checkDrained(): void {
    if (this.waiters.length === 0) return;
    const amount = this.hooks.bufferedAmount();
    const waiting: DrainWaiter[] = [];
    for (const waiter of this.waiters) {
      if (amount <= waiter.lowWater) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  /**
   * For when nothing will call `checkDrained()`: re-checks on a timer, backing off from
   * DRAIN_POLL_MIN_MS to DRAIN_POLL_MAX_MS, until no one waits (or `keepPolling` says a
   * callback has taken over). Idempotent while a poll is scheduled.
   */
  pollDrained(keepPolling: () => boolean = () => true): void {
    if (this.pollTimer !== undefined || this.waiters.length === 0) return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.checkDrained();
      if (this.waiters.length === 0 || !keepPolling()) {
        this.pollDelay = DRAIN_POLL_MIN_MS;
        return;
      }
      this.pollDelay = Math.min(this.pollDelay * 2, DRAIN_POLL_MAX_MS);
      this.pollDrained(keepPolling);
    }, this.pollDelay);
  }

  private deliver(message: Uint8Array): void {
    this.events.emit('message', message);
    this.hooks.onConsumed?.(message.byteLength);
  }

  private scheduleFlush(): void {
    if (this.paused || this.held || this.flushScheduled) return;
    if (this.head < this.queue.length || this.heldClose) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    // A listener may pause, close, or cause more messages to be queued; re-check every turn.
    while (!this.paused && !this.held && !this.closed && this.head < this.queue.length) {
      const message = this.queue[this.head] as Uint8Array;
      this.queue[this.head++] = undefined;
      this.deliver(message);
    }
    if (this.head >= this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > COMPACT_AFTER && this.head * 2 > this.queue.length) {
      // Paused again mid-flush: drop the delivered slots so the array does not keep growing.
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (!this.paused && !this.held && !this.closed && this.heldClose && this.head === this.queue.length) this.finish(this.heldClose);
  }

  private finish(event: CloseEvent): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.heldClose = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
    clearTimeout(this.pollTimer);
    this.pollTimer = undefined;
    this.hooks.onClosed?.(event);
    this.events.emit('close', event);
  }
}
