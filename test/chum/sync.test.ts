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
