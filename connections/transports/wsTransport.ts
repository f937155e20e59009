/**
 * The Transport over a Node `ws` WebSocket, for sockets a server accepted and for sockets
 * this process dialed.
 *
 * - Binary messages only. A text message is a protocol violation: the connection closes
 *   with FRAME_INVALID.
 * - `pause()` pauses the socket itself, so the kernel's receive buffer fills and TCP pushes
 *   back on the sender. ws still parses what it had already read; those few messages (at
 *   most one socket read) wait in the queue until `resume()`.
 * - `drained()` is driven by write-completion callbacks of our sends. Node pays a closure and a
 *   nextTick for each one, so not every send carries one: one per WS_SEND_CALLBACK_SPACING_BYTES
 *   sent, and every send while someone waits. When a waiter is left with no callback pending
 *   (the last bytes went without one, or only ws's control frames remain), `drained()` falls
 *   back to a poll backing off from DRAIN_POLL_MIN_MS to DRAIN_POLL_MAX_MS.
 * - Frames sent in one turn of the event loop leave in one socket write (see corkUntilNextTick).
 * - Received messages are plain Uint8Array views of the buffer the socket read into: no copy.
 *   ws hands over each message's bytes exactly once and never reuses that memory.
 * - ws reports every failure as an 'error' event, and an unlistened 'error' would crash the
 *   process; a listener stays attached for the socket's whole life.
 */
import { WebSocket } from 'ws';
import { KithError } from '../../shared/errors.js';
import { WS_CLOSE_GRACE_MS, WS_SEND_CALLBACK_SPACING_BYTES } from '../../shared/limits.js';
import type { Transport } from '../Transport.js';
import {
  ABNORMAL_CLOSURE,
  MESSAGE_TOO_BIG,
  closeCodeFor,
  errorCodeFromClose,
  normalizeClose,
  sanitizeCloseReason,
} from '../closeCodes.js';
import { TransportCore } from './transportCore.js';

export interface DialWebSocketOptions {
  /** The Origin header to send (the listener checks it against an allowlist). */
  origin?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** Largest message accepted from the server (pass MAX_WS_PAYLOAD unless there is a reason). */
  maxPayload: number;
  /** Time allowed from dialing to an open WebSocket. */
  handshakeTimeoutMs: number;
  /** Local address to bind the socket to. */
  localAddress?: string;
  /** Gives up (socket destroyed, rejects with CLOSED) when this aborts before the WebSocket is open. */
  signal?: AbortSignal;
}

/**
 * Wraps an open `ws` WebSocket (accepted by a server or dialed) as a Transport. `remoteAddress`
 * is what the owner read from the HTTP request's socket; ws does not expose it. A server must be
 * created with `maxPayload: MAX_WS_PAYLOAD` and `perMessageDeflate: false`: the size limit has
 * to act on the frame header, before ws buffers anything, which only ws itself can do.
 */
export function wrapWebSocket(ws: WebSocket, remoteAddress?: string): Transport {
  if (ws.readyState === WebSocket.CONNECTING) throw new KithError('INVALID_INPUT', 'the WebSocket is not open yet');
  return new WsTransport(ws, remoteAddress);
}

/**
 * Dials `url` and resolves with the Transport once the WebSocket is open. Rejects with
 * UNREACHABLE (the cause in the message, without the URL's query or fragment) when the
 * connection fails or times out, INVALID_INPUT for a URL that is not ws:// or wss://.
 */
