/**
 * Issue 5 — CHUM sync between two Kith instances in two processes (bench/support/chumPeer.ts:
 * openNodeInstance on temp homes, file stores, real `ws` on 127.0.0.1), so sender and receiver
 * each have a core. The receiver dials the sender (it is dial-only), as a new device would.
 * Every figure is printed next to a ceiling measured in the same run:
 *
 *   W1  initial sync of N signed ChannelEntry objects (~350 B canonical, the smallest signed
 *       type) to an empty peer, from the session opening to the last one stored. Ceiling:
 *       the receiver process's bare node:crypto Ed25519 verify rate, 64 in flight on the
 *       threadpool (both cores), measured just before and just after. Target ≥ 70%.
 *   W2  one new object on top of N shared: putSigned on the sender → stored on the receiver.
 *       Messages each way, bytes on the wire beyond the object (every SecureSession.send of
 *       both processes: Noise frames + WebSocket headers, see support/wireLog.ts), latency.
 *       Targets: 1 round trip, < 1 KB.
 *   W3  N shared, then d new objects on the sender while the receiver is offline, and the
 *       receiver's marks deleted (marks invalid: the sender must reconcile): bytes beyond the
 *       objects per difference, reconciliation round trips (RECON_EXP → RECON_IMP), time.
 *       Targets (issue): ~1 KB per difference, 2–3 round trips.
 *   W4  a blob (fresh pair of processes) shared with a grant → its manifest stored on the
 *       receiver (every chunk fetched, verified and written to disk). Ceiling: raw ws + native
 *       ChaCha20-Poly1305 between the same two processes, same direction, 64 KiB frames,
 *       measured before and after. Target ≥ 60%. Also the receiver's peak RSS during it.
 *
 *   npm run bench -- chum      defaults: N = 10k, d = 1 / 100 / 10k, blob 200 MiB (~1–2 min)
 *   KITH_BENCH_FULL=1          N = 100k, blob 1 GiB (several minutes)
 *   KITH_BENCH_THREADS=1       also each process's CPU per thread during W1's sync, W4's blob
 *                              and W4's first raw run (Linux): main thread, V8's helper threads,
 *                              libuv's threadpool and the verification workers, told apart
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatValue, report, type ReportRow } from './harness.js';
import { spawnPeer, type PeerProcess } from './support/rpc.js';
import { printSummary, atLeast, below, between, ratioAtLeast, atMost, type SummaryRow } from './support/summary.js';
import { median, percentile } from './support/stats.js';
import type { WireEntry } from './support/wireLog.js';
import { describeThreadCpu, type ThreadCpu } from './support/threadCpu.js';

const FULL = process.env.KITH_BENCH_FULL === '1';
const N = Number(process.env.KITH_BENCH_N ?? (FULL ? 100_000 : 10_000));
const DIFFS = (process.env.KITH_BENCH_DIFFS ?? '1,100,10000').split(',').map(Number);
const BLOB_BYTES = FULL ? 1024 ** 3 : 200 * 1024 ** 2;
const THREADS = process.env.KITH_BENCH_THREADS === '1';

/** Snapshots both processes' per-thread CPU (when KITH_BENCH_THREADS=1), to print what each thread spent on `units` of work. */
async function threadWindow(peers: Record<string, PeerProcess>): Promise<(units: number, unit: string, time: 'µs' | 'ms') => Promise<void>> {
  if (!THREADS) return async () => {};
  const before: Record<string, ThreadCpu | undefined> = {};
  for (const [label, p] of Object.entries(peers)) before[label] = await p.call<ThreadCpu | undefined>('threadCpu');
  return async (units, unit, time) => {
    for (const [label, p] of Object.entries(peers)) {
      for (const line of describeThreadCpu(label, before[label], await p.call<ThreadCpu | undefined>('threadCpu'), units, unit, time)) console.log(line);
    }
  };
}
const LIVE_RUNS = 20;
/** W4: what "bounded" RSS means here — the receiver may grow by a few chunk windows (4 × 1 MiB) and buffers, never by the blob. */
const RSS_GROWTH_BOUND_MB = 128;
const PEER = fileURLToPath(new URL('./support/chumPeer.ts', import.meta.url));
const LONG_MS = 900_000;
/** KITH_BENCH_PARTS=w1,w4 runs only those parts (for profiling one of them; see support/rpc.ts). */
const PARTS = new Set((process.env.KITH_BENCH_PARTS ?? 'w1,w2,w3,w4').split(',').map((p) => p.trim().toLowerCase()));

