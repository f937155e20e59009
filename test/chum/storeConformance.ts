/**
 * The one conformance suite for `ObjectStore` (DESIGN §7). A new store is tested with
 *
 *   runObjectStoreTests('my store', async () => ({ store, reopen, destroy }));
 *
 * `open` must return a fresh, empty store each time; `reopen` (for stores that persist)
 * closes nothing itself — the suite closes the store first — and opens the same location
 * again; `destroy` removes whatever `open` created (it is called even after close).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ObjectStore, PutEntry, StoredMeta } from '../../chum/ObjectStore.js';
import type { InstanceId, ObjectHash } from '../../shared/ids.js';
import type { JsonValue } from '../../shared/canonical.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { objectBytes, hashBytes } from '../../shared/objects.js';
import { hasCode } from '../../shared/errors.js';
import { BLOB_CHUNK_BYTES, MAX_OBJECT_BYTES, MAX_PUT_BATCH_ENTRIES } from '../../shared/limits.js';
import { hostileStrings, hostileValues, isCoded } from '../support/hostile.js';

const crypto = new NativeCrypto();

export interface OpenedStore {
  readonly store: ObjectStore;
  /** Opens the same location again (the suite has closed `store`). Absent for stores that do not persist. */
  readonly reopen?: () => Promise<ObjectStore>;
  /** Removes what `open` created. */
  readonly destroy: () => Promise<void>;
}

/** An object entry whose bytes are the canonical JSON `{ $type, ...body, refs }`. */
export function objectEntry(type: string, body: Record<string, JsonValue>, refs: readonly ObjectHash[] = [], extra: { author?: InstanceId; idHash?: ObjectHash } = {}): PutEntry {
  const bytes = objectBytes({ $type: type, ...body, refs: [...refs] });
  return { hash: hashBytes(crypto, bytes), kind: 'object', type, bytes, refs, ...extra };
}

/** A blob chunk entry. */
export function chunkEntry(bytes: Uint8Array): PutEntry {
  return { hash: hashBytes(crypto, bytes), kind: 'chunk', type: 'chunk', bytes, refs: [] };
}

/** A hash nobody stores. */
export function absentHash(seed: string): ObjectHash {
  return hashBytes(crypto, new TextEncoder().encode(`absent ${seed}`));
}

/**
 * Checks every invariant a store promises and returns all metas in sequence order: dense
 * sequences, has/meta agree with `since`, refs stored earlier (closure), bytes hash to their
 * name, stats add up. `onEntry` sees each entry's bytes, for checks of the caller's own.
 */
export async function assertStoreConsistent(store: ObjectStore, onEntry?: (meta: StoredMeta, bytes: Uint8Array) => void): Promise<StoredMeta[]> {
  const all: StoredMeta[] = [];
  for (;;) {
    const page = store.since(all.length, 500);
    if (page.length === 0) break;
    all.push(...page);
  }
  assert.equal(all.length, store.lastSeq, 'since() covers exactly 1..lastSeq');
  let objects = 0;
  let chunks = 0;
  let bytes = 0;
  for (let i = 0; i < all.length; i++) {
    const meta = all[i]!;
    assert.equal(meta.seq, i + 1, 'sequences are dense');
    assert.equal(store.has(meta.hash), true);
    assert.deepEqual(store.meta(meta.hash), meta);
    for (const ref of meta.refs) {
      const target = store.meta(ref);
      assert.ok(target, `ref ${ref} of seq ${meta.seq} is stored`);
      assert.ok(target.seq < meta.seq, 'refs are stored before their referrer');
    }
    const stored = await store.get(meta.hash);
    assert.ok(stored, `bytes of seq ${meta.seq} are readable`);
    assert.equal(stored.length, meta.size);
    assert.equal(hashBytes(crypto, stored), meta.hash, 'bytes hash to their name');
    onEntry?.(meta, stored);
    if (meta.kind === 'chunk') chunks++;
    else objects++;
    bytes += meta.size;
  }
  assert.deepEqual(store.stats(), { objects, chunks, bytes });
  return all;
}

