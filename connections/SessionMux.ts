/**
 * Several protocols on one secure session, told apart by the first byte of each message:
 * CHUM uses 0x10–0x1f, the companion protocol (renderer ↔ main) 0x30–0x3f, and applications
 * may claim ranges from 0x40. A message for a protocol nobody registered closes the session
 * with PROTOCOL_ERROR; messages for a registered protocol that has no handler yet are queued
 * (bounded), so nothing is lost between the handshake and the protocols starting. A queue is
 * handed to its handler the way the session delivers: one message at a time, in order, a throw
 * or rejection closing the session with the error's code, nothing once the session closed.
 */
import type { SecureSession, CloseCode, MessageParts } from './SecureSession.js';
import { KithError, toKithError } from '../shared/errors.js';
import { MUX_QUEUE_MESSAGES } from '../shared/limits.js';

/** A protocol's view of the session: what CHUM's SyncSession and the companion RPC need. */
export interface MessageChannel {
  /** Sends one message, whole or in parts (see SecureSession.send). */
  send(message: Uint8Array | MessageParts): Promise<void>;
  setHandler(handler: ((message: Uint8Array) => void | Promise<void>) | undefined): void;
  close(code?: CloseCode, message?: string): void;
  readonly closed: Promise<unknown>;
}

interface Route {
  readonly first: number;
  readonly last: number;
  handler: ((message: Uint8Array) => void | Promise<void>) | undefined;
  readonly queue: Uint8Array[];
  /** While a new handler works through the queue: messages that arrive meanwhile wait behind it. */
  draining: Promise<void> | undefined;
}

export class SessionMux {
  private readonly routes: Route[] = [];

  constructor(private readonly session: SecureSession) {
    session.setHandler((message) => this.dispatch(message));
  }

  /** Claims message types `first`..`last` (inclusive) and returns the channel for them. */
  channel(first: number, last: number): MessageChannel {
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || last > 0xff || first > last) {
      throw new KithError('INVALID_INPUT', 'a protocol claims a range of message types within 0..255');
    }
    if (this.routes.some((r) => first <= r.last && r.first <= last)) throw new KithError('ALREADY_EXISTS', 'message types already claimed');
    const route: Route = { first, last, handler: undefined, queue: [], draining: undefined };
    this.routes.push(route);
    const session = this.session;
    return {
      send: (m) => session.send(m),
      setHandler: (h) => {
        route.handler = h;
        if (h && route.queue.length > 0 && !route.draining) route.draining = this.drain(route);
      },
      close: (code, message) => session.close(code, message),
      closed: session.closed,
    };
  }

  private dispatch(message: Uint8Array): void | Promise<void> {
    const type = message[0];
    const route = type === undefined ? undefined : this.routes.find((r) => type >= r.first && type <= r.last);
    if (!route) throw new KithError('PROTOCOL_ERROR', `no protocol for message type ${type}`);
    if (route.handler && !route.draining) return route.handler(message);
    if (!route.handler && route.queue.length >= MUX_QUEUE_MESSAGES) throw new KithError('PROTOCOL_ERROR', 'too many messages before the protocol started');
    route.queue.push(message);
    // While the queue drains the session waits for it (this message included): backpressure holds.
    return route.draining;
  }

  /**
   * Hands a route's queue to its new handler. Started from `setHandler`, so nobody awaits it:
   * a throw or rejection must not escape (an unhandled rejection ends a Node process) and
   * closes the session with the error's code instead, as the session does for its own handler.
   */
  private async drain(route: Route): Promise<void> {
    // Like the session: delivery starts on a microtask, so whoever sets the handler can finish wiring first.
    await Promise.resolve();
    try {
      while (route.handler && route.queue.length > 0 && !this.session.isClosed) {
        try {
          await route.handler(route.queue.shift()!);
        } catch (err) {
          const e = toKithError(err, 'PROTOCOL_ERROR');
          this.session.close(e.code, e.message);
        }
      }
      // A closed session delivers nothing more; what waited goes down with it.
      if (this.session.isClosed) route.queue.length = 0;
    } finally {
      route.draining = undefined;
    }
  }
}

/** Message type ranges of Kith's own protocols. */
export const PROTOCOL_RANGES = {
  chum: [0x10, 0x1f],
  companion: [0x30, 0x3f],
} as const;
