/** What both halves of a sync session share: the instance's store, indexes and marks. */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore } from '../ObjectStore.js';
import type { AccessIndex } from '../access.js';
import type { ObjectVerifier } from '../model/verify.js';
import type { MarkStore } from './marks.js';
import type { InstanceId, PersonId } from '../../shared/ids.js';

export interface SyncPeer {
  readonly instanceId: InstanceId;
  readonly personId: PersonId;
  readonly name: string;
}

/** Progress of one direction of one peer's sync, for the UI and `kith status`. */
export interface SyncProgress {
  readonly peer: SyncPeer;
  readonly direction: 'send' | 'receive';
  readonly objectsDone: number;
  readonly objectsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** True once the backlog is through and only live updates remain. */
  readonly caughtUp: boolean;
}

export interface SyncContext {
  readonly crypto: CryptoProvider;
  readonly store: ObjectStore;
  readonly access: AccessIndex;
  readonly verifier: ObjectVerifier;
  readonly marks: MarkStore;
  readonly onProgress: (p: SyncProgress) => void;
  /** Objects stored from a peer (after verification), for application events. */
  readonly onReceived: (peer: SyncPeer, hashes: readonly string[]) => void;
}
