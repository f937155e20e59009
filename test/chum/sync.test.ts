import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { waitFor } from '../support/peers.js';
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
  const net = new MemoryNetwork({ latencyMs: 2 });
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  const channel = await a.instance.chum.createId('Channel', 'c');
  const grant = await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
  const before = await notes(a, 1500, channel, 'before');
  await paired(net, a, b);
  await waitFor(() => before.filter((h) => b.store.has(h)).length >= 100, 10_000, 'sync under way');
  await a.instance.chum.revokeGrant(grant);
  const after = await notes(a, 50, channel, 'after');
  await new Promise((r) => setTimeout(r, 500));
  const got = before.filter((h) => b.store.has(h)).length;
  assert.ok(got < before.length, `revocation stopped the backlog (${got} of ${before.length})`);
  assert.equal(after.filter((h) => b.store.has(h)).length, 0, 'nothing written after the revocation arrives');
  for (const n of [a, b]) await n.instance.close();
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
  const { openMemoryStore } = await import('../../chum/stores/memoryStore.js');
  const { crypto } = await import('../support/peers.js');
  const { Exporter } = await import('../../chum/sync/Exporter.js');
  let reconciled = 0;
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
    const fresh = await openMemoryStore({ crypto });
    for (let after = 0; ; ) {
      const page = a.store.since(after, 500);
      if (page.length === 0) break;
      await fresh.put(await Promise.all(page.map(async (m) => ({ hash: m.hash, kind: m.kind, type: m.type, bytes: (await a.store.get(m.hash))!, refs: m.refs, author: m.author, idHash: m.idHash }))));
      after = page[page.length - 1]!.seq;
    }
    assert.notEqual(fresh.epoch, a.store.epoch);
    await a.instance.close();
    const a2 = await memoryInstance(net, 'a', { identity: a.identity, pairingState: a.pairingState, marksState: a.marksState, store: fresh });
    const later = await notes(a2, 5, channel, 'later');
    await waitFor(() => later.every((h) => b.store.has(h)), 10_000, 'sync after reset');
    assert.ok(reconciled > 0, 'the exporter reconciled');
    for (const n of [a2, b]) await n.instance.close();
  } finally {
    Exporter.prototype.onRecon = onRecon;
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
