/**
 * The in-memory index keeps each hash string once: a meta's refs, author and id hash are the
 * strings the referenced entries' own metas hold, not the copies each caller (a parsed object,
 * a decoded index record) brought. Measured as heap per entry after a full collection: entries
 * that name five stored hashes against entries that name none, the same number of each, so
 * everything but the names cancels out (bytes, views, metas, the index's tables). A copy of a
 * 64-character hash costs ~80 bytes of heap, so five copies per entry cost ~400; kept once,
 * the five names cost only the refs array's slots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { openMemoryStore } from '../../../chum/stores/memoryStore.js';
import { openFileStore } from '../../../chum/stores/fileStore.js';
import type { ObjectStore, PutEntry } from '../../../chum/ObjectStore.js';
import type { InstanceId, ObjectHash } from '../../../shared/ids.js';
import { objectEntry } from '../storeConformance.js';
import { retainedHeap } from '../../support/memory.js';

const crypto = new NativeCrypto();

/** Entries per measured phase; with WARM entries first, the index's hash table does not grow in between. */
const PHASE = 3000;
const WARM = 8200;
/** Heap a phase of naming entries may take beyond a phase of plain ones, per entry. */
const MAX_EXTRA_BYTES = 150;

/** A distinct string with the same characters (what JSON.parse or a decoder hands over). */
function copyOf<T extends string>(s: T): T {
  return (s.slice(0, 1) + s.slice(1)).split('').join('') as T;
}

/** Targets the naming entries point at: an "instance", a "certificate" and a "channel". */
function targets(): PutEntry[] {
  return ['Instance', 'Certificate', 'Channel'].map((type) => objectEntry(type, { target: type }));
}

function plain(tag: string, i: number): PutEntry {
  return objectEntry('Note', { tag, i });
}

/** An entry that names the three targets as refs, the instance as author and the channel as id, each as a fresh copy. */
function naming(tag: string, i: number, [instance, cert, channel]: readonly PutEntry[]): PutEntry {
  const entry = objectEntry('Note', { tag, i }, [channel!.hash, instance!.hash, cert!.hash]);
  return {
    ...entry,
    refs: entry.refs.map(copyOf),
    author: copyOf(instance!.hash) as string as InstanceId,
    idHash: copyOf(channel!.hash) as ObjectHash,
  };
}

/**
 * Puts `count` entries made by `make`, 100 at a time, made just before their put: nothing but
 * the store keeps them afterwards, so what the heap holds is what the store keeps.
 */
async function putMade(store: ObjectStore, count: number, make: (i: number) => PutEntry): Promise<void> {
  for (let i = 0; i < count; i += 100) {
    await store.put(Array.from({ length: Math.min(100, count - i) }, (_, k) => make(i + k)));
  }
}

test('a store keeps one string per hash when entries name stored hashes (put path, every store)', async () => {
  const store = await openMemoryStore({ crypto });
  try {
    const named = targets();
    await store.put(named);
    await putMade(store, WARM, (i) => plain('warm', i));
    const h0 = await retainedHeap();
    await putMade(store, PHASE, (i) => plain('plain', i));
    const h1 = await retainedHeap();
    await putMade(store, PHASE, (i) => naming('naming', i, named));
    const h2 = await retainedHeap();
    const extra = (h2 - h1 - (h1 - h0)) / PHASE;
    assert.ok(extra < MAX_EXTRA_BYTES, `entries naming 5 stored hashes took ${extra.toFixed(0)} B more heap each than plain ones (bound ${MAX_EXTRA_BYTES})`);
    const first = naming('naming', 0, named);
    const meta = store.meta(first.hash)!;
    assert.deepEqual(meta.refs, first.refs, 'refs keep their values and order');
    assert.equal(meta.author, named[0]!.hash);
    assert.equal(meta.idHash, named[2]!.hash);
  } finally {
    await store.close();
  }
});

/** Writes a file store in `dir`: the targets, then plain entries, then `namingCount` naming ones. */
async function fill(dir: string, namingCount: number): Promise<void> {
  const store = await openFileStore({ crypto, dir });
  try {
    const named = targets();
    await store.put(named);
    await putMade(store, WARM + 2 * PHASE - namingCount, (i) => plain('plain', i));
    await putMade(store, namingCount, (i) => naming('naming', i, named));
  } finally {
    await store.close();
  }
}

test('a reopened file store keeps one string per hash in its index (load path)', async () => {
  const dirs: string[] = [];
  /** Heap the reopened store holds, with `count` entries of which the last `namingCount` name the targets. */
  const retainedByReopened = async (namingCount: number): Promise<number> => {
    const dir = await mkdtemp(join(tmpdir(), 'kith-meta-memory-'));
    dirs.push(dir);
    await fill(dir, namingCount);
    // The store that wrote is out of reach here, so `before` holds no index at all.
    const before = await retainedHeap();
    const store = await openFileStore({ crypto, dir });
    const after = await retainedHeap();
    assert.equal(store.lastSeq, 3 + WARM + 2 * PHASE);
    await store.close();
    return after - before;
  };
  try {
    const plainOnly = await retainedByReopened(0);
    const withNaming = await retainedByReopened(PHASE);
    const extra = (withNaming - plainOnly) / PHASE;
    assert.ok(extra < MAX_EXTRA_BYTES, `reopened, entries naming 5 stored hashes took ${extra.toFixed(0)} B more heap each than plain ones (bound ${MAX_EXTRA_BYTES})`);
  } finally {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});
