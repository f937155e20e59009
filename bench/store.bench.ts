/**
 * W9 (notes/sync-and-ceilings.md): the file store at 100k small objects, each figure next to
 * a baseline measured in the same run on the same disk.
 *
 *   put      100k ~300-byte objects in batches of 100 → objects/s, against an NDJSON log
 *            written with appendFileSync + one fsync per batch of the same objects (the notes
 *            measured 85.6k/s for that baseline); single-object puts, awaited one by one and
 *            from 64 concurrent callers (group commit), against appendFileSync per object
 *            without and with fsync
 *   open     open of the 100k store (reads the index only), against reading and JSON-parsing
 *            an NDJSON file of the same metadata into a Map
 *   heap     heap the opened store's index holds per object, against a Map of the same metadata
 *            parsed from NDJSON (both measured after a full collection)
 *   disk     bytes on disk per object and write amplification (disk bytes / payload bytes)
 *   get      positioned reads with hash check, awaited one by one and 64 in flight
 *
 *   npm run bench -- store     (about 20–40 s)
 *
 * The OS page cache stays warm between writing and opening (dropping it needs root), so
 * "open" is a new process state, not a cold disk.
 */
import { appendFileSync, closeSync, fsyncSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeCrypto } from '../shared/crypto/nativeCrypto.js';
import { objectBytes, hashBytes } from '../shared/objects.js';
import { fromUtf8 } from '../shared/bytes.js';
import { openFileStore, type FileStore } from '../chum/stores/fileStore.js';
import type { PutEntry } from '../chum/ObjectStore.js';
import { measure, report, type MeasureOptions } from './harness.js';
import { retainedHeap } from '../test/support/memory.js';

const TOTAL = 100_000;
const BATCH = 100;
const WINDOW_OBJECTS = 10_000;
const SINGLES_POOL = 80_000;
const IN_FLIGHT = 64;
const OPEN_RUNS = 5;
const OPTIONS: MeasureOptions = { minTimeMs: 150, windows: 5, warmupMs: 100 };

const crypto = new NativeCrypto();
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** ~300-byte objects like channel entries; every other one references the one before it. */
function makeObjects(count: number, tag: string): PutEntry[] {
  const out: PutEntry[] = [];
  const text = 'lorem ipsum dolor sit amet '.repeat(8);
  for (let i = 0; i < count; i++) {
    const refs = i % 2 === 1 ? [out[i - 1]!.hash] : [];
    const bytes = objectBytes({ $type: 'ChannelEntry', tag, i, author: 'a'.repeat(64), text: text.slice(0, 150 - 64 * refs.length), refs });
    out.push({ hash: hashBytes(crypto, bytes), kind: 'object', type: 'ChannelEntry', bytes, refs });
  }
  return out;
}

/** The NDJSON line a naive log store would append for an entry: its metadata and the object. */
function ndjsonLine(e: PutEntry, seq: number): string {
  return `{"seq":${seq},"hash":"${e.hash}","type":"${e.type}","refs":${JSON.stringify(e.refs)},"object":${fromUtf8(e.bytes)}}\n`;
}

/** Hands out pool entries in order and refuses to recycle them (a re-put would be a no-op and flatter the store). */
function takeFrom(pool: readonly PutEntry[]): () => PutEntry {
  let next = 0;
  return () => {
    const entry = pool[next++];
    if (!entry) throw new Error('bench: the pool of fresh objects ran out; raise SINGLES_POOL');
    return entry;
  };
}

