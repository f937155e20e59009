import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance } from '../support/instances.js';
import { waitFor } from '../support/peers.js';
import { Exporter } from '../../chum/sync/Exporter.js';
import type { ObjectHash } from '../../shared/ids.js';

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(Buffer.from(p));
  return Buffer.concat(parts);
}

/** Two instances on `net`; A owns a channel granted to B (they are not paired yet). */
async function channelBetween(net: MemoryNetwork) {
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  const channel = await a.instance.chum.createId('Channel', 'files');
  await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
  return { a, b, channel };
}

/** A stores `data` as a blob and posts it in `channel`; returns the entry's hash. */
async function postFile(a: Awaited<ReturnType<typeof memoryInstance>>, channel: ObjectHash, name: string, data: Uint8Array) {
  const { manifest, size } = await a.instance.chum.putBlob(data);
  const entry = await a.instance.chum.putSigned({ $type: 'ChannelEntry', channel, hlc: 1, file: { manifest, name, size } });
  return { manifest, size, entry };
}

/** Records B's receive progress (bytes done / total) as it is reported. */
function recordReceiveProgress(b: Awaited<ReturnType<typeof memoryInstance>>) {
  const seen: Array<{ done: number; total: number }> = [];
  const off = b.instance.events.on('sync:progress', (p) => {
    if (p.direction === 'receive') seen.push({ done: p.bytesDone, total: p.bytesTotal });
  });
  return { seen, off };
}

test('a file in a channel arrives intact: entry, manifest and every chunk', async () => {
  const net = new MemoryNetwork();
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  await b.instance.acceptInvite((await a.instance.invite()).link);
  const channel = await a.instance.chum.createId('Channel', 'files');
  await a.instance.chum.grant({ ids: [channel], persons: [b.identity.personId] });
  const data = pattern(5 * 1024 * 1024 + 123, 7);
  const { manifest, size } = await a.instance.chum.putBlob(data);
  assert.equal(size, data.length);
  const entry = await a.instance.chum.putSigned({ $type: 'ChannelEntry', channel, hlc: 1, file: { manifest, name: 'data.bin', size } });
  await waitFor(() => b.store.has(entry), 10_000, 'entry synced');
  const copy = await collect(b.instance.chum.readBlob(manifest));
  assert.equal(copy.length, data.length);
  assert.ok(copy.equals(Buffer.from(data)));
  await a.instance.close();
  await b.instance.close();
});

test('a file pushed live shows real progress: its total is known before the chunks arrive', async () => {
  const { a, b, channel } = await channelBetween(new MemoryNetwork({ latencyMs: 1 }));
  await b.instance.acceptInvite((await a.instance.invite()).link);
  // Connected and caught up before the file exists: it travels as a live push, with no plan.
  await waitFor(() => b.store.has(channel), 10_000, 'channel synced');
  const { seen, off } = recordReceiveProgress(b);
  const data = pattern(6 * 1024 * 1024 + 5, 11);
  const { entry } = await postFile(a, channel, 'live.bin', data);
  await waitFor(() => b.store.has(entry), 20_000, 'entry synced');
  off();
  const partway = seen.filter((p) => p.done < p.total && p.total - p.done >= 1024 * 1024);
  assert.ok(partway.length >= 3, `progress part-way through the file was reported (${partway.length} times)`);
  assert.ok(partway.every((p) => p.total >= data.length), 'the total covered the whole file from the start');
  const last = seen.at(-1)!;
  assert.equal(last.done, last.total, 'the bar ends full');
  await a.instance.close();
  await b.instance.close();
});

test('a file in the backlog of a reconnecting peer is counted once: the bar ends at the bytes that came', async () => {
  const { a, b, channel } = await channelBetween(new MemoryNetwork({ latencyMs: 1 }));
  const data = pattern(3 * 1024 * 1024 + 17, 12);
  const { entry } = await postFile(a, channel, 'backlog.bin', data);
  const { seen } = recordReceiveProgress(b);
  // Paired only now: the file is part of the planned backlog, not a live push.
  await b.instance.acceptInvite((await a.instance.invite()).link);
  await waitFor(() => b.store.has(entry), 20_000, 'entry synced');
  await waitFor(() => seen.some((p) => p.done >= data.length && p.done === p.total), 5_000, 'progress complete');
  const last = seen.at(-1)!;
  assert.equal(last.done, last.total, 'the bar ends full');
  assert.ok(last.total < data.length + 64 * 1024, `the file's bytes were counted once (total ${last.total} for a ${data.length}-byte file)`);
  assert.ok(seen.some((p) => p.total >= data.length && p.total - p.done >= 1024 * 1024), 'part-way progress was shown with the whole file in the total');
  await a.instance.close();
  await b.instance.close();
});

test('an interrupted blob transfer resumes per chunk', async () => {
  const { a, b, channel } = await channelBetween(new MemoryNetwork({ latencyMs: 2 }));
  const data = pattern(12 * 1024 * 1024, 9);
  const { manifest, entry } = await postFile(a, channel, 'big.bin', data);
  const requested: string[] = [];
  const original = Exporter.prototype.onChunkRequest;
  Exporter.prototype.onChunkRequest = function (hashes: readonly ObjectHash[]) {
    requested.push(...hashes);
    return original.call(this, hashes);
  };
  try {
    await b.instance.acceptInvite((await a.instance.invite()).link);
    const aKey = Buffer.from(a.identity.public.instance.staticKey, 'base64url');
    await waitFor(() => b.store.stats().chunks >= 4, 10_000, 'some chunks stored');
    const s = b.instance.connections.sessionFor(aKey);
    (s as unknown as { transport: { close(code: number, reason: string): void } }).transport.close(1006, 'cut');
    const before = b.store.stats().chunks;
    assert.ok(before < 12, `cut mid-transfer (${before} chunks)`);
    await waitFor(() => b.store.has(entry), 20_000, 'entry after resume');
    const copy = await collect(b.instance.chum.readBlob(manifest));
    assert.ok(copy.equals(Buffer.from(data)));
    // Each chunk was asked for once, except the ones in flight at the cut (at most the window).
    const repeats = requested.length - new Set(requested).size;
    assert.ok(repeats <= 4, `${repeats} chunks requested twice`);
  } finally {
    Exporter.prototype.onChunkRequest = original;
  }
  await a.instance.close();
  await b.instance.close();
});
