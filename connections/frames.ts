/**
 * Wire formats of the secure channel (DESIGN §5).
 *
 * First WebSocket message from the initiator (the only one with a cleartext header):
 *
 *     session:  0x01 ‖ Noise_IK msg1
 *     pairing:  0x02 ‖ inviteId (16) ‖ mac1 (16) ‖ Noise_IKpsk2 msg1
 *
 * The route byte lets the listener pick the handshake before any cryptography. For pairing,
 * `inviteId` finds the invitation and `mac1` = first 16 bytes of
 * HMAC-SHA256(HKDF(token, "kith pairing mac1"), 0x02 ‖ inviteId ‖ msg1) proves knowledge of the
 * token before the responder spends a Diffie-Hellman on it (WireGuard's mac1 idea). The token
 * itself never crosses the wire. The prologue binds the route byte and inviteId into the
 * handshake hash, so neither can be swapped by a relay.
 *
 * Every later WebSocket message is exactly one Noise transport message whose plaintext is
 *
 *     type (1) ‖ body
 *
 * with the types below. Application messages larger than one frame are split into MORE
 * chunks ended by a FINAL chunk.
 */
import { KithError } from '../shared/errors.js';
import { concatBytes, utf8 } from '../shared/bytes.js';
import { MAX_NOISE_MESSAGE } from '../shared/limits.js';

export const ROUTE_SESSION = 0x01;
export const ROUTE_PAIRING = 0x02;
export type Route = typeof ROUTE_SESSION | typeof ROUTE_PAIRING;

export const INVITE_ID_BYTES = 16;
export const MAC1_BYTES = 16;
/** Noise msg1 of IK / IKpsk2 with an empty payload: e (32) + encrypted s (32 + 16) + empty payload tag (16). */
export const MSG1_MIN_BYTES = 32 + 48 + 16;

export const PROTOCOL_SESSION = 'Noise_IK_25519_ChaChaPoly_SHA256';
export const PROTOCOL_PAIRING = 'Noise_IKpsk2_25519_ChaChaPoly_SHA256';

/** Frame types inside Noise transport messages. */
export const enum FrameType {
  /** Last (or only) chunk of an application message. */
  Final = 0x00,
  /** A chunk with more to follow. */
  More = 0x01,
  /** Keepalive request; answered with Pong. */
  Ping = 0x02,
  Pong = 0x03,
  /** The initiator's first transport message: proves it holds its ephemeral key (key confirmation). */
  Confirm = 0x04,
}

/** Noise transport messages carry a 16-byte tag and our 1-byte type. */
export const MAX_CHUNK_BYTES = MAX_NOISE_MESSAGE - 16 - 1;

const PROLOGUE_LABEL = utf8('kith/1');

export function prologueFor(route: Route, inviteId?: Uint8Array): Uint8Array {
  return inviteId ? concatBytes(PROLOGUE_LABEL, Uint8Array.of(route), inviteId) : concatBytes(PROLOGUE_LABEL, Uint8Array.of(route));
}

export type FirstFrame =
  | { route: typeof ROUTE_SESSION; msg1: Uint8Array }
  | { route: typeof ROUTE_PAIRING; inviteId: Uint8Array; mac1: Uint8Array; msg1: Uint8Array; macInput: Uint8Array };

/** Parses the initiator's first message; FRAME_INVALID for anything else. Never allocates beyond views. */
export function parseFirstFrame(data: Uint8Array): FirstFrame {
  if (data.length < 1) throw new KithError('FRAME_INVALID', 'empty first frame');
  const route = data[0];
  if (route === ROUTE_SESSION) {
    const msg1 = data.subarray(1);
    if (msg1.length < MSG1_MIN_BYTES) throw new KithError('FRAME_INVALID', 'first frame too short');
    return { route, msg1 };
  }
  if (route === ROUTE_PAIRING) {
    const headerEnd = 1 + INVITE_ID_BYTES + MAC1_BYTES;
    if (data.length < headerEnd + MSG1_MIN_BYTES) throw new KithError('FRAME_INVALID', 'first frame too short');
    const inviteId = data.subarray(1, 1 + INVITE_ID_BYTES);
    const mac1 = data.subarray(1 + INVITE_ID_BYTES, headerEnd);
    const msg1 = data.subarray(headerEnd);
    const macInput = concatBytes(data.subarray(0, 1 + INVITE_ID_BYTES), msg1);
    return { route, inviteId, mac1, msg1, macInput };
  }
  throw new KithError('FRAME_INVALID', 'unknown route');
}

export function encodeSessionFirstFrame(msg1: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(ROUTE_SESSION), msg1);
}

/** Builds the pairing first frame; `mac` computes mac1 over route ‖ inviteId ‖ msg1. */
export function encodePairingFirstFrame(inviteId: Uint8Array, msg1: Uint8Array, mac: (input: Uint8Array) => Uint8Array): Uint8Array {
  const macInput = concatBytes(Uint8Array.of(ROUTE_PAIRING), inviteId, msg1);
  const mac1 = mac(macInput).subarray(0, MAC1_BYTES);
  return concatBytes(Uint8Array.of(ROUTE_PAIRING), inviteId, mac1, msg1);
}