async function rejectsWith(promise: Promise<unknown>, code: string, what = ''): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(hasCode(err, code as never), `${what}: expected ${code}, got ${(err as { code?: string })?.code ?? String(err)}`);
    return true;
  }, `${what}: expected ${code}`);
}

async function rejectsCoded(promise: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isCoded(err), `${what}: expected a coded error, got ${String(err)}`);
    return true;
  }, `${what}: expected a coded error`);
}

/** Hostile lists hold some strings that are fine `$type` names ("aaa…"); those are not refused. */
const isTypeName = (value: unknown): boolean => typeof value === 'string' && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(value);

/** A chain of `n` small objects, each referencing the one before. */
function chain(n: number, tag: string): PutEntry[] {
  const out: PutEntry[] = [];
  for (let i = 0; i < n; i++) out.push(objectEntry('Note', { tag, i }, i > 0 ? [out[i - 1]!.hash] : []));
  return out;
}

export function runObjectStoreTests(name: string, open: () => Promise<OpenedStore>): void {
  /** Runs `body` on a fresh store and always cleans up. */
  const withStore = async (body: (opened: OpenedStore) => Promise<void>): Promise<void> => {
    const opened = await open();
    try {
      await body(opened);
    } finally {
      await opened.store.close().catch(() => undefined);
      await opened.destroy();
    }
  };

  describe(`ObjectStore conformance: ${name}`, () => {
    it('starts empty with an epoch', () =>
      withStore(async ({ store }) => {
        assert.match(store.epoch, /^[0-9a-f]{32}$/);
        assert.equal(store.lastSeq, 0);
        assert.deepEqual(store.stats(), { objects: 0, chunks: 0, bytes: 0 });
        assert.deepEqual(store.since(0, 10), []);
        assert.equal(store.has(absentHash('x')), false);
        assert.equal(store.meta(absentHash('x')), undefined);
        assert.equal(await store.get(absentHash('x')), undefined);
      }));

    it('stores objects and chunks and returns their bytes and metas', () =>
      withStore(async ({ store }) => {
        const chunk = chunkEntry(new Uint8Array([1, 2, 3, 255]));
        const author = absentHash('author') as string as InstanceId;
        const manifest = objectEntry('BlobManifest', { size: 4 }, [chunk.hash], { author });
        const metas = await store.put([chunk, manifest]);
        assert.deepEqual(metas, [
          { seq: 1, hash: chunk.hash, kind: 'chunk', type: 'chunk', size: 4, refs: [] },
          { seq: 2, hash: manifest.hash, kind: 'object', type: 'BlobManifest', size: manifest.bytes.length, refs: [chunk.hash], author },
        ]);
        assert.deepEqual(await store.get(chunk.hash), chunk.bytes);
        assert.deepEqual(await store.get(manifest.hash), manifest.bytes);
        assert.deepEqual(store.meta(manifest.hash), metas[1]);
        assert.equal(store.lastSeq, 2);
        await assertStoreConsistent(store);
      }));

    it('keeps its own copies of bytes on put and on get', () =>
      withStore(async ({ store }) => {
        const entry = objectEntry('Note', { text: 'mutable' });
        const original = entry.bytes.slice();
        const pending = store.put([entry]);
        entry.bytes.fill(0); // the caller scribbles over its buffer before the write happened
        await pending;
        const got = await store.get(entry.hash);
        assert.deepEqual(got, original);
        got!.fill(0);
        assert.deepEqual(await store.get(entry.hash), original);
      }));

    it('handOver: plain bytes are kept without a copy and still checked; anything else is copied as usual', () =>
      withStore(async ({ store }) => {
        // A view into a larger buffer, as the sync layer hands over a chunk of a reassembled message.
        const message = new Uint8Array(33 + 70_000);
        for (let i = 0; i < message.length; i++) message[i] = (i * 7) & 0xff;
        const chunk = chunkEntry(message.slice(33));
        const handed = { ...chunk, bytes: message.subarray(33) };
        const [meta] = await store.put([handed], { handOver: true });
        assert.equal(meta!.size, 70_000);
        assert.deepEqual(await store.get(chunk.hash), chunk.bytes);
        // Still checked: bytes handed over under the wrong name store nothing.
        const wrong = { ...chunkEntry(new Uint8Array([1, 2, 3])), bytes: new Uint8Array([3, 2, 1]) };
        await rejectsWith(store.put([wrong], { handOver: true }), 'HASH_MISMATCH');
        assert.equal(store.has(wrong.hash), false);
        // A subclass is not kept: scribbling over it after put changes nothing stored.
        class Bytes extends Uint8Array {}
        const note = objectEntry('Note', { text: 'subclass' });
        const sub = Bytes.from(note.bytes);
        const pending = store.put([{ ...note, bytes: sub }], { handOver: true });
        sub.fill(0);
        await pending;
        assert.deepEqual(await store.get(note.hash), note.bytes);
        assert.equal(store.lastSeq, 2);
        await assertStoreConsistent(store);
      }));

    it('getMany returns each entry in the order asked, undefined where absent, in own copies', () =>
      withStore(async ({ store }) => {
        const first = [objectEntry('Note', { n: 1 }), objectEntry('Note', { n: 2 }), chunkEntry(new Uint8Array([7, 8, 9]))];
        const second = [objectEntry('Note', { n: 3 }), objectEntry('Note', { n: 4, pad: 'x'.repeat(500) })];
        await store.put(first);
        await store.put(second);
        const all = [...first, ...second];
        // Back-to-back runs, a gap, reversed order, repeats and an absent hash.
        const asked = [all[0]!.hash, all[1]!.hash, all[2]!.hash, all[4]!.hash, absentHash('gone'), all[3]!.hash, all[0]!.hash];
        const got = await store.getMany(asked);
        assert.equal(got.length, asked.length);
        assert.deepEqual(got[0], all[0]!.bytes);
        assert.deepEqual(got[1], all[1]!.bytes);
        assert.deepEqual(got[2], all[2]!.bytes);
        assert.deepEqual(got[3], all[4]!.bytes);
        assert.equal(got[4], undefined);
        assert.deepEqual(got[5], all[3]!.bytes);
        assert.deepEqual(got[6], all[0]!.bytes);
        got[1]!.fill(0);
        assert.deepEqual(await store.get(all[1]!.hash), all[1]!.bytes, 'the caller scribbling over a result changes nothing stored');
        assert.deepEqual(await store.getMany([]), []);
        await rejectsWith(store.getMany('nope' as never), 'INVALID_INPUT');
      }));

    it('refuses bytes that do not hash to their name and stores nothing of the batch', () =>
      withStore(async ({ store }) => {
        const good = objectEntry('Note', { n: 1 });
        const bad = { ...objectEntry('Note', { n: 2 }), bytes: objectBytes({ $type: 'Note', n: 3, refs: [] }) };
        await rejectsWith(store.put([good, bad]), 'HASH_MISMATCH');
        const badChunk = { ...chunkEntry(new Uint8Array([1])), bytes: new Uint8Array([2]) };
        await rejectsWith(store.put([badChunk]), 'HASH_MISMATCH');
        assert.equal(store.lastSeq, 0);
        assert.equal(store.has(good.hash), false);
        assert.deepEqual(store.stats(), { objects: 0, chunks: 0, bytes: 0 });
      }));

    it('enforces closure: refs must be stored or earlier in the batch', () =>
      withStore(async ({ store }) => {
        const missing = absentHash('missing');
        const a = objectEntry('Note', { n: 'a' });
        const dangling = objectEntry('Note', { n: 'b' }, [missing]);
        await rejectsWith(store.put([a, dangling]), 'DANGLING_REFERENCE', 'missing ref');
        assert.equal(store.has(a.hash), false, 'the whole batch is rejected');

        const [x, y] = chain(2, 'order');
        await rejectsWith(store.put([y!, x!]), 'DANGLING_REFERENCE', 'ref later in the batch');
        assert.equal(store.lastSeq, 0);

        const metas = await store.put([x!, y!]);
        assert.deepEqual(metas.map((m) => m.seq), [1, 2], 'ref earlier in the batch is fine');
        const z = objectEntry('Note', { n: 'z' }, [y!.hash, x!.hash]);
        assert.equal((await store.put([z]))[0]!.seq, 3, 'ref stored by an earlier put is fine');
        await assertStoreConsistent(store);
      }));

    it('numbers new entries densely in insert order and re-puts are no-ops', () =>
      withStore(async ({ store }) => {
        const entries = chain(10, 'dense');
        const first = await store.put(entries.slice(0, 4));
        const second = await store.put(entries.slice(4));
        assert.deepEqual([...first, ...second].map((m) => m.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

        const events: number[][] = [];
        store.onStored((metas) => events.push(metas.map((m) => m.seq)));
        const again = await store.put(entries.slice(2, 6));
        assert.deepEqual(again, [...first.slice(2), ...second.slice(0, 2)], 're-put returns existing metas');
        assert.equal(store.lastSeq, 10);

        const fresh = objectEntry('Note', { n: 'new' }, [entries[9]!.hash]);
        const mixed = await store.put([entries[0]!, fresh, fresh, entries[9]!]);
        assert.deepEqual(mixed.map((m) => m.seq), [1, 11, 11, 10], 'only the new entry is numbered; a duplicate in the batch shares it');
        assert.deepEqual(events, [[11]], 'onStored saw only the new entry');
        await assertStoreConsistent(store);
      }));

    it('pages through since()', () =>
      withStore(async ({ store }) => {
        await store.put(chain(7, 'page'));
        assert.deepEqual(store.since(0, 3).map((m) => m.seq), [1, 2, 3]);
        assert.deepEqual(store.since(3, 3).map((m) => m.seq), [4, 5, 6]);
        assert.deepEqual(store.since(6, 3).map((m) => m.seq), [7]);
        assert.deepEqual(store.since(7, 3), []);
        assert.deepEqual(store.since(100, 3), []);
        assert.deepEqual(store.since(2, 0), []);
        for (const bad of [-1, 1.5, NaN, Infinity, '1', null, undefined, 2 ** 53]) {
          assert.throws(() => store.since(bad as number, 10), (e: unknown) => hasCode(e, 'INVALID_INPUT'), `after=${String(bad)}`);
          assert.throws(() => store.since(0, bad as number), (e: unknown) => hasCode(e, 'INVALID_INPUT'), `limit=${String(bad)}`);
        }
      }));

    it('lists the versions of a versioned object in sequence order', () =>
      withStore(async ({ store }) => {
        const idHash = absentHash('versioned-id');
        const v1 = objectEntry('Profile', { v: 1 }, [], { idHash });
        const other = objectEntry('Profile', { v: 'other' }, [], { idHash: absentHash('other-id') });
        const v2 = objectEntry('Profile', { v: 2 }, [v1.hash], { idHash });
        await store.put([v1, other]);
        await store.put([v2]);
        assert.deepEqual(store.versionsOf(idHash).map((m) => m.hash), [v1.hash, v2.hash]);
        assert.equal(store.versionsOf(idHash)[1]!.idHash, idHash);
        assert.deepEqual(store.versionsOf(absentHash('nothing')), []);
        const list = store.versionsOf(idHash);
        list.pop();
        assert.equal(store.versionsOf(idHash).length, 2, 'the returned list is a copy');
      }));

    it('counts objects, chunks and bytes', () =>
      withStore(async ({ store }) => {
        const c1 = chunkEntry(new Uint8Array(100).fill(1));
        const c2 = chunkEntry(new Uint8Array(0));
        const o = objectEntry('BlobManifest', { n: 2 }, [c1.hash, c2.hash]);
        await store.put([c1, c2, o]);
        await store.put([c1]);
        assert.deepEqual(store.stats(), { objects: 1, chunks: 2, bytes: 100 + o.bytes.length });
      }));

    it('fires onStored once per durable batch with only its new entries', () =>
      withStore(async ({ store }) => {
        const seen: string[][] = [];
        const off = store.onStored((metas) => {
          for (const m of metas) assert.ok(store.has(m.hash), 'entries are stored when onStored fires');
          seen.push(metas.map((m) => m.hash));
        });
        const [a, b, c] = chain(3, 'events');
        await store.put([a!]);
        await Promise.all([store.put([a!, b!]), store.put([c!])]);
        await store.put([a!, b!, c!]);
        await rejectsWith(store.put([objectEntry('Note', { n: 1 }, [absentHash('gone')])]), 'DANGLING_REFERENCE');
        assert.deepEqual(seen, [[a!.hash], [b!.hash], [c!.hash]]);
        off();
        await store.put([objectEntry('Note', { after: 'off' })]);
        assert.equal(seen.length, 3, 'unsubscribed listeners hear nothing');
        assert.throws(() => store.onStored('nope' as never), (e: unknown) => hasCode(e, 'INVALID_INPUT'));
      }));

    it('keeps sequences dense and unique under many concurrent puts', () =>
      withStore(async ({ store }) => {
        const batches: PutEntry[][] = [];
        for (let i = 0; i < 60; i++) batches.push(chain(1 + (i % 5), `concurrent-${i}`));
        const shared = objectEntry('Note', { shared: true });
        // Many callers race: distinct batches, the same entry from several batches, and
        // batches that reference entries of batches still in flight.
        const puts: Promise<StoredMeta[]>[] = [];
        for (let i = 0; i < batches.length; i++) {
          puts.push(store.put(batches[i]!));
          if (i % 10 === 0) puts.push(store.put([shared]));
          if (i % 7 === 3) puts.push(store.put([objectEntry('Note', { follows: i }, [batches[i]![0]!.hash])]));
        }
        const results = await Promise.all(puts);
        const total = new Set(results.flat().map((m) => m.hash)).size;
        assert.equal(store.lastSeq, total);
        const all = await assertStoreConsistent(store);
        assert.equal(new Set(all.map((m) => m.hash)).size, all.length, 'no hash stored twice');
        for (const metas of results) for (const m of metas) assert.deepEqual(store.meta(m.hash), m, 'returned metas are the stored ones');
      }));

    it('fails a bad batch alone when it shares a group commit with good ones', () =>
      withStore(async ({ store }) => {
        const [a, b] = chain(2, 'group');
        const results = await Promise.allSettled([
          store.put([a!]),
          store.put([objectEntry('Note', { bad: true }, [absentHash('never')])]),
          store.put([b!]),
          store.put([{ ...objectEntry('Note', { n: 'x' }), hash: absentHash('wrong') }]),
        ]);
        assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled', 'rejected']);
        assert.ok(hasCode((results[1] as PromiseRejectedResult).reason, 'DANGLING_REFERENCE'));
        assert.ok(hasCode((results[3] as PromiseRejectedResult).reason, 'HASH_MISMATCH'));
        assert.deepEqual([store.meta(a!.hash)?.seq, store.meta(b!.hash)?.seq], [1, 2]);
        await assertStoreConsistent(store);
      }));

    it('rejects every call after close with CLOSED, but finishes puts already made', () =>
      withStore(async ({ store }) => {
        const entry = objectEntry('Note', { n: 'closing' });
        const pending = store.put([entry]);
        await store.close();
        assert.equal((await pending)[0]!.seq, 1, 'a put made before close completes');
        await store.close(); // idempotent
        await rejectsWith(store.put([objectEntry('Note', { n: 'late' })]), 'CLOSED');
        await rejectsWith(store.get(entry.hash), 'CLOSED');
        for (const call of [() => store.has(entry.hash), () => store.meta(entry.hash), () => store.since(0, 1), () => store.versionsOf(entry.hash), () => store.stats(), () => store.onStored(() => {})]) {
          assert.throws(call, (e: unknown) => hasCode(e, 'CLOSED'));
        }
      }));

    it('refuses hostile entries with coded errors and stores nothing', () =>
      withStore(async ({ store }) => {
        const good = objectEntry('Note', { n: 'good' });
        const attempts: Array<{ what: string; batch: unknown; code?: string }> = [];
        for (const { name: n, value } of hostileValues()) {
          if (!Array.isArray(value)) attempts.push({ what: `batch = ${n}`, batch: value, code: 'INVALID_INPUT' });
          attempts.push({ what: `entry = ${n}`, batch: [good, value], code: 'INVALID_INPUT' });
          if (!(value instanceof Uint8Array)) attempts.push({ what: `bytes = ${n}`, batch: [{ ...good, bytes: value }], code: 'INVALID_INPUT' });
          if (!Array.isArray(value) || value.length > 0) attempts.push({ what: `refs = ${n}`, batch: [{ ...good, refs: value }] });
          if (!isTypeName(value)) attempts.push({ what: `type = ${n}`, batch: [{ ...good, type: value }], code: 'INVALID_INPUT' });
          attempts.push({ what: `kind = ${n}`, batch: [{ ...good, kind: value }], code: 'INVALID_INPUT' });
          attempts.push({ what: `hash = ${n}`, batch: [{ ...good, hash: value }], code: 'INVALID_INPUT' });
          if (value !== undefined) {
            attempts.push({ what: `author = ${n}`, batch: [{ ...good, author: value }], code: 'INVALID_INPUT' });
            attempts.push({ what: `idHash = ${n}`, batch: [{ ...good, idHash: value }], code: 'INVALID_INPUT' });
          }
        }
        for (const { name: n, value } of hostileStrings()) {
          attempts.push({ what: `hash string ${n}`, batch: [{ ...good, hash: value }], code: 'INVALID_INPUT' });
          attempts.push({ what: `ref string ${n}`, batch: [{ ...good, refs: [value] }], code: 'INVALID_INPUT' });
          if (!isTypeName(value)) attempts.push({ what: `type string ${n}`, batch: [{ ...good, type: value }], code: 'INVALID_INPUT' });
        }
        const upper = good.hash.toUpperCase();
        attempts.push({ what: 'uppercase hash', batch: [{ ...good, hash: upper }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'hash with a trailing newline', batch: [{ ...good, hash: `${good.hash}\n` }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'path-like hash', batch: [{ ...good, hash: `../${good.hash.slice(3)}` }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'hash of another entry', batch: [{ ...good, hash: absentHash('other') }], code: 'HASH_MISMATCH' });
        for (const type of ['', ' Note', 'No te', 'x'.repeat(65), 'Note\u0000', 'Nöte', '1Note', 'chunk\n']) {
          attempts.push({ what: `absurd type ${JSON.stringify(type)}`, batch: [{ ...good, type }], code: 'INVALID_INPUT' });
        }
        attempts.push({ what: 'chunk with another type', batch: [{ ...chunkEntry(new Uint8Array([7])), type: 'Note' }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'chunk with refs', batch: [good, { ...chunkEntry(new Uint8Array([7])), refs: [good.hash] }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'chunk with an author', batch: [{ ...chunkEntry(new Uint8Array([7])), author: good.hash }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'empty object bytes', batch: [{ ...good, bytes: new Uint8Array(0), hash: hashBytes(crypto, new Uint8Array(0)) }], code: 'INVALID_INPUT' });
        attempts.push({ what: 'more refs than the bytes can name', batch: [good, { ...objectEntry('Note', { small: true }), refs: Array(100).fill(good.hash) }], code: 'INVALID_INPUT' });
        const roomy = objectEntry('Note', { pad: 'x'.repeat(100) });
        attempts.push({ what: 'a ref to itself', batch: [{ ...roomy, refs: [roomy.hash] }], code: 'DANGLING_REFERENCE' });
        const bigObject = new Uint8Array(MAX_OBJECT_BYTES + 1).fill(0x20);
        attempts.push({ what: 'object over MAX_OBJECT_BYTES', batch: [{ ...good, bytes: bigObject, hash: hashBytes(crypto, bigObject) }], code: 'OBJECT_TOO_LARGE' });
        const bigChunk = new Uint8Array(BLOB_CHUNK_BYTES + 1);
        attempts.push({ what: 'chunk over BLOB_CHUNK_BYTES', batch: [chunkEntry(bigChunk)], code: 'OBJECT_TOO_LARGE' });
        attempts.push({ what: 'too many entries', batch: Array(MAX_PUT_BATCH_ENTRIES + 1).fill(good), code: 'INVALID_INPUT' });
        attempts.push({ what: 'sparse batch', batch: [good, , good], code: 'INVALID_INPUT' });
        const throwing = Object.defineProperty({ ...good }, 'bytes', { get: () => { throw new Error('boom'); }, enumerable: true });
        attempts.push({ what: 'getter that throws', batch: [throwing], code: 'INVALID_INPUT' });

        for (const { what, batch, code } of attempts) {
          if (code) await rejectsWith(store.put(batch as PutEntry[]), code, what);
          else await rejectsCoded(store.put(batch as PutEntry[]), what);
        }
        assert.equal(store.lastSeq, 0, 'nothing was stored');
        assert.deepEqual(store.stats(), { objects: 0, chunks: 0, bytes: 0 });
        assert.equal(store.has(good.hash), false);

        for (const { value } of [...hostileValues(), ...hostileStrings()]) {
          assert.equal(store.has(value as ObjectHash), false);
          assert.equal(store.meta(value as ObjectHash), undefined);
          assert.deepEqual(store.versionsOf(value as ObjectHash), []);
          assert.equal(await store.get(value as ObjectHash), undefined);
        }
        // A chunk at exactly the limit is fine.
        const maxChunk = chunkEntry(new Uint8Array(BLOB_CHUNK_BYTES).fill(9));
        assert.equal((await store.put([maxChunk]))[0]!.size, BLOB_CHUNK_BYTES);
        assert.deepEqual(await store.get(maxChunk.hash), maxChunk.bytes);
      }));

    it('persists across reopen: same epoch, sequences and bytes', async (t) => {
      const opened = await open();
      if (!opened.reopen) {
        await opened.store.close();
        await opened.destroy();
        t.skip('this store does not persist');
        return;
      }
      let store = opened.store;
      try {
        const idHash = absentHash('persist-id');
        const c = chunkEntry(new Uint8Array(5000).fill(3));
        const entries = [c, ...chain(5, 'persist'), objectEntry('Profile', { v: 1 }, [c.hash], { idHash })];
        await store.put(entries.slice(0, 3));
        await store.put(entries.slice(3));
        const epoch = store.epoch;
        const before = await assertStoreConsistent(store);
        const stats = store.stats();
        await store.close();

        store = await opened.reopen();
        assert.equal(store.epoch, epoch);
        assert.equal(store.lastSeq, before.length);
        assert.deepEqual(await assertStoreConsistent(store), before);
        assert.deepEqual(store.stats(), stats);
        assert.deepEqual(store.versionsOf(idHash).map((m) => m.seq), [before.length]);
        for (const e of entries) assert.deepEqual(await store.get(e.hash), e.bytes);

        const next = await store.put([objectEntry('Note', { after: 'reopen' }, [c.hash])]);
        assert.equal(next[0]!.seq, before.length + 1, 'sequences continue');
        await store.close();
        store = await opened.reopen();
        assert.equal(store.lastSeq, before.length + 1);
        await assertStoreConsistent(store);
      } finally {
        await store.close().catch(() => undefined);
        await opened.destroy();
      }
    });
  });
}
