import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { IdbStateAdapter, openStateDatabase, writeRecord, readRecord } from '../../renderer/idbStateAdapter.js';
import { StateDocument } from '../../shared/StateDocument.js';
import { emptyPairingDocument, parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { parseMarksDocument, type MarksDocument, MarkStore } from '../../chum/sync/marks.js';
import { hostileValues, isCoded } from '../support/hostile.js';
import type { InstanceId } from '../../shared/ids.js';

async function freshDb(name = 'state') {
  const factory = new IDBFactory();
  return { factory, db: await openStateDatabase(factory, name) };
}

test('a document round-trips through IndexedDB and survives reopening the database', async () => {
  const { factory, db } = await freshDb();
  const adapter = new IdbStateAdapter<PairingDocument>(db, 'pairing', parsePairingDocument);
  assert.equal(await adapter.read(), null, 'nothing stored yet');
  const doc = await StateDocument.open(adapter, emptyPairingDocument);
  await doc.update((d) => {
    d.invites.push({ inviteId: 'a'.repeat(32) as never, nonce: 'AAAAAAAAAAAAAAAAAAAAAA', purpose: 'contact', createdAt: 1, expiresAt: 601, failedAttempts: 0, status: 'open' });
  });
  db.close();
  const again = await openStateDatabase(factory, 'state');
  const reread = await new IdbStateAdapter<PairingDocument>(again, 'pairing', parsePairingDocument).read();
  assert.equal(reread?.invites.length, 1);
  assert.equal(reread?.invites[0]?.status, 'open');
  again.close();
});

test('the two documents are separate records; marks persist through MarkStore', async () => {
  const { db } = await freshDb();
  const marksAdapter = new IdbStateAdapter<MarksDocument>(db, 'marks', parseMarksDocument);
  const marks = await MarkStore.open(marksAdapter);
  const peer = 'b'.repeat(64) as InstanceId;
  marks.set(peer, { epoch: 'abcdefgh', seq: 42 });
  await marks.persist();
  assert.equal(await new IdbStateAdapter<PairingDocument>(db, 'pairing', parsePairingDocument).read(), null);
  const reopened = await MarkStore.open(marksAdapter);
  assert.deepEqual(reopened.get(peer), { epoch: 'abcdefgh', seq: 42 });
  db.close();
});

test('damaged or foreign records are refused with a code, never half-trusted', async () => {
  const { db } = await freshDb();
  const adapter = new IdbStateAdapter<PairingDocument>(db, 'pairing', parsePairingDocument);
  const cases: Array<{ name: string; value: unknown }> = [
    { name: 'not JSON', value: '{"version":1,' },
    { name: 'wrong shape', value: JSON.stringify({ version: 2, invites: [], contacts: [] }) },
    { name: 'extra field', value: JSON.stringify({ version: 1, invites: [], contacts: [], admin: true }) },
    { name: 'a structured object instead of text', value: { version: 1, invites: [], contacts: [] } },
    { name: 'too large', value: 'x'.repeat(17 * 1024 * 1024) },
    ...hostileValues()
      .filter((h) => h.value !== undefined && typeof h.value !== 'function' && typeof h.value !== 'symbol')
      .map((h) => ({ name: `hostile ${h.name}`, value: safeClone(h.value) }))
      .filter((h) => h.value !== undefined),
  ];
  for (const c of cases) {
    await writeRecord(db, 'pairing', c.value);
    await assert.rejects(adapter.read(), (err: unknown) => isCoded(err), c.name);
  }
  db.close();
});

test('writes are JSON text records (what the reader expects)', async () => {
  const { db } = await freshDb();
  await new IdbStateAdapter<PairingDocument>(db, 'pairing', parsePairingDocument).write(emptyPairingDocument());
  const raw = await readRecord(db, 'pairing');
  assert.equal(typeof raw, 'string');
  assert.deepEqual(JSON.parse(raw as string), emptyPairingDocument());
  db.close();
});

test('a database without IndexedDB support is reported with a code', async () => {
  await assert.rejects(openStateDatabase(undefined as never, 'x'), { code: 'STORE_FAILED' });
});

/** Values IndexedDB can store (structured clone); others are skipped. */
function safeClone(v: unknown): unknown {
  try {
    return structuredClone(v);
  } catch {
    return undefined;
  }
}