/** CHUM message types (chum/sync/wire.ts). */
const MSG: Record<number, string> = {
  0x10: 'HELLO', 0x11: 'PLAN', 0x12: 'BATCH', 0x13: 'ACK', 0x14: 'OFFER', 0x15: 'WANT',
  0x16: 'RECON_EXP', 0x17: 'RECON_IMP', 0x18: 'CHUNK_REQ', 0x19: 'CHUNK', 0x1a: 'MISSING',
};
const RECON_EXP = 0x16;
const RECON_IMP = 0x17;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

interface Init {
  readonly personId: string;
  readonly instanceId: string;
  readonly url: string | undefined;
}

/** CHUM's messages (types 0x10–0x1f), on whichever session carries them (the pairing session stays open for CHUM). */
function chumOnly(entries: readonly WireEntry[]): WireEntry[] {
  return entries.filter((e) => e.type >= 0x10 && e.type <= 0x1f);
}

function sum(entries: readonly WireEntry[], field: 'wire' | 'bytes'): number {
  return entries.reduce((n, e) => n + e[field], 0);
}

function typeCounts(entries: readonly WireEntry[]): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(MSG[e.type] ?? `0x${e.type.toString(16)}`, (counts.get(MSG[e.type] ?? `0x${e.type.toString(16)}`) ?? 0) + 1);
  return [...counts].map(([k, v]) => `${k}×${v}`).join(' ') || '—';
}

/** Alternations of direction in the merged timeline; round trips = ceil(turns / 2). */
function turns(aToB: readonly WireEntry[], bToA: readonly WireEntry[]): number {
  const merged = [...aToB.map((e) => ({ t: e.t, d: 0 })), ...bToA.map((e) => ({ t: e.t, d: 1 }))].sort((x, y) => x.t - y.t);
  let n = 0;
  let last = -1;
  for (const m of merged) {
    if (m.d !== last) n++;
    last = m.d;
  }
  return n;
}

async function pairInstances(sender: PeerProcess, receiver: PeerProcess): Promise<void> {
  const link = await sender.call<string>('invite');
  await receiver.call('accept', { link });
}

async function takeWire(p: PeerProcess): Promise<WireEntry[]> {
  return chumOnly(await p.call<WireEntry[]>('takeWire'));
}

interface Figures {
  readonly rows: SummaryRow[];
  readonly report: ReportRow[];
}

/** The sync pair (W1–W3): A sends, B receives. */
interface SyncPair {
  readonly A: PeerProcess;
  readonly B: PeerProcess;
  readonly meanBytes: number;
  /** ChannelEntry objects B should hold once caught up. */
  shared: number;
}