export function dialWebSocket(url: string, opts: DialWebSocketOptions): Promise<Transport> {
  const where = describeEndpoint(url);
  if (where === undefined) return Promise.reject(new KithError('INVALID_INPUT', 'not a ws:// or wss:// URL'));
  if (!Number.isSafeInteger(opts.maxPayload) || opts.maxPayload <= 0) {
    return Promise.reject(new KithError('INVALID_INPUT', 'maxPayload must be a positive integer'));
  }
  if (!Number.isSafeInteger(opts.handshakeTimeoutMs) || opts.handshakeTimeoutMs <= 0) {
    return Promise.reject(new KithError('INVALID_INPUT', 'handshakeTimeoutMs must be a positive integer'));
  }
  if (opts.signal?.aborted) return Promise.reject(new KithError('CLOSED', 'dial aborted'));
  const hidden = hiddenParts(url);
  return new Promise((resolve, reject) => {
    // closeTimeout is missing from @types/ws; the transport's grace timer covers a ws without it.
    const options: WebSocket.ClientOptions & { closeTimeout: number } = {
      origin: opts.origin,
      headers: opts.headers,
      maxPayload: opts.maxPayload,
      handshakeTimeout: opts.handshakeTimeoutMs,
      localAddress: opts.localAddress,
      perMessageDeflate: false,
      followRedirects: false,
      closeTimeout: WS_CLOSE_GRACE_MS,
    };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, options);
    } catch {
      // ws's own message would repeat the whole URL.
      reject(new KithError('INVALID_INPUT', `cannot dial ${where}: invalid URL or options`));
      return;
    }
    let settled = false;
    let remote: string | undefined;
    const fail = (why: string, code: 'UNREACHABLE' | 'CLOSED' = 'UNREACHABLE'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      ws.terminate();
      let message = why;
      for (const part of hidden) message = message.split(part).join('');
      reject(new KithError(code, code === 'CLOSED' ? `dial of ${where} aborted` : `cannot reach ${where}: ${message}`));
    };
    const onAbort = (): void => fail('aborted', 'CLOSED');
    opts.signal?.addEventListener('abort', onAbort);
    // ws's handshakeTimeout is an idle timeout; this bounds the whole opening handshake.
    const timer = setTimeout(() => fail(`no open WebSocket within ${opts.handshakeTimeoutMs} ms`), opts.handshakeTimeoutMs);
    const onError = (err: Error): void => fail(err.message);
    const onUpgrade = (res: { socket: { remoteAddress?: string } }): void => {
      remote = res.socket.remoteAddress;
    };
    ws.on('error', onError);
    ws.on('upgrade', onUpgrade);
    ws.once('open', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      const transport = new WsTransport(ws, remote);
      // The transport's own 'error' listener is attached; the dial-time one can go.
      ws.off('error', onError);
      ws.off('upgrade', onUpgrade);
      resolve(transport);
    });
  });
}

/** `ws://host:port/path` without credentials, query or fragment, or undefined if `url` is not ws/wss. */
function describeEndpoint(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') return undefined;
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}

/** Parts of `url` that must not be echoed in an error message (ws's own messages do not, but ws may change). */
function hiddenParts(url: string): string[] {
  const parsed = new URL(url);
  return [parsed.search, parsed.hash, parsed.password].filter((part) => part.length > 0);
}

/** ws's protocol-violation error codes and the close status ws sent for them. */
function statusForWsError(code: string): number {
  switch (code) {
    case 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH':
    case 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH':
      return MESSAGE_TOO_BIG;
    case 'WS_ERR_INVALID_UTF8':
      return 1007;
    case 'WS_ERR_TOO_MANY_BUFFERED_PARTS':
      return 1008;
    default:
      return 1002;
  }
}