async function putBatches(root: string, objects: readonly PutEntry[]): Promise<{ store: FileStore; dir: string; rows: Parameters<typeof report>[0] }> {
  // Baseline: NDJSON, appendFileSync + one fsync per batch. Windows of 10k objects alternate
  // between baseline and store, so both see the same disk weather on this shared machine.
  const lines = objects.map((e, i) => ndjsonLine(e, i + 1));
  const fd = openSync(join(root, 'baseline.ndjson'), 'a');
  const dir = join(root, 'w9');
  const store = await openFileStore({ crypto, dir });
  const baseline: number[] = [];
  const rates: number[] = [];
  for (let w = 0; w < TOTAL; w += WINDOW_OBJECTS) {
    let t0 = performance.now();
    for (let b = w; b < w + WINDOW_OBJECTS; b += BATCH) {
      appendFileSync(fd, lines.slice(b, b + BATCH).join(''));
      fsyncSync(fd);
    }
    baseline.push(WINDOW_OBJECTS / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let b = w; b < w + WINDOW_OBJECTS; b += BATCH) await store.put(objects.slice(b, b + BATCH));
    rates.push(WINDOW_OBJECTS / ((performance.now() - t0) / 1000));
  }
  closeSync(fd);
  const rows = [
    {
      name: 'FileStore.put, batches of 100 awaited in turn',
      value: median(rates),
      unit: 'objects/s',
      baseline: { name: 'NDJSON appendFileSync + fsync per batch', value: median(baseline) },
    },
  ];
  return { store, dir, rows };
}

