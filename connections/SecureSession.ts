/**
 * One established Noise session over a Transport: application messages in, application
 * messages out, everything encrypted with counter nonces (a replayed, reordered, dropped
 * or altered frame fails authentication and closes the connection with FRAME_INVALID).
 *
 * - Messages up to MAX_APP_MESSAGE are split into frames of at most one Noise message. A
 *   consumer takes each message either joined (`setHandler`) or as the parts its frames
 *   brought (`setPartsHandler`, no copy: a 64 KiB message needs two frames, and joining them
 *   cost a receiver 10–15% of its CPU). `send` takes a message in parts too, gathered into
 *   frames without joining them first.
 * - Inbound sessions start "confirming": the initiator's first transport frame must be
 *   Confirm, which proves it holds the ephemeral key of this handshake. Until then the
 *   session is not open, so a replayed handshake message can never displace a live session.
 * - Backpressure both ways: `send` waits while the transport holds more than
 *   SEND_HIGH_WATER_BYTES; a slow message handler pauses the transport, so TCP pushes back on
 *   the writer instead of memory growing here.
 * - Keepalive pings when we have been quiet; idle timeout when the peer has.
 */
import type { Transport } from './Transport.js';
import type { CipherState } from './noise/CipherState.js';
import { FrameType, MAX_CHUNK_BYTES } from './frames.js';
import { closeCodeFor, errorCodeFromClose } from './closeCodes.js';
import { TypedEmitter } from '../shared/events.js';
import { KithError, toKithError, type ErrorCode } from '../shared/errors.js';
import { allocForOverwrite, toHex } from '../shared/bytes.js';
import { IDLE_TIMEOUT_MS, KEEPALIVE_INTERVAL_MS, MAX_APP_MESSAGE, SEND_HIGH_WATER_BYTES, RECEIVE_QUEUE_HIGH_WATER_BYTES } from '../shared/limits.js';

export type SessionKind = 'session' | 'pairing';

/** What both sides know about a session once the handshake is done. */
export interface SessionInfo {
  /** Local id of this connection, for logs and events. */
  readonly id: string;
  /** `session` = known peer (Noise_IK), `pairing` = invitation redemption (Noise_IKpsk2). */
  readonly kind: SessionKind;
  /** Who dialed. */
  readonly direction: 'inbound' | 'outbound';
  /** The peer's X25519 static key, proven by the handshake. */
  readonly remoteStatic: Uint8Array;
  /** Noise handshake hash: unique per session, what identity signatures bind to. */
  readonly handshakeHash: Uint8Array;
  /** Remote IP when known. */
  readonly remoteAddress: string | undefined;
}

export type CloseCode = ErrorCode | 'NORMAL';

export interface SessionClose {
  readonly code: CloseCode;
  readonly message: string;
  /** True when the peer (or the network) closed, false when we did. */
  readonly byPeer: boolean;
}

export interface SessionEvents {
  [event: string]: unknown;
  /** The session is confirmed and may carry messages (emitted once). */
  open: SessionInfo;
  /** Emitted exactly once. */
  close: SessionClose;
}

export type MessageHandler = (message: Uint8Array) => void | Promise<void>;

/**
 * A message as parts, in order. Received: the frames' bodies (one part when the message fit
 * one frame, never an empty part unless the message is empty), views the consumer owns.
 * Sent: any split, empty parts included; the session reads them synchronously during `send`.
 */
export type MessageParts = readonly Uint8Array[];

/** Takes a message as the parts its frames brought, and its length in bytes. */
export type PartsHandler = (parts: MessageParts, length: number) => void | Promise<void>;

export interface SessionOptions {
  readonly keepaliveMs?: number;
  readonly idleTimeoutMs?: number;
  readonly maxMessageBytes?: number;
  readonly sendHighWaterBytes?: number;
  readonly receiveHighWaterBytes?: number;
  /** Clock for keepalive decisions (injectable for tests). */
  readonly now?: () => number;
}

