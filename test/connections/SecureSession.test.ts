import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { startNodeConnections } from '../../connections/node/nodeConnections.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryNode, waitFor, crypto, makeIdentity, staticKeyPair, peerRef, TestDirectory } from '../support/peers.js';
import type { SecureSession } from '../../connections/SecureSession.js';

async function pair(session: { keepaliveMs?: number; idleTimeoutMs?: number; maxMessageBytes?: number } = {}) {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a', { session });
  const b = await memoryNode(net, 'b', { session });
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  const sa = await a.model.connect(b.url, b.ref);
  await waitFor(() => !!b.model.sessionFor(a.ref.staticKey)?.isOpen);
  const sb = b.model.sessionFor(a.ref.staticKey)!;
  return { a, b, sa, sb, close: async () => (await a.model.close(), await b.model.close()) };
}

test('keepalive pings hold an idle session open past the idle timeout', async () => {
  const { sa, sb, close } = await pair({ keepaliveMs: 40, idleTimeoutMs: 150 });
  await new Promise((r) => setTimeout(r, 600));
  assert.ok(sa.isOpen && sb.isOpen, 'both still open after 4 idle timeouts of silence from the application');
  await close();
});

test('a peer that goes silent is closed with TIMEOUT', async () => {
  const { sa, sb, close } = await pair({ keepaliveMs: 40, idleTimeoutMs: 150 });
  // Freeze b's side: it neither reads nor answers pings any more.
  (sb as unknown as { transport: { pause(): void } }).transport.pause();
  const closed = await Promise.race([sa.closed, new Promise((r) => setTimeout(() => r('still open'), 3000))]);
  assert.equal((closed as { code?: string }).code, 'TIMEOUT');
  await close();
});

test('messages over the limit are refused on send and on receive', async () => {
  const { sa, sb, close } = await pair({ maxMessageBytes: 100_000 });
  await assert.rejects(sa.send(new Uint8Array(100_001)), { code: 'INVALID_INPUT' });
  await sa.send(new Uint8Array(100_000));
  // A peer with a larger limit sending past ours loses its session with FRAME_TOO_LARGE.
  (sa as unknown as { opts: { maxMessageBytes: number } }).opts.maxMessageBytes = 1_000_000;
  await sa.send(new Uint8Array(300_000));
  const c = await sb.closed;
  assert.equal(c.code, 'FRAME_TOO_LARGE');
  await close();
});

test('a slow reader slows the writer instead of growing memory (real sockets)', async () => {
  const aId = await makeIdentity('a');
  const bId = await makeIdentity('b');
  const bDir = new TestDirectory();
  bDir.add(peerRef(aId));
  const aDir = new TestDirectory();
  aDir.add(peerRef(bId));
  const b = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDir, listen: { host: '127.0.0.1', port: 0 } });
  const a = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(aId), peers: aDir });
  const sa = await a.model.connect(b.listener!.url, peerRef(bId));
  await waitFor(() => !!b.model.sessionFor(peerRef(aId).staticKey)?.isOpen);
  const sb: SecureSession = b.model.sessionFor(peerRef(aId).staticKey)!;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let received = 0;
  // The reader takes the first message and then stalls until released.
  sb.setHandler(async (m) => {
    received += m.length;
    await gate;
  });
  const chunk = new Uint8Array(256 * 1024);
  let sent = 0;
  const writer = (async () => {
    for (let i = 0; i < 400 && !sa.isClosed; i++) {
      await sa.send(chunk);
      sent += chunk.length;
    }
  })();
  await new Promise((r) => setTimeout(r, 1500));
  const sentWhileStalled = sent;
  // 400 × 256 KiB = 100 MiB would have been sent without backpressure; the writer must be held back.
  assert.ok(sentWhileStalled < 40 * 1024 * 1024, `writer sent ${sentWhileStalled} bytes into a stalled reader`);
  release();
  await writer;
  await waitFor(() => received === 400 * chunk.length, 30_000, 'all delivered after release');
  await a.close();
  await b.close();
});

test('a session over an already closed transport reports PEER_CLOSED', async () => {
  const [t1, t2] = createConnectedPair();
  t2.close();
  await waitFor(() => !t1.isOpen);
  const { SecureSession } = await import('../../connections/SecureSession.js');
  const { CipherState } = await import('../../connections/noise/CipherState.js');
  const s = new SecureSession(t1, new CipherState(crypto, crypto.randomBytes(32)), new CipherState(crypto, crypto.randomBytes(32)), {
    id: 'x', kind: 'session', direction: 'outbound', remoteStatic: new Uint8Array(32), handshakeHash: new Uint8Array(32), remoteAddress: undefined,
  });
  assert.equal((await s.closed).code, 'PEER_CLOSED');
});
