import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { EventEmitter, once } from 'node:events';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';
import { dialWebSocket, wrapWebSocket } from '../../../connections/transports/wsTransport.js';
import type { Transport } from '../../../connections/Transport.js';
import { closeCodeFor, errorCodeFromClose } from '../../../connections/closeCodes.js';
import { hasCode } from '../../../shared/errors.js';
import { MAX_WS_PAYLOAD, WS_CLOSE_GRACE_MS, WS_SEND_CALLBACK_SPACING_BYTES } from '../../../shared/limits.js';
import { hostileStrings, isCoded } from '../../support/hostile.js';
import { Recorder, runTransportTests, sleep, until, within } from '../transportConformance.js';
import { startWsTestServer } from './wsTestServer.js';

const server = await startWsTestServer();
after(() => server.close());

const dialOptions = { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: 5_000 };

async function dialPair(): Promise<[Transport, Transport]> {
  const path = server.freshPath();
  const accepted = server.accepted(path);
  const client = await dialWebSocket(server.url(path), dialOptions);
  return [client, (await accepted).transport];
}

runTransportTests('ws: dialWebSocket ↔ wrapWebSocket (server side)', dialPair, {
  maxMessageBytes: MAX_WS_PAYLOAD,
  // Both kernels' socket buffers sit between a paused reader and the sender's bufferedAmount.
  backpressureWithinBytes: 256 * 1024 * 1024,
  firstPausePushesBack: true,
});

/** A raw TCP client that performs the WebSocket upgrade by hand, then speaks whatever bytes a test writes. */
async function rawUpgrade(path: string): Promise<{ socket: Socket; received: () => Buffer; closed: () => boolean }> {
  const socket = connect(server.port, '127.0.0.1');
  socket.on('error', () => undefined); // the server may reset us; that is the point of some tests
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  let isClosed = false;
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('close', () => {
    isClosed = true;
  });
  const key = randomBytes(16).toString('base64');
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await until(() => Buffer.concat(chunks).includes('\r\n\r\n'), 'the 101 response', 5_000);
  const response = Buffer.concat(chunks);
  assert.match(response.toString('latin1'), /^HTTP\/1\.1 101 /);
  const headerEnd = response.indexOf('\r\n\r\n') + 4;
  return {
    socket,
    received: () => Buffer.concat(chunks).subarray(headerEnd),
    closed: () => isClosed,
  };
}

