/**
 * Opens a Kith instance on Node from a home directory (DESIGN §2, §9): unlocks the keys,
 * opens the file object store and the durable small-state documents under the home, and
 * starts the one listener (WsListener) with `ws` for dialing. Used by `kith serve`, by
 * commands that open a home nobody owns, and by the app host.
 */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Instance, type InstanceOptions } from '../Instance.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';
import { openFileStore } from '../../chum/stores/fileStore.js';
import { parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { parseMarksDocument, type MarksDocument } from '../../chum/sync/marks.js';
import { WsListener } from '../../connections/node/WsListener.js';
import { dialWebSocket } from '../../connections/transports/wsTransport.js';
import { homePaths } from '../../cli/home.js';
import type { LocalIdentity } from '../../shared/identity.js';
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ErrorCode } from '../../shared/errors.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD } from '../../shared/limits.js';

export interface NodeInstanceOptions {
  readonly home: string;
  readonly identity: LocalIdentity;
  readonly crypto?: CryptoProvider;
  /** Where to listen; omit for a dial-only instance. 127.0.0.1 unless LAN binding is chosen explicitly. */
  readonly listen?: {
    readonly host: string;
    readonly port: number;
    readonly extraHosts?: readonly string[];
    readonly allowedOrigins?: readonly string[];
    /** Also accept on 127.0.0.1 when `host` is a LAN address (the app's page stays on loopback). */
    readonly alsoLoopback?: boolean;
  };
  /** Local address to dial from (tests use 127.0.0.x as separate devices). */
  readonly localAddress?: string;
  /** Endpoints to advertise instead of the listener URL (e.g. a LAN name). */
  readonly endpoints?: readonly string[];
  /** Other HTTP requests on the listener's port (the app host serves the renderer here). */
  readonly httpHandler?: (req: IncomingMessage, res: ServerResponse) => void;
  readonly confirmPairing?: InstanceOptions['confirmPairing'];
  /** Keep contacts connected (default true); false for a short-lived command. */
  readonly dial?: boolean;
  readonly onRefused?: (info: { remoteAddress: string | undefined; code: ErrorCode }) => void;
  readonly now?: () => number;
}

export interface NodeInstance {
  readonly instance: Instance;
  /** The listener, when listening (its policy can learn new allowed origins). */
  readonly listener: WsListener | undefined;
}

export async function openNodeInstance(opts: NodeInstanceOptions): Promise<NodeInstance> {
  const crypto = opts.crypto ?? new NativeCrypto();
  const paths = homePaths(opts.home);
  const store = await openFileStore({ crypto, dir: paths.store });
  let listener: WsListener | undefined;
  let opened: Instance | undefined;
  try {
    const instance = await Instance.open({
      identity: opts.identity,
      endpoints: opts.endpoints,
      confirmPairing: opts.confirmPairing,
      dial: opts.dial,
      adapters: {
        crypto,
        store,
        now: opts.now,
        pairingState: new DurableJsonFile<PairingDocument>(join(paths.state, 'pairing.json'), parsePairingDocument),
        marksState: new DurableJsonFile<MarksDocument>(join(paths.state, 'marks.json'), parseMarksDocument),
        dial: (url, signal) => dialWebSocket(url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS, localAddress: opts.localAddress, signal }),
        listen: opts.listen
          ? async (accept) => {
              listener = await WsListener.listen(
                { ...opts.listen!, httpHandler: opts.httpHandler },
                accept,
                (info) => {
                  opts.onRefused?.(info);
                  // Refusals before any handshake (Host, Origin, rate, capacity, deadline) are connection failures too.
                  opened?.connections.events.emit('failed', { direction: 'inbound', code: info.code, message: info.code, remoteAddress: info.remoteAddress });
                },
              );
              return listener;
            }
          : undefined,
      },
    });
    opened = instance;
    return { instance, listener };
  } catch (err) {
    await listener?.close().catch(() => {});
    await store.close().catch(() => {});
    throw err;
  }
}
