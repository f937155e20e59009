/**
 * The two handshakes of DESIGN §5, as procedures over a Transport:
 * - `Noise_IK` between known peers: the initiator already holds the responder's static key;
 * - `Noise_IKpsk2` for pairing: psk = HKDF(token, "kith pairing psk"), and the first frame
 *   carries the inviteId and mac1 in clear (see frames.ts).
 * The initiator side runs here end to end; the responder side is split into steps because
 * the router decides between them (see Router.ts).
 */
import type { Transport } from './Transport.js';
import type { CryptoProvider, KeyPair } from '../shared/crypto/CryptoProvider.js';
import { HandshakeState } from './noise/HandshakeState.js';
import { SecureSession, type SessionOptions, type SessionKind } from './SecureSession.js';
import {
  PROTOCOL_PAIRING, PROTOCOL_SESSION, ROUTE_PAIRING, ROUTE_SESSION, encodePairingFirstFrame, encodeSessionFirstFrame, prologueFor,
} from './frames.js';
import { closeCodeFor, errorCodeFromClose } from './closeCodes.js';
import { KithError, toKithError } from '../shared/errors.js';
import { utf8, toHex } from '../shared/bytes.js';

const PSK_INFO = utf8('kith pairing psk');
const MAC1_INFO = utf8('kith pairing mac1');
const INVITE_ID_LABEL = utf8('kith invite id');
const EMPTY = new Uint8Array(0);

/** Keys derived from an invitation token. The token itself never leaves the two devices. */
export interface InviteSecrets {
  /** First 16 bytes of HMAC-SHA256(token, "kith invite id"): the registry key, sent in clear. */
  readonly inviteId: Uint8Array;
  /** The Noise psk. */
  readonly psk: Uint8Array;
  /** Key of mac1, which proves knowledge of the token before any DH work. */
  readonly macKey: Uint8Array;
}

export function deriveInviteSecrets(crypto: CryptoProvider, token: Uint8Array): InviteSecrets {
  if (!(token instanceof Uint8Array) || token.length !== 32) throw new KithError('INVALID_INPUT', 'invitation token must be 32 bytes');
  return {
    inviteId: crypto.hmacSha256(token, INVITE_ID_LABEL).subarray(0, 16),
    psk: crypto.hkdfSha256(token, EMPTY, PSK_INFO, 32),
    macKey: crypto.hkdfSha256(token, EMPTY, MAC1_INFO, 32),
  };
}

export function computeMac1(crypto: CryptoProvider, macKey: Uint8Array, input: Uint8Array): Uint8Array {
  return crypto.hmacSha256(macKey, input).subarray(0, 16);
}

let counter = 0;
/** A short local id for a connection (logs, events); not a secret, not global state that matters. */
export function newConnectionId(crypto: CryptoProvider): string {
  counter = (counter + 1) % 1_000_000;
  return `${toHex(crypto.randomBytes(4))}-${counter}`;
}

/** Waits for the next message on a transport before a session exists; rejects on close or deadline. */
export function nextMessage(transport: Transport, timeoutMs: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new KithError('HANDSHAKE_TIMEOUT'));
    }, timeoutMs);
    const offMessage = transport.events.on('message', (data) => {
      cleanup();
      resolve(data);
    });
    const offClose = transport.events.on('close', (c) => {
      cleanup();
      const code = errorCodeFromClose(c.code, c.reason);
      reject(new KithError(code ?? 'PEER_CLOSED', code ? undefined : `connection closed during the handshake (${c.code})`));
    });
    const cleanup = () => {
      clearTimeout(timer);
      offMessage();
      offClose();
    };
    if (!transport.isOpen) {
      cleanup();
      reject(new KithError('PEER_CLOSED', 'connection closed before the handshake'));
    }
  });
}

export interface InitiatorOptions {
  readonly crypto: CryptoProvider;
  readonly localStatic: KeyPair;
  readonly remoteStatic: Uint8Array;
  readonly timeoutMs: number;
  readonly session?: SessionOptions;
}

/** Runs the initiator side of Noise_IK and returns an open session (Confirm already sent). */
export function initiateSession(transport: Transport, opts: InitiatorOptions): Promise<SecureSession> {
  return initiate(transport, opts, 'session');
}

/** Runs the initiator side of Noise_IKpsk2 for an invitation token. */
export function initiatePairing(transport: Transport, opts: InitiatorOptions & { readonly token: Uint8Array }): Promise<SecureSession> {
  return initiate(transport, opts, 'pairing', deriveInviteSecrets(opts.crypto, opts.token));
}

async function initiate(transport: Transport, opts: InitiatorOptions, kind: SessionKind, invite?: InviteSecrets): Promise<SecureSession> {
  const { crypto } = opts;
  const route = kind === 'pairing' ? ROUTE_PAIRING : ROUTE_SESSION;
  let hs: HandshakeState | undefined;
  try {
    hs = await HandshakeState.initialize({
      crypto,
      protocolName: kind === 'pairing' ? PROTOCOL_PAIRING : PROTOCOL_SESSION,
      initiator: true,
      prologue: prologueFor(route, invite?.inviteId),
      s: opts.localStatic,
      rs: opts.remoteStatic,
      psks: invite ? [invite.psk] : undefined,
    });
    const msg1 = await hs.writeMessage(EMPTY);
    transport.send(invite ? encodePairingFirstFrame(invite.inviteId, msg1, (input) => computeMac1(crypto, invite.macKey, input)) : encodeSessionFirstFrame(msg1));
    const msg2 = await nextMessage(transport, opts.timeoutMs);
    await hs.readMessage(msg2);
    const handshakeHash = hs.handshakeHash();
    const { send, receive } = hs.split();
    return new SecureSession(transport, send, receive, {
      id: newConnectionId(crypto),
      kind,
      direction: 'outbound',
      remoteStatic: opts.remoteStatic,
      handshakeHash,
      remoteAddress: transport.remoteAddress,
    }, opts.session);
  } catch (err) {
    const e = toKithError(err, 'HANDSHAKE_FAILED');
    if (transport.isOpen) transport.close(closeCodeFor(e.code), e.code);
    throw e;
  } finally {
    hs?.destroy();
  }
}
