import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TypedEmitter } from '../../shared/events.js';
import type { InstanceEvents } from '../../instance/Instance.js';
import type { SyncProgress } from '../../chum/sync/context.js';
import type { PeerRef } from '../../connections/Router.js';
import { printServeEvents } from '../../cli/serveEvents.js';
import { createOutput } from '../../cli/output.js';
import { parseJsonLines } from '../support/cli.js';

const peer = (n: number) => ({ instanceId: String(n).repeat(64), personId: String(n + 1).repeat(64), name: `Peer ${n}` });
const ref = (n: number) => ({ ...peer(n), staticKey: new Uint8Array(32) }) as unknown as PeerRef;

function capture(json: boolean) {
  let stdout = '';
  const out = createOutput({ stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => {} } }, { json });
  return { out, text: () => stdout, lines: () => parseJsonLines(stdout) };
}

function progress(n: number, direction: 'send' | 'receive', done: number, caughtUp = false): SyncProgress {
  return { peer: peer(n) as SyncProgress['peer'], direction, objectsDone: done, objectsTotal: 100, bytesDone: done * 10, bytesTotal: 1000, caughtUp };
}

test('sync progress is throttled per peer and direction, and the latest state is always printed last', async () => {
  const events = new TypedEmitter<InstanceEvents>();
  const sink = capture(true);
  let now = 0;
  const stop = printServeEvents(events, sink.out, { progressIntervalMs: 100, now: () => now });
  // 200 updates for each of two peers in both directions within one interval: one line each now, one trailing line each later.
  for (let i = 1; i <= 200; i++) {
    for (const n of [1, 2]) for (const d of ['send', 'receive'] as const) events.emit('sync:progress', progress(n, d, i / 2, i === 200));
    now += 0.25;
  }
  assert.equal(sink.lines().length, 4, 'the first update of each peer and direction is printed at once');
  await new Promise((resolve) => setTimeout(resolve, 250));
  now = 1_000;
  const lines = sink.lines();
  assert.equal(lines.length, 8, `then exactly one trailing line each: ${lines.length}`);
  for (const n of [1, 2]) {
    for (const d of ['send', 'receive']) {
      const mine = lines.filter((l) => (l.peer as { name: string }).name === `Peer ${n}` && l.direction === d);
      assert.equal(mine.length, 2);
      assert.deepEqual(mine.at(-1), { event: 'sync:progress', peer: { personId: peer(n).personId, instanceId: peer(n).instanceId, name: `Peer ${n}` }, direction: d, objectsDone: 100, objectsTotal: 100, bytesDone: 1000, bytesTotal: 1000, caughtUp: true });
    }
  }
  stop();
  events.emit('sync:progress', progress(1, 'send', 1));
  assert.equal(sink.lines().length, 8, 'nothing after stop');
});

test('one connected line per peer despite duplicate sessions; pairing, failures and closes; names sanitized for people', () => {
  const events = new TypedEmitter<InstanceEvents>();
  const json = capture(true);
  const human = capture(false);
  const stops = [printServeEvents(events, json.out), printServeEvents(events, human.out)];
  const p = ref(3);
  events.emit('connection:opened', { connectionId: 'a', peer: p, direction: 'outbound', remoteAddress: undefined, session: {} as never });
  events.emit('connection:opened', { connectionId: 'b', peer: p, direction: 'inbound', remoteAddress: undefined, session: {} as never });
  events.emit('connection:closed', { connectionId: 'a', peer: p, direction: 'outbound', code: 'DUPLICATE_CONNECTION' as never, message: 'duplicate', byPeer: false, stillConnected: true });
  events.emit('pairing:paired', { role: 'inviter', contact: {} as never, peer: { ...p, name: 'Mallory\u001b[2J' }, sas: '123456' });
  events.emit('pairing:failed', { role: 'inviter', code: 'INVITE_USED', message: 'The invitation has already been used. Ask for a new one.' });
  events.emit('connection:failed', { direction: 'inbound', code: 'HOST_REJECTED', message: 'HOST_REJECTED', remoteAddress: '127.0.0.9' });
  events.emit('connection:closed', { connectionId: 'b', peer: p, direction: 'inbound', code: 'CONTACT_REVOKED' as never, message: 'revoked', byPeer: false, stillConnected: false });
  for (const stop of stops) stop();

  assert.deepEqual(
    json.lines().map((l) => l.event),
    ['connection:opened', 'pairing:paired', 'pairing:failed', 'connection:failed', 'connection:closed'],
  );
  const paired = json.lines()[1]!;
  assert.equal(paired.sas, '123456');
  assert.equal((paired.peer as { name: string }).name, 'Mallory\u001b[2J', 'JSON keeps the exact name');
  const text = human.text();
  assert.ok(!text.includes('\u001b'), 'no terminal escape reaches a person');
  assert.match(text, /^connected to Peer 3 /m);
  assert.match(text, /^paired with Mallory\ufffd\[2J .*security code 123456/m);
  assert.match(text, /^disconnected from Peer 3 .*\(CONTACT_REVOKED\)$/m);
  assert.equal(text.split('\n').filter(Boolean).length, 5);
});
