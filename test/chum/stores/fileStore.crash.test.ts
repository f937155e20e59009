/**
 * Crash consistency of the file store: every way a crash can cut the logs must reopen as a
 * store holding only whole batches, with every entry's bytes intact and no dangling refs.
 * 1. Simulated power loss: the logs of a finished store are cut (or scribbled over) at every
 *    byte of the last batch and reopened.
 * 2. Real process death: a child writing batches in a loop is killed with SIGKILL at random
 *    moments, and every batch it saw acknowledged must survive.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, readFile, writeFile, mkdir, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { openFileStore } from '../../../chum/stores/fileStore.js';
import type { ObjectStore, PutEntry } from '../../../chum/ObjectStore.js';
import { fromUtf8 } from '../../../shared/bytes.js';
import { assertStoreConsistent, objectEntry, chunkEntry } from '../storeConformance.js';

const crypto = new NativeCrypto();
const root = await mkdtemp(join(tmpdir(), 'kith-filestore-crash-'));
after(() => rm(root, { recursive: true, force: true }));
const STRESS = process.env.KITH_STRESS === '1';

/** Builds a store of `batches`, closed, and returns the log sizes before the last batch. */
async function buildStore(dir: string, batches: PutEntry[][]): Promise<{ indexBefore: number; dataBefore: number }> {
  const store = await openFileStore({ crypto, dir });
  for (const batch of batches.slice(0, -1)) await store.put(batch);
  await store.close();
  const indexBefore = (await readFile(join(dir, 'index.log'))).length;
  const dataBefore = (await readFile(join(dir, 'data.log'))).length;
  const again = await openFileStore({ crypto, dir });
  await again.put(batches[batches.length - 1]!);
  await again.close();
  return { indexBefore, dataBefore };
}

/** The set of hashes a reopened store holds must be exactly the first `whole` batches. */
function assertWholeBatches(store: ObjectStore, batches: PutEntry[][], whole: number, what: string): void {
  const expected = new Set(batches.slice(0, whole).flat().map((e) => e.hash));
  assert.equal(store.lastSeq, expected.size, `${what}: ${whole} whole batches`);
  for (const hash of expected) assert.ok(store.has(hash), `${what}: batch entries present`);
}

test('cutting or scribbling over the logs anywhere in the last batch leaves whole batches only', { timeout: 120_000 }, async () => {
  const src = join(root, 'source');
  const chunk = chunkEntry(crypto.randomBytes(700));
  const early = [
    [objectEntry('Note', { n: 0 })],
    [chunk, objectEntry('BlobManifest', { n: 1 }, [chunk.hash])],
    [objectEntry('Note', { n: 2, pad: 'p'.repeat(300) })],
  ];
  const lastChunk = chunkEntry(crypto.randomBytes(400));
  const l1 = objectEntry('Note', { n: 'l1', pad: 'q'.repeat(200) }, [early[0]![0]!.hash]);
  const l2 = objectEntry('Note', { n: 'l2' }, [l1.hash, lastChunk.hash]);
  const l3 = objectEntry('Profile', { v: 1 }, [l2.hash], { idHash: l1.hash });
  const batches = [...early, [l1, lastChunk, l2, early[2]![0]!, l3]];
  const { indexBefore, dataBefore } = await buildStore(src, batches);
  const index = await readFile(join(src, 'index.log'));
  const data = await readFile(join(src, 'data.log'));
  assert.ok(index.length > indexBefore && data.length > dataBefore);

  const cases: Array<{ what: string; index: Buffer; data: Buffer; whole: number }> = [];
  for (let cut = indexBefore; cut <= index.length; cut++) {
    cases.push({ what: `index cut at ${cut}`, index: index.subarray(0, cut), data, whole: cut === index.length ? 4 : 3 });
  }
  const dataStep = STRESS ? 1 : 3;
  for (let cut = dataBefore; cut <= data.length; cut += dataStep) {
    cases.push({ what: `data cut at ${cut}`, index, data: data.subarray(0, cut), whole: cut === data.length ? 4 : 3 });
  }
  for (let i = 0; i < 100; i++) {
    const iCut = indexBefore + Math.floor(Math.random() * (index.length - indexBefore));
    const dCut = dataBefore + Math.floor(Math.random() * (data.length - dataBefore + 1));
    cases.push({ what: `index cut at ${iCut}, data at ${dCut}`, index: index.subarray(0, iCut), data: data.subarray(0, dCut), whole: 3 });
  }
  for (let i = 0; i < 60; i++) {
    // A torn sector: part of the last record is there but holds other bytes.
    const scribbled = Buffer.from(index);
    const at = indexBefore + Math.floor(Math.random() * (index.length - indexBefore));
    const length = 1 + Math.floor(Math.random() * Math.min(64, index.length - at));
    crypto.randomBytes(length).forEach((b, k) => (scribbled[at + k] = b === scribbled[at + k] ? b ^ 1 : b));
    cases.push({ what: `index scribbled at ${at}+${length}`, index: scribbled, data, whole: 3 });
  }
  assert.ok(cases.length >= 200, `${cases.length} cases`);

  const scratch = join(root, 'scratch');
  for (const [n, c] of cases.entries()) {
    await rm(scratch, { recursive: true, force: true });
    await mkdir(scratch);
    await copyFile(join(src, 'EPOCH'), join(scratch, 'EPOCH'));
    await writeFile(join(scratch, 'index.log'), c.index);
    await writeFile(join(scratch, 'data.log'), c.data);
    const store = await openFileStore({ crypto, dir: scratch });
    try {
      assert.equal(store.recovery.reset, undefined, `${c.what}: loaded, not reset`);
      assertWholeBatches(store, batches, c.whole, c.what);
      await assertStoreConsistent(store);
      if (n % 10 === 0) {
        // The repaired store takes new batches and keeps them.
        const next = objectEntry('Note', { after: n }, [batches[0]![0]!.hash]);
        assert.equal((await store.put([next]))[0]!.seq, store.lastSeq);
        await store.close();
        const again = await openFileStore({ crypto, dir: scratch });
        assert.equal(again.has(next.hash), true, `${c.what}: new batch persisted after repair`);
        await assertStoreConsistent(again);
        await again.close();
      }
    } finally {
      await store.close();
    }
  }
});

