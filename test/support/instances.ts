/** Whole Kith instances in memory (memory store, memory state, memory network) for integration tests. */
import { Instance, type InstanceOptions } from '../../instance/Instance.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { MemoryAdapter } from '../../shared/StateDocument.js';
import type { Adapter } from 'lowdb';
import type { PairingDocument } from '../../pairing/records.js';
import type { Transport } from '../../connections/Transport.js';
import type { MarksDocument } from '../../chum/sync/marks.js';
import type { ObjectStore } from '../../chum/ObjectStore.js';
import type { LocalIdentity } from '../../shared/identity.js';
import { crypto, makeIdentity } from './peers.js';

export interface MemoryInstanceOptions {
  readonly listen?: boolean;
  readonly now?: () => number;
  readonly confirmPairing?: InstanceOptions['confirmPairing'];
  /** Reuse state across a "restart" (or keep the pairing state in a file). */
  readonly identity?: LocalIdentity;
  readonly pairingState?: Adapter<PairingDocument>;
  readonly marksState?: MemoryAdapter<MarksDocument>;
  readonly store?: ObjectStore;
  readonly fromAddress?: string;
  /** Sees (and may wrap) every transport this instance dials, e.g. to act when a given frame is sent. */
  readonly tapDial?: (transport: Transport) => Transport;
}

export interface MemoryInstance {
  readonly instance: Instance;
  readonly identity: LocalIdentity;
  readonly pairingState: Adapter<PairingDocument>;
  readonly marksState: MemoryAdapter<MarksDocument>;
  readonly store: ObjectStore;
}

export async function memoryInstance(net: MemoryNetwork, name: string, opts: MemoryInstanceOptions = {}): Promise<MemoryInstance> {
  const identity = opts.identity ?? (await makeIdentity(name));
  const pairingState = opts.pairingState ?? new MemoryAdapter<PairingDocument>();
  const marksState = opts.marksState ?? new MemoryAdapter<MarksDocument>();
  const store = opts.store ?? (await openMemoryStore({ crypto }));
  const url = `ws://${name}.test/kith/v1`;
  const instance = await Instance.open({
    identity,
    confirmPairing: opts.confirmPairing,
    backoff: { minMs: 20, maxMs: 200 },
    adapters: {
      crypto,
      store,
      pairingState,
      marksState,
      now: opts.now,
      dial: async (u) => {
        const transport = await net.dial(u, opts.fromAddress);
        return opts.tapDial ? opts.tapDial(transport) : transport;
      },
      listen: opts.listen === false ? undefined : async (accept) => {
        const stop = net.listen(url, accept);
        return { url, close: async () => void stop() };
      },
    },
  });
  return { instance, identity, pairingState, marksState, store };
}
