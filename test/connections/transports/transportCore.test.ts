import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportCore } from '../../../connections/transports/transportCore.js';

function core(amount = { value: 0 }) {
  const consumed: number[] = [];
  const closed: unknown[] = [];
  const c = new TransportCore({
    bufferedAmount: () => amount.value,
    onConsumed: (n) => consumed.push(n),
    onClosed: (e) => closed.push(e),
  });
  const log: string[] = [];
  c.events.on('message', (m) => log.push(`m${m[0]}`));
  c.events.on('close', (e) => log.push(`c${e.code}${e.byPeer ? 'p' : 'l'}`));
  return { c, log, consumed, closed, amount };
}

test('delivers at once when not paused, and reports consumption', () => {
  const { c, log, consumed } = core();
  c.receive(new Uint8Array([1, 0]));
  assert.deepEqual(log, ['m1']);
  assert.deepEqual(consumed, [2]);
});

test('queues while paused and flushes in order from a microtask after resume', async () => {
  const { c, log } = core();
  c.pause();
  c.receive(new Uint8Array([1]));
  c.receive(new Uint8Array([2]));
  assert.deepEqual(log, []);
  c.resume();
  assert.deepEqual(log, [], 'not inside resume()');
  c.receive(new Uint8Array([3])); // arrives before the flush: must not overtake the queue
  await Promise.resolve();
  assert.deepEqual(log, ['m1', 'm2', 'm3']);
});

test("holds the peer's close behind queued messages until resume, and drops what follows it", async () => {
  const { c, log } = core();
  c.pause();
  c.receive(new Uint8Array([1]));
  c.receiveClose(4000, 'x');
  c.receive(new Uint8Array([2]));
  assert.equal(c.isOpen, true);
  c.resume();
  await Promise.resolve();
  assert.deepEqual(log, ['m1', 'c4000p']);
  assert.equal(c.isOpen, false);
});

test('a listener that pauses mid-flush stops the flush; the rest waits for the next resume', async () => {
  const { c, log } = core();
  c.events.on('message', (m) => {
    if (m[0] === 2) c.pause();
  });
  c.pause();
  for (let i = 1; i <= 4; i++) c.receive(new Uint8Array([i]));
  c.resume();
  await Promise.resolve();
  assert.deepEqual(log, ['m1', 'm2']);
  c.resume();
  await Promise.resolve();
  assert.deepEqual(log, ['m1', 'm2', 'm3', 'm4']);
});

test('a local close is emitted at once, once, drops the queue and releases drain waiters', async () => {
  const { c, log, closed, amount } = core({ value: 10 });
  c.pause();
  c.receive(new Uint8Array([1]));
  const waiting = c.drained();
  assert.equal(c.closeLocally(4001, 'y'), true);
  assert.equal(c.closeLocally(4002, 'z'), false);
  c.receiveClose(1000, '');
  assert.deepEqual(log, ['c4001l']);
  assert.equal(closed.length, 1);
  await waiting;
  c.resume();
  await Promise.resolve();
  assert.deepEqual(log, ['c4001l']);
  assert.equal(amount.value, 10);
});

test('drained() waits for the amount to fall to lowWater; bad lowWater values mean 0', async () => {
  const { c, amount } = core({ value: 100 });
  const order: string[] = [];
  const at50 = c.drained(50).then(() => order.push('50'));
  const at0 = c.drained(Number.NaN).then(() => order.push('0'));
  const negative = c.drained(-5).then(() => order.push('-5'));
  amount.value = 60;
  c.checkDrained();
  await Promise.resolve();
  assert.deepEqual(order, []);
  amount.value = 50;
  c.checkDrained();
  await at50;
  assert.deepEqual(order, ['50']);
  assert.equal(c.hasDrainWaiters, true);
  amount.value = 0;
  c.checkDrained();
  await Promise.all([at0, negative]);
  assert.equal(c.hasDrainWaiters, false);
});

test('compacts its queue when paused again and again mid-flush', async () => {
  const { c, log } = core();
  let n = 0;
  c.events.on('message', () => {
    if (++n % 1500 === 0) c.pause();
  });
  c.pause();
  for (let i = 0; i < 6000; i++) c.receive(new Uint8Array([i & 0xff]));
  for (let round = 0; round < 5 && log.length < 6000; round++) {
    c.resume();
    await Promise.resolve();
  }
  assert.equal(log.length, 6000);
  assert.ok(log.every((entry, i) => entry === `m${i & 0xff}`));
});

test('holdUntilNextTurn keeps messages and the close for a later macrotask, without undoing a pause', async () => {
  const { c, log } = core();
  c.holdUntilNextTurn();
  c.receive(new Uint8Array([1]));
  await Promise.resolve();
  assert.deepEqual(log, []);
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(log, ['m1']);

  const second = core();
  second.c.holdUntilNextTurn();
  second.c.pause();
  second.c.receive(new Uint8Array([2]));
  second.c.receiveClose(1000, '');
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(second.log, [], "the owner's pause still holds");
  second.c.resume();
  await Promise.resolve();
  assert.deepEqual(second.log, ['m2', 'c1000p']);
});