async function w1(pair: SyncPair, f: Figures): Promise<void> {
  const { A, B } = pair;
  const before = await B.call<{ perSecond: number; cpuUsPerVerify: number }>('verifyCeiling', {});
  await takeWire(A);
  await takeWire(B);
  const cpuA0 = await A.call<number>('cpu');
  const cpuB0 = await B.call<number>('cpu');
  const threads = await threadWindow({ 'W1 sender': A, 'W1 receiver': B });
  await pairInstances(A, B);
  const done = await B.call<{ received: number; tDone: number; tOpened: number }>('waitEntries', { total: N, timeoutMs: LONG_MS }, LONG_MS);
  const cpuA = (await A.call<number>('cpu')) - cpuA0;
  const cpuB = (await B.call<number>('cpu')) - cpuB0;
  await threads(N, 'object', 'µs');
  await sleep(300); // trailing ACKs
  const a = await takeWire(A);
  const b = await takeWire(B);
  const after = await B.call<{ perSecond: number; cpuUsPerVerify: number }>('verifyCeiling', {});
  const ceiling = (before.perSecond + after.perSecond) / 2;
  // Sender and receiver share this machine's cores, so even a receiver whose only work was the
  // verification could not exceed cores / (sender CPU per object + one verification's CPU).
  const cores = availableParallelism();
  const senderUs = (cpuA / N) * 1000;
  const verifyUs = (before.cpuUsPerVerify + after.cpuUsPerVerify) / 2;
  const bound = (cores * 1e6) / (senderUs + verifyUs);
  const seconds = (done.tDone - done.tOpened) / 1000;
  const rate = N / seconds;
  pair.shared = N;
  console.log(`W1 messages sender→receiver: ${typeCounts(a)}; receiver→sender: ${typeCounts(b)}`);
  // What the 0.7× target asks in this run: the share of that bound the sync must reach, when the
  // bound leaves the receiver no time at all for receiving, parsing, hashing, checking or storing.
  const needed = (0.7 * ceiling) / bound;
  console.log(
    `W1 ${N.toLocaleString('en-US')}: the target (0.7× the verify ceiling) needs ${needed.toFixed(2)} of the ${cores}-core bound` +
      (needed > 1 ? ': out of reach in this run even for a receiver that only verifies' : `; reached ${(rate / bound).toFixed(2)}`) +
      ` (receiver: ${((cpuB / N) * 1000 - verifyUs).toFixed(0)} µs of CPU per object beyond a bare verification; the bound allows ${Math.max(0, (cores * 1e6) / (0.7 * ceiling) - senderUs - verifyUs).toFixed(0)} µs)`,
  );
  f.report.push(
    { name: `W1 initial sync of ${N} objects`, value: rate, unit: 'obj/s', baseline: { name: 'bare verify ×64 on both cores', value: ceiling } },
    { name: '    time from session open to the last stored', value: seconds * 1000, unit: 'ms' },
    { name: '    verify ceiling before / after', value: before.perSecond, unit: '/s', baseline: { name: 'after', value: after.perSecond } },
    { name: '    CPU per object: sender / receiver', value: senderUs, unit: 'µs', baseline: { name: 'receiver', value: (cpuB / N) * 1000 } },
    { name: '    CPU per bare verification (ceiling run)', value: verifyUs, unit: 'µs' },
    { name: `    bound on ${cores} cores: receiver does only the verify`, value: bound, unit: 'obj/s', baseline: { name: 'verify ceiling', value: ceiling }, ratio: bound / ceiling },
    { name: '    wire bytes per object beyond the object', value: (sum(a, 'wire') + sum(b, 'wire')) / N - pair.meanBytes, unit: 'B' },
  );
  f.rows.push(
    { name: `W1 initial sync, ${formatValue(N)} objects`, value: rate, unit: 'obj/s', baseline: { name: 'verify ceiling', value: ceiling }, target: ratioAtLeast(0.7) },
    { name: `  same, against the bound on ${cores} cores (sender + verify only)`, value: rate, unit: 'obj/s', baseline: { name: 'bound', value: bound } },
  );
}