class WsTransport implements Transport {
  readonly events;
  private readonly core: TransportCore;
  /** Our sends with a completion callback that has not run yet. */
  private pendingSends = 0;
  /** Bytes sent without a callback since the last send that had one. */
  private untrackedBytes = 0;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ws: WebSocket,
    readonly remoteAddress: string | undefined,
  ) {
    this.core = new TransportCore({ bufferedAmount: () => this.bufferedAmount });
    this.events = this.core.events;
    ws.binaryType = 'nodebuffer';
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
    ws.on('error', this.onError);
    // ws emits what arrived with the handshake from process.nextTick, before an owner that
    // awaited this transport has subscribed.
    this.core.holdUntilNextTurn();
    if (ws.readyState === WebSocket.CLOSED) {
      // Its 'close' has already been emitted; the hold delivers this one after the owner subscribed.
      this.core.receiveClose(ABNORMAL_CLOSURE, '');
    }
  }

  get isOpen(): boolean {
    return this.core.isOpen;
  }

  /** ws's count: the socket's write queue (frame headers and ws's few control frames included). */
  get bufferedAmount(): number {
    // Once the socket is gone nothing more will leave; a peer close held by pause() must not strand waiters.
    return this.ws.readyState === WebSocket.CLOSED ? 0 : this.ws.bufferedAmount;
  }

  send(data: Uint8Array): void {
    if (!this.core.isOpen || this.ws.readyState !== WebSocket.OPEN) return;
    this.corkUntilNextTick();
    try {
      if (this.untrackedBytes < WS_SEND_CALLBACK_SPACING_BYTES && !this.core.hasDrainWaiters) {
        this.untrackedBytes += data.byteLength;
        this.ws.send(data);
      } else {
        this.pendingSends++;
        this.untrackedBytes = 0;
        this.ws.send(data, this.onSent);
      }
    } catch {
      // Only a value ws cannot send gets here; the owner broke the contract, the peer did not.
      this.close(closeCodeFor('INTERNAL'), 'INTERNAL');
    }
  }

  drained(lowWater?: number): Promise<void> {
    const done = this.core.drained(lowWater);
    // No callback of ours is pending, so none will report the queue shrinking.
    if (this.pendingSends === 0) this.core.pollDrained(this.noCallbackPending);
    return done;
  }

  pause(): void {
    // The core first: ws may still emit messages it had parsed, and they must be queued.
    this.core.pause();
    if (this.core.isOpen) this.ws.pause();
  }

  resume(): void {
    if (!this.core.isOpen) return;
    this.ws.resume();
    this.core.resume();
  }

  close(code?: number, reason?: string): void {
    if (!this.core.isOpen) return;
    const close = normalizeClose(code, reason);
    try {
      this.ws.close(close.code, close.reason);
      // A paused socket would never read the peer's answering close frame; what else it reads is dropped.
      if (this.ws.isPaused) this.ws.resume();
    } catch {
      this.ws.terminate();
    }
    this.startGrace();
    this.core.closeLocally(close.code, close.reason);
  }

  /**
   * Every frame sent in one turn of the event loop leaves in one socket write: ws writes each
   * frame (header and payload) as it is sent, and a 64 KiB application message is two Noise
   * frames, so without this a sender paid two or more writev calls (and the receiver two or
   * more wake-ups) per message. The socket is corked on the turn's first send and uncorked on
   * the next tick, as Node's documentation suggests for batching writes; ws corks around each
   * of its own frames too, and corks nest. `_socket` is ws's own field (stable across ws 8);
   * without it frames simply go out one by one.
   */
  private corked = false;

  private corkUntilNextTick(): void {
    if (this.corked) return;
    const socket = (this.ws as unknown as { _socket?: { cork(): void; uncork(): void; destroyed?: boolean } })._socket;
    if (socket === undefined || socket.destroyed) return;
    socket.cork();
    this.corked = true;
    process.nextTick(() => {
      this.corked = false;
      socket.uncork();
    });
  }

  private readonly onSent = (): void => {
    this.pendingSends--;
    this.core.checkDrained();
    // Still waiting with nothing of ours left to call back: what remains was sent without one.
    if (this.pendingSends === 0) this.core.pollDrained(this.noCallbackPending);
  };

  private readonly noCallbackPending = (): boolean => this.pendingSends === 0;

  private readonly onMessage = (data: WebSocket.RawData, isBinary: boolean): void => {
    if (!isBinary) {
      this.close(closeCodeFor('FRAME_INVALID'), 'FRAME_INVALID');
      return;
    }
    const buffer = data as Buffer; // binaryType 'nodebuffer': always one Buffer
    this.core.receive(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
  };

  private readonly onClose = (code: number, reason: Buffer): void => {
    clearTimeout(this.graceTimer);
    this.core.receiveClose(code, sanitizeCloseReason(reason.toString('utf8')));
    this.core.checkDrained();
  };

  private readonly onError = (err: Error): void => {
    const code = (err as { code?: unknown }).code;
    // Socket errors (ECONNRESET, EPIPE, …) are followed by 'close' with 1006: the peer vanished.
    if (typeof code !== 'string' || !code.startsWith('WS_ERR_')) return;
    // A frame broke the protocol (too large, bad opcode, …); ws has sent a close with its status.
    const status = statusForWsError(code);
    this.startGrace();
    this.core.closeLocally(status, errorCodeFromClose(status, '') ?? 'PROTOCOL_ERROR');
  };

  /** ws waits up to 30 s for the peer's close frame; a peer that never sends one loses the socket sooner. */
  private startGrace(): void {
    if (this.graceTimer !== undefined || this.ws.readyState === WebSocket.CLOSED) return;
    this.graceTimer = setTimeout(() => this.ws.terminate(), WS_CLOSE_GRACE_MS);
    this.graceTimer.unref?.();
  }
}
