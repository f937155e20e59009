/**
 * Child process of bench/channel.bench.ts: the far end of one secure session and one raw `ws`
 * socket, so each end of a stream has a core of its own, as two devices would. It dials the
 * bench's listener (a production client: dialWebSocket + initiateSession) and its raw server,
 * then sends or receives bursts on request:
 *
 *   send    { kind, n, bytes }  sends n messages of `bytes` as fast as backpressure allows
 *   expect  { kind, total }     resolves once `total` messages have arrived since connect
 */
import { WebSocket } from 'ws';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import type { KeyPair } from '../../shared/crypto/CryptoProvider.js';
import { dialWebSocket } from '../../connections/transports/wsTransport.js';
import { initiateSession } from '../../connections/handshake.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD, SEND_HIGH_WATER_BYTES } from '../../shared/limits.js';
import { serveRpc } from './rpc.js';

const crypto = new NativeCrypto();
const BURST_TIMEOUT_MS = 60_000;

export type StreamKind = 'raw' | 'kith';

let key: KeyPair | undefined;
let session: SecureSession | undefined;
let raw: WebSocket | undefined;
const received: Record<StreamKind, number> = { raw: 0, kith: 0 };
const waiters: Record<StreamKind, { target: number; resolve: () => void } | undefined> = { raw: undefined, kith: undefined };

function onReceived(kind: StreamKind): void {
  received[kind]++;
  const w = waiters[kind];
  if (w && received[kind] >= w.target) {
    waiters[kind] = undefined;
    w.resolve();
  }
}

/** Raw ws with the bench's rule (rawStream): past the high-water mark, wait until this message is handed to the kernel. */
function rawSend(ws: WebSocket, message: Uint8Array): void | Promise<void> {
  if (ws.bufferedAmount > SEND_HIGH_WATER_BYTES) return new Promise<void>((resolve) => ws.send(message, () => resolve()));
  ws.send(message);
}

serveRpc({
  /** A static key for this end; the bench adds its public half to the listener's directory. */
  async key(): Promise<Uint8Array> {
    key = await crypto.x25519Generate();
    return key.publicKey;
  },
  async connect({ url, rawUrl, serverStatic }: { url: string; rawUrl: string; serverStatic: Uint8Array }): Promise<void> {
    const transport = await dialWebSocket(url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS });
    session = await initiateSession(transport, { crypto, localStatic: key!, remoteStatic: serverStatic, timeoutMs: HANDSHAKE_DEADLINE_MS });
    session.setPartsHandler(() => onReceived('kith'));
    const ws = new WebSocket(rawUrl, { perMessageDeflate: false, maxPayload: MAX_WS_PAYLOAD });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', () => onReceived('raw'));
    raw = ws;
  },
  async send({ kind, n, bytes }: { kind: StreamKind; n: number; bytes: number }): Promise<void> {
    const message = kind === 'kith' ? new Uint8Array(bytes).fill(7) : Buffer.alloc(bytes, 7);
    for (let i = 0; i < n; i++) {
      const r = kind === 'kith' ? session!.send(message) : rawSend(raw!, message);
      if (r) await r;
    }
  },
  /** Resolves once `total` messages of this kind have arrived since connect (a total, so messages racing ahead of this call count). */
  async expect({ kind, total: target }: { kind: StreamKind; total: number }): Promise<void> {
    if (received[kind] >= target) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${kind}: ${target - received[kind]} messages never arrived`)), BURST_TIMEOUT_MS);
      waiters[kind] = {
        target,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
    });
  },
  /** This process's CPU time so far (user + system), in ms. */
  async cpu(): Promise<number> {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  async close(): Promise<void> {
    session?.close();
    raw?.close();
  },
});