async function w2(pair: SyncPair, f: Figures): Promise<void> {
  const { A, B } = pair;
  await sleep(300);
  await takeWire(A);
  await takeWire(B);
  const latencies: number[] = [];
  const localWrites: number[] = [];
  const overheads: number[] = [];
  const roundTrips: number[] = [];
  let shape = '';
  for (let i = 0; i < LIVE_RUNS; i++) {
    const put = await A.call<{ t0: number; t1: number; hash: string; bytes: number }>('putOne');
    const got = await B.call<{ t: number }>('waitHash', { hash: put.hash, timeoutMs: 30_000 });
    await sleep(50); // the ACK
    const a = await takeWire(A);
    const b = await takeWire(B);
    latencies.push(got.t - put.t0);
    localWrites.push(put.t1 - put.t0);
    overheads.push(sum(a, 'wire') + sum(b, 'wire') - put.bytes);
    roundTrips.push(Math.ceil(turns(a, b) / 2));
    if (i === 0) shape = `sender→receiver: ${typeCounts(a)} (${sum(a, 'wire')} B); receiver→sender: ${typeCounts(b)} (${sum(b, 'wire')} B); object ${put.bytes} B`;
  }
  pair.shared += LIVE_RUNS;
  console.log(`W2 per new object — ${shape}`);
  f.report.push(
    { name: `W2 one new object on ${N}: latency median`, value: median(latencies), unit: 'ms', baseline: { name: 'p90', value: percentile(latencies, 90) } },
    { name: '    of which putSigned itself (sign + durable local write)', value: median(localWrites), unit: 'ms' },
    { name: '    wire bytes beyond the object, median', value: median(overheads), unit: 'B' },
    { name: '    round trips, median', value: median(roundTrips), unit: 'RT' },
  );
  f.rows.push(
    { name: `W2 new object on ${formatValue(N)}: round trips`, value: median(roundTrips), unit: 'RT', target: atMost(1) },
    { name: 'W2 new object: bytes beyond the object', value: median(overheads), unit: 'B', target: below(1000, 'B') },
    { name: 'W2 new object: latency putSigned → stored', value: median(latencies), unit: 'ms' },
  );
}

/** d new objects while B is offline, B's marks deleted: the sender has to reconcile. */
async function w3(pair: SyncPair, f: Figures, d: number): Promise<void> {
  const { A, B } = pair;
  await B.call('close');
  await B.call('dropMarks');
  const diff = await A.call<{ meanBytes: number }>('populate', { count: d }, LONG_MS);
  await takeWire(A);
  await takeWire(B);
  await B.call('open');
  const done = await B.call<{ received: number; tDone: number; tOpened: number }>('waitEntries', { total: pair.shared + d, timeoutMs: LONG_MS }, LONG_MS);
  await sleep(300);
  const a = await takeWire(A);
  const b = await takeWire(B);
  const beyond = (sum(a, 'wire') + sum(b, 'wire') - diff.meanBytes * d) / d;
  const reconBytes = sum(a.filter((e) => e.type === RECON_EXP), 'wire') + sum(b.filter((e) => e.type === RECON_IMP), 'wire');
  const rounds = a.filter((e) => e.type === RECON_EXP).length;
  const ms = done.tDone - done.tOpened;
  const label = `W3 d=${d.toLocaleString('en-US')}`;
  console.log(`${label}: sender→receiver ${typeCounts(a)} (${sum(a, 'wire')} B); receiver→sender ${typeCounts(b)} (${sum(b, 'wire')} B)`);
  f.report.push(
    { name: `W3 ${pair.shared} shared + ${d} new, marks invalid: reconciliation`, value: reconBytes / d, unit: 'B/diff', baseline: { name: 'all bytes beyond the objects', value: beyond } },
    { name: '    reconciliation round trips (RECON_EXP → RECON_IMP)', value: rounds, unit: 'RT' },
    { name: '    time from session open to all stored', value: ms, unit: 'ms' },
  );
  f.rows.push(
    { name: `${label} of ${formatValue(pair.shared)}: reconciliation bytes`, value: reconBytes / d, unit: 'B/diff', target: atMost(1024, 'B/diff') },
    { name: `${label}: all bytes beyond the objects`, value: beyond, unit: 'B/diff' },
    { name: `${label}: reconciliation round trips`, value: rounds, unit: 'RT', target: atMost(3, 'RT') },
    { name: `${label}: time to all stored`, value: ms, unit: 'ms' },
  );
  pair.shared += d;
}

