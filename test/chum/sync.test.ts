import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { crypto, makeIdentity, waitFor } from '../support/peers.js';
import { recordChumWire, type ChumWireRecorder } from '../support/chumWire.js';
import { copyStore } from '../support/storeCopy.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { Msg, decodeBatch } from '../../chum/sync/wire.js';
import { createInstance, issueCertificate, type LocalIdentity } from '../../shared/identity.js';
import type { ObjectHash } from '../../shared/ids.js';

async function paired(net: MemoryNetwork, a: MemoryInstance, b: MemoryInstance): Promise<void> {
  await b.instance.acceptInvite((await a.instance.invite()).link);
}

async function notes(i: MemoryInstance, n: number, channel: ObjectHash, prefix = 'note'): Promise<ObjectHash[]> {
  const out: ObjectHash[] = [];
  for (let k = 0; k < n; k++) out.push(await i.instance.chum.putSigned({ $type: 'ChannelEntry', channel, hlc: i.instance.chum.clock.now(), text: `${prefix} ${k}` }));
  return out;
}

test('objects granted to a contact reach it, verified, and live updates follow', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  await paired(net, ann, bob);
  const channel = await ann.instance.chum.createId('Channel', 'general');
  await ann.instance.chum.grant({ ids: [channel], persons: [bob.identity.personId] });
  const first = await notes(ann, 250, channel);
  await waitFor(() => first.every((h) => bob.store.has(h)), 10_000, 'backlog synced');
  const live = await notes(ann, 1, channel, 'live');
  await waitFor(() => bob.store.has(live[0]!), 5000, 'live push');
  const entry = await bob.instance.chum.getObject(live[0]!);
  assert.equal(entry?.text, 'live 0');
  // Nothing ann did not grant: her private note stays home.
  const privateChannel = await ann.instance.chum.createId('Channel', 'private');
  const secret = await notes(ann, 1, privateChannel, 'secret');
  const after = await notes(ann, 1, channel, 'after');
  await waitFor(() => bob.store.has(after[0]!), 5000, 'later object');
  assert.equal(bob.store.has(secret[0]!), false);
  assert.equal(bob.store.has(privateChannel), false);
  await ann.instance.close();
  await bob.instance.close();
});

async function meshOf(net: MemoryNetwork, names: string[]): Promise<MemoryInstance[]> {
  const nodes = await Promise.all(names.map((n) => memoryInstance(net, n)));
  for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) await paired(net, nodes[i]!, nodes[j]!);
  return nodes;
}

test('three instances with interleaved writes converge to the same set', async () => {
  const net = new MemoryNetwork({ latencyMs: 1 });
  const [a, b, c] = await meshOf(net, ['a', 'b', 'c']);
  const channel = await a!.instance.chum.createId('Channel', 'team');
  await a!.instance.chum.grant({ ids: [channel], persons: [b!.identity.personId, c!.identity.personId] });
  await waitFor(() => b!.store.has(channel) && c!.store.has(channel), 5000, 'channel known everywhere');
  const written: ObjectHash[] = [];
  for (let round = 0; round < 20; round++) {
    for (const n of [a!, b!, c!]) written.push(...(await notes(n, 3, channel, `${n.identity.public.profile.name}-${round}`)));
  }
  await waitFor(() => [a!, b!, c!].every((n) => written.every((h) => n.store.has(h))), 20_000, 'convergence');
  const sets = [a!, b!, c!].map((n) => new Set(n.store.since(0, 100_000).filter((m) => m.type === 'ChannelEntry').map((m) => m.hash)));
  assert.equal(sets[0]!.size, 180);
  assert.deepEqual([...sets[1]!].sort(), [...sets[0]!].sort());
  assert.deepEqual([...sets[2]!].sort(), [...sets[0]!].sort());
  for (const n of [a!, b!, c!]) await n.instance.close();
});

