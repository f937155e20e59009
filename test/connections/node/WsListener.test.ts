import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect, type Socket } from 'node:net';
import WebSocket from 'ws';
import { startNodeConnections, type NodeConnections } from '../../../connections/node/nodeConnections.js';
import { KITH_WS_PATH } from '../../../connections/node/WsListener.js';
import { ConnectionsModel } from '../../../connections/ConnectionsModel.js';
import { dialWebSocket } from '../../../connections/transports/wsTransport.js';
import { TestDirectory, makeIdentity, staticKeyPair, peerRef, crypto, nextEvent, waitFor } from '../../support/peers.js';
import type { LocalIdentity } from '../../../shared/identity.js';
import type { ConnectionFailed } from '../../../connections/ConnectionsModel.js';
import { MSG1_MIN_BYTES } from '../../../connections/frames.js';

interface Node {
  id: LocalIdentity;
  directory: TestDirectory;
  conns: NodeConnections;
  url: string;
  port: number;
}

async function node(name: string, host = '127.0.0.1', opts: { deadlineMs?: number; origins?: string[]; attempts?: number; concurrent?: number } = {}): Promise<Node> {
  const id = await makeIdentity(name);
  const directory = new TestDirectory();
  const conns = await startNodeConnections({
    crypto,
    staticKeyPair: staticKeyPair(id),
    peers: directory,
    handshakeDeadlineMs: opts.deadlineMs,
    localAddress: host,
    listen: { host, port: 0, allowedOrigins: opts.origins, attemptsPerMinute: opts.attempts, maxConcurrentHandshakes: opts.concurrent },
  });
  return { id, directory, conns, url: conns.listener!.url, port: conns.listener!.port };
}

