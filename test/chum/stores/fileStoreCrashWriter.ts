/**
 * Child process for the kill -9 test (fileStore.crash.test.ts): opens the store in argv[2]
 * and writes batches from several concurrent loops until it is killed. Each object carries
 * its batch id and the batch's object count, so the parent can tell whole batches from
 * partial ones; after each put resolves, the batch id is printed as acknowledged.
 */
import { openFileStore } from '../../../chum/stores/fileStore.js';
import type { ObjectHash } from '../../../shared/ids.js';
import type { PutEntry } from '../../../chum/ObjectStore.js';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { objectEntry, chunkEntry } from '../storeConformance.js';

const LOOPS = 4;
const MAX_OBJECTS_PER_BATCH = 8;
const MAX_CHUNK_BYTES = 4000;

const [dir, round] = process.argv.slice(2);
if (!dir || !round) throw new Error('usage: fileStoreCrashWriter.ts DIR ROUND');
const crypto = new NativeCrypto();
const store = await openFileStore({ crypto, dir });
const random = (n: number): number => Math.floor(Math.random() * n);

function someStoredHash(): ObjectHash | undefined {
  if (store.lastSeq === 0) return undefined;
  return store.since(random(store.lastSeq), 1)[0]?.hash;
}

function makeBatch(id: string): PutEntry[] {
  const objects = 1 + random(MAX_OBJECTS_PER_BATCH);
  const entries: PutEntry[] = [];
  for (let i = 0; i < objects; i++) {
    const refs: ObjectHash[] = [];
    if (i > 0) refs.push(entries[entries.length - 1]!.hash);
    const old = someStoredHash();
    if (old && random(2) === 0) refs.push(old);
    if (random(4) === 0) {
      const chunk = chunkEntry(crypto.randomBytes(1 + random(MAX_CHUNK_BYTES)));
      entries.push(chunk);
      refs.push(chunk.hash);
    }
    entries.push(objectEntry('CrashNote', { batch: id, objects, i, pad: 'x'.repeat(random(300)) }, refs));
  }
  return entries;
}

async function loop(n: number): Promise<void> {
  for (let b = 0; ; b++) {
    const id = `${round}-${n}-${b}`;
    await store.put(makeBatch(id));
    process.stdout.write(`acked ${id}\n`);
  }
}

await Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
