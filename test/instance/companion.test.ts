import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance } from '../support/instances.js';
import { nextEvent, waitFor } from '../support/peers.js';
import { encodeCompanion, COMPANION_REQUEST } from '../../instance/companion/protocol.js';
import type { CompanionClient } from '../../instance/companion/CompanionClient.js';
import { MAX_COMPANION_PENDING_CALLS } from '../../shared/limits.js';

test('a renderer drives its main through the companion protocol; others cannot', async () => {
  const net = new MemoryNetwork();
  const main = await memoryInstance(net, 'node-ann');
  const renderer = await memoryInstance(net, 'ann', { listen: false });
  const other = await memoryInstance(net, 'node-bob');
  const connected = nextEvent(renderer.instance.events, 'companion:connected');
  const { link } = await main.instance.invite({ purpose: 'renderer' });
  await renderer.instance.acceptInvite(link);
  const client: CompanionClient = await connected;
  assert.equal(main.instance.contacts()[0]!.relation, 'renderer');
  assert.equal(renderer.instance.contacts()[0]!.relation, 'main');

  // Device pairing, driven from the renderer: main invites, another device accepts.
  const created = await client.call('createInvite', { ttlSeconds: 300 });
  assert.match(created.link as string, /^kith:\/\/pair\/v1#/);
  const paired = nextEvent(client.events, 'paired');
  await other.instance.acceptInvite(created.link as string);
  assert.equal((await paired).name, 'node-bob');
  const contacts = await client.call('contacts');
  assert.deepEqual((contacts.contacts as Array<{ name: string }>).map((c) => c.name).sort(), ['ann', 'node-bob']);

  // Errors come back with their codes.
  await assert.rejects(client.call('acceptInvite', { link: 'kith://pair/v1#AAAA' }), { code: 'INVITE_MALFORMED' });
  await assert.rejects(client.call('revokeInvite', { inviteId: 'f'.repeat(32) }), { code: 'INVITE_UNKNOWN' });

  // The renderer sees everything main has (companions), e.g. main's own channel.
  const channel = await main.instance.chum.createId('Channel', 'private-to-main');
  await waitFor(() => renderer.store.has(channel), 5000, 'companion sync');

  // A plain contact sending companion requests loses its session: nobody registered the protocol for it.
  const bobKey = Buffer.from(other.identity.public.instance.staticKey, 'base64url');
  await waitFor(() => !!main.instance.connections.sessionFor(bobKey));
  const mainKey = Buffer.from(main.identity.public.instance.staticKey, 'base64url');
  const bobSession = other.instance.connections.sessionFor(mainKey)!;
  await bobSession.send(encodeCompanion(COMPANION_REQUEST, { id: 1, method: 'status', params: {} }));
  const closed = await main.instance.connections.sessionFor(bobKey)!.closed;
  assert.equal(closed.code, 'PROTOCOL_ERROR');
  for (const i of [main, renderer, other]) await i.instance.close();
});

test('bad companion parameters are answered with INVALID_INPUT and the session stays', async () => {
  const net = new MemoryNetwork();
  const main = await memoryInstance(net, 'node-ann');
  const renderer = await memoryInstance(net, 'ann', { listen: false });
  const connected = nextEvent(renderer.instance.events, 'companion:connected');
  await renderer.instance.acceptInvite((await main.instance.invite({ purpose: 'renderer' })).link);
  const client = await connected;
  await assert.rejects(client.call('status', { surprise: 1 }), { code: 'INVALID_INPUT' });
  await assert.rejects(client.call('revokeContact', { personId: 'not-a-hash' }), { code: 'INVALID_INPUT' });
  await assert.rejects(client.call('createInvite', { ttlSeconds: 5 }), { code: 'INVALID_INPUT' });
  const status = await client.call('status');
  assert.equal((status.identity as { name: string }).name, 'node-ann');
  for (const i of [main, renderer]) await i.instance.close();
});

test(`a renderer with ${MAX_COMPANION_PENDING_CALLS} calls unanswered gets BUSY for the next, and may call again once they are answered`, async () => {
  const net = new MemoryNetwork();
  const main = await memoryInstance(net, 'node-ann');
  const renderer = await memoryInstance(net, 'ann', { listen: false });
  const connected = nextEvent(renderer.instance.events, 'companion:connected');
  await renderer.instance.acceptInvite((await main.instance.invite({ purpose: 'renderer' })).link);
  const client: CompanionClient = await connected;
  // All calls are made in one turn, before main can answer any of them.
  const calls = Array.from({ length: MAX_COMPANION_PENDING_CALLS }, () => client.call('status'));
  await assert.rejects(client.call('status'), { code: 'BUSY' });
  const answers = await Promise.all(calls);
  assert.equal(answers.length, MAX_COMPANION_PENDING_CALLS);
  assert.ok(await client.call('status'), 'a call after the answers is served');
  for (const i of [main, renderer]) await i.instance.close();
});
