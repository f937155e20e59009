/**
 * The one listener of a Node instance: one HTTP server, a `ws` server in noServer mode
 * behind its `upgrade` handler, and the gates of gates.ts. Accepted WebSocket transports
 * go to `onAccepted` (the ConnectionsModel's router). Other HTTP requests go to an optional
 * handler (the app host serves the renderer from the same origin), or get 404.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { HostOriginPolicy, AttemptLimiter } from '../gates.js';
import { wrapWebSocket } from '../transports/wsTransport.js';
import type { Accepted } from '../Router.js';
import { KithError, toKithError, type ErrorCode } from '../../shared/errors.js';
import {
  HANDSHAKE_DEADLINE_MS, MAX_ATTEMPTS_PER_ADDRESS_PER_MINUTE, MAX_CONCURRENT_HANDSHAKES, MAX_WS_PAYLOAD,
} from '../../shared/limits.js';

/** The WebSocket endpoint path. */
export const KITH_WS_PATH = '/kith/v1';

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly extraHosts?: readonly string[];
  readonly allowedOrigins?: readonly string[];
  readonly handshakeDeadlineMs?: number;
  readonly maxConcurrentHandshakes?: number;
  readonly attemptsPerMinute?: number;
  /**
   * Also accept on 127.0.0.1 (same port) when `host` is a LAN address: the app's own page must
   * stay on loopback, the only secure context a plain-http page gets (WebCrypto and Web Locks
   * need one), while other devices reach the LAN address. One HTTP server and one router
   * handle both sockets.
   */
  readonly alsoLoopback?: boolean;
  /** Serves non-WebSocket requests (after the Host check). */
  readonly httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly now?: () => number;
}

export interface ListenerEvents {
  /** A connection was refused before the handshake (for logs and the UI). */
  refused(info: { remoteAddress: string | undefined; code: ErrorCode }): void;
}

const STATUS: Partial<Record<ErrorCode, [number, string]>> = {
  PATH_REJECTED: [404, 'Not Found'],
  HOST_REJECTED: [421, 'Misdirected Request'],
  ORIGIN_REJECTED: [403, 'Forbidden'],
  RATE_LIMITED: [429, 'Too Many Requests'],
  BUSY: [503, 'Service Unavailable'],
};

export class WsListener {
  readonly policy: HostOriginPolicy;
  private readonly wss: WebSocketServer;
  private readonly limiter: AttemptLimiter;
  /**
   * Sockets that are not (yet) sessions, each with its deadline. `refused` marks one whose handshake the
   * router already refused (and reported): it keeps its slot and deadline until the socket is gone.
   */
  private readonly pending = new Map<Socket, { timer: ReturnType<typeof setTimeout>; acceptedAt: number; refused: boolean }>();
  private readonly now: () => number;
  private readonly deadlineMs: number;
  private readonly maxConcurrent: number;

