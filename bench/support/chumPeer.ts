/**
 * Child process of bench/chum.bench.ts: one Kith instance on a temp home (openNodeInstance:
 * file store, durable state, WsListener, `ws` dialer), driven over IPC (rpc.ts). Each
 * process uses its own cores, so a sync between two of them runs like two devices on one
 * machine. Times are wallMs() (comparable across the two processes).
 */
import { randomFillSync } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { createHome } from '../../cli/home.js';
import { openNodeInstance, type NodeInstance } from '../../instance/node/openNodeInstance.js';
import { describeBytes } from '../../chum/model/describe.js';
import { objectBytes, signObject, hashObject, type KithObject } from '../../shared/objects.js';
import type { LocalIdentity } from '../../shared/identity.js';
import type { ObjectHash, PersonId } from '../../shared/ids.js';
import type { PutEntry } from '../../chum/ObjectStore.js';
import { serveRpc } from './rpc.js';
import { WireLog, type WireEntry } from './wireLog.js';
import { verifyCeiling } from './verifyCeiling.js';
import { RawAeadReceiver, RawAeadSender } from './rawAeadLink.js';
import { wallMs } from './stats.js';
import { threadCpu } from './threadCpu.js';

const crypto = new NativeCrypto();
const wire = new WireLog();
wire.install();

/** Entries per store batch while populating (well under MAX_PUT_BATCH_ENTRIES). */
const POPULATE_BATCH = 1000;
const RSS_SAMPLE_MS = 20;

let home = '';
let identity: LocalIdentity | undefined;
let listenPort: number | undefined;
let node: NodeInstance | undefined;
let channel: ObjectHash | undefined;
let written = 0;

/** ChannelEntry objects received from peers (cumulative), and when the latest arrived. */
let entriesReceived = 0;
let lastReceivedAt = 0;
let lastOpenedAt = 0;
const hashWaiters = new Map<string, (t: number) => void>();
const receivedAt = new Map<string, number>();
let countWaiter: { total: number; resolve: () => void } | undefined;

let rawSender: RawAeadSender | undefined;
let rawReceiver: RawAeadReceiver | undefined;
let rssTimer: ReturnType<typeof setInterval> | undefined;
let rssPeak = 0;

/** Arrival times remembered for waitHash. */
const RECEIVED_AT_ENTRIES = 100_000;

function instance(): NodeInstance['instance'] {
  if (!node) throw new Error('no open instance');
  return node.instance;
}

function wireUp(n: NodeInstance): void {
  n.instance.events.on('connection:opened', () => {
    lastOpenedAt = wallMs();
  });
  n.instance.events.on('sync:received', ({ hashes }) => {
    const t = wallMs();
    const store = n.instance.chum.store;
    for (const h of hashes) {
      if (store.meta(h as ObjectHash)?.type === 'ChannelEntry') entriesReceived++;
      const waiter = hashWaiters.get(h);
      if (waiter) {
        hashWaiters.delete(h);
        waiter(t);
      } else {
        // Bounded, oldest first out: a waitHash that comes after its object arrived must still
        // find it (stopping at 100k entries made W2 at N = 100k wait for objects it had received).
        if (receivedAt.size >= RECEIVED_AT_ENTRIES) receivedAt.delete(receivedAt.keys().next().value!);
        receivedAt.set(h, t);
      }
    }
    lastReceivedAt = t;
    if (countWaiter && entriesReceived >= countWaiter.total) {
      const w = countWaiter;
      countWaiter = undefined;
      w.resolve();
    }
  });
}

async function open(): Promise<{ url: string | undefined }> {
  if (!identity) throw new Error('init first');
  node = await openNodeInstance({ home, identity, ...(listenPort !== undefined ? { listen: { host: '127.0.0.1', port: listenPort } } : {}) });
  wireUp(node);
  if (node.listener) listenPort = node.listener.port;
  return { url: node.instance.url };
}

/** A signed ChannelEntry of ~330 bytes, ready for the store (described like Chum.commit does). */
async function entry(i: number, certHash: ObjectHash): Promise<PutEntry> {
  const id = identity!;
  const body: KithObject = { $type: 'ChannelEntry', channel: channel!, hlc: instance().chum.clock.now(), text: `m${i}`, author: id.instanceId, cert: certHash };
  const signed = await signObject(crypto, body, id.instanceSecrets.signSecret);
  const d = describeBytes(crypto, objectBytes(signed));
  return { hash: d.hash, kind: 'object', type: d.type, bytes: d.bytes, refs: d.refs, author: id.instanceId, idHash: d.idHash };
}

