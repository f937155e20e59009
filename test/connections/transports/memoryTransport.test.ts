import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnectedPair } from '../../../connections/transports/memoryTransport.js';
import { closeCodeFor } from '../../../connections/closeCodes.js';
import { hasCode } from '../../../shared/errors.js';
import { MAX_WS_PAYLOAD } from '../../../shared/limits.js';
import { Recorder, runTransportTests, sleep, until, within } from '../transportConformance.js';

runTransportTests('memory pair', async () => createConnectedPair(), {
  maxMessageBytes: MAX_WS_PAYLOAD,
  backpressureWithinBytes: 1024 * 1024,
  firstPausePushesBack: true,
});

runTransportTests('memory pair with 3 ms latency and 64 KiB of modelled kernel buffer', async () => createConnectedPair({ latencyMs: 3, highWaterBytes: 64 * 1024 }), {
  maxMessageBytes: MAX_WS_PAYLOAD,
  backpressureWithinBytes: 1024 * 1024,
  firstPausePushesBack: true,
});

runTransportTests('memory pair with a 1 KiB message limit', async () => createConnectedPair({ maxMessageBytes: 1024 }), {
  maxMessageBytes: 1024,
  backpressureWithinBytes: 1024 * 1024,
  firstPausePushesBack: true,
});

test('delivers asynchronously, in a later macrotask, never inside send()', async () => {
  const [a, b] = createConnectedPair();
  const atB = new Recorder(b);
  a.send(new Uint8Array([1]));
  assert.equal(atB.count, 0, 'not during send()');
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(atB.count, 0, 'not in a microtask either: pending promise continuations run first, as with a socket');
  await until(() => atB.count === 1, 'the message', 1_000);
  a.close();
});

test('copies on send: neither side sees the other mutate its buffer', async () => {
  const [a, b] = createConnectedPair();
  const atB = new Recorder(b);
  const data = Buffer.from([1, 2, 3]); // a Buffer, whose slice() would not copy
  a.send(data);
  data[0] = 99;
  await until(() => atB.count === 1, 'the message', 1_000);
  const received = atB.messages[0]!;
  assert.deepEqual([...received], [1, 2, 3]);
  assert.equal(Object.getPrototypeOf(received), Uint8Array.prototype);
  received[1] = 42;
  assert.equal(data[1], 2);
  a.close();
});

test('applies latencyMs to messages and to the close', async () => {
  const [a, b] = createConnectedPair({ latencyMs: 40 });
  const atB = new Recorder(b);
  const started = performance.now();
  a.send(new Uint8Array(10));
  assert.equal(a.bufferedAmount, 10, 'in flight counts as not yet consumed');
  await until(() => atB.count === 1, 'the message', 1_000);
  const took = performance.now() - started;
  assert.ok(took >= 39, `arrived after ${took} ms`);
  assert.equal(a.bufferedAmount, 0);
  const closing = performance.now();
  a.close(4000, 'x');
  await sleep(10);
  assert.equal(atB.closes.length, 0, 'the close travels with the same latency');
  await until(() => atB.closes.length === 1, 'the close', 1_000);
  assert.ok(performance.now() - closing >= 39);
});

test('models bufferedAmount as unconsumed bytes beyond highWaterBytes', async () => {
  const [a, b] = createConnectedPair({ highWaterBytes: 1000 });
  b.pause();
  a.send(new Uint8Array(600));
  assert.equal(a.bufferedAmount, 0, 'absorbed by the modelled kernel buffers');
  a.send(new Uint8Array(600));
  assert.equal(a.bufferedAmount, 200);
  await sleep(10);
  assert.equal(a.bufferedAmount, 200, 'still unconsumed while the peer is paused');
  const waiting = a.drained(100);
  const done = a.drained(200);
  await within(done, 1_000, 'drained(200) is already satisfied');
  let resolved = false;
  void waiting.then(() => (resolved = true));
  await sleep(10);
  assert.equal(resolved, false);
  b.resume();
  await within(waiting, 1_000, 'drained(100) after resume');
  assert.equal(a.bufferedAmount, 0);
  a.close();
});

test('a closed peer releases the sender: in-flight bytes no longer count', async () => {
  const [a, b] = createConnectedPair();
  b.pause();
  a.send(new Uint8Array(5000));
  await sleep(5);
  assert.equal(a.bufferedAmount, 5000);
  const waiting = a.drained();
  b.close();
  await within(waiting, 1_000, 'drained() after the peer closed');
  assert.equal(a.bufferedAmount, 0);
});

test('refuses option values that are not non-negative integers', () => {
  for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
    assert.throws(() => createConnectedPair({ latencyMs: bad }), (e) => hasCode(e, 'INVALID_INPUT'));
    assert.throws(() => createConnectedPair({ maxMessageBytes: bad }), (e) => hasCode(e, 'INVALID_INPUT'));
    assert.throws(() => createConnectedPair({ highWaterBytes: bad }), (e) => hasCode(e, 'INVALID_INPUT'));
  }
});

test('an oversized message costs the sender nothing: it is not copied or counted', async () => {
  const [a, b] = createConnectedPair({ maxMessageBytes: 10 });
  const atA = new Recorder(a);
  a.send(new Uint8Array(1_000_000));
  assert.equal(a.bufferedAmount, 0);
  await until(() => atA.closes.length === 1, 'the close', 1_000);
  assert.deepEqual(atA.closes[0], { code: closeCodeFor('FRAME_TOO_LARGE'), reason: 'FRAME_TOO_LARGE', byPeer: true });
  assert.equal(b.isOpen, false);
});

test('remoteAddress is unknown in memory', () => {
  const [a, b] = createConnectedPair();
  assert.equal(a.remoteAddress, undefined);
  assert.equal(b.remoteAddress, undefined);
  a.close();
});