type State = 'confirming' | 'open' | 'closed';

interface Queued {
  readonly parts: MessageParts;
  readonly length: number;
}

export class SecureSession {
  readonly events = new TypedEmitter<SessionEvents>();
  /** Resolves when the session closes, with why. */
  readonly closed: Promise<SessionClose>;
  private resolveClosed!: (c: SessionClose) => void;
  private state: State;
  private handler: PartsHandler | undefined;
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  private delivering = false;
  private paused = false;
  /** Bodies of the message being received, before its Final frame. */
  private parts: Uint8Array[] = [];
  private partsBytes = 0;
  private lastReceived: number;
  private lastSent: number;
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly opts: Required<Omit<SessionOptions, 'now'>> & { now: () => number };
  private readonly offTransport: Array<() => void>;

  constructor(
    private readonly transport: Transport,
    private readonly sendCipher: CipherState,
    private readonly receiveCipher: CipherState,
    readonly info: SessionInfo,
    options: SessionOptions = {},
  ) {
    this.opts = {
      keepaliveMs: options.keepaliveMs ?? KEEPALIVE_INTERVAL_MS,
      idleTimeoutMs: options.idleTimeoutMs ?? IDLE_TIMEOUT_MS,
      maxMessageBytes: options.maxMessageBytes ?? MAX_APP_MESSAGE,
      sendHighWaterBytes: options.sendHighWaterBytes ?? SEND_HIGH_WATER_BYTES,
      receiveHighWaterBytes: options.receiveHighWaterBytes ?? RECEIVE_QUEUE_HIGH_WATER_BYTES,
      now: options.now ?? Date.now,
    };
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.lastReceived = this.lastSent = this.opts.now();
    this.state = info.direction === 'inbound' ? 'confirming' : 'open';
    this.offTransport = [
      transport.events.on('message', (data) => this.onFrame(data)),
      transport.events.on('close', (c) => this.finish(this.closeCodeOf(c.code, c.reason), c.reason, c.byPeer)),
    ];
    const tick = Math.max(10, Math.min(this.opts.keepaliveMs, this.opts.idleTimeoutMs) / 3);
    this.timer = setInterval(() => this.onTick(), tick);
    (this.timer as { unref?: () => void }).unref?.();
    if (!transport.isOpen) {
      queueMicrotask(() => this.finish('PEER_CLOSED', 'transport closed', true));
    } else if (info.direction === 'outbound') {
      this.writeFrame(FrameType.Confirm);
    }
  }

