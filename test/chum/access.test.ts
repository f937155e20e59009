import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { crypto, makeIdentity, waitFor } from '../support/peers.js';
import { recordChumWire, type WireMessage } from '../support/chumWire.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { copyStore } from '../support/storeCopy.js';
import { Msg, decodeMessage, encodeHashes, decodeHashes } from '../../chum/sync/wire.js';
import { parseMessage, INFINITE_BOUND } from '../../chum/reconcile/wire.js';
import { RECONCILE_MAX_MESSAGE_BYTES } from '../../shared/limits.js';
import { toHex } from '../../shared/bytes.js';
import type { ObjectHash } from '../../shared/ids.js';

async function paired(a: MemoryInstance, b: MemoryInstance): Promise<void> {
  await b.instance.acceptInvite((await a.instance.invite()).link);
}

async function notes(i: MemoryInstance, n: number, channel: ObjectHash, prefix = 'note'): Promise<ObjectHash[]> {
  const out: ObjectHash[] = [];
  for (let k = 0; k < n; k++) out.push(await i.instance.chum.putSigned({ $type: 'ChannelEntry', channel, hlc: i.instance.chum.clock.now(), text: `${prefix} ${k}` }));
  return out;
}

/** Writes one object `to` may see and waits until it arrived: everything the exporter considered before it has been decided. */
async function barrier(from: MemoryInstance, to: MemoryInstance, channel: ObjectHash, what: string): Promise<void> {
  const [marker] = await notes(from, 1, channel, `barrier ${what}`);
  await waitFor(() => to.store.has(marker!), 10_000, `barrier ${what}`);
}

test('a channel granted to a group reaches its members only; a member removed by a new version gets nothing written after', async () => {
  const net = new MemoryNetwork({ latencyMs: 1 });
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const carl = await memoryInstance(net, 'carl');
  await paired(ann, bob);
  await paired(ann, carl);
  // bob could relay to carl: his own exporter must apply the group rule too.
  await paired(bob, carl);
  const chum = ann.instance.chum;
  const group = await chum.createId('Group', 'friends');
  await chum.writeVersion(group, { members: [ann.identity.personId, bob.identity.personId] });
  const channel = await chum.createId('Channel', 'friends-only');
  await chum.grant({ ids: [channel], groups: [group] });
  // Control channels, one per person, to tell "not sent" from "not yet arrived".
  const toBob = await chum.createId('Channel', 'to-bob');
  const toCarl = await chum.createId('Channel', 'to-carl');
  await chum.grant({ ids: [toBob], persons: [bob.identity.personId] });
  await chum.grant({ ids: [toCarl], persons: [carl.identity.personId] });

  const early = await notes(ann, 30, channel, 'early');
  await waitFor(() => early.every((h) => bob.store.has(h)), 10_000, 'member receives');
  assert.ok(bob.store.has(channel) && bob.store.has(group), 'the member has the channel and the group');
  // bob posts in the group's channel too: his exporter must apply the group rule to carl as well.
  const [bobsEntry] = await notes(bob, 1, channel, 'from bob');
  const bobToCarl = await bob.instance.chum.createId('Channel', 'bob-to-carl');
  await bob.instance.chum.grant({ ids: [bobToCarl], persons: [carl.identity.personId] });
  await barrier(bob, carl, bobToCarl, 'bob to carl');
  await barrier(ann, carl, toCarl, 'ann to carl');
  // Nothing above orders bob → ann against the barriers to carl: wait for it.
  await waitFor(() => ann.store.has(bobsEntry!), 10_000, "bob's entry reached the owner");
  assert.equal(carl.store.has(bobsEntry!), false, "a non-member does not get a member's entry either");
  assert.deepEqual(early.filter((h) => carl.store.has(h)), [], 'a non-member receives no entry');
  assert.equal(carl.store.has(channel), false, 'nor the channel');
  assert.equal(carl.store.has(group), false, 'nor the group');

  // A new version of the group without bob: what is written afterwards stays with ann.
  await chum.writeVersion(group, { members: [ann.identity.personId] });
  assert.deepEqual((await chum.versions(group)).current?.data, { members: [ann.identity.personId] });
  const late = await notes(ann, 30, channel, 'late');
  await barrier(ann, bob, toBob, 'bob after removal');
  assert.deepEqual(late.filter((h) => bob.store.has(h)), [], 'nothing written after the removal reaches the removed member');
  assert.ok(early.every((h) => bob.store.has(h)), 'what the member received earlier stays');
  await barrier(ann, carl, toCarl, 'carl 2');
  assert.deepEqual([...early, ...late].filter((h) => carl.store.has(h)), []);

  // Adding carl later shows that the group's current version is what counts: he gets the whole channel.
  await chum.writeVersion(group, { members: [ann.identity.personId, carl.identity.personId] });
  await waitFor(() => [...early, ...late, bobsEntry!].every((h) => carl.store.has(h)), 10_000, 'new member receives the backlog');
  for (const n of [ann, bob, carl]) await n.instance.close();
});

