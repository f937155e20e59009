/**
 * A full audit of an object store, for crash-consistency tests: walks every entry in
 * sequence order, re-hashes its bytes, runs every object through `describeBytes` and the
 * verifier's rules (closure, certificate chain, signature, write rights), and checks that
 * every reference is stored — earlier — and that the store's own metadata agrees with what
 * the bytes say. Fails with an assertion naming the first broken entry.
 */
import assert from 'node:assert/strict';
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore, StoredMeta } from '../../chum/ObjectStore.js';
import { describeBytes, type DescribedObject } from '../../chum/model/describe.js';
import { ObjectVerifier } from '../../chum/model/verify.js';
import { hashBytes } from '../../shared/objects.js';

export interface StoreAudit {
  readonly objects: number;
  readonly chunks: number;
  readonly bytes: number;
  /** Every stored hash, in sequence order. */
  readonly hashes: readonly string[];
}

/** Entries verified together (the verifier checks a batch's signatures concurrently). */
const PAGE = 500;

export async function auditStore(crypto: CryptoProvider, store: ObjectStore): Promise<StoreAudit> {
  const verifier = new ObjectVerifier(crypto, store);
  const hashes: string[] = [];
  let objects = 0;
  let chunks = 0;
  let bytes = 0;
  for (let after = 0; ; ) {
    const page: StoredMeta[] = store.since(after, PAGE);
    if (page.length === 0) break;
    const described: DescribedObject[] = [];
    for (const meta of page) {
      assert.equal(meta.seq, hashes.length + 1, `sequences are dense (at ${meta.hash})`);
      const data = await store.get(meta.hash);
      assert.ok(data, `seq ${meta.seq}: bytes are readable`);
      assert.equal(data.length, meta.size, `seq ${meta.seq}: size`);
      assert.equal(hashBytes(crypto, data), meta.hash, `seq ${meta.seq}: bytes hash to their name`);
      for (const ref of meta.refs) {
        const target = store.meta(ref);
        assert.ok(target, `seq ${meta.seq} (${meta.type}): reference ${ref} dangles`);
        assert.ok(target.seq < meta.seq, `seq ${meta.seq}: reference stored before its referrer`);
      }
      if (meta.kind === 'chunk') {
        chunks++;
      } else {
        objects++;
        let d: DescribedObject;
        try {
          d = describeBytes(crypto, data);
        } catch (err) {
          assert.fail(`seq ${meta.seq}: a stored object does not describe: ${(err as Error).message}`);
        }
        assert.equal(d.type, meta.type, `seq ${meta.seq}: type`);
        assert.deepEqual(new Set(meta.refs), new Set([...d.refs, ...d.chunkRefs]), `seq ${meta.seq}: the index's references are the object's`);
        described.push(d);
      }
      bytes += meta.size;
      hashes.push(meta.hash);
    }
    try {
      await verifier.verifyBatch(described);
    } catch (err) {
      assert.fail(`an object in seq ${page[0]!.seq}–${page.at(-1)!.seq} fails verification: ${(err as { code?: string }).code} ${(err as Error).message}`);
    }
    after = page.at(-1)!.seq;
  }
  assert.equal(hashes.length, store.lastSeq, 'the walk covered 1..lastSeq');
  assert.deepEqual(store.stats(), { objects, chunks, bytes }, 'stats agree with the entries');
  return { objects, chunks, bytes, hashes };
}
