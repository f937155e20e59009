/**
 * Partitions: two nodes on real loopback sockets with a fault proxy between them that cuts,
 * stalls, delays, refuses and black-holes connections on a random (bounded) schedule while
 * both keep writing. Afterwards both hold everything the other shared, and no object was
 * reported to the application twice. While the peer is unreachable the dialer backs off
 * exponentially (read off the wire: the proxy records every attempt), and memory does not
 * grow with the length of the outage nor per failed attempt — only by what the local writes
 * themselves take (no per-peer queue of pending objects: CHUM pulls from the store).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { FaultProxy } from '../support/faultProxy.js';
import { wsInstance, pair, type WsInstance, type WsInstanceOptions } from '../support/wsInstance.js';
import { waitFor } from '../support/peers.js';
import { STRESS } from '../support/arbitraries.js';
import { retainedHeap, mib } from '../support/memory.js';
import { compareBytes, fromBase64url } from '../../shared/bytes.js';
import type { ObjectHash } from '../../shared/ids.js';

const CHAOS_MS = STRESS ? 60_000 : 6_000;
const UNREACHABLE_MS = STRESS ? 120_000 : 8_000;

/** Counts every hash each instance reports as received; `duplicates()` lists those seen more than once. */
function deliveryCounter(nodes: WsInstance[]) {
  const counts = new Map<string, Map<string, number>>();
  const offs = nodes.map((n) => {
    const seen = new Map<string, number>();
    counts.set(n.name, seen);
    return n.instance.events.on('sync:received', (r) => {
      for (const h of r.hashes) seen.set(h, (seen.get(h) ?? 0) + 1);
    });
  });
  return {
    /** Hashes in `expected` that `name` never reported as received. */
    missing: (name: string, expected: Iterable<string>) => [...expected].filter((h) => !counts.get(name)!.has(h)),
    duplicates: () => [...counts].flatMap(([name, seen]) => [...seen].filter(([, n]) => n > 1).map(([h, n]) => `${name}: ${h.slice(0, 12)}… ×${n}`)),
    dispose: () => offs.forEach((off) => off()),
  };
}

/** A channel owned by `owner`, granted to `reader`'s person. */
async function sharedChannel(owner: WsInstance, reader: WsInstance): Promise<{ channel: ObjectHash; grant: ObjectHash }> {
  const channel = await owner.instance.chum.createId('Channel', `${owner.name}→${reader.name}`);
  const grant = await owner.instance.chum.grant({ ids: [channel], persons: [reader.identity.personId] });
  return { channel, grant };
}

async function write(node: WsInstance, channel: ObjectHash, text: string): Promise<ObjectHash> {
  const chum = node.instance.chum;
  return chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), text });
}

/** A file in the channel: a blob (distinct bytes each time) and the entry that names it. */
async function writeFile(node: WsInstance, channel: ObjectHash, size: number): Promise<ObjectHash[]> {
  const chum = node.instance.chum;
  const { manifest } = await chum.putBlob(randomBytes(size));
  const entry = await chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), file: { manifest, name: `f${size}.bin`, size } });
  return [manifest, entry];
}

/**
 * A listening node advertised only through a fault proxy, and a dial-only node: every byte
 * between them crosses the proxy.
 */
async function behindProxy(hosts: { a: string; b: string; proxy: string }, opts: { a?: Omit<WsInstanceOptions, 'host'>; b?: Omit<WsInstanceOptions, 'host'> } = {}) {
  const proxy = await FaultProxy.start({ host: hosts.proxy, rewriteHost: true });
  const a = await wsInstance('a', { ...opts.a, host: hosts.a, endpoints: [proxy.url] });
  proxy.setTarget({ host: hosts.a, port: a.listener!.port });
  const b = await wsInstance('b', { ...opts.b, host: hosts.b, listen: false });
  await pair(a, b);
  const aKey = fromBase64url(a.identity.public.instance.staticKey);
  return {
    a,
    b,
    proxy,
    aKey,
    connected: () => !!b.instance.connections.sessionFor(aKey),
    async close() {
      await proxy.close();
      await a.close();
      await b.close();
    },
  };
}

