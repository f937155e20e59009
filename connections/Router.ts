/**
 * The responder side of the one listener (DESIGN §5): every accepted transport comes here
 * after the HTTP-level gates (path, Host, Origin, rate limits). The first Noise message
 * decides where it goes:
 *
 *   route 0x02 + inviteId  → the pairing gate: unknown/expired/used/revoked invitations are
 *                            refused with their code, a bad mac1 is refused, all before any
 *                            Diffie-Hellman work; then Noise_IKpsk2.
 *   route 0x01             → Noise_IK; the static key it proves must belong to a known,
 *                            unrevoked contact, otherwise the connection closes with
 *                            UNKNOWN_PEER or CONTACT_REVOKED.
 *   anything else          → closed with FRAME_INVALID.
 *
 * Exact replays of a first message are refused from a cache of recent ephemeral keys, and
 * a session only counts as open after the initiator's key confirmation (SecureSession), so a
 * replay that slips past the cache never yields a session.
 */
import type { Transport } from './Transport.js';
import type { CryptoProvider, KeyPair } from '../shared/crypto/CryptoProvider.js';
import type { ErrorCode } from '../shared/errors.js';
import type { InstanceId, PersonId, InviteId } from '../shared/ids.js';
import { HandshakeState } from './noise/HandshakeState.js';
import { SecureSession, type SessionOptions } from './SecureSession.js';
import { PROTOCOL_PAIRING, PROTOCOL_SESSION, ROUTE_PAIRING, ROUTE_SESSION, parseFirstFrame, prologueFor } from './frames.js';
import { computeMac1, newConnectionId, nextMessage } from './handshake.js';
import { closeCodeFor } from './closeCodes.js';
import { KithError, toKithError } from '../shared/errors.js';
import { constantTimeEqual, toHex } from '../shared/bytes.js';
import { REPLAY_CACHE_ENTRIES } from '../shared/limits.js';

/** A contact's instance as the connection layer needs to know it. */
export interface PeerRef {
  readonly instanceId: InstanceId;
  readonly personId: PersonId;
  /** Display name for events and logs. */
  readonly name: string;
  readonly staticKey: Uint8Array;
}

export type PeerDecision = { readonly kind: 'known'; readonly peer: PeerRef } | { readonly kind: 'revoked' } | { readonly kind: 'unknown' };

/** Answers "who is this static key?" for the router and the dialer. */
export interface PeerDirectory {
  /** Decides on a static key proven by a handshake. Must be fast: it runs inside the handshake deadline. */
  lookup(staticKey: Uint8Array): PeerDecision;
}

export type InviteLookup =
  | { readonly ok: true; readonly psk: Uint8Array; readonly macKey: Uint8Array }
  | { readonly ok: false; readonly code: ErrorCode };

/** The pairing side of the router (implemented by pairing/). */
export interface PairingGate {
  /** Finds an open invitation by id, or says why it is refused (INVITE_EXPIRED, INVITE_USED, …). No DH work happens before this. */
  lookup(inviteId: InviteId): InviteLookup;
  /** A redemption attempt failed (bad mac1 or a failed handshake); enough failures burn the invitation. */
  recordFailure(inviteId: InviteId): void | Promise<void>;
  /** The IKpsk2 handshake completed and the invitee confirmed: run the pairing protocol. The gate owns the session now. */
  accept(inviteId: InviteId, session: SecureSession): void;
}

/** An accepted transport with what the listener learned about it. */
export interface Accepted {
  readonly transport: Transport;
  readonly remoteAddress: string | undefined;
  /** When the TCP connection was accepted (ms): the handshake deadline counts from here. */
  readonly acceptedAt: number;
}

export interface RouterOptions {
  readonly crypto: CryptoProvider;
  readonly staticKeyPair: KeyPair;
  readonly peers: PeerDirectory;
  readonly pairing?: PairingGate;
  readonly handshakeDeadlineMs: number;
  readonly session?: SessionOptions;
  readonly now?: () => number;
}

export type RouteOutcome =
  | { readonly kind: 'session'; readonly session: SecureSession; readonly peer: PeerRef }
  | { readonly kind: 'pairing'; readonly session: SecureSession; readonly inviteId: InviteId }
  | { readonly kind: 'refused'; readonly code: ErrorCode; readonly message: string };

export class Router {
  private readonly replay = new Set<string>();
  private readonly now: () => number;

