/**
 * W3 (notes/sync-and-ceilings.md): range-based set reconciliation with 100k ids in common and
 * 1 / 100 / 10,000 differences per side (and 10,000 on one side only), default options
 * (branching 8, IdList below 16, 1 MiB messages). For each: messages, round trips, bytes each
 * way and time, next to the baseline measured in the same run: the responder sending its plain
 * id list (32 B × n, one message) and the initiator diffing it against its own ids.
 * Also the cost of building a 100k ReconcileSet, next to a comparator sort of the same ids.
 *
 *   npm run bench -- reconcile      (about 30 s)
 */
import { randomBytes } from 'node:crypto';
import { ReconcileSet } from '../chum/reconcile/ReconcileSet.js';
import { Reconciler } from '../chum/reconcile/Reconciler.js';
import { reconcileLocally, type LocalReconciliation } from '../chum/reconcile/reconcileLocally.js';
import { formatValue, report, type ReportRow } from './harness.js';

const COMMON = 100_000;
const RUNS = 5;
const SCENARIOS: ReadonlyArray<{ name: string; onlyInitiator: number; onlyResponder: number }> = [
  { name: '1 / 1', onlyInitiator: 1, onlyResponder: 1 },
  { name: '0 / 1', onlyInitiator: 0, onlyResponder: 1 },
  { name: '100 / 100', onlyInitiator: 100, onlyResponder: 100 },
  { name: '1k / 1k', onlyInitiator: 1_000, onlyResponder: 1_000 },
  { name: '3k / 3k', onlyInitiator: 3_000, onlyResponder: 3_000 },
  { name: '10k / 10k', onlyInitiator: 10_000, onlyResponder: 10_000 },
  { name: '0 / 10k', onlyInitiator: 0, onlyResponder: 10_000 },
  { name: '10k / 0', onlyInitiator: 10_000, onlyResponder: 0 },
];

const ids = (n: number): Uint8Array[] => Array.from({ length: n }, () => new Uint8Array(randomBytes(32)));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const key = (id: Uint8Array): string => String.fromCharCode.apply(null, id as unknown as number[]);

/** The baseline exchange: the responder packs its ids into one message; the initiator diffs. */
function plainIdList(initiator: Uint8Array[], responder: Uint8Array[]): { bytes: number; have: number; need: number } {
  const message = new Uint8Array(responder.length * 32);
  responder.forEach((id, i) => message.set(id, i * 32));
  const theirs = new Set<string>();
  for (let off = 0; off < message.length; off += 32) theirs.add(key(message.subarray(off, off + 32)));
  const mine = new Set<string>();
  let have = 0;
  for (const id of initiator) {
    const k = key(id);
    mine.add(k);
    if (!theirs.has(k)) have++;
  }
  let need = 0;
  for (const k of theirs) if (!mine.has(k)) need++;
  return { bytes: message.length, have, need };
}

function main(): void {
  const common = ids(COMMON);
  console.log(`W3 reconciliation: ${COMMON.toLocaleString('en-US')} ids in common, 32-byte ids, default options, median of ${RUNS} runs\n`);

  // --- building the set --------------------------------------------------------------------
  const build: number[] = [];
  const sort: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    ReconcileSet.fromIds(common);
    build.push(performance.now() - t);
    t = performance.now();
    common.slice().sort(Buffer.compare);
    sort.push(performance.now() - t);
  }
  report([{ name: 'build ReconcileSet (100k)', value: median(build), unit: 'ms', baseline: { name: 'Array sort with Buffer.compare', value: median(sort) } }]);
  console.log('');

  // --- scenarios -------------------------------------------------------------------------------
  const table: string[][] = [['only init / resp', 'messages', 'round trips', 'init→resp', 'resp→init', 'total', 'id list', 'ratio', 'ms', 'id list ms']];
  const rows: ReportRow[] = [];
  for (const s of SCENARIOS) {
    const initiatorIds = [...common, ...ids(s.onlyInitiator)];
    const responderIds = [...common, ...ids(s.onlyResponder)];
    const initiatorSet = ReconcileSet.fromIds(initiatorIds);
    const responderSet = ReconcileSet.fromIds(responderIds);
    const times: number[] = [];
    const baseTimes: number[] = [];
    let result: LocalReconciliation | undefined;
    let base: ReturnType<typeof plainIdList> | undefined;
    for (let r = 0; r < RUNS; r++) {
      let t = performance.now();
      result = reconcileLocally(new Reconciler(initiatorSet), new Reconciler(responderSet));
      times.push(performance.now() - t);
      t = performance.now();
      base = plainIdList(initiatorIds, responderIds);
      baseTimes.push(performance.now() - t);
    }
    if (result!.have.length !== s.onlyInitiator || result!.need.length !== s.onlyResponder) throw new Error(`${s.name}: wrong result`);
    if (base!.have !== s.onlyInitiator || base!.need !== s.onlyResponder) throw new Error(`${s.name}: wrong baseline`);
    const total = result!.bytesFromInitiator + result!.bytesFromResponder;
    table.push([
      s.name,
      String(result!.messages),
      String(Math.ceil(result!.messages / 2)),
      formatValue(result!.bytesFromInitiator),
      formatValue(result!.bytesFromResponder),
      formatValue(total),
      formatValue(base!.bytes),
      (total / base!.bytes).toFixed(3),
      formatValue(median(times)),
      formatValue(median(baseTimes)),
    ]);
    rows.push({ name: `${s.name}: bytes, both ways`, value: total, unit: 'B', baseline: { name: 'plain id list', value: base!.bytes } });
    rows.push({ name: `${s.name}: bytes per difference`, value: total / Math.max(1, s.onlyInitiator + s.onlyResponder), unit: 'B', baseline: { name: 'id list per difference', value: base!.bytes / Math.max(1, s.onlyInitiator + s.onlyResponder) } });
    rows.push({ name: `${s.name}: time`, value: median(times), unit: 'ms', baseline: { name: 'id list diff', value: median(baseTimes) } });
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  for (const row of table) console.log(row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
  console.log('');
  report(rows);
}

main();