serveRpc(
  {
    /** Creates a home with an identity (keys unencrypted: a benchmark) and opens the instance. */
    async init({ dir, name, listen }: { dir: string; name: string; listen: boolean }) {
      home = dir;
      identity = await createHome(dir, { name, instanceName: `${name}-node`, insecurePlaintext: true, crypto, now: Date.now() });
      listenPort = listen ? 0 : undefined;
      const { url } = await open();
      return { personId: identity.personId, instanceId: identity.instanceId, url };
    },
    open,
    async close() {
      await node?.instance.close();
      node = undefined;
    },
    /** Forgets every per-peer mark (the instance must be closed): the next session has to reconcile. */
    async dropMarks() {
      if (node) throw new Error('close the instance first');
      await rm(join(home, 'state', 'marks.json'), { force: true });
    },
    /** A Channel id and a grant of its scope to `person`. */
    async channel({ grantTo }: { grantTo: PersonId }) {
      const chum = instance().chum;
      channel = await chum.createId('Channel', 'bench');
      await chum.grant({ ids: [channel], persons: [grantTo] });
      return channel;
    },
    /** Signs and stores `count` new entries in the channel, in store batches; returns their mean size. */
    async populate({ count }: { count: number }) {
      const chum = instance().chum;
      const certHash = hashObject(crypto, identity!.public.certificate as unknown as KithObject);
      let bytes = 0;
      for (let done = 0; done < count; ) {
        const n = Math.min(POPULATE_BATCH, count - done);
        const batch: PutEntry[] = [];
        for (let i = 0; i < n; i++) batch.push(await entry(written++, certHash));
        await chum.store.put(batch);
        for (const e of batch) bytes += e.bytes.length;
        done += n;
      }
      await instance().settled();
      return { meanBytes: bytes / Math.max(1, count), lastSeq: chum.store.lastSeq };
    },
    /** One new entry through the public API; times around putSigned. */
    async putOne() {
      const chum = instance().chum;
      const t0 = wallMs();
      const hash = await chum.putSigned({ $type: 'ChannelEntry', channel: channel!, hlc: chum.clock.now(), text: `live${written++}` });
      const t1 = wallMs();
      const bytes = (await chum.store.get(hash))!.length;
      return { t0, t1, hash, bytes };
    },
    async invite() {
      return (await instance().invite()).link;
    },
    async accept({ link }: { link: string }) {
      const t0 = wallMs();
      await instance().acceptInvite(link);
      return { t0, t1: wallMs() };
    },
    /** Resolves once `total` ChannelEntry objects have been received in all (cumulative). */
    async waitEntries({ total, timeoutMs }: { total: number; timeoutMs: number }) {
      if (entriesReceived < total) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`only ${entriesReceived} of ${total} entries arrived`)), timeoutMs);
          countWaiter = {
            total,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          };
        });
      }
      return { received: entriesReceived, tDone: lastReceivedAt, tOpened: lastOpenedAt };
    },
    /** When `hash` was received (waits for it). */
    async waitHash({ hash, timeoutMs }: { hash: string; timeoutMs: number }) {
      const seen = receivedAt.get(hash);
      if (seen !== undefined) return { t: seen };
      const t = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the object never arrived')), timeoutMs);
        hashWaiters.set(hash, (at) => {
          clearTimeout(timer);
          resolve(at);
        });
      });
      return { t };
    },
    status() {
      const s = instance().status();
      return { store: s.store, sync: s.sync, entriesReceived };
    },
    takeWire(): WireEntry[] {
      return wire.take();
    },
    /** CPU per thread of this process (KITH_BENCH_THREADS=1 in the bench). */
    threadCpu: () => threadCpu(),
    cpu() {
      const u = process.cpuUsage();
      return (u.user + u.system) / 1000;
    },
    verifyCeiling: (opts: { windowMs?: number; windows?: number }) => verifyCeiling(opts),
    /** Stores a blob of `size` random bytes (streamed in 1 MiB pieces); returns its manifest hash. */
    async putBlob({ size }: { size: number }) {
      const piece = 1024 * 1024;
      async function* source(): AsyncGenerator<Uint8Array> {
        // Random, so no two chunks share a hash (identical chunks would be stored and sent once).
        for (let done = 0; done < size; done += piece) yield randomFillSync(new Uint8Array(Math.min(piece, size - done)));
      }
      const t0 = wallMs();
      const { manifest } = await instance().chum.putBlob(source());
      return { manifest, ms: wallMs() - t0 };
    },
    /** Grants `person` the objects (a blob's manifest: its chunks come along); times around the grant. */
    async grantObjects({ objects, person }: { objects: string[]; person: PersonId }) {
      const t0 = wallMs();
      await instance().chum.grant({ objects, persons: [person] });
      return { t0, t1: wallMs() };
    },
    rssStart() {
      rssPeak = process.memoryUsage.rss();
      rssTimer = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }, RSS_SAMPLE_MS);
      return { rss: rssPeak };
    },
    rssStop() {
      clearInterval(rssTimer);
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      return { peak: rssPeak, maxRssLifetime: process.resourceUsage().maxRSS * 1024 };
    },
    async rawListen() {
      rawSender ??= await RawAeadSender.listen();
      return rawSender.url;
    },
    async rawConnect({ url }: { url: string }) {
      rawReceiver ??= await RawAeadReceiver.connect(url);
    },
    rawSend: ({ bytes }: { bytes: number }) => rawSender!.send(bytes),
    rawExpect: ({ bytes, timeoutMs }: { bytes: number; timeoutMs: number }) => rawReceiver!.expect(bytes, timeoutMs),
  },
  async () => {
    rawReceiver?.close();
    await rawSender?.close();
    await node?.instance.close();
  },
);
