/**
 * The Transport over the standard browser WebSocket API (the renderer and any web page).
 * Only that API is used — no Node modules — so the same file runs in a browser and, with
 * ws's browser-compatible class passed as `WebSocketImpl`, under Node in tests.
 *
 * - Binary messages only (binaryType 'arraybuffer'); a text message, or one over
 *   `maxPayload`, closes the connection with FRAME_INVALID / FRAME_TOO_LARGE.
 * - A browser cannot stop reading a WebSocket, so `pause()` cannot reach the sender through
 *   TCP: messages that arrive while paused are kept in memory, in order, and delivered on
 *   `resume()`. What bounds that memory is the protocol above: CHUM lets a peer have only
 *   SYNC_WINDOW_BATCHES unacknowledged batches (and BLOB_WINDOW_CHUNKS chunks) in flight, and
 *   a session acknowledges only what its consumer took.
 * - There is no drain event: `drained()` polls `bufferedAmount`, starting at
 *   DRAIN_POLL_MIN_MS and doubling up to DRAIN_POLL_MAX_MS.
 * - The browser gives no reason when a connection fails (by design, against port scanning),
 *   so a failed dial says only that it failed and with which close code.
 */
import { KithError } from '../../shared/errors.js';
import { MAX_WS_PAYLOAD } from '../../shared/limits.js';
import type { Transport } from '../Transport.js';
import { closeCodeFor, normalizeClose, sanitizeCloseReason } from '../closeCodes.js';
import { TransportCore } from './transportCore.js';

export interface BrowserDialOptions {
  /** The WebSocket class to use (default: the global one). */
  WebSocketImpl?: typeof WebSocket;
  /** Time allowed from dialing to an open WebSocket. */
  timeoutMs: number;
  /** Largest message accepted (default MAX_WS_PAYLOAD, as the Node transport's `maxPayload`). */
  maxPayload?: number;
}

/** The `readyState` values of the standard API (read as numbers: an injected class may lack the statics). */
const OPEN = 1;
const CLOSED = 3;

/**
 * Dials `url` and resolves with the Transport once the WebSocket is open. Rejects with
 * UNREACHABLE when the connection fails or does not open within `timeoutMs`, INVALID_INPUT
 * for a URL that is not ws:// or wss://. Messages never repeat the URL's query or fragment.
 */
export function dialBrowserWebSocket(url: string, opts: BrowserDialOptions): Promise<Transport> {
  const Impl = opts.WebSocketImpl ?? globalThis.WebSocket;
  const where = describeEndpoint(url);
  if (where === undefined) return Promise.reject(new KithError('INVALID_INPUT', 'not a ws:// or wss:// URL'));
  if (typeof Impl !== 'function') return Promise.reject(new KithError('INTERNAL', 'no WebSocket implementation available'));
  if (!Number.isSafeInteger(opts.timeoutMs) || opts.timeoutMs <= 0) {
    return Promise.reject(new KithError('INVALID_INPUT', 'timeoutMs must be a positive integer'));
  }
  const maxPayload = opts.maxPayload ?? MAX_WS_PAYLOAD;
  if (!Number.isSafeInteger(maxPayload) || maxPayload <= 0) {
    return Promise.reject(new KithError('INVALID_INPUT', 'maxPayload must be a positive integer'));
  }
  return new Promise((resolve, reject) => {
    let socket: WebSocket;
    try {
      socket = new Impl(url);
    } catch {
      reject(new KithError('INVALID_INPUT', `cannot dial ${where}: invalid URL`));
      return;
    }
    socket.binaryType = 'arraybuffer';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try {
        socket.close();
      } catch {
        // Closing a socket that never opened cannot fail in a way that matters here.
      }
      reject(new KithError('UNREACHABLE', `cannot reach ${where}: ${why}`));
    };
    const timer = setTimeout(() => fail(`no open WebSocket within ${opts.timeoutMs} ms`), opts.timeoutMs);
    // Also required under Node: ws's class throws an 'error' nobody listens to.
    socket.onerror = () => undefined;
    socket.onclose = (event) => fail(`the connection failed (close code ${event.code})`);
    socket.onopen = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(new BrowserWebSocketTransport(socket, maxPayload));
    };
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

function isArrayBuffer(value: unknown): value is ArrayBuffer {
  return value instanceof ArrayBuffer || Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}

class BrowserWebSocketTransport implements Transport {
  readonly remoteAddress = undefined;
  readonly events;
  private readonly core: TransportCore;

  constructor(
    private readonly socket: WebSocket,
    private readonly maxPayload: number,
  ) {
    this.core = new TransportCore({ bufferedAmount: () => this.bufferedAmount });
    this.events = this.core.events;
    // Browsers queue each event as its own task, so this only matters for Node implementations
    // of the API (ws's class), which emit from process.nextTick before the awaiting owner subscribes.
    this.core.holdUntilNextTurn();
    socket.onmessage = (event) => this.onMessage(event.data);
    socket.onclose = (event) => this.core.receiveClose(event.code, sanitizeCloseReason(event.reason));
    // A failure is always followed by 'close' (code 1006), which is what the owner hears.
    socket.onerror = () => undefined;
  }

  get isOpen(): boolean {
    return this.core.isOpen;
  }

  get bufferedAmount(): number {
    // Per the standard, bufferedAmount keeps counting after close; nothing will leave any more.
    return this.socket.readyState === CLOSED ? 0 : this.socket.bufferedAmount;
  }

  send(data: Uint8Array): void {
    if (!this.core.isOpen || this.socket.readyState !== OPEN) return;
    try {
      this.socket.send(data);
    } catch {
      // e.g. a view of a SharedArrayBuffer, which browsers refuse: the owner's bug, not the peer's.
      this.close(closeCodeFor('INTERNAL'), 'INTERNAL');
    }
  }

  drained(lowWater?: number): Promise<void> {
    const done = this.core.drained(lowWater);
    this.core.pollDrained();
    return done;
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
    try {
      this.socket.close(close.code, close.reason);
    } catch {
      // normalizeClose only yields what the standard accepts; nothing else to do if it still throws.
    }
    this.core.closeLocally(close.code, close.reason);
  }

  private onMessage(data: unknown): void {
    if (!isArrayBuffer(data)) {
      this.close(closeCodeFor('FRAME_INVALID'), 'FRAME_INVALID');
      return;
    }
    if (data.byteLength > this.maxPayload) {
      this.close(closeCodeFor('FRAME_TOO_LARGE'), 'FRAME_TOO_LARGE');
      return;
    }
    this.core.receive(new Uint8Array(data));
  }
}
