/**
 * The blob baseline of the CHUM benchmark: raw `ws` (bufferutil loaded, no deflate) carrying
 * 64 KiB frames sealed with native ChaCha20-Poly1305 (counter nonces) on the sender and
 * opened on the receiver, between two processes on loopback. No hashing, no disk: the ceiling
 * the issue names ("raw ws + native AEAD").
 *
 * The sender listens and the receiver dials, as in the Kith measurement (the receiving instance
 * dialed the sending one), so data flows server → client in both: unmasked frames.
 */
import * as nodeCrypto from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';
import { SEND_HIGH_WATER_BYTES } from '../../shared/limits.js';
import { wallMs } from './stats.js';

export const RAW_FRAME_BYTES = 64 * 1024;
const TAG = 16;
/** A fixed benchmark key: these bytes protect nothing. */
const KEY = new Uint8Array(32).fill(0x42);

/** Counter nonce (4 zero bytes ‖ n as 64-bit little-endian, as Noise does), written into `out`. */
function nonce(out: Uint8Array, n: number): Uint8Array {
  const view = new DataView(out.buffer, out.byteOffset, 12);
  view.setUint32(4, n >>> 0, true);
  view.setUint32(8, Math.floor(n / 2 ** 32), true);
  return out;
}

/** Sender side: a ws server; `send(bytes)` streams that many plaintext bytes to the connected receiver. */
export class RawAeadSender {
  private socket: WebSocket | undefined;
  private connected: Promise<WebSocket>;
  /** Frames sent so far on this link: the nonce counter (the receiver counts the same way). */
  private frames = 0;
  private readonly nonceBytes = new Uint8Array(12);

  private constructor(private readonly wss: WebSocketServer, readonly url: string) {
    this.connected = new Promise((resolve) => wss.once('connection', (ws) => resolve((this.socket = ws))));
  }

  static async listen(): Promise<RawAeadSender> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: RAW_FRAME_BYTES + TAG + 64 });
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const address = wss.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return new RawAeadSender(wss, `ws://127.0.0.1:${port}/`);
  }

  /** Seals and sends `total` bytes in 64 KiB frames; returns wallMs() at the start. */
  async send(total: number): Promise<{ t0: number }> {
    const ws = this.socket ?? (await this.connected);
    const plaintext = nodeCrypto.randomBytes(RAW_FRAME_BYTES);
    const t0 = wallMs();
    for (let sent = 0; sent < total; sent += RAW_FRAME_BYTES) {
      const length = Math.min(RAW_FRAME_BYTES, total - sent);
      const cipher = nodeCrypto.createCipheriv('chacha20-poly1305', KEY, nonce(this.nonceBytes, this.frames++), { authTagLength: TAG });
      // One buffer per frame (ciphertext ‖ tag): node:crypto cannot write into it, so one copy, without zero-fill.
      const frame = Buffer.allocUnsafeSlow(length + TAG);
      frame.set(cipher.update(length === RAW_FRAME_BYTES ? plaintext : plaintext.subarray(0, length)), 0);
      cipher.final();
      frame.set(cipher.getAuthTag(), length);
      if (ws.bufferedAmount > SEND_HIGH_WATER_BYTES) await new Promise<void>((resolve) => ws.send(frame, () => resolve()));
      else ws.send(frame);
    }
    return { t0 };
  }

  async close(): Promise<void> {
    this.socket?.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}

/** Receiver side: dials the sender and opens every frame. */
export class RawAeadReceiver {
  private received = 0;
  private frames = 0;
  private expected = Infinity;
  private done: (() => void) | undefined;
  private tLast = 0;
  private readonly nonceBytes = new Uint8Array(12);

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const body = data.subarray(0, data.length - TAG);
      const decipher = nodeCrypto.createDecipheriv('chacha20-poly1305', KEY, nonce(this.nonceBytes, this.frames++), { authTagLength: TAG });
      decipher.setAuthTag(data.subarray(data.length - TAG));
      const plain = decipher.update(body);
      decipher.final(); // throws on a bad tag
      this.received += plain.length;
      if (this.received >= this.expected) {
        this.tLast = wallMs();
        this.done?.();
      }
    });
  }

  static async connect(url: string): Promise<RawAeadReceiver> {
    const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: RAW_FRAME_BYTES + TAG + 64 });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawAeadReceiver(ws);
  }

  /** Resolves with wallMs() of the moment `total` more bytes have been opened. */
  expect(total: number, timeoutMs: number): Promise<{ tLast: number }> {
    this.expected = this.received + total;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('raw AEAD link: the bytes never arrived')), timeoutMs);
      this.done = () => {
        clearTimeout(timer);
        this.done = undefined;
        this.expected = Infinity;
        resolve({ tLast: this.tLast });
      };
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
