import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { initiateSession } from '../../connections/handshake.js';
import { memoryNode, nextEvent, waitFor, crypto, staticKeyPair, makeIdentity, peerRef, recordingRelay, TestDirectory } from '../support/peers.js';
import { ConnectionsModel } from '../../connections/ConnectionsModel.js';
import type { ConnectionFailed, ConnectionOpened, ConnectionClosed } from '../../connections/ConnectionsModel.js';
import { utf8, fromUtf8 } from '../../shared/bytes.js';

test('two known peers open one session and exchange messages both ways', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  const opened = nextEvent(b.model.events, 'opened');
  const sa = await a.model.connect(b.url, b.ref);
  const ob = await opened;
  assert.equal(ob.peer.instanceId, a.id.instanceId);
  assert.equal(ob.direction, 'inbound');
  const sb = ob.session;
  assert.deepEqual(sa.info.handshakeHash, sb.info.handshakeHash);
  const gotB: string[] = [];
  const gotA: string[] = [];
  sb.setHandler((m) => void gotB.push(fromUtf8(m)));
  sa.setHandler((m) => void gotA.push(fromUtf8(m)));
  await sa.send(utf8('hello b'));
  await sb.send(utf8('hello a'));
  // A message larger than one Noise frame is chunked and reassembled.
  const big = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 7919) & 0xff);
  let bigEcho: Uint8Array | undefined;
  sb.setHandler((m) => {
    if (m.length === big.length) bigEcho = m;
    else gotB.push(fromUtf8(m));
  });
  await sa.send(big);
  await waitFor(() => gotB.length === 1 && gotA.length === 1 && bigEcho !== undefined);
  assert.deepEqual(gotB, ['hello b']);
  assert.deepEqual(gotA, ['hello a']);
  assert.deepEqual(bigEcho, big);
  await a.model.close();
  await b.model.close();
});

test('an unknown instance is refused with UNKNOWN_PEER, a revoked one with CONTACT_REVOKED', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  const failed = nextEvent(b.model.events, 'failed');
  await assert.rejects(a.model.connect(b.url, b.ref), { code: 'UNKNOWN_PEER' });
  assert.equal((await failed).code, 'UNKNOWN_PEER');
  b.directory.add(a.ref);
  b.directory.revoke(a.ref);
  await assert.rejects(a.model.connect(b.url, b.ref), { code: 'CONTACT_REVOKED' });
  assert.equal(b.model.connectedPeers().length, 0);
  await a.model.close();
  await b.model.close();
});

test('a wrong pinned static key fails the handshake', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  const mallory = await makeIdentity('m');
  b.directory.add(a.ref);
  // a believes b's endpoint belongs to mallory's key.
  const wrong = { ...b.ref, staticKey: staticKeyPair(mallory).publicKey };
  a.directory.add(wrong);
  await assert.rejects(a.model.connect(b.url, wrong), (e: { code?: string }) => e.code === 'HANDSHAKE_FAILED');
  assert.equal(b.model.connectedPeers().length, 0);
  await a.model.close();
  await b.model.close();
});

test('both sides dialing at the same moment end with exactly one session, the same on both sides', async () => {
  for (let round = 0; round < 10; round++) {
    const net = new MemoryNetwork({ latencyMs: round % 3 });
    const a = await memoryNode(net, 'a');
    const b = await memoryNode(net, 'b');
    a.directory.add(b.ref);
    b.directory.add(a.ref);
    await Promise.allSettled([a.model.connect(b.url, b.ref), b.model.connect(a.url, a.ref)]);
    await waitFor(() => {
      const sa = a.model.sessionFor(b.ref.staticKey);
      const sb = b.model.sessionFor(a.ref.staticKey);
      return !!sa && !!sb && sa.isOpen && sb.isOpen && Buffer.from(sa.info.handshakeHash).equals(Buffer.from(sb.info.handshakeHash));
    }, 5000, 'one shared session');
    // Let any losing session finish closing, then check again that exactly one pair survives.
    await new Promise((r) => setTimeout(r, 20));
    const sa = a.model.sessionFor(b.ref.staticKey)!;
    const sb = b.model.sessionFor(a.ref.staticKey)!;
    assert.deepEqual(sa.info.handshakeHash, sb.info.handshakeHash, `round ${round}`);
    assert.equal(a.model.connectedPeers().length, 1);
    assert.equal(b.model.connectedPeers().length, 1);
    await a.model.close();
    await b.model.close();
  }
});

