/**
 * The Sync activity screen's rows: the latest progress per peer and direction, from two
 * sources — this window's own sessions (`sync:progress`, its peer is main) and main's
 * sessions with other devices (companion `progress` events). Main also reports its session
 * with this window; that row is the mirror of one of ours and is left out.
 */
import type { ProgressInfo } from './mainState.js';
import { MAX_SYNC_ACTIVITY_ROWS } from '../shared/limits.js';

export type ActivitySource = 'window' | 'main';

export interface SyncRow extends ProgressInfo {
  /** Stable key: source, peer instance, direction. */
  readonly key: string;
  /** Whose session: this window's (with main) or main's (with other devices). */
  readonly source: ActivitySource;
  /** Share done, 0..1 (bytes when the transfer has bytes, else objects; 1 once caught up). */
  readonly fraction: number;
}

export class SyncActivity {
  private readonly rows = new Map<string, SyncRow>();

  /** `self`: this window's instance id (main's row about it is skipped). */
  constructor(private readonly self: string) {}

  /** Records a progress report; returns false when it was skipped. */
  update(source: ActivitySource, p: ProgressInfo): boolean {
    if (source === 'main' && p.peerInstanceId === this.self) return false;
    const key = `${source}:${p.peerInstanceId}:${p.direction}`;
    if (!this.rows.has(key) && this.rows.size >= MAX_SYNC_ACTIVITY_ROWS) return false;
    this.rows.set(key, { ...p, key, source, fraction: fractionOf(p) });
    return true;
  }

  list(): SyncRow[] {
    const order = (r: SyncRow) => (r.source === 'window' ? 0 : 1);
    return [...this.rows.values()].sort(
      (a, b) => order(a) - order(b) || a.peerName.localeCompare(b.peerName) || a.peerInstanceId.localeCompare(b.peerInstanceId) || a.direction.localeCompare(b.direction),
    );
  }
}

function fractionOf(p: ProgressInfo): number {
  if (p.caughtUp) return 1;
  if (p.bytesTotal > 0) return Math.min(1, p.bytesDone / p.bytesTotal);
  if (p.objectsTotal > 0) return Math.min(1, p.objectsDone / p.objectsTotal);
  return 0;
}
