/**
 * Whole Kith instances in this process over real loopback WebSockets: each one listens on
 * its own 127.0.0.x address (a separate "device") and dials from it. Stores are in memory,
 * or file stores when a directory is given; small state stays in memory unless a state
 * directory is given. `wrapTransport` sees every transport at the seam (accepted and
 * dialed), so a test can measure what a connection holds without reaching into internals.
 */
import { join } from 'node:path';
import { Instance, type InstanceOptions } from '../../instance/Instance.js';
import { WsListener, type ListenerOptions } from '../../connections/node/WsListener.js';
import { dialWebSocket } from '../../connections/transports/wsTransport.js';
import type { Transport } from '../../connections/Transport.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { openFileStore } from '../../chum/stores/fileStore.js';
import { MemoryAdapter } from '../../shared/StateDocument.js';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';
import { parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { parseMarksDocument, type MarksDocument } from '../../chum/sync/marks.js';
import type { ObjectStore } from '../../chum/ObjectStore.js';
import type { LocalIdentity } from '../../shared/identity.js';
import type { SessionOptions } from '../../connections/SecureSession.js';
import { MAX_WS_PAYLOAD } from '../../shared/limits.js';
import { crypto, makeIdentity } from './peers.js';

export interface WsInstanceOptions {
  /** Loopback address this device listens on and dials from (127.0.0.x). */
  readonly host: string;
  /** False for a dial-only instance (it still dials from `host`). */
  readonly listen?: boolean;
  /** Endpoints advertised to peers instead of the listener URL (a fault proxy's URL). */
  readonly endpoints?: readonly string[];
  /** A file store in this directory (memory store otherwise). */
  readonly storeDir?: string;
  /** Durable small state (pairing.json, marks.json) in this directory (memory otherwise). */
  readonly stateDir?: string;
  readonly identity?: LocalIdentity;
  readonly backoff?: InstanceOptions['backoff'];
  readonly session?: SessionOptions;
  /** Deadline of outbound dials and handshakes, and of the listener's handshakes. */
  readonly handshakeDeadlineMs?: number;
  /** Listener knobs (concurrent handshakes, attempts per minute). */
  readonly listener?: Pick<ListenerOptions, 'maxConcurrentHandshakes' | 'attemptsPerMinute'>;
  /** Sees every transport, accepted or dialed, and may wrap it. */
  readonly wrapTransport?: (transport: Transport, direction: 'inbound' | 'outbound') => Transport;
}

export interface WsInstance {
  readonly name: string;
  readonly instance: Instance;
  readonly identity: LocalIdentity;
  readonly store: ObjectStore;
  readonly listener: WsListener | undefined;
  /** The listener URL (undefined for a dial-only instance). */
  readonly url: string | undefined;
  close(): Promise<void>;
}

export async function wsInstance(name: string, opts: WsInstanceOptions): Promise<WsInstance> {
  const identity = opts.identity ?? (await makeIdentity(name));
  const store = opts.storeDir ? await openFileStore({ crypto, dir: opts.storeDir }) : await openMemoryStore({ crypto });
  const deadline = opts.handshakeDeadlineMs ?? 10_000;
  const wrap = opts.wrapTransport ?? ((t: Transport) => t);
  let listener: WsListener | undefined;
  const instance = await Instance.open({
    identity,
    endpoints: opts.endpoints,
    backoff: opts.backoff,
    session: opts.session,
    handshakeDeadlineMs: opts.handshakeDeadlineMs,
    adapters: {
      crypto,
      store,
      pairingState: opts.stateDir ? new DurableJsonFile<PairingDocument>(join(opts.stateDir, 'pairing.json'), parsePairingDocument) : new MemoryAdapter<PairingDocument>(),
      marksState: opts.stateDir ? new DurableJsonFile<MarksDocument>(join(opts.stateDir, 'marks.json'), parseMarksDocument) : new MemoryAdapter<MarksDocument>(),
      dial: async (url) => wrap(await dialWebSocket(url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: deadline, localAddress: opts.host }), 'outbound'),
      listen:
        opts.listen === false
          ? undefined
          : async (accept) => {
              listener = await WsListener.listen({ host: opts.host, port: 0, handshakeDeadlineMs: deadline, ...opts.listener }, (accepted) =>
                accept({ ...accepted, transport: wrap(accepted.transport, 'inbound') }),
              );
              return listener;
            },
    },
  });
  return {
    name,
    instance,
    identity,
    store,
    listener,
    url: listener?.url,
    close: () => instance.close(),
  };
}

/** Pairs `invitee` with `inviter` (the invitee redeems an invitation of the inviter). */
export async function pair(inviter: WsInstance, invitee: WsInstance): Promise<void> {
  const { link } = await inviter.instance.invite();
  await invitee.instance.acceptInvite(link);
}
