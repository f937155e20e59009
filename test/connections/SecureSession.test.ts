import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { startNodeConnections, type NodeConnections } from '../../connections/node/nodeConnections.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryNode, waitFor, crypto, makeIdentity, staticKeyPair, peerRef, TestDirectory } from '../support/peers.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import { MAX_IDLE_CONNECTION_BYTES, RECEIVE_QUEUE_HIGH_WATER_BYTES, SEND_HIGH_WATER_BYTES } from '../../shared/limits.js';
import { mib, retainedBytes } from '../support/memory.js';
import { concatBytes } from '../../shared/bytes.js';
import fc from 'fast-check';

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

/**
 * Bytes the kernel may hold in the two socket buffers of one loopback connection (the writer's send buffer and the
 * reader's receive buffer) once the reader stops reading. Linux autotunes both to a few MiB while data flows fast
 * (tcp_wmem / tcp_rmem); measured ≈ 5 MiB here. Not a Kith limit, so it lives with the test.
 */
const LOOPBACK_SOCKET_BUFFERS = 8 * 1024 * 1024;

test('a slow reader slows the writer instead of growing memory (real sockets)', async (t) => {
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
  // Wait until the writer stops (no progress for 500 ms): it must stop, not merely slow down.
  let plateau = -1;
  await waitFor(async () => {
    const before = sent;
    await new Promise((r) => setTimeout(r, 500));
    plateau = sent;
    return sent === before && sent > 0;
  }, 10_000, 'the writer to stop');
  // 400 × 256 KiB = 100 MiB would have been sent without backpressure. Where the bytes of a stalled stream can be:
  // the writer's queue (it waits once past SEND_HIGH_WATER_BYTES, so at most that plus the message that crossed it),
  // the reader's queue (paused once past RECEIVE_QUEUE_HIGH_WATER_BYTES: that plus one message, plus the one held by
  // the stalled handler), and the kernel's buffers of the two loopback sockets in between.
  const writerQueue = (sa as unknown as { transport: { bufferedAmount: number } }).transport.bufferedAmount;
  const readerQueue = (sb as unknown as { queuedBytes: number }).queuedBytes;
  assert.ok(writerQueue <= SEND_HIGH_WATER_BYTES + chunk.length, `writer queue ${writerQueue}`);
  assert.ok(readerQueue <= RECEIVE_QUEUE_HIGH_WATER_BYTES + chunk.length, `reader queue ${readerQueue}`);
  assert.equal(received, chunk.length, 'the handler holds one message');
  const bound = SEND_HIGH_WATER_BYTES + RECEIVE_QUEUE_HIGH_WATER_BYTES + 3 * chunk.length + LOOPBACK_SOCKET_BUFFERS;
  assert.ok(plateau <= bound, `writer sent ${mib(plateau)} into a stalled reader (bound ${mib(bound)})`);
  t.diagnostic(`stalled reader: writer stopped after ${mib(plateau)} (writer queue ${mib(writerQueue)}, reader queue ${mib(readerQueue)}, bound ${mib(bound)})`);
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

test('an idle secure connection holds less than MAX_IDLE_CONNECTION_BYTES at each end (50 over loopback)', async (t) => {
  const N = 50;
  const bId = await makeIdentity('b');
  const bDir = new TestDirectory();
  const b = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(bId), peers: bDir, listen: { host: '127.0.0.1', port: 0 } });
  const clients: NodeConnections[] = [];
  for (let i = 0; i < N; i++) {
    const id = await makeIdentity(`c${i}`);
    bDir.add(peerRef(id));
    const dir = new TestDirectory();
    dir.add(peerRef(bId));
    clients.push(await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(id), peers: dir }));
  }
  const connectAll = async () => {
    await Promise.all(clients.map((c) => c.model.connect(b.listener!.url, peerRef(bId))));
    await waitFor(() => b.model.connectedPeers().length === N, 10_000, `${N} sessions at the listener`);
  };
  const closeAll = async () => {
    for (const c of clients) c.model.sessionFor(peerRef(bId).staticKey)?.close();
    await waitFor(() => b.model.connectedPeers().length === 0, 10_000, 'all sessions closed');
    await waitFor(() => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length === 0, 10_000, 'sockets gone');
  };
  // A first round pays one-time costs (compiled code, ws and crypto internals, pools), which are not per connection.
  await connectAll();
  await closeAll();
  const before = await retainedBytes();
  await connectAll();
  await new Promise((r) => setTimeout(r, 100));
  const after = await retainedBytes();
  // Both ends of every connection live in this process.
  const perEnd = (after - before) / (2 * N);
  assert.ok(perEnd < MAX_IDLE_CONNECTION_BYTES, `${Math.round(perEnd)} bytes per connection end (bound ${MAX_IDLE_CONNECTION_BYTES})`);
  assert.ok(perEnd > 1024, `implausibly small (${Math.round(perEnd)} bytes): the measurement did not see the connections`);
  t.diagnostic(`idle connection: ${Math.round(perEnd)} bytes per end (${N} connections, heap + array buffers)`);
  await closeAll();
  for (const c of clients) await c.close();
  await b.close();
});

