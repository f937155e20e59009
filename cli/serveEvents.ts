/**
 * What `kith serve` prints while it runs: one line per notable event (pairing, a peer
 * connected or gone, a failed connection, sync progress), as JSON with `--json` or a
 * sentence for people. Sync progress is throttled per peer and direction: at most one line
 * per SERVE_PROGRESS_INTERVAL_MS each, the latest state always printed last (trailing edge),
 * so a large transfer costs a couple of lines per second and its final state is never lost.
 *
 * Nothing printed here carries a secret: invitation links never reach these events.
 */
import type { InstanceEvents } from '../instance/Instance.js';
import type { SyncProgress } from '../chum/sync/context.js';
import type { Output } from './output.js';
import { sanitizeForTerminal } from './output.js';
import { SERVE_PROGRESS_INTERVAL_MS } from '../shared/limits.js';
import { formatMiB } from './progress.js';

/** The events this printer follows (an Instance's `events`). */
export interface ServeEventSource {
  on<K extends keyof InstanceEvents>(event: K, listener: (payload: InstanceEvents[K]) => void): () => void;
}

export interface ServeEventOptions {
  /** Progress lines per peer and direction at most once per this many ms. */
  readonly progressIntervalMs?: number;
  /** Clock (ms). */
  readonly now?: () => number;
}

type Peer = { readonly instanceId: string; readonly personId: string; readonly name: string };

const peerOf = (p: Peer) => ({ personId: p.personId, instanceId: p.instanceId, name: p.name });
const who = (p: Peer) => `${sanitizeForTerminal(p.name)} (instance ${p.instanceId.slice(0, 12)}…)`;
/** "message (CODE)", or just the code when the message is nothing more. */
const reason = (message: string, code: string) => (message === code ? code : `${sanitizeForTerminal(message)} (${code})`);

/** Prints the events of `source` to `out` until the returned function is called. */
export function printServeEvents(source: ServeEventSource, out: Output, options: ServeEventOptions = {}): () => void {
  const interval = options.progressIntervalMs ?? SERVE_PROGRESS_INTERVAL_MS;
  const now = options.now ?? Date.now;
  // Sessions per peer: a duplicate connection (both sides dialed) is dropped by a tie-break; people should see one "connected".
  const open = new Map<string, number>();
  const progress = new Map<string, { last: number; pending?: SyncProgress; timer?: ReturnType<typeof setTimeout> }>();

  const printProgress = (p: SyncProgress) => {
    out.result(
      { event: 'sync:progress', peer: peerOf(p.peer), direction: p.direction, objectsDone: p.objectsDone, objectsTotal: p.objectsTotal, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, caughtUp: p.caughtUp },
      `sync ${p.direction === 'send' ? 'to' : 'from'} ${who(p.peer)}: ${p.objectsDone}/${p.objectsTotal} objects, ${formatMiB(p.bytesDone)} of ${formatMiB(p.bytesTotal)}${p.caughtUp ? ', caught up' : ''}`,
    );
  };

  const offs = [
    source.on('pairing:paired', (e) => {
      out.result(
        { event: 'pairing:paired', role: e.role, peer: peerOf(e.peer), sas: e.sas },
        `paired with ${who(e.peer)}, person ${e.peer.personId}; security code ${e.sas} (it should match the other side's)`,
      );
    }),
    source.on('pairing:failed', (e) => {
      out.result({ event: 'pairing:failed', role: e.role, code: e.code, message: e.message }, `pairing failed: ${reason(e.message, e.code)}`);
    }),
    source.on('connection:opened', (e) => {
      const n = (open.get(e.peer.instanceId) ?? 0) + 1;
      open.set(e.peer.instanceId, n);
      if (n === 1) out.result({ event: 'connection:opened', peer: peerOf(e.peer), direction: e.direction }, `connected to ${who(e.peer)} (${e.direction})`);
    }),
    source.on('connection:closed', (e) => {
      const n = Math.max(0, (open.get(e.peer.instanceId) ?? 1) - 1);
      if (n === 0) open.delete(e.peer.instanceId);
      else open.set(e.peer.instanceId, n);
      if (n === 0 && !e.stillConnected) {
        out.result(
          { event: 'connection:closed', peer: peerOf(e.peer), direction: e.direction, code: e.code, byPeer: e.byPeer },
          `disconnected from ${who(e.peer)}: ${reason(e.message, e.code)}`,
        );
      }
    }),
    source.on('connection:failed', (e) => {
      out.result(
        {
          event: 'connection:failed',
          direction: e.direction,
          code: e.code,
          message: e.message,
          ...(e.peer ? { peer: peerOf(e.peer) } : {}),
          ...(e.endpoint ? { endpoint: e.endpoint } : {}),
          ...(e.remoteAddress ? { remoteAddress: e.remoteAddress } : {}),
        },
        `${e.direction} connection ${e.peer ? `with ${who(e.peer)} ` : e.remoteAddress ? `from ${sanitizeForTerminal(e.remoteAddress)} ` : ''}failed: ${reason(e.message, e.code)}`,
      );
    }),
    source.on('sync:progress', (p) => {
      const key = `${p.peer.instanceId}:${p.direction}`;
      const state = progress.get(key) ?? { last: -Infinity };
      progress.set(key, state);
      const t = now();
      if (t - state.last >= interval && !state.timer) {
        state.last = t;
        printProgress(p);
        return;
      }
      state.pending = p;
      state.timer ??= setTimeout(() => {
        state.timer = undefined;
        state.last = now();
        const latest = state.pending;
        state.pending = undefined;
        if (latest) printProgress(latest);
      }, Math.max(0, state.last + interval - t));
    }),
  ];

  return () => {
    for (const off of offs) off();
    for (const state of progress.values()) if (state.timer) clearTimeout(state.timer);
    progress.clear();
  };
}