/** W1–W3 on one pair of processes. */
async function syncBenchmarks(root: string): Promise<Figures> {
  const f: Figures = { rows: [], report: [] };
  const A = spawnPeer(PEER, 'sender');
  const B = spawnPeer(PEER, 'receiver');
  try {
    await A.call<Init>('init', { dir: join(root, 'a'), name: 'Sender', listen: true });
    const b = await B.call<Init>('init', { dir: join(root, 'b'), name: 'Receiver', listen: false });
    await A.call('channel', { grantTo: b.personId });
    const t = performance.now();
    const pop = await A.call<{ meanBytes: number }>('populate', { count: N }, LONG_MS);
    console.log(`setup: ${N} signed entries (${pop.meanBytes.toFixed(0)} B canonical on average) written to the sender's store in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const pair: SyncPair = { A, B, meanBytes: pop.meanBytes, shared: 0 };
    await w1(pair, f);
    if (PARTS.has('w2')) await w2(pair, f);
    if (PARTS.has('w3')) for (const d of DIFFS) await w3(pair, f, d);
  } finally {
    await A.stop();
    await B.stop();
  }
  return f;
}

/** W4 on a fresh pair of processes (so the receiver's RSS is the blob's, not W1's). */
async function blobBenchmark(root: string): Promise<Figures> {
  const rows: SummaryRow[] = [];
  const out: ReportRow[] = [];
  const C = spawnPeer(PEER, 'blob-sender');
  const D = spawnPeer(PEER, 'blob-receiver');
  try {
    await C.call<Init>('init', { dir: join(root, 'c'), name: 'BlobSender', listen: true });
    const d = await D.call<Init>('init', { dir: join(root, 'd'), name: 'BlobReceiver', listen: false });
    await pairInstances(C, D);
    const rawUrl = await C.call<string>('rawListen');
    await D.call('rawConnect', { url: rawUrl });
    /** Raw ws + AEAD: MB/s, and the CPU µs per MB of both ends together. */
    const rawRun = async (): Promise<{ mbs: number; cpuUsPerMb: number }> => {
      const [c0, d0] = [await C.call<number>('cpu'), await D.call<number>('cpu')];
      const done = D.call<{ tLast: number }>('rawExpect', { bytes: BLOB_BYTES, timeoutMs: LONG_MS }, LONG_MS);
      const sent = await C.call<{ t0: number }>('rawSend', { bytes: BLOB_BYTES }, LONG_MS);
      const { tLast } = await done;
      const cpuMs = (await C.call<number>('cpu')) - c0 + ((await D.call<number>('cpu')) - d0);
      return { mbs: BLOB_BYTES / 1e6 / ((tLast - sent.t0) / 1000), cpuUsPerMb: (cpuMs * 1000) / (BLOB_BYTES / 1e6) };
    };
    await rawRun(); // warm-up
    const rawThreads = await threadWindow({ 'W4 raw sender': C, 'W4 raw receiver': D });
    const before = await rawRun();
    await rawThreads(BLOB_BYTES / 1e6, 'MB', 'ms');
    const put = await C.call<{ manifest: string; ms: number }>('putBlob', { size: BLOB_BYTES }, LONG_MS);
    await sleep(200);
    const rss0 = await D.call<{ rss: number }>('rssStart');
    const cpuD0 = await D.call<number>('cpu');
    const cpuC0 = await C.call<number>('cpu');
    const blobThreads = await threadWindow({ 'W4 sender': C, 'W4 receiver': D });
    const grant = await C.call<{ t0: number }>('grantObjects', { objects: [put.manifest], person: d.personId });
    const got = await D.call<{ t: number }>('waitHash', { hash: put.manifest, timeoutMs: LONG_MS }, LONG_MS);
    await blobThreads(BLOB_BYTES / 1e6, 'MB', 'ms');
    const cpuD = (await D.call<number>('cpu')) - cpuD0;
    const cpuC = (await C.call<number>('cpu')) - cpuC0;
    const rss = await D.call<{ peak: number; maxRssLifetime: number }>('rssStop');
    const after = await rawRun();
    const rawMBs = (before.mbs + after.mbs) / 2;
    const seconds = (got.t - grant.t0) / 1000;
    const mbs = BLOB_BYTES / 1e6 / seconds;
    const mib = BLOB_BYTES / 1024 ** 2;
    out.push(
      { name: `W4 blob ${mib} MiB: grant → stored on the receiver`, value: mbs, unit: 'MB/s', baseline: { name: 'raw ws + native AEAD', value: rawMBs } },
      { name: `    raw ws + AEAD before / after`, value: before.mbs, unit: 'MB/s', baseline: { name: 'after', value: after.mbs } },
      // The same processes run raw ws + AEAD slower after the blob (measured: about half the
      // speed, still seconds later; with --trace-gc the sending process marks every ~100 ms from
      // putBlob on, and not once during the first run), so the mean baseline sits below a fresh
      // process's. The ratio to the faster run, for comparison.
      { name: `    same, against the faster of the two raw runs`, value: mbs, unit: 'MB/s', baseline: { name: 'raw ws + AEAD', value: Math.max(before.mbs, after.mbs) } },
      { name: `    CPU per MB: receiver / sender`, value: (cpuD / (BLOB_BYTES / 1e6)) * 1000, unit: 'µs', baseline: { name: 'sender', value: (cpuC / (BLOB_BYTES / 1e6)) * 1000 } },
      { name: `    CPU used: receiver + sender, of ${availableParallelism()} cores`, value: (cpuC + cpuD) / 1000 / seconds, unit: 'cores' },
      // Beside the baseline's own CPU, this is the work the sync adds per MB: hashing, disk, framing, copies.
      { name: `    CPU per MB, both ends: sync / raw ws + AEAD`, value: ((cpuC + cpuD) * 1000) / (BLOB_BYTES / 1e6), unit: 'µs', baseline: { name: 'raw ws + AEAD', value: (before.cpuUsPerMb + after.cpuUsPerMb) / 2 } },
      { name: `    receiver RSS before → peak during`, value: rss0.rss / 1e6, unit: 'MB', baseline: { name: 'peak', value: rss.peak / 1e6 } },
      { name: `    sender: putBlob import (hash + disk)`, value: BLOB_BYTES / 1e6 / (put.ms / 1000), unit: 'MB/s' },
    );
    rows.push(
      { name: `W4 blob ${mib} MiB, disk writes included`, value: mbs, unit: 'MB/s', baseline: { name: 'raw ws + AEAD', value: rawMBs }, target: ratioAtLeast(0.6) },
      // Bounded means independent of the blob's size: a few chunk windows and buffers, not the blob.
      { name: `W4 receiver RSS growth during the ${mib} MiB blob`, value: (rss.peak - rss0.rss) / 1e6, unit: 'MB', baseline: { name: 'RSS before', value: rss0.rss / 1e6 }, target: below(RSS_GROWTH_BOUND_MB, 'MB') },
    );
  } finally {
    await C.stop();
    await D.stop();
  }
  return { rows, report: out };
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kith-bench-chum-'));
  try {
    const none: Figures = { rows: [], report: [] };
    const sync = PARTS.has('w1') || PARTS.has('w2') || PARTS.has('w3') ? await syncBenchmarks(root) : none;
    report(sync.report);
    const blob = PARTS.has('w4') ? await blobBenchmark(root) : none;
    report(blob.report);
    printSummary(`issue 5 — CHUM, two processes on loopback (N = ${formatValue(N)}, blob ${BLOB_BYTES / 1024 ** 2} MiB)`, [...sync.rows, ...blob.rows]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