/** A WANT message with `extra` hashes appended (a peer asking for objects it guessed or learned elsewhere). */
function wantWithExtra(message: Uint8Array, extra: readonly string[]): Uint8Array {
  const asked = decodeHashes(message.subarray(1));
  return encodeHashes(Msg.Want, [...asked, ...extra.filter((h) => !asked.includes(h as ObjectHash))]);
}

/** Every hidden hash found in the messages, as hex text, raw 32 bytes or base64url. */
function leaks(messages: readonly WireMessage[], hidden: readonly string[]): string[] {
  const found = new Set<string>();
  for (const { bytes } of messages) {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
    for (const h of hidden) {
      const raw = Buffer.from(h, 'hex');
      if (buf.includes(h, 0, 'latin1') || buf.includes(raw) || buf.includes(raw.toString('base64url'), 0, 'latin1')) found.add(h);
    }
  }
  return [...found];
}

/**
 * Range bounds of the exporter's reconciliation messages are prefixes of the ids in its set:
 * each must be a prefix of an id the receiver holds in the end (the exporter's set is what the
 * receiver may see, and it receives all of it), never of a hidden one alone.
 */
function foreignBounds(messages: readonly WireMessage[], known: ReadonlySet<string>): string[] {
  const knownHex = [...known];
  const out: string[] = [];
  for (const { bytes } of messages) {
    if (bytes[0] !== Msg.ReconExp || bytes.length === 1) continue;
    const parsed = parseMessage(bytes.subarray(1), RECONCILE_MAX_MESSAGE_BYTES);
    for (const r of parsed.ranges) {
      if (r.hi.len === 0 || r.hi.len === INFINITE_BOUND) continue;
      const prefix = toHex(r.hi.src.subarray(r.hi.off, r.hi.off + r.hi.len));
      if (!knownHex.some((h) => h.startsWith(prefix))) out.push(prefix);
    }
  }
  return out;
}

