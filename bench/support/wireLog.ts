/**
 * Counts what a process sends over its secure sessions, for the CHUM benchmark's "round trips"
 * and "bytes on the wire". Installed once per benchmark process, it wraps
 * `SecureSession.prototype.send` (measurement only; production code is unchanged) and records
 * each application message: time, first byte (the CHUM message type), plaintext size, and the
 * bytes it takes on the wire.
 *
 * Wire bytes per message = for each Noise frame (chunks of ≤ MAX_CHUNK_BYTES): 1 type byte +
 * chunk + 16-byte tag, plus the WebSocket frame header (2, 4 or 10 bytes by payload length,
 * + 4 for the mask when this side dialed, i.e. is the ws client). TCP/IP headers are not
 * counted. Keepalive pings do not go through `send` and are not counted either.
 */
import { SecureSession } from '../../connections/SecureSession.js';
import { MAX_CHUNK_BYTES } from '../../connections/frames.js';
import { wallMs } from './stats.js';

export interface WireEntry {
  /** wallMs() when `send` was called. */
  readonly t: number;
  /** First byte of the message (CHUM: 0x10–0x1a; pairing messages are JSON, '{'). */
  readonly type: number;
  /** Application bytes. */
  readonly bytes: number;
  /** Bytes on the wire (Noise frames + WebSocket headers). */
  readonly wire: number;
  readonly kind: 'session' | 'pairing';
}

const NOISE_FRAME_OVERHEAD = 1 + 16;

function wsHeader(payload: number, masked: boolean): number {
  const base = payload <= 125 ? 2 : payload <= 0xffff ? 4 : 10;
  return base + (masked ? 4 : 0);
}

/** Wire bytes of one application message of `bytes` bytes. */
export function wireBytes(bytes: number, masked: boolean): number {
  let total = 0;
  let left = bytes;
  do {
    const chunk = Math.min(left, MAX_CHUNK_BYTES);
    const frame = chunk + NOISE_FRAME_OVERHEAD;
    total += frame + wsHeader(frame, masked);
    left -= chunk;
  } while (left > 0);
  return total;
}

export class WireLog {
  private entries: WireEntry[] = [];
  private installed = false;

  /** Starts recording every SecureSession.send in this process. Idempotent. */
  install(): void {
    if (this.installed) return;
    this.installed = true;
    const original = SecureSession.prototype.send;
    const log = this;
    SecureSession.prototype.send = function (this: SecureSession, message: Uint8Array): Promise<void> {
      if (message instanceof Uint8Array && !this.isClosed) {
        log.entries.push({
          t: wallMs(),
          type: message[0] ?? -1,
          bytes: message.length,
          wire: wireBytes(message.length, this.info.direction === 'outbound'),
          kind: this.info.kind,
        });
      }
      return original.call(this, message);
    };
  }

  /** Returns what was recorded since the last call, and starts over. */
  take(): WireEntry[] {
    const out = this.entries;
    this.entries = [];
    return out;
  }
}
