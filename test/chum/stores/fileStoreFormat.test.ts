import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { HEADER_BYTES, INDEX_MAGIC, encodeBatchRecord, headerMatches, logHeader, scanIndexLog } from '../../../chum/stores/fileStoreFormat.js';
import { checkEntries, planBatch, type FreshEntry } from '../../../chum/stores/checkBatch.js';
import type { InstanceId } from '../../../shared/ids.js';
import type { PutEntry } from '../../../chum/ObjectStore.js';
import { objectEntry, chunkEntry, absentHash } from '../storeConformance.js';

const crypto = new NativeCrypto();
const epoch = crypto.randomBytes(16);

/** Plans `batches` as a store would and returns their records, offsets and total data size. */
function records(batches: PutEntry[][]): { log: Buffer; dataSize: number; fresh: FreshEntry[][] } {
  const known = new Map<string, FreshEntry['meta']>();
  let seq = 1;
  let cursor = HEADER_BYTES;
  const parts: Buffer[] = [logHeader(INDEX_MAGIC, epoch)];
  const fresh: FreshEntry[][] = [];
  for (const batch of batches) {
    const plan = planBatch(checkEntries(crypto, batch), (h) => known.get(h), seq);
    const offsets = plan.fresh.map((e) => {
      const at = cursor;
      cursor += e.meta.size;
      return at;
    });
    for (const e of plan.fresh) known.set(e.meta.hash, e.meta);
    seq += plan.fresh.length;
    parts.push(encodeBatchRecord(plan.fresh, offsets));
    fresh.push(plan.fresh);
  }
  return { log: Buffer.concat(parts), dataSize: cursor, fresh };
}

test('batch records round-trip every meta field', () => {
  const chunk = chunkEntry(new Uint8Array(1234).fill(5));
  const author = absentHash('author') as string as InstanceId;
  const a = objectEntry('BlobManifest', { n: 1 }, [chunk.hash], { author });
  const b = objectEntry('Profile.v2', { n: 2 }, [a.hash, chunk.hash, a.hash], { author, idHash: absentHash('id') });
  const empty = chunkEntry(new Uint8Array(0));
  const { log, dataSize, fresh } = records([[chunk, a], [b, empty]]);
  const scan = scanIndexLog(log, dataSize);
  assert.equal(scan.indexEnd, log.length);
  assert.equal(scan.dataEnd, dataSize);
  assert.deepEqual(scan.index.since(0, 10), fresh.flat().map((e) => e.meta));
  assert.deepEqual(scan.offsets, [HEADER_BYTES, HEADER_BYTES + 1234, HEADER_BYTES + 1234 + a.bytes.length, HEADER_BYTES + 1234 + a.bytes.length + b.bytes.length]);
  assert.ok(headerMatches(log, INDEX_MAGIC, epoch));
  assert.equal(headerMatches(log, INDEX_MAGIC, crypto.randomBytes(16)), false);
  assert.equal(headerMatches(log.subarray(0, HEADER_BYTES - 1), INDEX_MAGIC, epoch), false);
});

test('a record with a valid checksum but impossible contents ends the scan', () => {
  const [x, y] = [objectEntry('Note', { n: 'x' }), objectEntry('Note', { n: 'y' })];
  const good = records([[x]]);
  const base = good.log;
  const cases: Array<{ what: string; record: Buffer }> = [];
  const plan = (entries: PutEntry[], seq: number) => planBatch(checkEntries(crypto, entries), () => undefined, seq).fresh;
  const yAt = HEADER_BYTES + x.bytes.length;
  cases.push({ what: 'sequence gap', record: encodeBatchRecord(plan([y], 3), [yAt]) });
  cases.push({ what: 'offset not right after the previous entry', record: encodeBatchRecord(plan([y], 2), [yAt + 1]) });
  cases.push({ what: 'hash already stored', record: encodeBatchRecord(plan([x], 2), [yAt]) });
  const nowhere = absentHash('nowhere');
  const pretend = (h: string) => (h === nowhere ? { seq: 0, hash: nowhere, kind: 'object' as const, type: 'Note', size: 1, refs: [] } : undefined);
  const dangling = planBatch(checkEntries(crypto, [objectEntry('Note', { n: 'd' }, [nowhere])]), pretend, 2).fresh;
  cases.push({ what: 'dangling ref', record: encodeBatchRecord(dangling, [yAt]) });
  for (const { what, record } of cases) {
    const log = Buffer.concat([base, record]);
    const scan = scanIndexLog(log, good.dataSize + 10_000);
    assert.equal(scan.index.lastSeq, 1, what);
    assert.equal(scan.indexEnd, base.length, what);
  }
  // The same record, valid, is accepted.
  const ok = scanIndexLog(Buffer.concat([base, encodeBatchRecord(plan([y], 2), [yAt])]), yAt + y.bytes.length);
  assert.equal(ok.index.lastSeq, 2);
  // And rejected when its bytes would end past the data log.
  const short = scanIndexLog(Buffer.concat([base, encodeBatchRecord(plan([y], 2), [yAt])]), yAt + y.bytes.length - 1);
  assert.equal(short.index.lastSeq, 1);
});

test('garbage after the header is never loaded', () => {
  for (let i = 0; i < 200; i++) {
    const log = Buffer.concat([logHeader(INDEX_MAGIC, epoch), Buffer.from(crypto.randomBytes(1 + (i % 100) * 7))]);
    const scan = scanIndexLog(log, 1 << 20);
    assert.equal(scan.index.lastSeq, 0);
    assert.equal(scan.indexEnd, HEADER_BYTES);
  }
});
