/**
 * The ConnectionsModel (DESIGN §5): every accepted transport goes through the Router;
 * every outbound connection through `connect`. It keeps one session per peer instance,
 * settles duplicates deterministically, and reports typed events for the UI and the CLI.
 *
 * Duplicate rule (both sides apply it and agree without talking):
 * - two sessions with the same initiator: the newer wins (the peer reconnected; the old one
 *   may be a half-dead socket nobody has noticed yet);
 * - two sessions with opposite initiators (both dialed at the same moment): the session
 *   initiated by the instance with the lexicographically smaller static key wins.
 *
 * Isomorphic: the transport factory is injected, and the Node listener (node/WsListener.ts)
 * calls `accept` for each upgraded socket. A browser instance has no listener and only dials.
 */
import type { Transport } from './Transport.js';
import type { CryptoProvider, KeyPair } from '../shared/crypto/CryptoProvider.js';
import { Router, type Accepted, type PairingGate, type PeerDirectory, type PeerRef } from './Router.js';
import { initiatePairing, initiateSession } from './handshake.js';
import type { SecureSession, SessionOptions, CloseCode } from './SecureSession.js';
import { TypedEmitter } from '../shared/events.js';
import { KithError, toKithError, type ErrorCode } from '../shared/errors.js';
import { equalBytes, toHex } from '../shared/bytes.js';
import { HANDSHAKE_DEADLINE_MS } from '../shared/limits.js';

export interface ConnectionOpened {
  readonly connectionId: string;
  readonly peer: PeerRef;
  readonly direction: 'inbound' | 'outbound';
  readonly remoteAddress: string | undefined;
  readonly session: SecureSession;
}

export interface ConnectionClosed {
  readonly connectionId: string;
  readonly peer: PeerRef;
  readonly direction: 'inbound' | 'outbound';
  readonly code: CloseCode;
  readonly message: string;
  readonly byPeer: boolean;
  /** True when another session to the same peer is still open (a duplicate was dropped). */
  readonly stillConnected: boolean;
}

export interface ConnectionFailed {
  readonly direction: 'inbound' | 'outbound';
  readonly code: ErrorCode;
  readonly message: string;
  readonly remoteAddress?: string;
  readonly endpoint?: string;
  readonly peer?: PeerRef;
}

export interface ConnectionEvents {
  [event: string]: unknown;
  /** A session with a known peer is open (after key confirmation). */
  opened: ConnectionOpened;
  /** A session closed. */
  closed: ConnectionClosed;
  /** An inbound handshake was refused or an outbound connection attempt failed. */
  failed: ConnectionFailed;
}

export interface ConnectionsModelOptions {
  readonly crypto: CryptoProvider;
  readonly staticKeyPair: KeyPair;
  readonly peers: PeerDirectory;
  readonly pairing?: PairingGate;
  /** Opens a transport to an endpoint URL (Node: `ws`; browser: WebSocket; tests: memory). A factory that can, gives up when `signal` aborts. */
  readonly dial: (url: string, signal?: AbortSignal) => Promise<Transport>;
  readonly handshakeDeadlineMs?: number;
  readonly session?: SessionOptions;
  readonly now?: () => number;
}

interface Entry {
  readonly session: SecureSession;
  readonly peer: PeerRef;
}

export class ConnectionsModel {
  readonly events = new TypedEmitter<ConnectionEvents>();
  private readonly router: Router;
  private readonly byPeer = new Map<string, Entry>();
  private readonly all = new Set<SecureSession>();
  private readonly inFlight = new Set<Transport>();
  private stopped = false;

  constructor(private readonly opts: ConnectionsModelOptions) {
    this.router = new Router({
      crypto: opts.crypto,
      staticKeyPair: opts.staticKeyPair,
      peers: opts.peers,
      pairing: opts.pairing,
      handshakeDeadlineMs: opts.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS,
      session: opts.session,
      now: opts.now,
    });
  }

  /** Our static public key (what invitations and contacts pin). */
  get staticKey(): Uint8Array {
    return this.opts.staticKeyPair.publicKey;
  }

  /** Routes one accepted transport (called by the listener). Never throws. */
  async accept(accepted: Accepted & { release?: () => void }): Promise<void> {
    if (this.stopped) {
      accepted.transport.close(1001, 'stopping');
      accepted.release?.();
      return;
    }
    this.inFlight.add(accepted.transport);
    try {
      const outcome = await this.router.route(accepted);
      if (outcome.kind === 'session') this.adopt(outcome.session, outcome.peer);
      else if (outcome.kind === 'pairing') this.track(outcome.session);
      else this.events.emit('failed', { direction: 'inbound', code: outcome.code, message: outcome.message, remoteAddress: accepted.remoteAddress });
    } finally {
      this.inFlight.delete(accepted.transport);
      accepted.release?.();
    }
  }

  /**
   * Opens (or reuses) a session with a known peer at `url`. When `signal` aborts (the dialer
   * stopped), the attempt closes its transport at once and rejects with CLOSED; it never
   * opens a session afterwards.
   */
  async connect(url: string, peer: PeerRef, signal?: AbortSignal): Promise<SecureSession> {
    const existing = this.sessionFor(peer.staticKey);
    if (existing) return existing;
    const session = await this.dialAndHandshake(url, peer, signal, (transport) =>
      initiateSession(transport, this.initiatorOptions(peer.staticKey)),
    );
    if (signal?.aborted) {
      session.close('NORMAL', 'dial aborted');
      throw new KithError('CLOSED', 'dial aborted');
    }
    // The contact may have been revoked while we were dialing.
    const decision = this.opts.peers.lookup(peer.staticKey);
    if (decision.kind !== 'known') {
      session.close(decision.kind === 'revoked' ? 'CONTACT_REVOKED' : 'UNKNOWN_PEER');
      throw new KithError(decision.kind === 'revoked' ? 'CONTACT_REVOKED' : 'UNKNOWN_PEER');
    }
    if (!this.adopt(session, decision.peer)) {
      const winner = this.sessionFor(peer.staticKey);
      if (winner) return winner;
      throw new KithError('DUPLICATE_CONNECTION');
    }
    return session;
  }

