/**
 * Deterministic merge of a versioned object's DAG (DESIGN §3): the heads are the versions no
 * other version names as a parent; the current value is the head with the greatest
 * (hlc, hash). Two replicas holding the same versions always show the same value, whatever
 * order the versions arrived in.
 */
import type { ObjectHash } from '../../shared/ids.js';

export interface VersionInfo {
  readonly hash: ObjectHash;
  readonly prev: readonly ObjectHash[];
  readonly hlc: number;
  readonly data: Readonly<Record<string, unknown>>;
}

/** The versions that no other version supersedes. */
export function headsOf(versions: readonly VersionInfo[]): VersionInfo[] {
  const superseded = new Set<string>();
  for (const v of versions) for (const p of v.prev) superseded.add(p);
  return versions.filter((v) => !superseded.has(v.hash));
}

/** The winning version, or undefined when there are none. */
export function currentVersion(versions: readonly VersionInfo[]): VersionInfo | undefined {
  let best: VersionInfo | undefined;
  for (const v of headsOf(versions)) {
    if (!best || v.hlc > best.hlc || (v.hlc === best.hlc && v.hash > best.hash)) best = v;
  }
  return best;
}
