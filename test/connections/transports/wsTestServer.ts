/**
 * A loopback WebSocket server for transport tests, shaped like the ConnectionsModel's
 * listener: an http server on 127.0.0.1 port 0 and a ws server in noServer mode with
 * `maxPayload`, upgraded by hand. Each connection is found by its path, so tests never race
 * on "the next connection". Paths starting with /reject get a 403; /hang never answers.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { wrapWebSocket } from '../../../connections/transports/wsTransport.js';
import type { Transport } from '../../../connections/Transport.js';
import { MAX_WS_PAYLOAD } from '../../../shared/limits.js';

export interface Accepted {
  transport: Transport;
  /** The raw ws object, for tests that break the connection underneath the transport. */
  ws: WebSocket;
  request: IncomingMessage;
}

export interface WsTestServer {
  readonly port: number;
  /** `ws://127.0.0.1:PORT/path`. */
  url(path: string): string;
  /** A fresh path nobody has used yet. */
  freshPath(): string;
  /** The server side of the connection made to `path` (resolves once it is upgraded). */
  accepted(path: string): Promise<Accepted>;
  /** Raw sockets of every connection, upgraded or not (for killing the server mid-stream). */
  readonly sockets: Set<Socket>;
  close(): Promise<void>;
}

export async function startWsTestServer(opts: { maxPayload?: number } = {}): Promise<WsTestServer> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxPayload ?? MAX_WS_PAYLOAD, perMessageDeflate: false });
  const http = createServer((_req, res) => res.writeHead(404).end());
  const sockets = new Set<Socket>();
  const ready = new Map<string, Accepted>();
  const waiting = new Map<string, (accepted: Accepted) => void>();
  let counter = 0;

  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => undefined); // a peer that resets mid-upgrade is not a test failure
    const path = request.url ?? '/';
    if (path.startsWith('/reject')) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (path.startsWith('/hang')) return;
    wss.handleUpgrade(request, socket, head, (ws) => {
      const accepted = { transport: wrapWebSocket(ws, request.socket.remoteAddress), ws, request };
      const resolve = waiting.get(path);
      if (resolve) {
        waiting.delete(path);
        resolve(accepted);
      } else ready.set(path, accepted);
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as { port: number }).port;

  return {
    port,
    sockets,
    url: (path) => `ws://127.0.0.1:${port}${path}`,
    freshPath: () => `/t/${++counter}`,
    accepted(path) {
      const found = ready.get(path);
      if (found) {
        ready.delete(path);
        return Promise.resolve(found);
      }
      return new Promise((resolve) => waiting.set(path, resolve));
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