describe('wsTransport', () => {
  it('reports the remote address on both sides', async () => {
    const [client, serverSide] = await dialPair();
    assert.equal(client.remoteAddress, '127.0.0.1');
    assert.equal(serverSide.remoteAddress, '127.0.0.1');
    client.close();
  });

  it('binds localAddress and sends origin and headers', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialWebSocket(server.url(path), {
      ...dialOptions,
      localAddress: '127.0.0.2',
      origin: 'http://app.example',
      headers: { 'x-kith-test': 'yes' },
    });
    const { transport, request } = await accepted;
    assert.equal(transport.remoteAddress, '127.0.0.2');
    assert.equal(request.headers.origin, 'http://app.example');
    assert.equal(request.headers['x-kith-test'], 'yes');
    assert.equal(request.headers['sec-websocket-extensions'], undefined, 'no permessage-deflate offered');
    client.close();
  });

  it('delivers plain Uint8Array views of the received bytes, without a copy per message', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialWebSocket(server.url(path), dialOptions);
    const { ws } = await accepted;
    const atClient = new Recorder(client);
    for (let i = 0; i < 50; i++) ws.send(new Uint8Array([i, i, i]));
    await until(() => atClient.count === 50, 'the burst', 5_000);
    for (const m of atClient.messages) assert.equal(Object.getPrototypeOf(m), Uint8Array.prototype);
    atClient.messages.forEach((m, i) => assert.deepEqual([...m], [i, i, i]));
    const buffers = new Set(atClient.messages.map((m) => m.buffer));
    assert.ok(buffers.size < atClient.messages.length, 'messages read in one socket chunk share its memory');
    client.close();
  });

  it('writes the messages of one turn to the socket together, in order, each way', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialWebSocket(server.url(path), dialOptions);
    const { transport: serverSide } = await accepted;
    for (const [from, to] of [[client, serverSide], [serverSide, client]] as const) {
      const socket = (from as unknown as { ws: { _socket: Socket & { _writev?: unknown; _write: unknown } } }).ws._socket;
      let writes = 0;
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method] as ((...args: unknown[]) => unknown) | undefined;
        if (typeof original !== 'function') continue;
        socket[method] = function (this: unknown, ...args: unknown[]) {
          writes++;
          return original.apply(this, args);
        };
      }
      const at = new Recorder(to);
      for (let i = 0; i < 40; i++) from.send(new Uint8Array(1000).fill(i));
      assert.equal(writes, 0, 'nothing is written while the turn runs');
      await until(() => at.count === 40, 'the burst', 5_000);
      assert.ok(writes <= 2, `40 messages went out in ${writes} socket writes`);
      at.messages.forEach((m, i) => assert.ok(m.length === 1000 && m.every((b) => b === i), `message ${i}`));
    }
    client.close();
  });

  it('closes with FRAME_INVALID when a client sends a text message', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const raw = new WebSocket(server.url(path), { perMessageDeflate: false });
    raw.on('error', () => undefined);
    await once(raw, 'open');
    const { transport } = await accepted;
    const atServer = new Recorder(transport);
    const rawClosed = once(raw, 'close');
    raw.send('hello');
    const [code, reason] = (await within(rawClosed, 5_000, 'close at the client')) as [number, Buffer];
    assert.equal(code, closeCodeFor('FRAME_INVALID'));
    assert.equal(reason.toString(), 'FRAME_INVALID');
    assert.deepEqual(atServer.closes, [{ code: closeCodeFor('FRAME_INVALID'), reason: 'FRAME_INVALID', byPeer: false }]);
    assert.equal(atServer.count, 0);
  });

  it('closes with FRAME_INVALID when the server sends a text message to a dialed transport', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialWebSocket(server.url(path), dialOptions);
    const { ws, transport } = await accepted;
    const atClient = new Recorder(client);
    const atServer = new Recorder(transport);
    ws.send('not binary');
    await until(() => atClient.closes.length === 1 && atServer.closes.length === 1, 'both closes', 5_000);
    assert.deepEqual(atClient.closes[0], { code: closeCodeFor('FRAME_INVALID'), reason: 'FRAME_INVALID', byPeer: false });
    assert.deepEqual(atServer.closes[0], { code: closeCodeFor('FRAME_INVALID'), reason: 'FRAME_INVALID', byPeer: true });
  });

  it('refuses a 100 MiB frame from its header (1009), without buffering it, and drops the socket promptly', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const raw = await rawUpgrade(path);
    const { transport } = await accepted;
    const atServer = new Recorder(transport);
    const rssBefore = process.memoryUsage().rss;
    const header = Buffer.alloc(14);
    header[0] = 0x82; // FIN + binary
    header[1] = 0x80 | 127; // masked, 64-bit length follows
    header.writeBigUInt64BE(BigInt(100 * 1024 * 1024), 2); // mask key: the 4 zero bytes that follow
    raw.socket.write(header);
    const started = Date.now();
    const garbage = Buffer.alloc(256 * 1024, 0x41);
    for (let i = 0; i < 16 && !raw.closed(); i++) {
      raw.socket.write(garbage);
      await sleep(1);
    }
    await until(() => atServer.closes.length === 1, 'the server-side close', 1_000);
    const close = atServer.closes[0]!;
    assert.equal(close.code, 1009);
    assert.equal(close.byPeer, false);
    assert.equal(errorCodeFromClose(close.code, close.reason), 'FRAME_TOO_LARGE');
    await until(() => raw.closed(), 'the raw socket to be closed', WS_CLOSE_GRACE_MS + 1_000);
    assert.ok(Date.now() - started < WS_CLOSE_GRACE_MS + 1_000);
    const frame = raw.received();
    assert.equal(frame[0], 0x88, 'a close frame came back');
    assert.equal(frame.readUInt16BE(2), 1009);
    const grown = process.memoryUsage().rss - rssBefore;
    assert.ok(grown < 48 * 1024 * 1024, `RSS grew by ${grown} bytes`);
    assert.equal(atServer.count, 0);
  });

  it('destroys the socket of a peer that never answers our close frame after WS_CLOSE_GRACE_MS', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const raw = await rawUpgrade(path);
    const { transport } = await accepted;
    const started = Date.now();
    transport.close(closeCodeFor('RATE_LIMITED'), 'RATE_LIMITED');
    await until(() => raw.received().length >= 4, 'the close frame', 1_000);
    assert.equal(raw.received()[0], 0x88);
    await until(() => raw.closed(), 'the socket to be dropped', WS_CLOSE_GRACE_MS + 2_000);
    assert.ok(Date.now() - started >= WS_CLOSE_GRACE_MS - 50, 'the peer had its grace period');
  });

  it('reports a peer whose socket was destroyed as a close by the peer (1006), each way', async () => {
    // Server side vanishes under a dialed transport.
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialWebSocket(server.url(path), dialOptions);
    const atClient = new Recorder(client);
    (await accepted).ws.terminate();
    await until(() => atClient.closes.length === 1, 'the client-side close', 5_000);
    assert.deepEqual(atClient.closes[0], { code: 1006, reason: '', byPeer: true });
    assert.equal(errorCodeFromClose(1006, ''), 'PEER_CLOSED');

    // A client vanishes under a server-side transport.
    const path2 = server.freshPath();
    const accepted2 = server.accepted(path2);
    const raw = new WebSocket(server.url(path2));
    raw.on('error', () => undefined);
    await once(raw, 'open');
    const atServer = new Recorder((await accepted2).transport);
    raw.terminate();
    await until(() => atServer.closes.length === 1, 'the server-side close', 5_000);
    assert.deepEqual(atServer.closes[0], { code: 1006, reason: '', byPeer: true });
  });

  it('delivers a vanished peer as a close once a paused transport resumes', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const raw = new WebSocket(server.url(path));
    raw.on('error', () => undefined);
    await once(raw, 'open');
    const { transport } = await accepted;
    const atServer = new Recorder(transport);
    transport.pause();
    raw.send(new Uint8Array([1]));
    await sleep(20);
    raw.terminate();
    await sleep(50);
    transport.resume();
    await until(() => atServer.closes.length === 1, 'the close', 5_000);
    assert.equal(atServer.log.join(''), 'mc');
    assert.equal(atServer.closes[0]!.byPeer, true);
  });

  it('lets no ws error escape when the server process is killed mid-stream', async () => {
    const escaped: unknown[] = [];
    const record = (err: unknown) => escaped.push(err);
    process.on('uncaughtException', record);
    process.on('unhandledRejection', record);
    const wsEntry = createRequire(import.meta.url).resolve('ws');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const { WebSocketServer } = require(${JSON.stringify(wsEntry)});
         const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: ${MAX_WS_PAYLOAD} });
         wss.on('listening', () => console.log(wss.address().port));
         wss.on('connection', (ws) => {
           ws.on('error', () => {});
           ws.on('message', (m) => ws.send(m));
           const big = Buffer.alloc(60000, 7);
           setInterval(() => { while (ws.readyState === 1 && ws.bufferedAmount < 1e6) ws.send(big); }, 1);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const [line] = (await within(once(child.stdout!, 'data'), 10_000, 'the child server')) as [Buffer];
      const port = Number(line.toString().trim());
      const client = await dialWebSocket(`ws://127.0.0.1:${port}/`, dialOptions);
      const atClient = new Recorder(client, false);
      const chunk = new Uint8Array(60_000);
      let sent = 0;
      const deadline = Date.now() + 10_000;
      while (client.isOpen && Date.now() < deadline) {
        client.send(chunk);
        sent++;
        if (sent === 200) child.kill('SIGKILL');
        if (client.bufferedAmount > 1024 * 1024) await Promise.race([client.drained(256 * 1024), sleep(20)]);
        else if (sent % 8 === 0) await sleep(0);
      }
      await until(() => atClient.closes.length === 1, 'the close after the kill', 5_000);
      assert.ok(atClient.count > 0, 'the stream was flowing both ways');
      assert.equal(atClient.closes[0]!.code, 1006);
      assert.equal(atClient.closes[0]!.byPeer, true);
      assert.doesNotThrow(() => client.send(chunk));
      await sleep(100);
      assert.deepEqual(escaped, []);
    } finally {
      child.kill('SIGKILL');
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
    }
  });

  it('refuses to wrap a socket that is still connecting, and reports one already closed', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const connecting = new WebSocket(server.url(path));
    connecting.on('error', () => undefined);
    assert.throws(() => wrapWebSocket(connecting), (err) => hasCode(err, 'INVALID_INPUT'));
    await once(connecting, 'open');
    (await accepted).transport.close();
    connecting.terminate();
    await once(connecting, 'close');
    const late = wrapWebSocket(connecting);
    const atLate = new Recorder(late);
    await until(() => atLate.closes.length === 1, 'the close', 1_000);
    assert.deepEqual(atLate.closes[0], { code: 1006, reason: '', byPeer: true });
    assert.equal(late.isOpen, false);
  });
});

