import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNodeConnections } from '../../connections/node/nodeConnections.js';
import { Dialer } from '../../connections/Dialer.js';
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