async function putSingles(root: string): Promise<Parameters<typeof report>[0]> {
  const pool = makeObjects(SINGLES_POOL, 'singles');
  const line = ndjsonLine(pool[0]!, 1);
  const fd = openSync(join(root, 'singles.ndjson'), 'a');
  const fsyncEach = () => {
    appendFileSync(fd, line);
    fsyncSync(fd);
  };
  const noSync = await measure('appendFileSync per object', () => appendFileSync(fd, line), OPTIONS);
  // The fsync baseline is measured before and after the store and averaged: fsync latency on a
  // shared disk drifts more than anything else here.
  const withSyncBefore = await measure('appendFileSync + fsync per object', fsyncEach, OPTIONS);
  const store = await openFileStore({ crypto, dir: join(root, 'singles') });
  const take = takeFrom(pool);
  const sequential = await measure('put 1', () => store.put([take()]), OPTIONS);
  const before = store.groupCommits;
  const putsBefore = store.lastSeq;
  const concurrent = await measure('put 1 × 64', () => Promise.all(Array.from({ length: IN_FLIGHT }, () => store.put([take()]))), { ...OPTIONS, opsPerCall: IN_FLIGHT });
  const perGroup = (store.lastSeq - putsBefore) / (store.groupCommits - before);
  await store.close();
  const withSyncAfter = await measure('appendFileSync + fsync per object', fsyncEach, OPTIONS);
  closeSync(fd);
  const withSync = { opsPerSecond: (withSyncBefore.opsPerSecond + withSyncAfter.opsPerSecond) / 2 };
  return [
    { name: 'FileStore.put, 1 object, awaited in turn', value: sequential.opsPerSecond, unit: 'objects/s', baseline: { name: 'appendFileSync + fsync per object', value: withSync.opsPerSecond } },
    { name: 'FileStore.put, 1 object, awaited in turn', value: sequential.opsPerSecond, unit: 'objects/s', baseline: { name: 'appendFileSync per object, no fsync', value: noSync.opsPerSecond } },
    { name: `FileStore.put, 1 object, ${IN_FLIGHT} callers (${perGroup.toFixed(0)} puts/commit)`, value: concurrent.opsPerSecond, unit: 'objects/s', baseline: { name: 'appendFileSync + fsync per object', value: withSync.opsPerSecond } },
    { name: `FileStore.put, 1 object, ${IN_FLIGHT} callers`, value: concurrent.opsPerSecond, unit: 'objects/s', baseline: { name: 'appendFileSync per object, no fsync', value: noSync.opsPerSecond } },
  ];
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kith-store-bench-'));
  try {
    const objects = makeObjects(TOTAL, 'w9');
    const payload = objects.reduce((n, e) => n + e.bytes.length, 0);
    console.log(`W9: ${TOTAL.toLocaleString('en-US')} objects of ${Math.round(payload / TOTAL)} B on average; the notes measured 85.6k objects/s for the NDJSON baseline\n`);

    const { store: written, dir, rows: putRows } = await putBatches(root, objects);
    const stats = written.stats();
    const lastSeq = written.lastSeq;
    await written.close();
    const singleRows = await putSingles(root);

    // Open: the store's index against an NDJSON file of the same metadata parsed into a Map.
    const metaPath = join(root, 'meta.ndjson');
    let offset = 0;
    const metaLines = objects.map((e, i) => {
      const line = JSON.stringify({ seq: i + 1, hash: e.hash, kind: e.kind, type: e.type, size: e.bytes.length, refs: e.refs, offset });
      offset += e.bytes.length;
      return line;
    });
    appendFileSync(metaPath, metaLines.join('\n') + '\n');
    const baselineOpens: number[] = [];
    const storeOpens: number[] = [];
    let store: FileStore | undefined;
    for (let r = 0; r < OPEN_RUNS; r++) {
      let t0 = performance.now();
      const map = new Map<string, unknown>();
      for (const line of readFileSync(metaPath, 'utf8').split('\n')) {
        if (line.length === 0) continue;
        const meta = JSON.parse(line) as { hash: string };
        map.set(meta.hash, meta);
      }
      baselineOpens.push(performance.now() - t0);
      if (map.size !== TOTAL) throw new Error('bench: the baseline lost entries');
      await store?.close();
      t0 = performance.now();
      store = await openFileStore({ crypto, dir });
      storeOpens.push(performance.now() - t0);
      if (store.lastSeq !== lastSeq) throw new Error('bench: the store lost entries');
    }

    // Heap the opened index holds per object, against the Map of parsed NDJSON metadata.
    await store?.close();
    store = undefined;
    const heapBefore = await retainedHeap();
    let baselineMap: Map<string, unknown> | undefined = new Map();
    for (const line of readFileSync(metaPath, 'utf8').split('\n')) {
      if (line.length === 0) continue;
      const meta = JSON.parse(line) as { hash: string };
      baselineMap.set(meta.hash, meta);
    }
    const baselineHeap = ((await retainedHeap()) - heapBefore) / baselineMap.size;
    baselineMap = undefined;
    const heapBeforeOpen = await retainedHeap();
    store = await openFileStore({ crypto, dir });
    const storeHeap = ((await retainedHeap()) - heapBeforeOpen) / store.lastSeq;

    // Reads of random objects, hash checked.
    const pick = () => objects[Math.floor(Math.random() * TOTAL)]!.hash;
    const opened = store!;
    const getOne = await measure('get', () => opened.get(pick()), OPTIONS);
    const getMany = await measure('get × 64', () => Promise.all(Array.from({ length: IN_FLIGHT }, () => opened.get(pick()))), { ...OPTIONS, opsPerCall: IN_FLIGHT });
    await opened.close();

    const disk = ['EPOCH', 'index.log', 'data.log'].reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    const indexBytes = statSync(join(dir, 'index.log')).size;
    const ndjsonBytes = statSync(join(root, 'baseline.ndjson')).size;

    console.log('put');
    report([...putRows, ...singleRows]);
    console.log('\nopen of the 100k store (median of 5; ms, lower is better)');
    report([{ name: 'openFileStore (index only)', value: median(storeOpens), unit: 'ms', baseline: { name: 'read + JSON.parse NDJSON metadata into a Map', value: median(baselineOpens) } }]);
    console.log('\nheap the opened store holds per object (after a full collection; lower is better)');
    report([{ name: 'FileStore index (metas, hash strings, tables)', value: storeHeap, unit: 'B/object', baseline: { name: 'Map of the parsed NDJSON metadata', value: baselineHeap } }]);
    console.log('\ndisk per object (lower is better)');
    report([
      { name: `FileStore (index ${(indexBytes / lastSeq).toFixed(0)} B)`, value: disk / lastSeq, unit: 'B/object', baseline: { name: 'NDJSON log of metadata + object', value: ndjsonBytes / TOTAL } },
      { name: 'FileStore write amplification', value: disk / stats.bytes, unit: '× payload', baseline: { name: 'NDJSON', value: ndjsonBytes / payload } },
    ]);
    console.log('\nget (random objects of the 100k store, SHA-256 checked)');
    report([
      { name: 'FileStore.get, awaited in turn', value: getOne.opsPerSecond, unit: 'objects/s' },
      { name: `FileStore.get, ${IN_FLIGHT} in flight`, value: getMany.opsPerSecond, unit: 'objects/s', baseline: { name: 'awaited in turn', value: getOne.opsPerSecond } },
    ]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