  constructor(private readonly opts: RouterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /**
   * Runs the responder side on one accepted transport. Never throws: every failure closes
   * that transport with a code and is reported as `refused`. For pairing, the session has
   * already been handed to the pairing gate when this resolves.
   */
  async route(accepted: Accepted): Promise<RouteOutcome> {
    const { transport } = accepted;
    const remaining = () => Math.max(0, accepted.acceptedAt + this.opts.handshakeDeadlineMs - this.now());
    let hs: HandshakeState | undefined;
    let inviteId: InviteId | undefined;
    let macOk = false;
    try {
      const first = parseFirstFrame(await nextMessage(transport, remaining()));
      const ephemeral = toHex(first.msg1.subarray(0, 32));
      if (this.replay.has(ephemeral)) throw new KithError('REPLAY');
      this.remember(ephemeral);

      let psk: Uint8Array | undefined;
      if (first.route === ROUTE_PAIRING) {
        const gate = this.opts.pairing;
        if (!gate) throw new KithError('INVITE_UNKNOWN', 'this instance does not accept pairings');
        inviteId = toHex(first.inviteId) as InviteId;
        const found = gate.lookup(inviteId);
        if (!found.ok) throw new KithError(found.code);
        if (!constantTimeEqual(computeMac1(this.opts.crypto, found.macKey, first.macInput), first.mac1)) {
          throw new KithError('HANDSHAKE_FAILED', 'invitation proof (mac1) does not verify');
        }
        macOk = true;
        psk = found.psk;
      }
      hs = await HandshakeState.initialize({
        crypto: this.opts.crypto,
        protocolName: first.route === ROUTE_PAIRING ? PROTOCOL_PAIRING : PROTOCOL_SESSION,
        initiator: false,
        prologue: prologueFor(first.route, first.route === ROUTE_PAIRING ? first.inviteId : undefined),
        s: this.opts.staticKeyPair,
        psks: psk ? [psk] : undefined,
      });
      try {
        await hs.readMessage(first.msg1);
      } catch (err) {
        // mac1 proved the sender holds the token, so a message that still fails to decrypt was
        // made for a different inviter key: the link it used was altered.
        if (first.route === ROUTE_PAIRING) throw new KithError('KEY_MISMATCH', 'the invitee used a different key for this inviter (altered link?)');
        throw err;
      }
      const remoteStatic = hs.remoteStatic;
      if (!remoteStatic) throw new KithError('HANDSHAKE_FAILED', 'no static key in the first message');

      let peer: PeerRef | undefined;
      if (first.route === ROUTE_SESSION) {
        const decision = this.opts.peers.lookup(remoteStatic);
        if (decision.kind === 'revoked') throw new KithError('CONTACT_REVOKED');
        if (decision.kind === 'unknown') throw new KithError('UNKNOWN_PEER');
        peer = decision.peer;
      }
      transport.send(await hs.writeMessage(new Uint8Array(0)));
      const handshakeHash = hs.handshakeHash();
      const { send, receive } = hs.split();
      const session = new SecureSession(transport, send, receive, {
        id: newConnectionId(this.opts.crypto),
        kind: first.route === ROUTE_PAIRING ? 'pairing' : 'session',
        direction: 'inbound',
        remoteStatic,
        handshakeHash,
        remoteAddress: accepted.remoteAddress,
      }, this.opts.session);
      await withDeadline(session.opened(), remaining(), () => session.close('HANDSHAKE_TIMEOUT'));
      if (first.route === ROUTE_PAIRING) {
        this.opts.pairing!.accept(inviteId!, session);
        return { kind: 'pairing', session, inviteId: inviteId! };
      }
      return { kind: 'session', session, peer: peer! };
    } catch (err) {
      const e = toKithError(err, 'HANDSHAKE_FAILED');
      // A failure after the invitation matched counts against it (wrong token, tampering, …).
      if (inviteId && (macOk || e.code === 'HANDSHAKE_FAILED')) void this.opts.pairing?.recordFailure(inviteId);
      if (transport.isOpen) transport.close(closeCodeFor(e.code), e.code);
      return { kind: 'refused', code: e.code, message: e.message };
    } finally {
      hs?.destroy();
    }
  }

  private remember(ephemeral: string): void {
    if (this.replay.size >= REPLAY_CACHE_ENTRIES) {
      const oldest = this.replay.values().next().value;
      if (oldest !== undefined) this.replay.delete(oldest);
    }
    this.replay.add(ephemeral);
  }
}

function withDeadline<T>(promise: Promise<T>, ms: number, onTimeout: () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(new KithError('HANDSHAKE_TIMEOUT'));
    }, ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