  private constructor(
    private readonly server: Server,
    readonly host: string,
    readonly port: number,
    opts: ListenerOptions,
    private readonly onAccepted: (accepted: Accepted & { release: () => void }) => void,
    private readonly onRefused: ListenerEvents['refused'],
  ) {
    this.now = opts.now ?? Date.now;
    this.deadlineMs = opts.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS;
    this.maxConcurrent = opts.maxConcurrentHandshakes ?? MAX_CONCURRENT_HANDSHAKES;
    this.policy = new HostOriginPolicy({ boundHost: host, port, extraHosts: opts.extraHosts, allowedOrigins: opts.allowedOrigins });
    this.limiter = new AttemptLimiter(opts.attemptsPerMinute ?? MAX_ATTEMPTS_PER_ADDRESS_PER_MINUTE, this.now);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_PAYLOAD, perMessageDeflate: false, clientTracking: true });
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res, opts.httpHandler));
    server.on('clientError', (_err, socket: Socket) => socket.destroy());
  }

  /** Binds and starts listening. Port 0 picks a free port. */
  static async listen(
    opts: ListenerOptions,
    onAccepted: (accepted: Accepted & { release: () => void }) => void,
    onRefused: ListenerEvents['refused'] = () => {},
  ): Promise<WsListener> {
    const deadline = opts.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS;
    const server = createServer({ requestTimeout: deadline, headersTimeout: deadline, connectionsCheckingInterval: Math.min(1000, deadline) });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => reject(new KithError('UNREACHABLE', `cannot listen on ${opts.host}:${opts.port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      server.listen(opts.port, opts.host, () => resolve());
    });
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : opts.port;
    const extra: NetServer[] = [];
    if (opts.alsoLoopback && !isLoopback(opts.host)) {
      const loop = createNetServer((socket) => server.emit('connection', socket));
      try {
        await new Promise<void>((resolve, reject) => {
          loop.once('error', (err) => reject(new KithError('UNREACHABLE', `cannot also listen on 127.0.0.1:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
          loop.listen(port, '127.0.0.1', () => resolve());
        });
      } catch (err) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        throw err;
      }
      extra.push(loop);
    }
    const listener = new WsListener(server, opts.host, port, opts, onAccepted, onRefused);
    listener.extraServers = extra;
    return listener;
  }

  private extraServers: NetServer[] = [];

  /** The WebSocket URL peers dial. */
  get url(): string {
    const host = this.host.includes(':') ? `[${this.host}]` : this.host;
    return `ws://${host}:${this.port}${KITH_WS_PATH}`;
  }

  /** Handshakes in progress (accepted sockets not yet released). */
  get inProgress(): number {
    return this.pending.size;
  }

  /** Stops listening and destroys every socket still in its handshake. Established sessions are closed by their owner. */
  async close(): Promise<void> {
    for (const [socket, { timer }] of this.pending) {
      clearTimeout(timer);
      socket.destroy();
    }
    this.pending.clear();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    await Promise.all(this.extraServers.map((x) => new Promise<void>((resolve) => x.close(() => resolve()))));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections?.();
  }

  private onConnection(socket: Socket): void {
    socket.once('close', () => this.release(socket));
    this.track(socket);
  }

  /** Starts the handshake deadline for a socket; false (socket destroyed) when at capacity. */
  private track(socket: Socket): boolean {
    if (this.pending.has(socket)) return true;
    if (this.pending.size >= this.maxConcurrent) {
      this.onRefused({ remoteAddress: socket.remoteAddress, code: 'BUSY' });
      socket.destroy();
      return false;
    }
    // The deadline runs from TCP accept: an idle or dribbling client is cut off here.
    const timer = setTimeout(() => {
      const refused = this.pending.get(socket)?.refused ?? false;
      this.pending.delete(socket);
      if (!refused) this.onRefused({ remoteAddress: socket.remoteAddress, code: 'HANDSHAKE_TIMEOUT' });
      socket.destroy();
    }, this.deadlineMs);
    this.pending.set(socket, { timer, acceptedAt: this.now(), refused: false });
    return true;
  }

  private release(socket: Socket): void {
    const entry = this.pending.get(socket);
    if (entry !== undefined) {
      clearTimeout(entry.timer);
      this.pending.delete(socket);
    }
  }

  /**
   * The router is done with an upgraded socket. A session keeps it and frees its slot; a refused
   * handshake closed it with a code, and a closing WebSocket waits WS_CLOSE_GRACE_MS for the
   * peer's answer — a peer that never answers (a slowloris mid-frame) would hold the socket past
   * the deadline, so the deadline still destroys it.
   */
  private routed(socket: Socket, transport: { readonly isOpen: boolean }): void {
    const entry = this.pending.get(socket);
    if (entry === undefined) return;
    if (transport.isOpen || socket.destroyed) this.release(socket);
    else entry.refused = true;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse, handler: ListenerOptions['httpHandler']): void {
    // Plain HTTP requests are not handshakes: they do not hold a slot.
    this.release(req.socket);
    try {
      this.policy.checkHost(req.headers.host);
    } catch {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('HOST_REJECTED');
      return;
    }
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const remoteAddress = socket.remoteAddress;
    // A keep-alive socket that served plain HTTP first gets a fresh deadline now.
    if (!this.track(socket)) return;
    try {
      const path = (req.url ?? '').split('?')[0];
      if (path !== KITH_WS_PATH) throw new KithError('PATH_REJECTED');
      this.policy.checkHost(req.headers.host);
      this.policy.checkOrigin(req.headers.origin);
      this.limiter.hit(remoteAddress ?? 'unknown');
    } catch (err) {
      const code = toKithError(err).code;
      this.onRefused({ remoteAddress, code });
      const [status, text] = STATUS[code] ?? [400, 'Bad Request'];
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nX-Kith-Error: ${code}\r\nContent-Length: ${code.length}\r\n\r\n${code}`);
      socket.destroySoon?.();
      return;
    }
    const acceptedAt = this.pending.get(socket)?.acceptedAt ?? this.now();
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const transport = wrapWebSocket(ws, remoteAddress);
      this.onAccepted({ transport, remoteAddress, acceptedAt, release: () => this.routed(socket, transport) });
    });
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host);
}
