/**
 * The dialer (DESIGN §5): keeps one connection to every known peer that has endpoints.
 * Failed attempts back off exponentially from 1 s to 60 s with "equal jitter" (half fixed,
 * half random), so a crowd of peers that lost the same node do not all return at once.
 * A peer that is connected (in either direction) is not dialed. `stop()` clears every timer
 * and aborts attempts in flight (their sockets close at once), leaving nothing behind.
 */
import type { ConnectionsModel } from './ConnectionsModel.js';
import type { PeerRef } from './Router.js';
import { toKithError, type ErrorCode } from '../shared/errors.js';
import { compareBytes, toHex } from '../shared/bytes.js';
import { DIAL_BACKOFF_MAX_MS, DIAL_BACKOFF_MIN_MS } from '../shared/limits.js';

export interface DialTarget {
  readonly peer: PeerRef;
  /** Endpoint URLs in order of preference. */
  readonly endpoints: readonly string[];
}

export interface DialerOptions {
  readonly model: ConnectionsModel;
  /** The current set of peers to keep connected (contacts with endpoints, not revoked). */
  readonly targets: () => Iterable<DialTarget>;
  readonly backoffMinMs?: number;
  readonly backoffMaxMs?: number;
  /** Randomness for jitter, in [0, 1). */
  readonly random?: () => number;
  /**
   * Our static key. When both sides lost a session, the one with the smaller key redials
   * first and the other waits one more backoff step, so they rarely race into duplicate
   * connections (each wastes a sync window before the tie-break closes it). The follower
   * still dials: the peer may not be able to reach it.
   */
  readonly localStaticKey?: Uint8Array;
}

export interface DialStatus {
  readonly state: 'connected' | 'connecting' | 'waiting' | 'idle';
  readonly failures: number;
  readonly nextAttemptAt?: number;
  readonly lastError?: ErrorCode;
}

interface PeerState {
  failures: number;
  timer?: ReturnType<typeof setTimeout>;
  nextAttemptAt?: number;
  attempt?: Promise<void>;
  lastError?: ErrorCode;
}

export class Dialer {
  private readonly states = new Map<string, PeerState>();
  private running = false;
  /** Aborted by `stop()`: every attempt of this run passes its signal to the model. */
  private abort = new AbortController();
  private offClosed: (() => void) | undefined;
  private readonly min: number;
  private readonly max: number;
  private readonly random: () => number;

  constructor(private readonly opts: DialerOptions) {
    this.min = opts.backoffMinMs ?? DIAL_BACKOFF_MIN_MS;
    this.max = opts.backoffMaxMs ?? DIAL_BACKOFF_MAX_MS;
    this.random = opts.random ?? Math.random;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.offClosed = this.opts.model.events.on('closed', (c) => {
      if (!c.stillConnected) this.schedule(toHex(c.peer.staticKey), this.redialDelay(c.peer.staticKey));
    });
    this.refresh(true);
  }

  /**
   * Re-reads the targets and forgets removed ones. At start, disconnected peers are dialed
   * at once; a target added later (a contact just paired) waits one backoff step first, so
   * the session its pairing left open is adopted instead of raced by a second connection.
   */
  refresh(immediately = false): void {
    if (!this.running) return;
    const seen = new Set<string>();
    for (const target of this.opts.targets()) {
      const key = toHex(target.peer.staticKey);
      seen.add(key);
      const state = this.state(key);
      if (state.attempt || state.timer || this.opts.model.sessionFor(target.peer.staticKey)) continue;
      if (immediately) this.dial(key);
      else this.schedule(key, this.redialDelay(target.peer.staticKey));
    }
    for (const [key, state] of this.states) {
      if (!seen.has(key)) {
        if (state.timer) clearTimeout(state.timer);
        this.states.delete(key);
      }
    }
  }

  /** Where the dialer stands with one peer. */
  status(staticKey: Uint8Array): DialStatus {
    if (this.opts.model.sessionFor(staticKey)) return { state: 'connected', failures: 0 };
    const s = this.states.get(toHex(staticKey));
    if (!s) return { state: 'idle', failures: 0 };
    return {
      state: s.attempt ? 'connecting' : s.timer ? 'waiting' : 'idle',
      failures: s.failures,
      nextAttemptAt: s.nextAttemptAt,
      lastError: s.lastError,
    };
  }

  /** Stops dialing: clears every timer, aborts attempts in flight and waits until they have let go. */
  async stop(): Promise<void> {
    this.running = false;
    this.offClosed?.();
    this.abort.abort();
    const attempts: Promise<void>[] = [];
    for (const state of this.states.values()) {
      if (state.timer) clearTimeout(state.timer);
      state.timer = undefined;
      if (state.attempt) attempts.push(state.attempt);
    }
    await Promise.all(attempts);
    this.states.clear();
  }

  /** Backoff before attempt number `failures + 1`. */
  private delay(failures: number): number {
    const base = Math.min(this.max, this.min * 2 ** Math.min(failures, 30));
    return base / 2 + this.random() * (base / 2);
  }

  /** First delay before redialing a peer: one backoff step, plus one more for the follower. */
  private redialDelay(peerKey: Uint8Array): number {
    const follower = this.opts.localStaticKey !== undefined && compareBytes(this.opts.localStaticKey, peerKey) > 0;
    return this.delay(0) + (follower ? this.min : 0);
  }

  private state(key: string): PeerState {
    let s = this.states.get(key);
    if (!s) this.states.set(key, (s = { failures: 0 }));
    return s;
  }

  private target(key: string): { peer: PeerRef; endpoints: readonly string[] } | undefined {
    for (const t of this.opts.targets()) if (toHex(t.peer.staticKey) === key) return t;
    return undefined;
  }

  private schedule(key: string, ms: number): void {
    if (!this.running) return;
    const state = this.state(key);
    if (state.timer || state.attempt) return;
    state.nextAttemptAt = Date.now() + ms;
    state.timer = setTimeout(() => {
      state.timer = undefined;
      state.nextAttemptAt = undefined;
      this.dial(key);
    }, ms);
    (state.timer as { unref?: () => void }).unref?.();
  }

  private dial(key: string): void {
    if (!this.running) return;
    const target = this.target(key);
    const state = this.state(key);
    if (!target || target.endpoints.length === 0 || this.opts.model.sessionFor(target.peer.staticKey)) return;
    const signal = this.abort.signal;
    state.attempt = (async () => {
      for (const url of target.endpoints) {
        if (!this.running) return;
        try {
          await this.opts.model.connect(url, target.peer, signal);
          state.failures = 0;
          state.lastError = undefined;
          return;
        } catch (err) {
          state.lastError = toKithError(err).code;
        }
      }
      state.failures++;
    })().finally(() => {
      state.attempt = undefined;
      if (this.running && !this.opts.model.sessionFor(target.peer.staticKey)) this.schedule(key, this.delay(state.failures));
    });
  }
}