  /** Short hex id of the peer's static key, for logs. */
  get peerTag(): string {
    return toHex(this.info.remoteStatic.subarray(0, 4));
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  /** Resolves once confirmed (immediately for outbound); rejects with the close reason if it closes first. */
  opened(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(new KithError('CLOSED', 'session closed before it opened'));
    return new Promise((resolve, reject) => {
      const offOpen = this.events.once('open', () => {
        offClose();
        resolve();
      });
      const offClose = this.events.once('close', (c) => {
        offOpen();
        reject(new KithError(c.code === 'NORMAL' ? 'PEER_CLOSED' : c.code, c.message));
      });
    });
  }

  /**
   * Sets the consumer of application messages (delivery starts on a microtask). Messages are
   * delivered one at a time; while
   * a returned promise is pending the next waits, and the transport pauses once the queue
   * holds more than the high-water mark. A handler that throws closes the session with the
   * error's code (a bad peer loses its own connection, nothing else).
   */
  setHandler(handler: MessageHandler | undefined): void {
    this.setPartsHandler(handler && ((parts, length) => handler(joinParts(parts, length))));
  }

  /**
   * As `setHandler`, but each message comes as the parts its frames brought, never joined:
   * for consumers of large messages that can take them in pieces (hash, write, count).
   */
  setPartsHandler(handler: PartsHandler | undefined): void {
    this.handler = handler;
    // Queued messages go out on a microtask, so whoever sets the handler can finish wiring first.
    if (handler) queueMicrotask(() => this.pump());
  }

  /**
   * Sends one application message (≤ maxMessageBytes), whole or in parts (sent as their
   * concatenation, which is never built); resolves when the transport has room again.
   */
  async send(message: Uint8Array | MessageParts): Promise<void> {
    if (this.state === 'closed') throw new KithError('CLOSED', 'session is closed');
    const parts = message instanceof Uint8Array ? [message] : message;
    if (!Array.isArray(parts)) throw new KithError('INVALID_INPUT', 'send: expected a Uint8Array or an array of them');
    let length = 0;
    for (const part of parts) {
      if (!(part instanceof Uint8Array)) throw new KithError('INVALID_INPUT', 'send: expected a Uint8Array or an array of them');
      length += part.length;
    }
    if (length > this.opts.maxMessageBytes) {
      throw new KithError('INVALID_INPUT', `send: message of ${length} bytes exceeds ${this.opts.maxMessageBytes}`);
    }
    // All chunks of one message are encrypted and queued synchronously, so messages never interleave.
    const reader = new PartsReader(parts);
    let left = length;
    do {
      const size = Math.min(left, MAX_CHUNK_BYTES);
      left -= size;
      this.writeFrame(left === 0 ? FrameType.Final : FrameType.More, reader, size);
    } while (left > 0);
    if (this.transport.bufferedAmount > this.opts.sendHighWaterBytes) {
      await this.transport.drained(this.opts.sendHighWaterBytes / 2);
    }
  }

  /** Closes with a Kith error code (or NORMAL); the peer sees the code. Idempotent. */
  close(code: CloseCode = 'NORMAL', message?: string): void {
    if (this.state === 'closed') return;
    this.transport.close(code === 'NORMAL' ? 1000 : closeCodeFor(code), code === 'NORMAL' ? 'NORMAL' : code);
    this.finish(code, message ?? (code === 'NORMAL' ? 'closed' : code), false);
  }

  /** Seals and sends one frame: `type` and the next `size` bytes of `body` (none without it). */
  private writeFrame(type: FrameType, body?: PartsReader, size = 0): void {
    // One plaintext buffer for every session, reused: the cipher reads it synchronously and
    // keeps nothing (CryptoProvider contract), and a fresh zero-filled 64 KiB per frame was a
    // visible share of a sender's CPU. Shared rather than per session, so an idle session
    // holds no 64 KiB of its own.
    plaintextScratch ??= new Uint8Array(1 + MAX_CHUNK_BYTES);
    const plaintext = plaintextScratch.subarray(0, 1 + size);
    plaintext[0] = type;
    body?.copyTo(plaintext, 1, size);
    let ciphertext = this.sendCipher.encryptWithAd(EMPTY, plaintext);
    // A keyless CipherState passes its input through; the shared buffer must never leave.
    if (ciphertext.buffer === plaintextScratch.buffer) ciphertext = ciphertext.slice();
    this.lastSent = this.opts.now();
    this.transport.send(ciphertext);
  }

  private onFrame(data: Uint8Array): void {
    if (this.state === 'closed') return;
    let plaintext: Uint8Array;
    try {
      plaintext = this.receiveCipher.decryptWithAd(EMPTY, data);
    } catch {
      this.close('FRAME_INVALID', 'a frame failed authentication (replayed, reordered, truncated or altered)');
      return;
    }
    this.lastReceived = this.opts.now();
    if (plaintext.length < 1) return this.close('FRAME_INVALID', 'empty frame');
    const type = plaintext[0];
    const body = plaintext.subarray(1);
    if (this.state === 'confirming') {
      if (type !== FrameType.Confirm || body.length !== 0) return this.close('PROTOCOL_ERROR', 'expected key confirmation');
      this.state = 'open';
      this.events.emit('open', this.info);
      return;
    }
    switch (type) {
      case FrameType.Ping:
        this.writeFrame(FrameType.Pong);
        return;
      case FrameType.Pong:
        return;
      case FrameType.More:
      case FrameType.Final: {
        this.partsBytes += body.length;
        if (this.partsBytes > this.opts.maxMessageBytes) return this.close('FRAME_TOO_LARGE', 'message exceeds the size limit');
        if (type === FrameType.More) {
          if (body.length === 0) return this.close('FRAME_INVALID', 'empty continuation chunk');
          this.parts.push(body);
          return;
        }
        const parts = this.parts;
        parts.push(body);
        const length = this.partsBytes;
        this.parts = [];
        this.partsBytes = 0;
        this.enqueue({ parts, length });
        return;
      }
      default:
        this.close('FRAME_INVALID', 'unknown frame type');
    }
  }

  private enqueue(message: Queued): void {
    this.queue.push(message);
    this.queuedBytes += message.length;
    if (!this.paused && this.queuedBytes > this.opts.receiveHighWaterBytes) {
      this.paused = true;
      this.transport.pause();
    }
    this.pump();
  }

  private pump(): void {
    if (this.delivering || !this.handler) return;
    this.delivering = true;
    void this.deliverLoop();
  }

  private async deliverLoop(): Promise<void> {
    try {
      while (this.queue.length > 0 && this.handler && this.state === 'open') {
        const message = this.queue.shift()!;
        this.queuedBytes -= message.length;
        if (this.paused && this.queuedBytes <= this.opts.receiveHighWaterBytes / 2) {
          this.paused = false;
          this.transport.resume();
        }
        try {
          await this.handler(message.parts, message.length);
        } catch (err) {
          const e = toKithError(err, 'PROTOCOL_ERROR');
          this.close(e.code, e.message);
          return;
        }
      }
    } finally {
      this.delivering = false;
    }
    if (this.queue.length > 0 && this.handler && this.state === 'open') this.pump();
  }

  private onTick(): void {
    if (this.state === 'closed') return;
    const now = this.opts.now();
    if (now - this.lastReceived >= this.opts.idleTimeoutMs) {
      this.close('TIMEOUT', 'the peer went silent');
      return;
    }
    if (this.state === 'open' && now - this.lastSent >= this.opts.keepaliveMs) this.writeFrame(FrameType.Ping);
  }

  private closeCodeOf(code: number, reason: string): CloseCode {
    if (code === 1000) return 'NORMAL';
    return errorCodeFromClose(code, reason) ?? 'PEER_CLOSED';
  }

  private finish(code: CloseCode, message: string, byPeer: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.timer);
    for (const off of this.offTransport) off();
    this.queue.length = 0;
    this.parts = [];
    this.sendCipher.destroy();
    this.receiveCipher.destroy();
    const close: SessionClose = { code, message, byPeer };
    this.events.emit('close', close);
    this.resolveClosed(close);
  }
}

const EMPTY = new Uint8Array(0);
let plaintextScratch: Uint8Array | undefined;

/** The message whole: its one part as it is, or a new buffer holding the parts in order. */
function joinParts(parts: MessageParts, length: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = allocForOverwrite(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Reads a message's parts front to back, a frame's worth at a time. */
class PartsReader {
  private index = 0;
  private offset = 0;

  constructor(private readonly parts: MessageParts) {}

  /** Copies the next `size` bytes into `target` at `at` (the caller knows they exist). */
  copyTo(target: Uint8Array, at: number, size: number): void {
    while (size > 0) {
      const part = this.parts[this.index]!;
      const take = Math.min(size, part.length - this.offset);
      target.set(take === part.length ? part : part.subarray(this.offset, this.offset + take), at);
      at += take;
      size -= take;
      this.offset += take;
      if (this.offset === part.length) {
        this.index++;
        this.offset = 0;
      }
    }
  }
}