/** Raw HTTP upgrade request; resolves with the status line (or 'closed'). */
function rawUpgrade(port: number, headers: Record<string, string>, path = KITH_WS_PATH): Promise<string> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let data = '';
    socket.on('data', (d) => {
      data += d.toString('latin1');
      if (data.includes('\r\n')) socket.destroy();
    });
    socket.on('close', () => resolve(data.split('\r\n')[0] || 'closed'));
    socket.on('error', () => {});
    const lines = [`GET ${path} HTTP/1.1`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

test('Host, Origin and path are checked before any cryptography', async () => {
  const b = await node('b', '127.0.0.1', { origins: ['http://127.0.0.1:9999'] });
  const ok = `127.0.0.1:${b.port}`;
  assert.match(await rawUpgrade(b.port, { Host: 'evil.example' }), /421/);
  assert.match(await rawUpgrade(b.port, { Host: `evil.example:${b.port}` }), /421/);
  assert.match(await rawUpgrade(b.port, { Host: ok, Origin: 'http://evil.example' }), /403/);
  assert.match(await rawUpgrade(b.port, { Host: ok, Origin: 'null' }), /403/);
  assert.match(await rawUpgrade(b.port, { Host: ok }, '/other'), /404/);
  assert.match(await rawUpgrade(b.port, { Host: ok, Origin: 'http://127.0.0.1:9999' }), /101/);
  assert.match(await rawUpgrade(b.port, { Host: `localhost:${b.port}` }), /101/);
  // A browser-style WebSocket from a foreign origin is refused too.
  const ws = new WebSocket(b.url, { origin: 'http://attacker.example' });
  const status = await new Promise<number>((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('error', () => {}));
  assert.equal(status, 403);
  await b.conns.close();
});

test('an idle upgrade and a byte-dribbling client are cut off at the deadline', async () => {
  const b = await node('b', '127.0.0.1', { deadlineMs: 400 });
  const started = Date.now();
  const idle = await new Promise<number>((resolve) => {
    const s = tcpConnect(b.port, '127.0.0.1');
    s.on('close', () => resolve(Date.now() - started));
    s.on('error', () => {});
  });
  assert.ok(idle >= 350 && idle < 3000, `idle socket closed after ${idle} ms`);

  const request = `GET ${KITH_WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${b.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n`;
  const dribbleStart = Date.now();
  const dribbled = await new Promise<number>((resolve) => {
    const s: Socket = tcpConnect(b.port, '127.0.0.1');
    let i = 0;
    const timer = setInterval(() => {
      if (i < request.length && !s.destroyed) s.write(request[i++]!);
    }, 50);
    s.on('close', () => {
      clearInterval(timer);
      resolve(Date.now() - dribbleStart);
    });
    s.on('error', () => {});
  });
  assert.ok(dribbled >= 350 && dribbled < 3000, `dribbling client closed after ${dribbled} ms`);

  // Upgraded but silent: no Noise message ever arrives.
  const failed = nextEvent(b.conns.model.events, 'failed', 5000, (e) => e.code === 'HANDSHAKE_TIMEOUT');
  const silent = new WebSocket(b.url);
  silent.on('error', () => {});
  await failed;
  await waitFor(() => silent.readyState === WebSocket.CLOSED, 3000, 'silent socket closed');
  await b.conns.close();
});

test('a text frame and a 100 MiB frame close the connection without harm', async () => {
  const b = await node('b');
  const text = new WebSocket(b.url);
  const textClose = await new Promise<[number, string]>((resolve) => {
    text.on('open', () => text.send('hello'));
    text.on('close', (code, reason) => resolve([code, reason.toString()]));
    text.on('error', () => {});
  });
  assert.ok(textClose[0] >= 4000, `close code ${textClose[0]}`);

  const rssBefore = process.memoryUsage().rss;
  const big = new WebSocket(b.url);
  const bigClose = await new Promise<number>((resolve) => {
    big.on('open', () => {
      // Frame header announcing 100 MiB (binary, masked, 64-bit length), then a little data.
      const header = Buffer.alloc(14);
      header[0] = 0x82;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(100n * 1024n * 1024n, 2);
      const raw = (big as unknown as { _socket: Socket })._socket;
      raw.write(header);
      raw.write(Buffer.alloc(1024 * 1024));
    });
    big.on('close', (code) => resolve(code));
    big.on('error', () => {});
  });
  assert.ok(bigClose === 1009 || bigClose === 1006 || bigClose >= 4000, `close code ${bigClose}`);
  assert.ok(process.memoryUsage().rss - rssBefore < 64 * 1024 * 1024, 'the 100 MiB frame was not buffered');
  await b.conns.close();
});

test('200 concurrent handshakes from one address all complete', async () => {
  const b = await node('b');
  const ids: LocalIdentity[] = [];
  for (let i = 0; i < 200; i++) {
    const id = await makeIdentity(`c${i}`);
    b.directory.add(peerRef(id));
    ids.push(id);
  }
  const models = ids.map((id) => {
    const directory = new TestDirectory();
    directory.add(peerRef(b.id));
    return new ConnectionsModel({
      crypto,
      staticKeyPair: staticKeyPair(id),
      peers: directory,
      dial: (url) => dialWebSocket(url, { maxPayload: 70_000, handshakeTimeoutMs: 10_000 }),
    });
  });
  const results = await Promise.allSettled(models.map((m) => m.connect(b.url, peerRef(b.id))));
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  assert.equal(rejected.length, 0, `${rejected.length} failed, first: ${rejected[0]?.reason}`);
  await waitFor(() => b.conns.model.connectedPeers().length === 200, 10_000, '200 sessions at the listener');
  await Promise.all(models.map((m) => m.close()));
  await b.conns.close();
});

test('attempts per address are limited', async () => {
  const b = await node('b', '127.0.0.1', { attempts: 3 });
  const statuses: string[] = [];
  for (let i = 0; i < 5; i++) statuses.push(await rawUpgrade(b.port, { Host: `127.0.0.1:${b.port}` }));
  assert.equal(statuses.filter((s) => /101/.test(s)).length, 3);
  assert.equal(statuses.filter((s) => /429/.test(s)).length, 2);
  await b.conns.close();
});

test('a LAN listener also accepts on loopback, where the app page lives', async (t) => {
  const { networkInterfaces } = await import('node:os');
  const lan = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  if (!lan) {
    t.skip('this machine has no non-loopback IPv4 address to bind');
    return;
  }
  const id = await makeIdentity('lan');
  const directory = new TestDirectory();
  const conns = await startNodeConnections({ crypto, staticKeyPair: staticKeyPair(id), peers: directory, listen: { host: lan, port: 0, alsoLoopback: true } });
  const port = conns.listener!.port;
  assert.equal(conns.listener!.url, `ws://${lan}:${port}/kith/v1`);
  const get = (address: string, host: string) =>
    new Promise<string>((resolve) => {
      const s = tcpConnect(port, address);
      let data = '';
      s.on('data', (d) => {
        data += d.toString('latin1');
        if (data.includes('\r\n')) s.destroy();
      });
      s.on('close', () => resolve(data.split('\r\n')[0] || 'closed'));
      s.on('error', () => resolve('error'));
      s.write(`GET /anything HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
    });
  // Both sockets reach the same HTTP server and the same gates.
  assert.match(await get('127.0.0.1', '127.0.0.1'), /404/);
  assert.match(await get(lan, lan), /404/);
  assert.match(await get(lan, 'evil.example'), /421/);
  await conns.close();
});

test('handshakes beyond the concurrency cap are refused with BUSY until the stalled ones time out', async () => {
  const b = await node('b', '127.0.0.1', { concurrent: 2, deadlineMs: 800 });
  const a = await node('a');
  b.directory.add(peerRef(a.id));
  a.directory.add(peerRef(b.id));
  const refusals: string[] = [];
  b.conns.model.events.on('failed', (e) => refusals.push(e.code));
  // Two clients complete the upgrade and then never send a Noise message: both slots are taken.
  const stalled = [new WebSocket(b.url), new WebSocket(b.url)];
  for (const ws of stalled) ws.on('error', () => {});
  await Promise.all(stalled.map((ws) => new Promise((resolve) => ws.once('open', resolve))));
  const stalledAt = Date.now();
  assert.equal(b.conns.listener!.inProgress, 2);

  // A third connection, even an honest peer's, is refused at once (before its upgrade) and reported as BUSY.
  const busy = nextEvent(b.conns.model.events, 'failed', 2000, (e) => e.code === 'BUSY');
  const refusedAt = Date.now();
  await assert.rejects(a.conns.model.connect(b.url, peerRef(b.id)), { code: 'UNREACHABLE' });
  await busy;
  assert.ok(Date.now() - refusedAt < 500, 'refused at accept, not at the deadline');
  assert.equal(b.conns.model.connectedPeers().length, 0);

  // The stalled handshakes run out of time; their slots free up and the honest peer gets in.
  await waitFor(() => stalled.every((ws) => ws.readyState === WebSocket.CLOSED), 5000, 'stalled sockets closed');
  const stalledFor = Date.now() - stalledAt;
  assert.ok(stalledFor < 3000, `stalled sockets held their slots for ${stalledFor} ms`);
  assert.equal(refusals.filter((c) => c === 'HANDSHAKE_TIMEOUT').length >= 2, true, refusals.join(','));
  await waitFor(() => b.conns.listener!.inProgress === 0, 2000, 'slots released');
  const session = await a.conns.model.connect(b.url, peerRef(b.id));
  assert.ok(session.isOpen);
  await waitFor(() => b.conns.model.connectedPeers().length === 1, 2000, 'b sees a');
  // An established session holds no handshake slot.
  assert.equal(b.conns.listener!.inProgress, 0);
  assert.equal(refusals.filter((c) => c === 'BUSY').length, 1, refusals.join(','));
  await a.conns.close();
  await b.conns.close();
});

test('a client that dribbles its first WebSocket frame after the upgrade is cut at the deadline', async () => {
  const deadlineMs = 600;
  const b = await node('b', '127.0.0.1', { deadlineMs });
  const timedOut = nextEvent(b.conns.model.events, 'failed', 5000, (e) => e.code === 'HANDSHAKE_TIMEOUT');
  // One masked binary frame the size of a session first message (route byte + Noise_IK msg1), sent a byte
  // every 100 ms: each byte comes well inside the deadline, the frame would take ~10 s.
  const payload = crypto.randomBytes(1 + MSG1_MIN_BYTES);
  const mask = crypto.randomBytes(4);
  const frame = Buffer.concat([Buffer.from([0x82, 0x80 | payload.length]), mask, Buffer.from(payload.map((x, i) => x ^ mask[i % 4]!))]);
  const started = Date.now();
  const socket = tcpConnect(b.port, '127.0.0.1');
  socket.on('error', () => {});
  let response = Buffer.alloc(0);
  let upgradedAt = 0;
  let sent = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  socket.on('data', (d: Buffer) => {
    response = Buffer.concat([response, d]);
    if (upgradedAt === 0 && response.includes('\r\n\r\n')) {
      upgradedAt = Date.now();
      response = response.subarray(response.indexOf('\r\n\r\n') + 4);
      timer = setInterval(() => {
        if (sent < frame.length && !socket.destroyed) socket.write(frame.subarray(sent, ++sent));
      }, 100);
    }
  });
  socket.write(`GET ${KITH_WS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${b.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
  const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
  clearInterval(timer);
  assert.ok(upgradedAt > 0, 'the upgrade completed');
  assert.ok(sent >= 3 && sent < frame.length, `${sent} of ${frame.length} bytes dribbled before the cut`);
  assert.ok(closedAfter >= deadlineMs - 50 && closedAfter < deadlineMs + 1500, `cut after ${closedAfter} ms (deadline ${deadlineMs} ms)`);
  assert.equal((await timedOut).code, 'HANDSHAKE_TIMEOUT');
  // If the router closed first, the client got a close frame carrying the code (unmasked server frame: 0x88, length, status, reason).
  if (response.length > 0) {
    assert.equal(response[0], 0x88, 'only a close frame follows the upgrade');
    assert.equal(response.subarray(4, 2 + response[1]!).toString('latin1'), 'HANDSHAKE_TIMEOUT');
  }
  assert.equal(b.conns.listener!.inProgress, 0);
  await b.conns.close();
});