test('chain A–B–C: B relays A’s objects to C only when C may see them', async () => {
  const net = new MemoryNetwork();
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  const c = await memoryInstance(net, 'c');
  await paired(net, a, b);
  await paired(net, b, c);
  const shared = await a.instance.chum.createId('Channel', 'shared');
  const onlyB = await a.instance.chum.createId('Channel', 'only-b');
  await a.instance.chum.grant({ ids: [shared], persons: [b.identity.personId, c.identity.personId] });
  await a.instance.chum.grant({ ids: [onlyB], persons: [b.identity.personId] });
  const visible = await notes(a, 20, shared, 'shared');
  const hidden = await notes(a, 20, onlyB, 'only-b');
  await waitFor(() => visible.every((h) => c.store.has(h)), 10_000, 'relayed to C');
  await waitFor(() => hidden.every((h) => b.store.has(h)), 10_000, 'B has its own');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(hidden.filter((h) => c.store.has(h)).length, 0);
  assert.equal(c.store.has(onlyB), false);
  // C can verify A's entries without ever having met A: the closure carried A's identity.
  const entry = await c.instance.chum.getObject(visible[0]!);
  assert.equal(entry?.text, 'shared 0');
  assert.ok(c.store.has(a.identity.instanceId as string as ObjectHash));
  for (const n of [a, b, c]) await n.instance.close();
});

test('revoking a grant mid-sync stops further objects at once', async () => {
  const { SYNC_BATCH_OBJECTS, SYNC_WINDOW_BATCHES } = await import('../../shared/limits.js');
  const window = SYNC_WINDOW_BATCHES * SYNC_BATCH_OBJECTS;
  const net = new MemoryNetwork({ latencyMs: 2 });
  const aStore = await openMemoryStore({ crypto });
  const wire = recordChumWire(aStore);
  try {
    const a = await memoryInstance(net, 'a', { store: aStore });
    const b = await memoryInstance(net, 'b');
    const channel = await a.instance.chum.createId('Channel', 'c');
    const grant = await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
    // Enough that, when the revocation lands, well over two windows are still unsent: a revocation
    // that only took effect after the backlog would exceed the bound below.
    const before = await notes(a, 3000, channel, 'before');
    await paired(net, a, b);
    await waitFor(() => before.filter((h) => b.store.has(h)).length >= 100, 10_000, 'sync under way');
    await a.instance.chum.revokeGrant(grant);
    const sentUntilRevoke = wire.sent.length;
    const gotAtRevoke = before.filter((h) => b.store.has(h)).length;
    const after = await notes(a, 50, channel, 'after');
    await new Promise((r) => setTimeout(r, 500));
    const got = before.filter((h) => b.store.has(h)).length;
    const sentAfterRevoke = wire.sent.slice(sentUntilRevoke).filter((m) => m.bytes[0] === Msg.Batch).reduce((n, m) => n + decodeBatch(m.bytes.subarray(1)).objects.length, 0);
    assert.ok(before.length - gotAtRevoke > 2 * window, `the backlog was far from done when the grant was revoked (${gotAtRevoke} of ${before.length})`);
    // In flight at most one flow-control window: what was sent before the revocation was stored,
    // plus nothing (or what the window still allowed before the index saw it) afterwards.
    assert.ok(sentAfterRevoke <= window, `${sentAfterRevoke} objects sent after the revocation was stored (window ${window})`);
    assert.ok(got - gotAtRevoke <= window + sentAfterRevoke, `${got - gotAtRevoke} objects stored by b after the revocation`);
    assert.equal(after.filter((h) => b.store.has(h)).length, 0, 'nothing written after the revocation arrives');
    for (const n of [a, b]) await n.instance.close();
  } finally {
    wire.restore();
  }
});