describe('dialWebSocket failures', () => {
  const freePort = async (): Promise<number> => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    return port;
  };

  it('rejects with UNREACHABLE and the cause, without the query string, when nobody listens', async () => {
    const port = await freePort();
    const err = await dialWebSocket(`ws://user:PASSWORD@127.0.0.1:${port}/kith?token=SECRET123`, dialOptions).then(
      () => assert.fail('dial succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(hasCode(err, 'UNREACHABLE'));
    assert.match(err.message, /ECONNREFUSED/);
    assert.match(err.message, new RegExp(`ws://127\\.0\\.0\\.1:${port}/kith`));
    assert.doesNotMatch(err.message, /SECRET123|PASSWORD|user/);
  });

  it('rejects with UNREACHABLE naming the HTTP status when the upgrade is refused', async () => {
    const err = await dialWebSocket(server.url('/reject?secret=abcdef'), dialOptions).then(
      () => assert.fail('dial succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(hasCode(err, 'UNREACHABLE'));
    assert.match(err.message, /403/);
    assert.doesNotMatch(err.message, /abcdef/);
  });

  it('rejects with UNREACHABLE within the handshake timeout when the server never answers', async () => {
    const started = Date.now();
    const err = await dialWebSocket(server.url('/hang'), { ...dialOptions, handshakeTimeoutMs: 300 }).then(
      () => assert.fail('dial succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(hasCode(err, 'UNREACHABLE'));
    assert.ok(Date.now() - started < 2_000);
  });

  it('rejects bad URLs and options with INVALID_INPUT, never by throwing', async () => {
    for (const url of ['http://127.0.0.1/', 'not a url', 'ws://', 'ws://127.0.0.1/with#fragment-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', ...hostileStrings().map((s) => s.value)]) {
      const outcome = await Promise.resolve()
        .then(() => dialWebSocket(url, dialOptions))
        .then(
          () => 'resolved',
          (e: unknown) => e,
        );
      assert.ok(isCoded(outcome), `dial ${JSON.stringify(url.slice(0, 40))} must reject with a code`);
      assert.doesNotMatch((outcome as Error).message, /A{100}/, 'the URL is not echoed');
    }
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(dialWebSocket(server.url('/x'), { ...dialOptions, maxPayload: bad }), (e) => hasCode(e, 'INVALID_INPUT'));
      await assert.rejects(dialWebSocket(server.url('/x'), { ...dialOptions, handshakeTimeoutMs: bad }), (e) => hasCode(e, 'INVALID_INPUT'));
    }
  });
});

describe('wsTransport drained() without a pending callback', () => {
  /** Just enough of a ws WebSocket to drive the transport's send bookkeeping deterministically. */
  function fakeWs() {
    const callbacks: Array<() => void> = [];
    const fake = Object.assign(new EventEmitter(), {
      readyState: 1,
      bufferedAmount: 0,
      binaryType: 'nodebuffer',
      isPaused: false,
      sends: 0,
      send(_data: Uint8Array, cb?: () => void) {
        fake.sends++;
        if (cb) callbacks.push(cb);
      },
      pause() {},
      resume() {},
      close() {},
      terminate() {},
    });
    return { fake, callbacks, transport: wrapWebSocket(fake as unknown as WebSocket) };
  }

  it('asks for a write callback once per WS_SEND_CALLBACK_SPACING_BYTES, and on every send while someone waits', async () => {
    const { fake, callbacks, transport } = fakeWs();
    const small = new Uint8Array(1000);
    const perCallback = Math.ceil(WS_SEND_CALLBACK_SPACING_BYTES / small.byteLength) + 1;
    for (let i = 0; i < 10 * perCallback; i++) transport.send(small);
    assert.equal(callbacks.length, 10);
    fake.bufferedAmount = 5000;
    const waiting = transport.drained(100);
    for (let i = 0; i < 3; i++) transport.send(small);
    assert.equal(callbacks.length, 13);
    fake.bufferedAmount = 50;
    callbacks.shift()!();
    await within(waiting, 100, 'drained(100) from a callback');
    assert.equal(fake.sends, 10 * perCallback + 3);
  });

  it('falls back to polling when the only queued bytes were sent without a callback', async () => {
    const { fake, transport } = fakeWs();
    transport.send(new Uint8Array(10));
    fake.bufferedAmount = 10; // the kernel did not take it at once
    let done = false;
    const waiting = transport.drained().then(() => (done = true));
    await sleep(20);
    assert.equal(done, false);
    fake.bufferedAmount = 0;
    await within(waiting, 1_000, 'drained() by polling');
  });

  it('polls when callbacks are done but bytes remain (a control frame queued behind them)', async () => {
    const { fake, callbacks, transport } = fakeWs();
    fake.bufferedAmount = 100;
    const waiting = transport.drained();
    transport.send(new Uint8Array(10)); // sent while someone waits: with a callback
    assert.equal(callbacks.length, 1);
    fake.bufferedAmount = 6; // our message went out; a pong is still queued
    callbacks.shift()!();
    await sleep(10);
    fake.bufferedAmount = 0;
    await within(waiting, 1_000, 'drained() after the pong left');
  });

  it('resolves drained() at once on close', async () => {
    const { fake, transport } = fakeWs();
    fake.bufferedAmount = 10;
    const waiting = transport.drained();
    transport.close();
    await within(waiting, 100, 'drained() on close');
  });
});

describe('wsTransport handover', () => {
  it('keeps a message that arrived with the 101 response for an owner that subscribes after await', async () => {
    // A server that writes its first frame in the same TCP write as the handshake response:
    // ws emits it from process.nextTick, before the dialer's promise continuation runs.
    const raw = createServer((socket) => {
      socket.on('error', () => undefined);
      socket.once('data', (request: Buffer) => {
        const key = /Sec-WebSocket-Key: (\S+)/i.exec(request.toString('latin1'))![1]!;
        const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        const response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`;
        socket.write(Buffer.concat([Buffer.from(response, 'latin1'), Buffer.from([0x82, 0x03, 7, 8, 9])]));
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = raw.address() as { port: number };
      const client = await dialWebSocket(`ws://127.0.0.1:${port}/`, dialOptions);
      const atClient = new Recorder(client);
      await until(() => atClient.count === 1, 'the early message', 2_000);
      assert.deepEqual([...atClient.messages[0]!], [7, 8, 9]);
      client.close();
    } finally {
      raw.close();
    }
  });
});
