/** Sync progress per peer and direction: this window with main, and main with other devices. */
import type { AppState } from '../AppController.js';
import type { SyncRow } from '../SyncActivity.js';
import { formatBytes } from './format.js';
import { Screen } from './Screen.js';

function detail(r: SyncRow): string {
  const parts = [`${r.objectsDone} of ${r.objectsTotal} objects`];
  if (r.bytesTotal > 0) parts.push(`${formatBytes(r.bytesDone)} of ${formatBytes(r.bytesTotal)}`);
  return r.caughtUp ? `up to date · ${parts.join(' · ')}` : parts.join(' · ');
}

export function ActivityScreen({ state }: { state: AppState }) {
  const rows = state.activity;
  return (
    <Screen name="activity" title="Sync activity" intro="What is being exchanged right now. Large files show their progress here.">
      {rows.length === 0 && <p class="muted">Nothing has been synced yet.</p>}
      <ul class="rows">
        {rows.map((r) => {
          const who = r.source === 'window' ? `This window ${r.direction === 'send' ? '→' : '←'} ${r.peerName}` : `${state.main?.name ?? 'Kith'} ${r.direction === 'send' ? '→' : '←'} ${r.peerName}`;
          const label = `${who}, ${r.direction === 'send' ? 'sending' : 'receiving'}`;
          return (
            <li key={r.key} class="row sync" data-testid="sync-row" data-peer={r.peerName} data-direction={r.direction} data-source={r.source}>
              <span class="row-main">
                <strong>{who}</strong>
                <span class="muted"> · {detail(r)}</span>
              </span>
              <progress max={1} value={r.fraction} aria-label={label} />
            </li>
          );
        })}
      </ul>
    </Screen>
  );
}