/** Spawns the writer, kills it with SIGKILL after a random delay; returns the acknowledged batch ids. */
function runAndKill(dir: string, round: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const writer = join(import.meta.dirname, 'fileStoreCrashWriter.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir, String(round)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acked: string[] = [];
    let stderr = '';
    let buffered = '';
    let killTimer: NodeJS.Timeout | undefined;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`round ${round}: the writer acknowledged nothing within 20 s; stderr: ${stderr}`));
    }, 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) if (line.startsWith('acked ')) acked.push(line.slice(6));
      if (acked.length > 0 && !killTimer) killTimer = setTimeout(() => child.kill('SIGKILL'), Math.random() * 200);
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => (stderr += text));
    child.on('exit', (code, signal) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      if (signal !== 'SIGKILL') reject(new Error(`round ${round}: writer exited with ${code}: ${stderr}`));
      else resolve(acked);
    });
  });
}

test('a writer killed with SIGKILL at random moments loses no acknowledged batch and leaves only whole ones', { timeout: 180_000 }, async () => {
  const dir = join(root, 'killed');
  const rounds = STRESS ? 40 : 10;
  const ackedEver = new Set<string>();
  let epoch: string | undefined;
  let lastSeq = 0;
  for (let round = 0; round < rounds; round++) {
    for (const id of await runAndKill(dir, round)) ackedEver.add(id);
    const store = await openFileStore({ crypto, dir });
    try {
      assert.equal(store.recovery.reset, undefined, `round ${round}: the store loads (${store.recovery.reset})`);
      epoch ??= store.epoch;
      assert.equal(store.epoch, epoch, 'the epoch survives every crash');
      assert.ok(store.lastSeq >= lastSeq, 'nothing durable is lost');
      lastSeq = store.lastSeq;
      const seen = new Map<string, { objects: number; count: number }>();
      await assertStoreConsistent(store, (meta, bytes) => {
        if (meta.type !== 'CrashNote') return;
        const obj = JSON.parse(fromUtf8(bytes)) as { batch: string; objects: number };
        const entry = seen.get(obj.batch) ?? { objects: obj.objects, count: 0 };
        entry.count++;
        seen.set(obj.batch, entry);
      });
      for (const [id, { objects, count }] of seen) assert.equal(count, objects, `round ${round}: batch ${id} is whole`);
      for (const id of ackedEver) assert.ok(seen.has(id), `round ${round}: acknowledged batch ${id} survived`);
    } finally {
      await store.close();
    }
  }
  assert.ok(ackedEver.size >= rounds, `the writer made progress (${ackedEver.size} acknowledged batches)`);
});
