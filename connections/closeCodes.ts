/**
 * WebSocket close codes for Kith errors, both ways. A connection that ends because of an
 * error closes with a code in 4000–4999 (RFC 6455 §7.4.2 leaves that range to
 * applications) and the Kith error code itself as the reason, so a peer of any version can
 * show a person what went wrong. The numbers are a wire contract: never renumber, only add.
 */
import { isErrorCode, type ErrorCode } from '../shared/errors.js';
import { MAX_CLOSE_REASON_BYTES } from '../shared/limits.js';

/** RFC 6455 §7.4.1: the purpose of the connection was fulfilled. The only 1xxx code Kith sends. */
export const NORMAL_CLOSURE = 1000;
/** RFC 6455: reported locally when the connection dropped without a close frame. Never sent. */
export const ABNORMAL_CLOSURE = 1006;
/** RFC 6455: a message was too big to process (ws's `maxPayload`). */
export const MESSAGE_TOO_BIG = 1009;
/** Any Kith error without a number of its own; the reason names it. Keeps the table total as codes are added. */
export const OTHER_KITH_ERROR = 4999;

/**
 * Dedicated numbers, grouped by layer: 40xx framing and the secure channel, 402x–403x the
 * listener's admission decisions, 404x pairing, 406x sync, 409x general.
 */
const CLOSE_CODES: Partial<Record<ErrorCode, number>> = {
  FRAME_INVALID: 4000,
  FRAME_TOO_LARGE: 4001,
  PROTOCOL_ERROR: 4002,
  DECRYPT_FAILED: 4003,
  NONCE_EXHAUSTED: 4004,

  HANDSHAKE_FAILED: 4020,
  HANDSHAKE_TIMEOUT: 4021,
  REPLAY: 4022,
  UNKNOWN_PEER: 4023,
  CONTACT_REVOKED: 4024,
  RATE_LIMITED: 4025,
  BUSY: 4026,
  DUPLICATE_CONNECTION: 4027,

  INVITE_EXPIRED: 4040,
  INVITE_USED: 4041,
  INVITE_REVOKED: 4042,
  INVITE_MALFORMED: 4043,
  INVITE_UNKNOWN: 4044,
  KEY_MISMATCH: 4045,
  TOO_MANY_ATTEMPTS: 4046,
  PAIRING_DECLINED: 4047,
  IDENTITY_INVALID: 4048,

  SYNC_PROTOCOL_ERROR: 4060,
  ACCESS_DENIED: 4061,

  TIMEOUT: 4090,
  INTERNAL: 4091,
};

const ERROR_FOR_CLOSE = new Map<number, ErrorCode>(
  Object.entries(CLOSE_CODES).map(([code, close]) => [close as number, code as ErrorCode]),
);

/** Standard codes a peer (or ws on our side) may use, read as the nearest Kith error. */
const STANDARD_CLOSES: ReadonlyMap<number, ErrorCode | undefined> = new Map<number, ErrorCode | undefined>([
  [1000, undefined], // normal closure
  [1001, undefined], // going away: the peer shut down or navigated away
  [1005, undefined], // close frame without a status: treated as normal
  [1006, 'PEER_CLOSED'], // no close frame: the peer or the network vanished
  [1002, 'FRAME_INVALID'], // protocol error in the WebSocket framing
  [1003, 'FRAME_INVALID'], // unsupported data (a text message where binary was expected)
  [1007, 'FRAME_INVALID'], // invalid UTF-8 in a text frame or close reason
  [1008, 'PROTOCOL_ERROR'], // policy violation
  [1009, 'FRAME_TOO_LARGE'], // message too big (ws `maxPayload`)
  [1011, 'INTERNAL'], // the server hit an unexpected condition
  [1012, 'BUSY'], // service restart
  [1013, 'BUSY'], // try again later
  [1014, 'UNREACHABLE'], // bad gateway
  [1015, 'HANDSHAKE_FAILED'], // TLS handshake failure (reported locally only)
]);

/** The close code that ends a connection because of `code`. Send it with `code` as the reason. */
export function closeCodeFor(code: ErrorCode): number {
  return CLOSE_CODES[code] ?? OTHER_KITH_ERROR;
}

/**
 * The Kith error a close stands for, or undefined for a normal close (1000, 1001, 1005).
 * A dedicated number wins over the reason, which the peer chose freely; the reason is used
 * only for codes without a number here (4999, a newer peer's additions) and only when it is
 * a known error code. Anything else unknown is a PROTOCOL_ERROR.
 */
export function errorCodeFromClose(closeCode: number, reason: string): ErrorCode | undefined {
  const dedicated = ERROR_FOR_CLOSE.get(closeCode);
  if (dedicated !== undefined) return dedicated;
  if (STANDARD_CLOSES.has(closeCode)) return STANDARD_CLOSES.get(closeCode);
  if (isErrorCode(reason)) return reason;
  return 'PROTOCOL_ERROR';
}

/** True for a code an application may send on every transport: 1000 or 3000–4999 (browsers refuse the rest). */
export function isSendableCloseCode(code: unknown): code is number {
  return typeof code === 'number' && Number.isInteger(code) && (code === NORMAL_CLOSURE || (code >= 3000 && code <= 4999));
}

/**
 * Printable ASCII, at most MAX_CLOSE_REASON_BYTES long. Applied to the reasons we send (so a
 * close never throws) and to those we receive (a peer's reason is untrusted text that may
 * reach a log or a screen: no control characters, no terminal escapes, bounded length).
 */
export function sanitizeCloseReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.length === 0) return '';
  const clipped = reason.length > MAX_CLOSE_REASON_BYTES ? reason.slice(0, MAX_CLOSE_REASON_BYTES) : reason;
  return clipped.replace(/[^\x20-\x7e]/g, '?');
}

/**
 * The code and reason a transport actually sends for `close(code, reason)`: the defaults are
 * a normal close; a code no browser may send becomes INTERNAL rather than an exception in a
 * cleanup path.
 */
export function normalizeClose(code?: number, reason?: string): { code: number; reason: string } {
  if (code === undefined) return { code: NORMAL_CLOSURE, reason: sanitizeCloseReason(reason) };
  if (!isSendableCloseCode(code)) return { code: closeCodeFor('INTERNAL'), reason: 'INTERNAL' };
  return { code, reason: sanitizeCloseReason(reason) };
}