test(`random cuts, stalls, delays, refusals and black holes for ${CHAOS_MS / 1000} s: both sides converge, nothing is delivered twice`, { timeout: CHAOS_MS + 120_000 }, async (t) => {
  // Both nodes listen, each only reachable through its own proxy, and both dial: duplicate
  // connections and their tie-break happen under the faults too.
  const fast = { backoff: { minMs: 50, maxMs: 800 }, session: { keepaliveMs: 150, idleTimeoutMs: 900 }, handshakeDeadlineMs: 1500 };
  const toA = await FaultProxy.start({ host: '127.0.0.32', rewriteHost: true });
  const toB = await FaultProxy.start({ host: '127.0.0.39', rewriteHost: true });
  const a = await wsInstance('a', { host: '127.0.0.30', endpoints: [toA.url], ...fast });
  const b = await wsInstance('b', { host: '127.0.0.31', endpoints: [toB.url], ...fast });
  toA.setTarget({ host: '127.0.0.30', port: a.listener!.port });
  toB.setTarget({ host: '127.0.0.31', port: b.listener!.port });
  t.after(async () => {
    await toA.close();
    await toB.close();
    await a.close();
    await b.close();
  });
  await pair(a, b);
  const counter = deliveryCounter([a, b]);
  t.after(() => counter.dispose());

  const fromA = await sharedChannel(a, b);
  const fromB = await sharedChannel(b, a);
  const expectAtB = new Set<ObjectHash>([fromA.channel, fromA.grant]);
  const expectAtA = new Set<ObjectHash>([fromB.channel, fromB.grant]);
  let writing = true;
  const writer = async (node: WsInstance, channel: ObjectHash, expect: Set<ObjectHash>) => {
    for (let i = 0; writing; i++) {
      expect.add(await write(node, channel, `${node.name} ${i}`));
      if (i % 60 === 30) for (const h of await writeFile(node, channel, 1_200_000 + i)) expect.add(h);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  };
  const writers = [writer(a, fromA.channel, expectAtB), writer(b, fromB.channel, expectAtA)];
  const [stepsA, stepsB] = await Promise.all([toA.chaos({ durationMs: CHAOS_MS, maxDelayMs: 150 }), toB.chaos({ durationMs: CHAOS_MS, maxDelayMs: 150 })]);
  writing = false;
  await Promise.all(writers);
  const steps = [...stepsA, ...stepsB];
  const kinds = new Set(steps.map((s) => s.action));
  assert.ok(steps.length >= 6 && kinds.size >= 3, `a varied schedule ran: ${steps.map((s) => s.action).join(',')}`);
  const cuts = toA.stats.cuts + toB.stats.cuts;
  const connections = toA.stats.connections + toB.stats.connections;
  assert.ok(cuts > 0 && connections > 2, `connections were disturbed (${cuts} cut, ${connections} made)`);

  const healedAt = Date.now();
  await waitFor(() => [...expectAtB].every((h) => b.store.has(h)) && [...expectAtA].every((h) => a.store.has(h)), 60_000, 'convergence after the partition healed');
  const convergeMs = Date.now() - healedAt;
  assert.deepEqual(counter.duplicates(), [], 'no object was reported twice to the application');
  assert.deepEqual(counter.missing('b', expectAtB), [], 'everything A shared was reported at B');
  assert.deepEqual(counter.missing('a', expectAtA), [], 'everything B shared was reported at A');
  t.diagnostic(
    `chaos: ${steps.length} steps (${[...kinds].join(', ')}), ${connections} connections, ${cuts} cut, ${toA.stats.refused + toB.stats.refused} refused; ` +
      `${expectAtB.size} objects A→B, ${expectAtA.size} B→A; converged ${convergeMs} ms after healing`,
  );
});

test('while the peer is unreachable the dialer backs off exponentially (spacing read off the wire)', { timeout: 60_000 }, async (t) => {
  const min = 100;
  const max = 1600;
  const net = await behindProxy({ a: '127.0.0.33', b: '127.0.0.34', proxy: '127.0.0.35' }, { b: { backoff: { minMs: min, maxMs: max } } });
  t.after(() => net.close());
  const { a, b, proxy, aKey } = net;
  await waitFor(net.connected, 5000, 'connected through the proxy');

  proxy.setMode('refuse');
  const before = proxy.attempts.length;
  proxy.cut();
  const cutAt = Date.now();
  await waitFor(() => proxy.attempts.length >= before + 7, 20_000, 'seven redial attempts');
  const times = [cutAt, ...proxy.attempts.slice(before, before + 7)];
  const gaps = times.slice(1).map((time, i) => time - times[i]!);
  // B redials once one step after losing the session (plus one more step if it is the follower
  // of the tie-break), then after each failure k waits in [base/2, base] with base = min·2^k ≤ max.
  const follower = compareBytes(fromBase64url(b.identity.public.instance.staticKey), aKey) > 0;
  const slack = 60;
  assert.ok(gaps[0]! >= min / 2 - 5 && gaps[0]! <= min + (follower ? min : 0) + slack, `first redial after ${gaps[0]} ms`);
  for (let k = 1; k < gaps.length; k++) {
    const base = Math.min(max, min * 2 ** k);
    assert.ok(gaps[k]! >= base / 2 - 5 && gaps[k]! <= base + slack, `gap ${k} = ${gaps[k]} ms, expected ${base / 2}–${base}: ${gaps.join(', ')}`);
  }
  assert.ok(gaps.at(-1)! <= max + slack, 'capped at the maximum');
  const status = b.instance.connectionStates()[0]!;
  assert.ok(status.failures >= 6 && status.lastError === 'UNREACHABLE', JSON.stringify(status));

  proxy.heal();
  await waitFor(net.connected, max + 5000, 'reconnects once reachable');
  t.diagnostic(`attempt spacing (ms): ${gaps.join(', ')}`);
});

test(`a peer unreachable for ${UNREACHABLE_MS / 1000} s: memory stays flat across failed attempts and grows only with local writes; all of them arrive once, exactly once`, { timeout: UNREACHABLE_MS * 3 + 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-partition-'));
  // Short backoff: many failed attempts in the window, so a per-attempt leak would show.
  const net = await behindProxy(
    { a: '127.0.0.36', b: '127.0.0.37', proxy: '127.0.0.38' },
    { a: { storeDir: join(dir, 'a') }, b: { storeDir: join(dir, 'b'), backoff: { minMs: 20, maxMs: 40 }, handshakeDeadlineMs: 500 } },
  );
  t.after(async () => {
    await net.close();
    await rm(dir, { recursive: true, force: true });
  });
  const { a, b, proxy } = net;
  const counter = deliveryCounter([a, b]);
  t.after(() => counter.dispose());
  const { channel } = await sharedChannel(b, a);
  await waitFor(net.connected, 5000, 'connected');

  proxy.setMode('refuse');
  proxy.cut();
  await waitFor(() => !net.connected(), 5000, 'partitioned');
  // Warm up the paths (first failures, JIT) before the baseline.
  await new Promise((resolve) => setTimeout(resolve, 500));

  // Phase 1: unreachable, no writes. Nothing may accumulate per failed attempt.
  const phaseMs = UNREACHABLE_MS / 2;
  const heap0 = await retainedHeap();
  const attempts0 = proxy.attempts.length;
  const switchAt = Date.now() + phaseMs / 2;
  while (Date.now() < switchAt) {
    // Half of the outage refuses, half black-holes (dials then wait for their deadline).
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  proxy.setMode('blackhole');
  await new Promise((resolve) => setTimeout(resolve, phaseMs / 2));
  proxy.setMode('refuse');
  proxy.cut();
  const heap1 = await retainedHeap();
  const idleAttempts = proxy.attempts.length - attempts0;

  // Phase 2: unreachable, with many local writes shared with the absent peer.
  const writes = STRESS ? 20_000 : 2_000;
  const written: ObjectHash[] = [];
  const writeEvery = phaseMs / writes;
  const phase2End = Date.now() + phaseMs;
  for (let i = 0; i < writes; i++) {
    written.push(await write(b, channel, `offline ${i}`));
    if (i % 50 === 0) {
      const due = Date.now() + writeEvery * 50;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(due, phase2End) - Date.now())));
    }
  }
  const heap2 = await retainedHeap();
  const writeAttempts = proxy.attempts.length - attempts0 - idleAttempts;
  const perWrite = (heap2 - heap1) / writes;

  assert.ok(idleAttempts >= 20, `the dialer kept trying (${idleAttempts} attempts)`);
  assert.ok(heap1 - heap0 < 3 * 1024 * 1024, `no growth across ${idleAttempts} failed attempts: ${mib(heap1 - heap0)}`);
  // Each stored object costs its metadata in the store's index and the access index (~1 KiB); a per-peer queue of the objects themselves would cost far more.
  assert.ok(perWrite < 4096, `heap per local write while unreachable: ${perWrite.toFixed(0)} B`);

  proxy.heal();
  await waitFor(() => written.every((h) => a.store.has(h)), 60_000, 'the backlog arrives after the outage');
  assert.deepEqual(counter.duplicates(), [], 'delivered once');
  assert.deepEqual(counter.missing('a', written), [], 'and reported once');
  t.diagnostic(
    `unreachable ${phaseMs} ms idle: ${idleAttempts} failed attempts, heap ${mib(heap0)} → ${mib(heap1)} (${((heap1 - heap0) / 1024).toFixed(0)} KiB); ` +
      `${phaseMs} ms with ${writes} writes (${writeAttempts} attempts): heap → ${mib(heap2)}, ${perWrite.toFixed(0)} B per write`,
  );
});