test('a reconnect from the same side replaces the old session', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  const first = await a.model.connect(b.url, b.ref);
  await waitFor(() => !!b.model.sessionFor(a.ref.staticKey));
  const firstInbound = b.model.sessionFor(a.ref.staticKey)!;
  // a's side lost the session without b noticing (half-open), then dials again.
  const closedAtB = nextEvent(b.model.events, 'closed');
  const [t1, t2] = createConnectedPair();
  void b.model.accept({ transport: t2, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
  const second = await initiateSession(t1, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
  const closed = await closedAtB;
  assert.equal(closed.code, 'DUPLICATE_CONNECTION');
  assert.equal(closed.stillConnected, true);
  assert.ok(firstInbound.isClosed);
  await waitFor(() => b.model.sessionFor(a.ref.staticKey) !== firstInbound);
  assert.ok(second.isOpen);
  first.close();
  second.close();
  await a.model.close();
  await b.model.close();
});

test('a replayed first message is refused and never displaces the live session', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  // Capture a's first message by dialing through a tap.
  const [client, tapServer] = createConnectedPair();
  let firstMessage: Uint8Array | undefined;
  const [toB, bSide] = createConnectedPair();
  tapServer.events.on('message', (m) => {
    firstMessage ??= m.slice();
    toB.send(m);
  });
  toB.events.on('message', (m) => tapServer.send(m));
  void b.model.accept({ transport: bSide, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
  const live = await initiateSession(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
  await waitFor(() => !!b.model.sessionFor(a.ref.staticKey));
  const liveAtB = b.model.sessionFor(a.ref.staticKey)!;
  assert.ok(firstMessage);

  // Within the same listener lifetime: the replay cache refuses it before any DH.
  const [replayer, replayServer] = createConnectedPair();
  const refused = nextEvent(b.model.events, 'failed');
  void b.model.accept({ transport: replayServer, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
  replayer.send(firstMessage!);
  assert.equal((await refused).code, 'REPLAY');
  assert.equal(b.model.sessionFor(a.ref.staticKey), liveAtB);

  // Across a restart of the responder (fresh cache): the handshake answers, but without a's
  // ephemeral key the replayer cannot confirm, so no session opens and the deadline closes it.
  const b2 = await memoryNode(new MemoryNetwork(), 'b2', { handshakeDeadlineMs: 300 });
  const [r2, s2] = createConnectedPair();
  const b2Failed = nextEvent(b2.model.events, 'failed');
  void b2.model.accept({ transport: s2, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
  r2.send(firstMessage!);
  const f2 = await b2Failed;
  // b2 has a different static key, so the replayed msg1 cannot even be decrypted by it.
  assert.ok(['HANDSHAKE_FAILED', 'HANDSHAKE_TIMEOUT'].includes(f2.code), f2.code);
  assert.equal(b2.model.connectedPeers().length, 0);
  assert.ok(live.isOpen && liveAtB.isOpen);
  await a.model.close();
  await b.model.close();
  await b2.model.close();
});

test('garbage after a valid handshake closes only that connection with FRAME_INVALID', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  const c = await memoryNode(net, 'c');
  for (const [x, y] of [[a, b], [b, a], [c, b], [b, c]] as const) x.directory.add(y.ref);
  const sc = await c.model.connect(b.url, b.ref);
  const [t1, t2] = createConnectedPair();
  void b.model.accept({ transport: t2, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
  const sa = await initiateSession(t1, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
  await waitFor(() => !!b.model.sessionFor(a.ref.staticKey));
  const closed = nextEvent(b.model.events, 'closed', 5000, (e) => e.peer.instanceId === a.id.instanceId);
  t1.send(crypto.randomBytes(100));
  assert.equal((await closed).code, 'FRAME_INVALID');
  assert.ok(sa.isClosed || (await sa.closed));
  assert.ok(sc.isOpen, 'the other peer keeps its session');
  await a.model.close();
  await b.model.close();
  await c.model.close();
});

test('a first message replayed to the same responder after a restart (same key, empty replay cache) never opens a session', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const bId = await makeIdentity('b');
  const bRef = peerRef(bId);
  a.directory.add(bRef);
  // b as it runs before and after a restart: the same identity and contacts, a fresh router (empty replay cache).
  const bDirectory = new TestDirectory();
  bDirectory.add(a.ref);
  const startB = () =>
    new ConnectionsModel({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDirectory, dial: () => Promise.reject(new Error('b does not dial')), handshakeDeadlineMs: 400 });

  // Record everything a sends in two real sessions: msg1, then Confirm, then one application message.
  const b1 = startB();
  const record = async (): Promise<Uint8Array[]> => {
    const { client, frames } = recordingRelay((accepted) => b1.accept(accepted));
    const s = await initiateSession(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: bRef.staticKey, timeoutMs: 2000 });
    await s.send(utf8('recorded'));
    await waitFor(() => frames.length === 3, 2000, 'three frames recorded');
    s.close();
    return frames;
  };
  const recorded = await record();
  const recordedToo = await record();
  await b1.close();

  // b restarts; a reconnects for real and its session is live.
  const b2 = startB();
  const stopListening = net.listen('mem://b2', (accepted) => void b2.accept(accepted));
  const live = await a.model.connect('mem://b2', bRef);
  await waitFor(() => !!b2.sessionFor(a.ref.staticKey)?.isOpen, 2000, 'live session at b2');
  const liveAtB = b2.sessionFor(a.ref.staticKey)!;
  const opened: string[] = [];
  b2.events.on('opened', (e) => opened.push(e.connectionId));

  // 1. The replayed msg1 passes the (empty) replay cache and decrypts (same static key, a is a contact),
  //    so b2 answers; but the replayer lacks a's ephemeral secret, cannot send Confirm, and the deadline ends it.
  const [r1, s1] = createConnectedPair();
  const answers: Uint8Array[] = [];
  r1.events.on('message', (m) => answers.push(m));
  const timedOut = nextEvent(b2.events, 'failed', 3000);
  const started = Date.now();
  void b2.accept({ transport: s1, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
  r1.send(recorded[0]!);
  const f1 = await timedOut;
  assert.equal(f1.code, 'HANDSHAKE_TIMEOUT');
  assert.ok(Date.now() - started >= 350, 'ended by the deadline');
  assert.equal(answers.length, 1, 'b2 did answer the replayed msg1 (the replay got past the cache and the DH)');
  await waitFor(() => !r1.isOpen, 1000, 'the replayer was closed');

  // The replay cache now knows that ephemeral key: the same replay again is refused before any DH.
  const [r2, s2] = createConnectedPair();
  const again = nextEvent(b2.events, 'failed', 3000);
  void b2.accept({ transport: s2, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
  r2.send(recorded[0]!);
  assert.equal((await again).code, 'REPLAY');

  // 2. Replaying a recorded Confirm as well (the other recording: its msg1 is new to b2) does not help:
  //    it was encrypted under the old session's keys, which b2's fresh ephemeral key changed.
  const [r3, s3] = createConnectedPair();
  const refused = nextEvent(b2.events, 'failed', 3000);
  void b2.accept({ transport: s3, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
  r3.events.on('message', () => r3.send(recordedToo[1]!));
  r3.send(recordedToo[0]!);
  assert.equal((await refused).code, 'FRAME_INVALID');

  // 3. The live session of the real peer is untouched: still the registered one, and it carries messages both ways.
  assert.deepEqual(opened, [], 'no session opened from a replay');
  assert.equal(b2.sessionFor(a.ref.staticKey), liveAtB);
  assert.ok(live.isOpen && liveAtB.isOpen);
  const gotB: string[] = [];
  const gotA: string[] = [];
  liveAtB.setHandler((m) => void gotB.push(fromUtf8(m)));
  live.setHandler((m) => void gotA.push(fromUtf8(m)));
  await live.send(utf8('to b'));
  await liveAtB.send(utf8('to a'));
  await waitFor(() => gotB.length === 1 && gotA.length === 1, 2000, 'live traffic');
  assert.deepEqual([gotB, gotA], [['to b'], ['to a']]);
  stopListening();
  await a.model.close();
  await b2.close();
});
