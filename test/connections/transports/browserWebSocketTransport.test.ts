import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { WebSocket as WsWebSocket } from 'ws';
import { dialBrowserWebSocket } from '../../../connections/transports/browserWebSocketTransport.js';
import type { Transport } from '../../../connections/Transport.js';
import { closeCodeFor } from '../../../connections/closeCodes.js';
import { hasCode } from '../../../shared/errors.js';
import { MAX_WS_PAYLOAD } from '../../../shared/limits.js';
import { Recorder, patternMessage, runTransportTests, sameBytes, sleep, until, within } from '../transportConformance.js';
import { startWsTestServer } from './wsTestServer.js';

// Node 20 has no global WebSocket; ws's class implements the browser API (binaryType, onmessage, CloseEvent…).
const WebSocketImpl = WsWebSocket as unknown as typeof WebSocket;
const server = await startWsTestServer();
after(() => server.close());

async function browserPair(): Promise<[Transport, Transport]> {
  const path = server.freshPath();
  const accepted = server.accepted(path);
  const client = await dialBrowserWebSocket(server.url(path), { WebSocketImpl, timeoutMs: 5_000 });
  return [client, (await accepted).transport];
}

runTransportTests('browser WebSocket API (ws class) ↔ wrapWebSocket (server side)', browserPair, {
  maxMessageBytes: MAX_WS_PAYLOAD,
  backpressureWithinBytes: 256 * 1024 * 1024,
  // A browser cannot stop reading: pausing it buffers instead of pushing back.
  firstPausePushesBack: false,
});

describe('browserWebSocketTransport', () => {
  it('uses only the standard WebSocket API: no Node modules, no Buffer, no process', async () => {
    const source = await readFile(new URL('../../../connections/transports/browserWebSocketTransport.ts', import.meta.url), 'utf8');
    const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    assert.doesNotMatch(code, /from '(node:|ws'|http|net|events)/);
    assert.doesNotMatch(code, /\b(require\(|Buffer\b|process\.|setImmediate)/);
  });

  it('closes with FRAME_INVALID when the server sends a text message', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialBrowserWebSocket(server.url(path), { WebSocketImpl, timeoutMs: 5_000 });
    const { ws, transport } = await accepted;
    const atClient = new Recorder(client);
    const atServer = new Recorder(transport);
    ws.send('text');
    await until(() => atClient.closes.length === 1 && atServer.closes.length === 1, 'both closes', 5_000);
    assert.deepEqual(atClient.closes[0], { code: closeCodeFor('FRAME_INVALID'), reason: 'FRAME_INVALID', byPeer: false });
    assert.deepEqual(atServer.closes[0], { code: closeCodeFor('FRAME_INVALID'), reason: 'FRAME_INVALID', byPeer: true });
    assert.equal(atClient.count, 0);
  });

  it('buffers in memory while paused (no backpressure reaches the server) and delivers in order on resume', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialBrowserWebSocket(server.url(path), { WebSocketImpl, timeoutMs: 5_000 });
    const { transport: serverSide } = await accepted;
    const atClient = new Recorder(client);
    client.pause();
    for (let i = 0; i < 200; i++) serverSide.send(patternMessage(11, i, 4096));
    await within(serverSide.drained(), 5_000, 'the server to drain: the browser keeps reading');
    await sleep(30);
    assert.equal(atClient.count, 0);
    client.resume();
    await until(() => atClient.count === 200, 'the buffered messages', 5_000);
    atClient.messages.forEach((m, i) => assert.ok(sameBytes(m, patternMessage(11, i, 4096))));
    client.close();
  });

  it('rejects with UNREACHABLE, without the query string, when nobody listens', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await dialBrowserWebSocket(`ws://127.0.0.1:${port}/k?token=SECRET42`, { WebSocketImpl, timeoutMs: 5_000 }).then(
      () => assert.fail('dial succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(hasCode(err, 'UNREACHABLE'));
    assert.match(err.message, /1006/);
    assert.doesNotMatch(err.message, /SECRET42/);
  });

  it('rejects with UNREACHABLE within timeoutMs when the server never answers', async () => {
    const started = Date.now();
    const err = await dialBrowserWebSocket(server.url('/hang'), { WebSocketImpl, timeoutMs: 300 }).then(
      () => assert.fail('dial succeeded'),
      (e: unknown) => e as Error,
    );
    assert.ok(hasCode(err, 'UNREACHABLE'));
    assert.match(err.message, /300 ms/);
    assert.ok(Date.now() - started < 2_000);
  });

  it('rejects bad URLs, bad options and a missing WebSocket with a code, never by throwing', async () => {
    for (const url of ['http://127.0.0.1/', 'nonsense', '']) {
      await assert.rejects(dialBrowserWebSocket(url, { WebSocketImpl, timeoutMs: 1_000 }), (e) => hasCode(e, 'INVALID_INPUT'));
    }
    await assert.rejects(dialBrowserWebSocket(server.url('/x'), { WebSocketImpl, timeoutMs: 0 }), (e) => hasCode(e, 'INVALID_INPUT'));
    await assert.rejects(dialBrowserWebSocket(server.url('/x'), { WebSocketImpl, timeoutMs: 1_000, maxPayload: -1 }), (e) => hasCode(e, 'INVALID_INPUT'));
    if (typeof globalThis.WebSocket === 'undefined') {
      // Node 20: no global WebSocket, so no default implementation.
      await assert.rejects(dialBrowserWebSocket(server.url('/x'), { timeoutMs: 1_000 }), (e) => hasCode(e, 'INTERNAL'));
    }
  });

  it('enforces maxPayload on received messages itself (a browser has no such option)', async () => {
    const path = server.freshPath();
    const accepted = server.accepted(path);
    const client = await dialBrowserWebSocket(server.url(path), { WebSocketImpl, timeoutMs: 5_000, maxPayload: 100 });
    const { ws } = await accepted;
    const atClient = new Recorder(client);
    await sleep(10); // past the hold of the first turn: a violation drops what is still queued
    ws.send(new Uint8Array(100));
    ws.send(new Uint8Array(101));
    await until(() => atClient.closes.length === 1, 'the close', 5_000);
    assert.equal(atClient.count, 1);
    assert.deepEqual(atClient.closes[0], { code: closeCodeFor('FRAME_TOO_LARGE'), reason: 'FRAME_TOO_LARGE', byPeer: false });
  });
});