  /** Opens a pairing session to an inviter (Noise_IKpsk2). The caller runs the pairing protocol on it. */
  async connectForPairing(url: string, inviterStatic: Uint8Array, token: Uint8Array): Promise<SecureSession> {
    const session = await this.dialAndHandshake(url, undefined, undefined, (transport) =>
      initiatePairing(transport, { ...this.initiatorOptions(inviterStatic), token }),
    );
    this.track(session);
    return session;
  }

  /**
   * Registers a confirmed session with a known peer, applying the duplicate rule. Returns
   * false when this session lost to an existing one (it is closed with DUPLICATE_CONNECTION).
   * Pairing uses this to keep its session as the peer's regular session once paired.
   */
  adopt(session: SecureSession, peer: PeerRef): boolean {
    if (session.isClosed) return false;
    if (this.stopped) {
      session.close('NORMAL', 'stopping');
      return false;
    }
    this.track(session);
    const key = toHex(peer.staticKey);
    const existing = this.byPeer.get(key);
    if (existing && existing.session !== session && !existing.session.isClosed) {
      // Hex strings of equal length compare like the bytes they encode.
      const keepNew =
        existing.session.info.direction === session.info.direction ||
        this.initiatorKey(session) < this.initiatorKey(existing.session);
      if (!keepNew) {
        session.close('DUPLICATE_CONNECTION');
        return false;
      }
      this.byPeer.set(key, { session, peer });
      existing.session.close('DUPLICATE_CONNECTION');
    } else {
      this.byPeer.set(key, { session, peer });
    }
    session.closed.then((c) => {
      if (this.byPeer.get(key)?.session === session) this.byPeer.delete(key);
      this.events.emit('closed', {
        connectionId: session.info.id,
        peer,
        direction: session.info.direction,
        code: c.code,
        message: c.message,
        byPeer: c.byPeer,
        stillConnected: this.byPeer.has(key),
      });
    });
    this.events.emit('opened', { connectionId: session.info.id, peer, direction: session.info.direction, remoteAddress: session.info.remoteAddress, session });
    return true;
  }

  /** The open session with the instance whose static key is `staticKey`, if any. */
  sessionFor(staticKey: Uint8Array): SecureSession | undefined {
    const entry = this.byPeer.get(toHex(staticKey));
    return entry && !entry.session.isClosed ? entry.session : undefined;
  }

  /** Peers with an open session. */
  connectedPeers(): PeerRef[] {
    return [...this.byPeer.values()].filter((e) => !e.session.isClosed).map((e) => e.peer);
  }

  /** Closes every session with the instance `staticKey` (revocation). */
  disconnect(staticKey: Uint8Array, code: CloseCode): void {
    for (const s of this.all) if (equalBytes(s.info.remoteStatic, staticKey)) s.close(code);
  }

  /** Closes every session and refuses new ones. Resolves when all sessions have closed. */
  async close(): Promise<void> {
    this.stopped = true;
    for (const t of this.inFlight) t.close(1001, 'stopping');
    const sessions = [...this.all];
    for (const s of sessions) s.close('NORMAL', 'stopping');
    await Promise.all(sessions.map((s) => s.closed));
  }

  private initiatorOptions(remoteStatic: Uint8Array) {
    return {
      crypto: this.opts.crypto,
      localStatic: this.opts.staticKeyPair,
      remoteStatic,
      timeoutMs: this.opts.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS,
      session: this.opts.session,
    };
  }

  private async dialAndHandshake(
    url: string,
    peer: PeerRef | undefined,
    signal: AbortSignal | undefined,
    handshake: (t: Transport) => Promise<SecureSession>,
  ): Promise<SecureSession> {
    if (this.stopped) throw new KithError('CLOSED', 'connections are stopping');
    if (signal?.aborted) throw new KithError('CLOSED', 'dial aborted');
    let transport: Transport | undefined;
    // Closing the transport ends a handshake in progress at once (its wait for a message rejects).
    const onAbort = () => transport?.close(1001, 'stopping');
    signal?.addEventListener('abort', onAbort);
    try {
      transport = await this.opts.dial(url, signal);
      if (this.stopped || signal?.aborted) {
        transport.close(1001, 'stopping');
        throw new KithError('CLOSED', this.stopped ? 'connections are stopping' : 'dial aborted');
      }
      this.inFlight.add(transport);
      return await handshake(transport);
    } catch (err) {
      const e = signal?.aborted ? new KithError('CLOSED', 'dial aborted') : toKithError(err, 'UNREACHABLE');
      this.events.emit('failed', { direction: 'outbound', code: e.code, message: e.message, endpoint: url, peer });
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (transport) this.inFlight.delete(transport);
    }
  }

  private track(session: SecureSession): void {
    if (this.all.has(session)) return;
    this.all.add(session);
    void session.closed.then(() => this.all.delete(session));
  }

  /** Hex static key of whoever initiated `session`. */
  private initiatorKey(session: SecureSession): string {
    return toHex(session.info.direction === 'outbound' ? this.opts.staticKeyPair.publicKey : session.info.remoteStatic);
  }
}
