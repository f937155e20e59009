import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect as tcpConnect, type AddressInfo, type Socket } from 'node:net';
import { startNodeConnections } from '../../connections/node/nodeConnections.js';
import { Dialer } from '../../connections/Dialer.js';
import { KITH_WS_PATH } from '../../connections/node/WsListener.js';
import { WS_CLOSE_GRACE_MS } from '../../shared/limits.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { TestDirectory, makeIdentity, staticKeyPair, peerRef, crypto, waitFor, memoryNode } from '../support/peers.js';

test('the dialer reconnects after the peer restarts on the same address', async () => {
  const aId = await makeIdentity('a');
  const bId = await makeIdentity('b');
  const aDir = new TestDirectory();
  const bDir = new TestDirectory();
  aDir.add(peerRef(bId));
  bDir.add(peerRef(aId));
  const start = (port: number) =>
    startNodeConnections({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDir, listen: { host: '127.0.0.3', port } });
  let b = await start(0);
  const port = b.listener!.port;
  const url = b.listener!.url;
  const a = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(aId), peers: aDir, localAddress: '127.0.0.2' });
  const dialer = new Dialer({ model: a.model, targets: () => [{ peer: peerRef(bId), endpoints: [url] }], backoffMinMs: 50, backoffMaxMs: 400 });
  dialer.start();
  await waitFor(() => !!a.model.sessionFor(peerRef(bId).staticKey), 5000, 'first connection');
  assert.equal(dialer.status(peerRef(bId).staticKey).state, 'connected');

  await b.close();
  await waitFor(() => !a.model.sessionFor(peerRef(bId).staticKey), 5000, 'disconnect noticed');
  // While b is down, attempts fail and back off.
  await waitFor(() => dialer.status(peerRef(bId).staticKey).failures >= 2, 5000, 'failed attempts');
  assert.equal(dialer.status(peerRef(bId).staticKey).lastError, 'UNREACHABLE');

  b = await start(port);
  await waitFor(() => !!a.model.sessionFor(peerRef(bId).staticKey), 5000, 'reconnection');
  await waitFor(() => b.model.connectedPeers().length === 1, 5000, 'b sees a');
  assert.equal(dialer.status(peerRef(bId).staticKey).failures, 0);

  await dialer.stop();
  await a.close();
  await b.close();
});

test('backoff grows exponentially with jitter between the bounds', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const ghost = await makeIdentity('ghost');
  a.directory.add(peerRef(ghost));
  const attempts: number[] = [];
  a.model.events.on('failed', () => attempts.push(Date.now()));
  const dialer = new Dialer({ model: a.model, targets: () => [{ peer: peerRef(ghost), endpoints: ['mem://nowhere'] }], backoffMinMs: 20, backoffMaxMs: 160, random: () => 0.999 });
  dialer.start();
  await waitFor(() => attempts.length >= 6, 5000, 'six attempts');
  await dialer.stop();
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  // With random ≈ 1 the delays are ≈ 20, 40, 80, 160, 160 ms (capped).
  assert.ok(gaps[0]! >= 15 && gaps[0]! < 120, `first gap ${gaps[0]}`);
  assert.ok(gaps[2]! > gaps[0]!, `gaps grow: ${gaps.join(',')}`);
  assert.ok(gaps.every((g) => g < 400), `gaps capped: ${gaps.join(',')}`);
  await a.model.close();
});

test('stop() leaves no timers or sockets behind', async () => {
  const bId = await makeIdentity('b');
  const aId = await makeIdentity('a');
  const before = new Set(process.getActiveResourcesInfo().map((r, i) => `${r}#${i}`)).size;
  const bDir = new TestDirectory();
  bDir.add(peerRef(aId));
  const aDir = new TestDirectory();
  aDir.add(peerRef(bId));
  const b = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDir, listen: { host: '127.0.0.1', port: 0 } });
  const a = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(aId), peers: aDir });
  const dialer = new Dialer({
    model: a.model,
    targets: () => [
      { peer: peerRef(bId), endpoints: [b.listener!.url] },
      { peer: { ...peerRef(bId), staticKey: crypto.randomBytes(32) }, endpoints: ['ws://127.0.0.1:1/kith/v1'] },
    ],
    backoffMinMs: 30,
    backoffMaxMs: 60,
  });
  dialer.start();
  await waitFor(() => !!a.model.sessionFor(peerRef(bId).staticKey), 5000, 'connected');
  await new Promise((r) => setTimeout(r, 100));
  await dialer.stop();
  await a.close();
  await b.close();
  await waitFor(() => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length <= before, 3000, 'resources released');
  const left = process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'TCPSocketWrap' || r === 'TCPServerWrap');
  assert.deepEqual(left, []);
});

/**
 * A loopback proxy to a real listener that passes the WebSocket upgrade through and then holds
 * every later byte from the client until `release()`: a dial through it is stuck in the Noise
 * handshake for as long as the test wants. It reads all the time, so it sees a client hang up.
 */