async function nonMemberLearnsNoHashes(kind: 'person' | 'group'): Promise<void> {
  const net = new MemoryNetwork({ latencyMs: 1 });
  const ann = await memoryInstance(net, 'ann');
  const carl = await makeIdentity('carl'); // never online: the hidden objects are for him
  const bobStore = await openMemoryStore({ crypto });
  let extraWant: readonly string[] = [];
  const wire = recordChumWire(bobStore, { rewriteSent: (m) => (m[0] === Msg.Want && extraWant.length ? wantWithExtra(m, extraWant) : m) });
  try {
    const bob = await memoryInstance(net, 'bob', { store: bobStore });
    const chum = ann.instance.chum;
    const visible = await chum.createId('Channel', 'visible');
    await chum.grant({ ids: [visible], persons: [bob.identity.personId] });
    const hidden: ObjectHash[] = [];
    const secret = await chum.createId('Channel', 'secret');
    hidden.push(secret);
    let group: ObjectHash | undefined;
    if (kind === 'person') {
      hidden.push(await chum.grant({ ids: [secret], persons: [carl.personId] }));
    } else {
      group = await chum.createId('Group', 'ann-and-carl');
      hidden.push(group, await chum.writeVersion(group, { members: [ann.identity.personId, carl.personId] }));
      hidden.push(await chum.grant({ ids: [secret], groups: [group] }));
    }
    // A hidden blob too, granted to the hidden audience only.
    const blob = await chum.putBlob(new Uint8Array(3000).fill(7));
    const manifest = await chum.getObject(blob.manifest);
    hidden.push(blob.manifest, ...(manifest!.chunks as ObjectHash[]));
    hidden.push(await chum.grant({ objects: [blob.manifest], ...(group ? { groups: [group] } : { persons: [carl.personId] }) }));
    const seen: ObjectHash[] = [];
    for (let k = 0; k < 40; k++) {
      seen.push(...(await notes(ann, 1, visible, `visible ${k}`)));
      if (k % 2 === 0) hidden.push(...(await notes(ann, 1, secret, `secret ${k}`)));
    }

    // 1. Streaming to a peer that starts empty.
    await paired(ann, bob);
    await waitFor(() => seen.every((h) => bob.store.has(h)), 10_000, 'visible objects streamed');

    // 2. OFFER and WANT: a channel written before a grant to bob (behind his mark) becomes visible;
    //    bob's WANT for it also asks for every hidden hash, by name.
    const late = await chum.createId('Channel', 'late');
    const lateNotes = await notes(ann, 5, late, 'late');
    await barrier(ann, bob, visible, 'mark past the late channel');
    extraWant = hidden;
    await chum.grant({ ids: [late], persons: [bob.identity.personId] });
    await waitFor(() => lateNotes.every((h) => bob.store.has(h)), 10_000, 'offered objects fetched');
    const wants = wire.sent.filter((m) => m.bytes[0] === Msg.Want);
    assert.ok(wants.length > 0, 'bob sent a WANT');
    assert.ok(wants.some((m) => hidden.every((h) => decodeHashes(m.bytes.subarray(1)).includes(h))), 'the WANT named the hidden hashes');
    await barrier(ann, bob, visible, 'after the WANT');
    extraWant = [];

    // 3. Reconciliation: bob restarts on a restored copy of his store without his marks while ann
    //    writes more, hidden and visible.
    const restored = await copyStore(bobStore);
    wire.watch(restored);
    await bob.instance.close();
    seen.push(...(await notes(ann, 5, visible, 'while away')));
    hidden.push(...(await notes(ann, 5, secret, 'secret while away')));
    if (group) hidden.push(await chum.writeVersion(group, { members: [carl.personId] }));
    const bob2 = await memoryInstance(net, 'bob', { identity: bob.identity, pairingState: bob.pairingState, store: restored });
    await waitFor(() => seen.every((h) => restored.has(h)), 10_000, 'reconciled');
    await barrier(ann, bob2, visible, 'after reconciliation');
    assert.ok(wire.received.some((m) => m.bytes[0] === Msg.ReconExp), 'the exporter reconciled');

    // Nothing bob received names a hidden object: not the objects, not their hashes.
    for (const m of wire.received) assert.doesNotThrow(() => decodeMessage(m.bytes));
    assert.ok(wire.received.length > 20, `messages recorded: ${wire.received.length}`);
    assert.deepEqual(leaks(wire.received, hidden), [], 'hidden hashes in messages bob received');
    const bobHas = new Set(restored.since(0, 100_000).map((m) => m.hash as string));
    assert.deepEqual(foreignBounds(wire.received, bobHas), [], 'reconciliation bounds that are prefixes of no object bob may see');
    assert.deepEqual(hidden.filter((h) => restored.has(h)), []);
    // The check can see a hash: the visible ones are all there.
    assert.equal(leaks(wire.received, seen).length, seen.length);
    for (const n of [ann, bob2]) await n.instance.close();
  } finally {
    wire.restore();
  }
}

test('a non-member learns no hash of what a person grant hides (streaming, WANT, reconciliation)', () => nonMemberLearnsNoHashes('person'));

test('a non-member learns no hash of what a group grant hides (streaming, WANT, reconciliation)', () => nonMemberLearnsNoHashes('group'));
