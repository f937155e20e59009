/**
 * The transport seam: one duplex channel of binary messages with preserved boundaries.
 * Implementations: Node `ws` (server and client), the browser `WebSocket` (client), and an
 * in-memory connected pair. The secure channel runs on top and never sees which one.
 */
import type { TypedEmitter } from '../shared/events.js';

export interface TransportEvents {
  [event: string]: unknown;
  /** One complete binary message from the peer. Not delivered while paused. */
  message: Uint8Array;
  /** The channel closed (by either side or an error); emitted exactly once. */
  close: { code: number; reason: string; byPeer: boolean };
}

export interface Transport {
  /** Typed events: `message` and `close`. */
  readonly events: TypedEmitter<TransportEvents>;
  /** Remote address as reported by the socket ("127.0.0.2"), or undefined when unknown (browser, memory). */
  readonly remoteAddress: string | undefined;
  /** True until `close` has been emitted. */
  readonly isOpen: boolean;
  /**
   * Bytes accepted by `send` and not yet handed to the network (the backpressure signal). A
   * transport may hold the messages of one turn of the event loop to write them together, so
   * this reflects the peer's pace once the turn has ended.
   */
  readonly bufferedAmount: number;
  /**
   * Queues one binary message. Never throws for a closed transport (the message is dropped;
   * the `close` event already told the owner). Callers bound memory with `drained`.
   * The transport may hold on to `data` until it is written: do not modify it afterwards.
   */
  send(data: Uint8Array): void;
  /** Resolves once `bufferedAmount` ≤ `lowWater` (default 0), or the transport has closed. */
  drained(lowWater?: number): Promise<void>;
  /**
   * Stops delivering messages and stops reading, so TCP backpressure reaches the sender.
   * The peer's `close` waits too: it comes after the peer's messages, on `resume()`. (A browser
   * cannot stop reading; its transport buffers instead, bounded by the protocol's own window.)
   */
  pause(): void;
  /** Resumes delivery of messages (queued ones first, in order). */
  resume(): void;
  /**
   * Closes with a WebSocket close code (1000, or 4000–4999 for Kith errors) and a short ASCII reason.
   * Emits `close` (byPeer false) before returning and drops undelivered messages; later calls do
   * nothing. Never throws: a code no browser may send goes out as INTERNAL (see closeCodes.ts).
   */
  close(code?: number, reason?: string): void;
}