test('sessions sending at once share no plaintext: every message arrives exactly as sent, whatever its size', async () => {
  const one = await pair();
  const two = await pair();
  try {
    const got = { one: [] as Uint8Array[], two: [] as Uint8Array[] };
    one.sb.setHandler((m) => void got.one.push(m));
    two.sb.setHandler((m) => void got.two.push(m));
    // Sizes around the frame boundary (one Noise message carries 65,518 bytes of a message).
    const sizes = [0, 1, 65_517, 65_518, 65_519, 65_536, 200_000];
    const message = (tag: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + tag + size) & 0xff);
    const sends: Promise<void>[] = [];
    for (const size of sizes) {
      sends.push(one.sa.send(message(1, size)), two.sa.send(message(2, size)), two.sb.send(message(3, size)));
    }
    await Promise.all(sends);
    await waitFor(() => got.one.length === sizes.length && got.two.length === sizes.length);
    sizes.forEach((size, i) => {
      assert.deepEqual(got.one[i], message(1, size), `session one, ${size} bytes`);
      assert.deepEqual(got.two[i], message(2, size), `session two, ${size} bytes`);
    });
  } finally {
    await one.close();
    await two.close();
  }
});

test('a parts handler gets each message as its frames brought it, never joined', async () => {
  const { sa, sb, close } = await pair();
  try {
    const got: { parts: Uint8Array[]; length: number }[] = [];
    sb.setPartsHandler((parts, length) => void got.push({ parts: [...parts], length }));
    const message = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7 + size) & 0xff);
    // One frame carries 65,518 bytes of a message.
    const sizes = [0, 1, 65_518, 65_519, 65_536, 3 * 65_518 + 5];
    for (const size of sizes) await sa.send(message(size));
    await waitFor(() => got.length === sizes.length);
    sizes.forEach((size, i) => {
      const { parts, length } = got[i]!;
      assert.equal(length, size, `${size} bytes: length`);
      assert.equal(parts.length, Math.max(1, Math.ceil(size / 65_518)), `${size} bytes: one part per frame`);
      assert.ok(parts.slice(0, -1).every((p) => p.length === 65_518), `${size} bytes: every part but the last fills its frame`);
      assert.deepEqual(concatBytes(...parts), message(size), `${size} bytes: content`);
    });
  } finally {
    await close();
  }
});

test('a message sent in parts arrives as their concatenation, however they are cut', async () => {
  const { sa, sb, close } = await pair();
  try {
    const got: Uint8Array[] = [];
    sb.setHandler((m) => void got.push(m));
    // Cuts anywhere, empty parts included, parts that span frame boundaries and parts inside one frame.
    const cases = fc.sample(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 140_000 })), { minLength: 0, maxLength: 6 }),
      { numRuns: 40, seed: 7 },
    );
    const sent: Uint8Array[] = [];
    for (const [k, sizes] of cases.entries()) {
      const parts = sizes.map((size, j) => Uint8Array.from({ length: size }, (_, i) => (i * 13 + j * 5 + k) & 0xff));
      sent.push(concatBytes(...parts));
      await sa.send(parts);
    }
    await waitFor(() => got.length === sent.length, 20_000);
    sent.forEach((m, k) => assert.deepEqual(got[k], m, `message ${k} (${cases[k]!.join(' + ')} bytes)`));
  } finally {
    await close();
  }
});

test('send refuses what is not a message: not bytes, parts that are not bytes, parts over the limit', async () => {
  const { sa, sb, close } = await pair({ maxMessageBytes: 100_000 });
  try {
    const got: Uint8Array[] = [];
    sb.setHandler((m) => void got.push(m));
    await assert.rejects(sa.send('text' as unknown as Uint8Array), { code: 'INVALID_INPUT' });
    await assert.rejects(sa.send([new Uint8Array(1), 'x' as unknown as Uint8Array]), { code: 'INVALID_INPUT' });
    await assert.rejects(sa.send([new Uint8Array(60_000), new Uint8Array(40_001)]), { code: 'INVALID_INPUT' });
    // Nothing of a refused message went out: the next one is the first to arrive, and the session is still open.
    await sa.send([new Uint8Array(60_000).fill(1), new Uint8Array(40_000).fill(2)]);
    await waitFor(() => got.length === 1);
    assert.deepEqual(got[0], concatBytes(new Uint8Array(60_000).fill(1), new Uint8Array(40_000).fill(2)));
    assert.ok(sa.isOpen && sb.isOpen);
  } finally {
    await close();
  }
});