async function holdingProxy(target: number) {
  const sockets = new Set<Socket>();
  let released = false;
  const waiting: Array<() => void> = [];
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = tcpConnect(target, '127.0.0.1');
    sockets.add(upstream);
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.once('close', () => (sockets.delete(client), upstream.destroy()));
    upstream.once('close', () => (sockets.delete(upstream), client.destroy()));
    upstream.on('data', (d) => client.write(d));
    let head = Buffer.alloc(0);
    let headDone = false;
    client.on('data', (d: Buffer) => {
      if (!headDone) {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        headDone = true;
        // The listener checks Host against its own address (DNS-rebinding defence).
        const text = head.subarray(0, end + 4).toString('latin1').replace(/^host:[^\r\n]*$/im, `Host: 127.0.0.1:${target}`);
        upstream.write(Buffer.from(text, 'latin1'));
        d = head.subarray(end + 4);
      }
      if (released) upstream.write(d);
      else waiting.push(() => upstream.destroyed || upstream.write(d));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}${KITH_WS_PATH}`,
    sockets,
    /** Client messages held so far (the first is the Noise first message: the upgrade went through). */
    get held() {
      return waiting.length;
    },
    release() {
      released = true;
      for (const send of waiting.splice(0)) send();
    },
    close: () => new Promise<void>((resolve) => (server.close(() => resolve()), sockets.forEach((s) => s.destroy()))),
  };
}

test('stop() aborts dials in flight at once and leaves no timer, attempt or socket', async () => {
  const aId = await makeIdentity('a');
  const bId = await makeIdentity('b');
  const cId = await makeIdentity('c');
  const dId = await makeIdentity('d');
  const bDir = new TestDirectory();
  bDir.add(peerRef(aId));
  const aDir = new TestDirectory();
  for (const id of [bId, cId, dId]) aDir.add(peerRef(id));
  const b = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDir, listen: { host: '127.0.0.1', port: 0 } });
  // a's handshakes may take 8 s: a stop() that waits for a dial in flight instead of aborting it shows.
  const a = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(aId), peers: aDir, handshakeDeadlineMs: 8_000 });
  // b behind a proxy that holds a's Noise messages: that dial is in its handshake when stop() runs.
  const proxy = await holdingProxy(b.listener!.port);
  // c: a TCP black hole that accepts and never answers the upgrade (a dial still opening its WebSocket).
  const blackHoled = new Set<Socket>();
  const hole = createServer((s) => {
    blackHoled.add(s);
    s.on('error', () => {});
    s.once('close', () => blackHoled.delete(s));
    s.resume();
  });
  await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', () => resolve()));
  const holeUrl = `ws://127.0.0.1:${(hole.address() as AddressInfo).port}${KITH_WS_PATH}`;
  // d: nothing listens, so its dial fails at once and a backoff timer waits (far longer than the test).
  const targets = [
    { peer: peerRef(bId), endpoints: [proxy.url] },
    { peer: peerRef(cId), endpoints: [holeUrl] },
    { peer: peerRef(dId), endpoints: ['ws://127.0.0.1:1/kith/v1'] },
  ];
  const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
  const socketsBefore = sockets();
  const dialer = new Dialer({ model: a.model, targets: () => targets, backoffMinMs: 60_000, backoffMaxMs: 60_000 });
  dialer.start();
  await waitFor(() => proxy.held > 0 && blackHoled.size === 1, 5000, 'b in its Noise handshake, c still opening its WebSocket');
  await waitFor(() => dialer.status(peerRef(dId).staticKey).state === 'waiting', 5000, 'a backoff timer for d');
  assert.equal(dialer.status(peerRef(bId).staticKey).state, 'connecting');
  assert.equal(dialer.status(peerRef(cId).staticKey).state, 'connecting');

  const internal = dialer as unknown as { states: Map<string, { timer?: unknown; attempt?: Promise<void> }> };
  const timers = [...internal.states.values()].flatMap((s) => (s.timer ? [s.timer as { _destroyed?: boolean }] : []));
  assert.equal(timers.length, 1);
  const opened: string[] = [];
  a.model.events.on('opened', (e) => opened.push(e.peer.name));

  const stopStarted = Date.now();
  const stopped = await Promise.race([dialer.stop().then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 1000))]);
  assert.ok(stopped, 'stop() returned within 1 s instead of waiting for the handshakes in flight');
  const stopMs = Date.now() - stopStarted;
  // Right after stop(), models still running: nothing pending in the dialer.
  assert.equal(internal.states.size, 0, 'no per-peer state left');
  // Node marks a Timeout _destroyed once it is cleared (or has fired); the dialer's are unref'd, so process resources cannot show them.
  assert.ok(timers.every((t) => t._destroyed === true), 'the backoff timer was cleared');
  for (const t of targets) assert.equal(dialer.status(t.peer.staticKey).state, 'idle');

  // Let the held handshake through: an attempt that was not aborted would open a session now.
  proxy.release();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(opened, [], 'no session opened after stop()');
  assert.equal(a.model.sessionFor(peerRef(bId).staticKey), undefined);
  assert.equal(internal.states.size, 0, 'no attempt was rescheduled');
  // No socket remains: a's side of both dials is closed (a closing WebSocket may wait WS_CLOSE_GRACE_MS for the peer's answer).
  await waitFor(() => blackHoled.size === 0 && proxy.sockets.size === 0, WS_CLOSE_GRACE_MS + 1000, 'dialed sockets closed');
  await waitFor(() => sockets() <= socketsBefore, WS_CLOSE_GRACE_MS + 1000, 'no TCP socket left');
  assert.ok(stopMs < 1000, `stop() took ${stopMs} ms`);

  await a.close();
  await b.close();
  await proxy.close();
  await new Promise<void>((resolve) => hole.close(() => resolve()));
});