test('an interrupted sync resumes; nothing is re-sent beyond the unacknowledged window', async () => {
  const { Importer } = await import('../../chum/sync/Importer.js');
  const { SYNC_BATCH_OBJECTS, SYNC_WINDOW_BATCHES } = await import('../../shared/limits.js');
  const net = new MemoryNetwork({ latencyMs: 1 });
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  const channel = await a.instance.chum.createId('Channel', 'c');
  await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
  const all = await notes(a, 3000, channel);
  const aKey = Buffer.from(a.identity.public.instance.staticKey, 'base64url');
  let received = 0;
  let batches = 0;
  let cuts = 0;
  const cutAt = new Set([3, 8, 13, 18, 23]);
  const original = Importer.prototype.onBatch;
  Importer.prototype.onBatch = function (batch) {
    received += batch.objects.length;
    if (cutAt.has(++batches)) {
      // Cut the connection underneath (a network failure, not a polite close) as this batch arrives.
      const s = b.instance.connections.sessionFor(aKey);
      if (s) {
        (s as unknown as { transport: { close(code: number, reason: string): void } }).transport.close(1006, 'cut');
        cuts++;
        return;
      }
    }
    return original.call(this, batch);
  };
  try {
    await paired(net, a, b);
    await waitFor(() => all.every((h) => b.store.has(h)), 30_000, 'sync completes after cuts');
    const totalObjects = all.length + 6; // + channel id, grant and identity records
    const allowance = cuts * SYNC_WINDOW_BATCHES * SYNC_BATCH_OBJECTS;
    assert.equal(cuts, 5);
    assert.ok(received <= totalObjects + allowance, `received ${received} for ${totalObjects} objects with ${cuts} cuts (allowance ${allowance})`);
    for (const n of [a, b]) await n.instance.close();
  } finally {
    Importer.prototype.onBatch = original;
  }
});

test('a changed epoch triggers reconciliation instead of resending everything', async () => {
  const { Exporter } = await import('../../chum/sync/Exporter.js');
  let reconciled = 0;
  let wire: ChumWireRecorder | undefined;
  const onRecon = Exporter.prototype.onRecon;
  Exporter.prototype.onRecon = function (m) {
    reconciled++;
    return onRecon.call(this, m);
  };
  try {
    const net = new MemoryNetwork();
    const a = await memoryInstance(net, 'a');
    const b = await memoryInstance(net, 'b');
    await paired(net, a, b);
    const channel = await a.instance.chum.createId('Channel', 'c');
    await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
    const first = await notes(a, 200, channel);
    await waitFor(() => first.every((h) => b.store.has(h)), 10_000, 'first sync');
    // "Reset" a's store: a new store (new epoch) holding the same objects plus new ones.
    const fresh = await copyStore(a.store);
    assert.notEqual(fresh.epoch, a.store.epoch);
    // From here on, every object b is sent (stored or skipped as already known) is counted.
    wire = recordChumWire(b.store);
    await a.instance.close();
    const a2 = await memoryInstance(net, 'a', { identity: a.identity, pairingState: a.pairingState, marksState: a.marksState, store: fresh });
    const later = await notes(a2, 5, channel, 'later');
    await waitFor(() => later.every((h) => b.store.has(h)), 10_000, 'sync after reset');
    // Past the mark-only batch delay, so a stray resend would have arrived too.
    await new Promise((r) => setTimeout(r, 400));
    const batches = wire.received.filter((m) => m.bytes[0] === Msg.Batch).map((m) => decodeBatch(m.bytes.subarray(1)));
    const sent = batches.reduce((n, batch) => n + batch.objects.length, 0);
    // Only the differences travel (the 5 new entries; a few records at most besides), not the 200 old ones.
    assert.ok(sent >= later.length && sent <= later.length + 5, `${sent} objects sent after the reset for ${later.length} new ones`);
    assert.ok(reconciled > 0, 'the exporter reconciled');
    for (const n of [a2, b]) await n.instance.close();
  } finally {
    Exporter.prototype.onRecon = onRecon;
    wire?.restore();
  }
});

test('versions merge deterministically on every replica', async () => {
  const net = new MemoryNetwork();
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  await paired(net, a, b);
  const group = await a.instance.chum.createId('Group', 'friends');
  await a.instance.chum.grant({ ids: [group], persons: [b.identity.personId] });
  await a.instance.chum.writeVersion(group, { members: [a.identity.personId] });
  const v2 = await a.instance.chum.writeVersion(group, { members: [a.identity.personId, b.identity.personId] });
  await waitFor(() => b.store.has(v2), 5000, 'versions synced');
  const ca = await a.instance.chum.versions(group);
  const cb = await b.instance.chum.versions(group);
  assert.equal(ca.current?.hash, v2);
  assert.equal(cb.current?.hash, v2);
  assert.deepEqual(cb.current?.data, { members: [a.identity.personId, b.identity.personId] });
  for (const n of [a, b]) await n.instance.close();
});

/** Another instance of the same person (a second device): its own keys, certified by the person. */
async function secondInstance(of: LocalIdentity, name: string): Promise<LocalIdentity> {
  const inst = await createInstance(crypto, of.personId, name);
  const certificate = await issueCertificate(crypto, of.personId, of.personSecrets, inst.id, Date.now());
  return { ...of, public: { ...of.public, instance: inst.record, certificate }, instanceId: inst.id, instanceSecrets: inst.secrets };
}

test('concurrent forks written on two replicas of one owner merge to the same value everywhere', async () => {
  const net = new MemoryNetwork({ latencyMs: 3 });
  const annId = await makeIdentity('ann');
  const ann1 = await memoryInstance(net, 'ann1', { identity: annId });
  const ann2 = await memoryInstance(net, 'ann2', { identity: await secondInstance(annId, 'ann-laptop') });
  const bob = await memoryInstance(net, 'bob');
  await paired(net, ann1, ann2);
  await paired(net, ann1, bob);
  await paired(net, ann2, bob);
  const replicas = [ann1, ann2, bob];
  const doc = await ann1.instance.chum.createId('Doc', 'shared');
  await ann1.instance.chum.grant({ ids: [doc], persons: [bob.identity.personId] });
  const v1 = await ann1.instance.chum.writeVersion(doc, { value: 'base' });
  await waitFor(() => replicas.every((r) => r.store.has(v1)), 5000, 'base version everywhere');
  const version = (r: MemoryInstance, prev: ObjectHash[], hlc: number, value: string) =>
    r.instance.chum.putSigned({ $type: 'Version', id: doc, prev: [...prev].sort(), hlc, data: { value } });
  const current = async () => Promise.all(replicas.map(async (r) => (await r.instance.chum.versions(doc)).current));
  const seqOf = (r: MemoryInstance, h: ObjectHash) => r.store.meta(h)!.seq;

  // Round 1: both devices fork from v1 at once with the same HLC; each stores its own first.
  const h = (await ann1.instance.chum.versions(doc)).current!.hlc + 1000;
  const [a, b] = await Promise.all([version(ann1, [v1], h, 'from ann1'), version(ann2, [v1], h, 'from ann2')]);
  await waitFor(() => replicas.every((r) => r.store.has(a) && r.store.has(b)), 5000, 'fork everywhere');
  assert.ok(seqOf(ann1, a) < seqOf(ann1, b) && seqOf(ann2, b) < seqOf(ann2, a), 'the two devices saw the fork in opposite orders');
  const tie = a > b ? a : b; // equal HLC: the greater hash wins
  for (const [i, v] of (await current()).entries()) assert.equal(v?.hash, tie, `replica ${i} after the equal-HLC fork`);

  // Round 2: both merge the fork concurrently (same HLC again), and ann2 also writes on a stale
  // branch (parent v1) with an older HLC, which must not win although it arrives last.
  const h2 = h + 10;
  const [c, d] = await Promise.all([version(ann1, [a, b], h2, 'merge by ann1'), version(ann2, [a, b], h2, 'merge by ann2')]);
  const stale = await version(ann2, [v1], h - 1, 'stale branch');
  const all = [v1, a, b, c, d, stale];
  await waitFor(() => replicas.every((r) => all.every((x) => r.store.has(x))), 5000, 'merges everywhere');
  assert.ok(seqOf(ann1, c) < seqOf(ann1, d) && seqOf(ann2, d) < seqOf(ann2, c), 'the merges arrived in opposite orders');
  const winner = c > d ? c : d;
  const values = await current();
  for (const [i, v] of values.entries()) {
    assert.equal(v?.hash, winner, `replica ${i} after the concurrent merges`);
    assert.deepEqual(v?.data, { value: winner === c ? 'merge by ann1' : 'merge by ann2' });
  }
  // Every replica holds the same DAG: three heads (two merges and the stale branch).
  for (const r of replicas) assert.equal((await r.instance.chum.versions(doc)).versions.length, all.length);
  // A version written on top supersedes all three heads on every replica, even from a device whose
  // clock is behind (an older HLC than its parents): the DAG decides before the clock.
  const top = await version(ann1, [c, d, stale], h, 'top');
  await waitFor(() => replicas.every((r) => r.store.has(top)), 5000, 'top everywhere');
  for (const v of await current()) assert.equal(v?.hash, top);
  for (const r of replicas) await r.instance.close();
});
