/**
 * The receiving half of a CHUM session (DESIGN §7). Batches are taken in arrival order:
 * objects already stored are skipped; references the batch needs but we lack (objects that
 * became visible to us after the exporter had passed them) are asked for in one WANT,
 * answered with their whole visible closure; blob chunks named by new manifests are
 * requested through a pipelined window (each stored as it arrives, so an interrupted
 * transfer resumes per chunk); the batch is verified (hash, canonical form, schema,
 * signatures, certificates, closure, rights) and stored atomically; the mark is persisted;
 * only then is the batch acknowledged. Anything wrong is a SYNC_PROTOCOL_ERROR or the
 * verification error's code, and the session closes: a bad peer loses its own session.
 *
 * The common case is a pipeline: while the batches before it are still being verified or
 * written, a batch is described and its signatures are queued for verification (it may
 * reference objects of those earlier batches); a committer then stores verified batches in
 * order, several per durable write when they are ready together, persists the mark once for
 * them and acknowledges each. Describing (main thread), verifying (threadpool) and writing
 * (disk) overlap instead of taking turns. A batch that needs a WANT or blob chunks waits
 * until everything before it is stored, and then runs alone.
 */
import type { SyncContext, SyncPeer } from './context.js';
import type { BatchMessage, HelloMessage, PlanMessage } from './wire.js';
import { Msg, encodeAck, encodeHashes, encodeRecon } from './wire.js';
import type { PutEntry } from '../ObjectStore.js';
import type { MessageParts } from '../../connections/SecureSession.js';
import { describeBytes, type DescribedObject } from '../model/describe.js';
import type { BlobManifestRecord } from '../model/types.js';
import { Reconciler } from '../reconcile/Reconciler.js';
import { ReconcileSet } from '../reconcile/ReconcileSet.js';
import { KithError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import type { ObjectHash } from '../../shared/ids.js';
import {
  BLOB_STORE_QUEUE_CHUNKS, BLOB_WINDOW_CHUNKS, DESCRIBE_SLICE_OBJECTS, IMPORT_SCAN_PAGE_ENTRIES, MAX_HASHES_PER_MESSAGE, MAX_PENDING_WANTED_BATCHES, MAX_QUEUED_OFFERS, SYNC_WINDOW_BATCHES, SYNC_WANT_TIMEOUT_MS,
} from '../../shared/limits.js';
import { yieldTurn } from '../../shared/nextTurn.js';

interface ChunkWaiter {
  /** Called when the chunk arrives, with its store write (still in flight; wrapped, or the promise would adopt it). */
  resolve: (arrival: { readonly stored: Promise<void> }) => void;
  reject: (err: unknown) => void;
}

type Task = { readonly kind: 'batch'; readonly batch: BatchMessage } | { readonly kind: 'offer'; readonly hashes: readonly ObjectHash[] };

/** A batch between description and acknowledgement. */
interface InPipeline {
  readonly batch: BatchMessage;
  readonly fresh: readonly DescribedObject[];
  readonly verified: Promise<void>;
  /** Set once `verified` resolved: the committer takes every ready batch behind the one it waited for. */
  ready: boolean;
}

interface WantReply {
  chain: Promise<void>;
  pendingBatches: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class Importer {
  private epoch: string | undefined;
  private readonly tasks: Task[] = [];
  private queuedBatches = 0;
  private queuedOffers = 0;
  private working = false;
  private closed = false;
  private reconciler: Reconciler | undefined;
  private readonly chunkWaiters = new Map<string, ChunkWaiter>();
  private readonly wantReplies: WantReply[] = [];
  private objectsTotal = 0;
  private bytesTotal = 0;
  private objectsDone = 0;
  private bytesDone = 0;
  private caughtUpSeq = 0;
  /** Described objects of batches in the pipeline, not yet stored: later batches may reference them. */
  private readonly pending = new Map<string, DescribedObject>();
  private readonly pipeline: InPipeline[] = [];
  private committing: Promise<void> | undefined;
  /** Marks and acknowledgements of stored groups, in order; the next group is written meanwhile. */
  private acknowledging: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: SyncContext,
    private readonly peer: SyncPeer,
    private readonly send: (message: Uint8Array | MessageParts) => Promise<void>,
    private readonly fail: (err: unknown) => void,
  ) {}

  close(): void {
    this.closed = true;
    this.tasks.length = 0;
    for (const w of this.chunkWaiters.values()) w.reject(new KithError('CLOSED'));
    this.chunkWaiters.clear();
    for (const w of this.wantReplies) w.reject(new KithError('CLOSED'));
    this.wantReplies.length = 0;
    this.pipeline.length = 0;
    this.pending.clear();
  }

  onHello(hello: HelloMessage): void {
    if (this.epoch !== undefined) throw new KithError('SYNC_PROTOCOL_ERROR', 'hello sent twice');
    this.epoch = hello.epoch;
  }

  onPlan(plan: PlanMessage): void {
    this.objectsTotal += plan.objects;
    this.bytesTotal += plan.bytes;
    this.caughtUpSeq = Math.max(this.caughtUpSeq, plan.to);
    this.report();
  }

  onBatch(batch: BatchMessage): void {
    if (this.epoch === undefined) throw new KithError('SYNC_PROTOCOL_ERROR', 'batch before hello');
    if (batch.wanted) return this.onWantedBatch(batch);
    // The exporter may have at most SYNC_WINDOW_BATCHES unacknowledged: more is a broken or hostile peer.
    if (this.queuedBatches >= SYNC_WINDOW_BATCHES + 1) throw new KithError('SYNC_PROTOCOL_ERROR', 'batch window exceeded');
    this.queuedBatches++;
    this.enqueue({ kind: 'batch', batch });
  }

  onChunk(hash: ObjectHash, bytes: Uint8Array): void {
    const waiter = this.chunkWaiters.get(hash);
    if (!waiter) throw new KithError('SYNC_PROTOCOL_ERROR', 'unrequested chunk');
    this.chunkWaiters.delete(hash);
    // The chunk's bytes are a view of the message just reassembled for us alone: handed over, not copied.
    const stored = this.ctx.store.put([{ hash, kind: 'chunk', type: 'chunk', bytes, refs: [] }], { handOver: true }).then(() => {
      this.bytesDone += bytes.length;
      this.report();
    }, (err) => {
      throw new KithError('SYNC_PROTOCOL_ERROR', `bad chunk: ${(err as Error).message}`);
    });
    stored.catch(() => {}); // raised by fetchChunks
    waiter.resolve({ stored });
  }

  onMissing(hashes: readonly ObjectHash[]): void {
    for (const h of hashes) {
      const waiter = this.chunkWaiters.get(h);
      if (!waiter) throw new KithError('SYNC_PROTOCOL_ERROR', 'missing answer for an unrequested chunk');
      this.chunkWaiters.delete(h);
      waiter.reject(new KithError('SYNC_PROTOCOL_ERROR', 'the peer sent a manifest whose chunks it cannot give'));
    }
  }

  /** Objects that became visible to us behind our mark: fetch the ones we lack. */
  onOffer(hashes: readonly ObjectHash[]): void {
    if (this.queuedOffers >= MAX_QUEUED_OFFERS) throw new KithError('SYNC_PROTOCOL_ERROR', 'too many offers');
    this.queuedOffers++;
    this.enqueue({ kind: 'offer', hashes });
  }

  /** The exporter's reconciliation message: answer over what we may reveal to its person. */
  async onRecon(message: Uint8Array): Promise<void> {
    if (!this.reconciler) {
      await this.ctx.access.settled();
      const ids: Uint8Array[] = [];
      for (let after = 0; ; ) {
        const page = this.ctx.store.since(after, IMPORT_SCAN_PAGE_ENTRIES);
        if (page.length === 0) break;
        for (const meta of page) {
          if (meta.kind === 'object' && this.ctx.access.mayReceive(this.peer.personId, meta.hash)) ids.push(fromHex(meta.hash));
        }
        after = page[page.length - 1]!.seq;
      }
      this.reconciler = new Reconciler(ReconcileSet.fromIds(ids));
    }
    // The responder always answers; only the exporter (initiator) knows when it is over.
    const { reply } = this.reconciler.reconcile(message);
    await this.send(encodeRecon(Msg.ReconImp, reply ?? new Uint8Array(0)));
  }

  private enqueue(task: Task): void {
    this.tasks.push(task);
    if (!this.working) void this.work();
  }

  private async work(): Promise<void> {
    this.working = true;
    try {
      while (!this.closed && this.tasks.length > 0) {
        const task = this.tasks.shift()!;
        if (task.kind === 'batch') {
          await this.processBatch(task.batch);
          // One batch per turn (and describing yields every DESCRIBE_SLICE_OBJECTS), so fifty
          // peers syncing at once cannot keep a pairing or a status request waiting behind all
          // of their queued batches.
          await yieldTurn();
        } else {
          await this.drain();
          const lacking = task.hashes.filter((h) => !this.ctx.store.has(h));
          if (lacking.length) await this.fetch(lacking);
          this.queuedOffers--;
        }
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.working = false;
    }
  }

  /**
   * Puts a batch into the pipeline, or (when it needs a WANT or blob chunks first) waits for
   * the pipeline to empty and handles it alone. Resolves once the next batch may be taken.
   */
  private async processBatch(batch: BatchMessage): Promise<void> {
    const fresh = await this.describeFresh(batch.objects);
    const inBatch = new Set(fresh.map((d) => d.hash));
    const lacking = new Set<ObjectHash>();
    for (const d of fresh) for (const r of d.refs) if (!inBatch.has(r) && !this.pending.has(r) && !this.ctx.store.has(r)) lacking.add(r);
    const needsChunks = fresh.some((d) => d.chunkRefs.some((h) => !this.ctx.store.has(h)));
    if (lacking.size === 0 && !needsChunks) {
      const earlier = new Map(this.pending);
      for (const d of fresh) this.pending.set(d.hash, d);
      const entry: InPipeline = { batch, fresh, verified: this.ctx.verifier.verifyBatch(fresh, { earlier }), ready: false };
      // A failure is raised by the committer when it reaches this batch; until then it must not count as unhandled.
      entry.verified.then(() => (entry.ready = true), () => {});
      this.pipeline.push(entry);
      this.committing ??= this.commit().finally(() => (this.committing = undefined));
      return;
    }
    await this.drain();
    if (this.closed) return;
    if (lacking.size) await this.fetch([...lacking]);
    if (this.closed) return;
    await this.store(fresh);
    await this.acknowledge([batch]);
  }

  /** Resolves once every batch in the pipeline is stored and acknowledged (or the session failed). */
  private async drain(): Promise<void> {
    while (this.committing) await this.committing;
    await this.acknowledging;
  }

  /** Stores verified batches in order: the oldest, and every one behind it already verified, in one durable write. */
  private async commit(): Promise<void> {
    try {
      while (!this.closed && this.pipeline.length > 0) {
        await this.pipeline[0]!.verified;
        if (this.closed) return;
        const group: InPipeline[] = [];
        while (this.pipeline.length > 0 && (group.length === 0 || this.pipeline[0]!.ready)) group.push(this.pipeline.shift()!);
        const fresh = group.flatMap((g) => g.fresh);
        await this.put(fresh);
        for (const d of fresh) this.pending.delete(d.hash);
        if (this.closed) return;
        // The mark's durable write overlaps the next group's.
        const batches = group.map((g) => g.batch);
        this.acknowledging = this.acknowledging.then(() => this.acknowledge(batches));
        this.acknowledging.catch(this.fail);
      }
    } catch (err) {
      this.fail(err);
    }
  }

  /** Persists the mark of the last batch that advances it, then acknowledges each batch. */
  private async acknowledge(batches: readonly BatchMessage[]): Promise<void> {
    for (const b of batches) this.objectsDone += b.objects.length;
    const marking = batches.filter((b) => b.advancesMark).at(-1);
    if (marking) {
      this.ctx.marks.set(this.peer.instanceId, { epoch: this.epoch!, seq: marking.seq });
      await this.ctx.marks.persist();
    }
    for (const b of batches) {
      if (this.closed) return;
      this.queuedBatches--;
      await this.send(encodeAck({ seq: b.seq }));
    }
    this.report(!!marking && marking.seq >= this.caughtUpSeq);
  }

  /** Objects of a batch we do not have yet, described (parsed, canonical, schema, refs). */
  private async describeFresh(objects: readonly Uint8Array[]): Promise<DescribedObject[]> {
    const fresh: DescribedObject[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < objects.length; i++) {
      // Describing is main-thread work: other sessions, a pairing or a status request get a turn between slices.
      if (i > 0 && i % DESCRIBE_SLICE_OBJECTS === 0) await yieldTurn();
      const bytes = objects[i]!;
      const hash = toHex(this.ctx.crypto.sha256(bytes));
      if (this.ctx.store.has(hash as ObjectHash) || this.pending.has(hash) || seen.has(hash)) continue;
      seen.add(hash);
      fresh.push(describeBytes(this.ctx.crypto, bytes));
    }
    return fresh;
  }

  /** Fetches chunks of new manifests, verifies and stores described objects. */
  private async store(fresh: readonly DescribedObject[]): Promise<void> {
    if (fresh.length === 0) return;
    const { store, verifier } = this.ctx;
    const chunks = [...new Set(fresh.flatMap((d) => d.chunkRefs))].filter((h) => !store.has(h));
    if (chunks.length) {
      // Plans count objects only; the manifests say how many chunk bytes are coming, so the
      // progress a person watches has a real total before the first chunk arrives (a file
      // pushed live comes with no plan at all).
      this.bytesTotal = Math.max(this.bytesTotal, this.bytesDone) + chunkBytes(fresh, new Set(chunks));
      this.report();
      await this.fetchChunks(chunks);
    }
    if (this.closed) return;
    await verifier.verifyBatch(fresh);
    await this.put(fresh);
  }

  /** Stores verified objects in one atomic batch. */
  private async put(fresh: readonly DescribedObject[]): Promise<void> {
    if (fresh.length === 0) return;
    const entries: PutEntry[] = fresh.map((d) => ({
      hash: d.hash,
      kind: 'object',
      type: d.type,
      bytes: d.bytes,
      refs: d.chunkRefs.length ? [...d.refs, ...d.chunkRefs] : d.refs,
      author: d.signer?.kind === 'instance' ? d.signer.author : undefined,
      idHash: d.idHash,
    }));
    await this.ctx.store.put(entries);
    for (const d of fresh) this.bytesDone += d.bytes.length;
    this.ctx.onReceived(this.peer, fresh.map((d) => d.hash));
  }

  /** Sends WANTs for `hashes` and waits until every answer is stored (bounded: a silent peer loses its session). */
  private async fetch(hashes: readonly ObjectHash[]): Promise<void> {
    for (let i = 0; i < hashes.length && !this.closed; i += MAX_HASHES_PER_MESSAGE) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = new Promise<void>((resolve, reject) => {
        this.wantReplies.push({ chain: Promise.resolve(), pendingBatches: 0, resolve, reject });
        timer = setTimeout(() => reject(new KithError('TIMEOUT', 'the peer did not answer a request for objects')), SYNC_WANT_TIMEOUT_MS);
      });
      try {
        await this.send(encodeHashes(Msg.Want, hashes.slice(i, i + MAX_HASHES_PER_MESSAGE)));
        await done;
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** A batch of a WANT answer: stored in order as it arrives; LAST completes the oldest WANT. */
  private onWantedBatch(batch: BatchMessage): void {
    const reply = this.wantReplies[0];
    if (!reply) throw new KithError('SYNC_PROTOCOL_ERROR', 'an answer to no WANT');
    if (++reply.pendingBatches > MAX_PENDING_WANTED_BATCHES) throw new KithError('SYNC_PROTOCOL_ERROR', 'WANT answer not flow-controlled');
    if (batch.last) this.wantReplies.shift();
    reply.chain = reply.chain.then(async () => {
      await this.store(await this.describeFresh(batch.objects));
      reply.pendingBatches--;
      if (batch.last) reply.resolve();
    });
    reply.chain.catch((err) => {
      reply.reject(err);
      this.fail(err);
    });
  }

  /**
   * Requests chunks with at most BLOB_WINDOW_CHUNKS on the way and at most
   * BLOB_STORE_QUEUE_CHUNKS arrived but not yet durable: a request goes out as soon as a chunk
   * arrives, so fetching overlaps the disk's writes (which group the chunks that queue up).
   * Each chunk is stored as it arrives, so an interrupted transfer resumes per chunk.
   */
  private async fetchChunks(hashes: readonly ObjectHash[]): Promise<void> {
    let next = 0;
    let failure: unknown;
    const onTheWay = new Set<Promise<void>>();
    const storing = new Set<Promise<void>>();
    const track = (set: Set<Promise<void>>, work: Promise<void>) => {
      const p: Promise<void> = work.catch((err) => {
        failure ??= err;
      }).finally(() => set.delete(p));
      set.add(p);
    };
    const request = async (hash: ObjectHash): Promise<void> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arrived = new Promise<{ readonly stored: Promise<void> }>((resolve, reject) => {
        this.chunkWaiters.set(hash, { resolve, reject });
        timer = setTimeout(() => reject(new KithError('TIMEOUT', 'the peer did not send a requested blob chunk')), SYNC_WANT_TIMEOUT_MS);
      });
      try {
        await this.send(encodeHashes(Msg.ChunkReq, [hash]));
        track(storing, (await arrived).stored);
      } finally {
        clearTimeout(timer);
      }
    };
    while ((next < hashes.length || onTheWay.size > 0 || storing.size > 0) && !failure && !this.closed) {
      while (next < hashes.length && onTheWay.size < BLOB_WINDOW_CHUNKS && onTheWay.size + storing.size < BLOB_WINDOW_CHUNKS + BLOB_STORE_QUEUE_CHUNKS) {
        track(onTheWay, request(hashes[next++]!));
      }
      await Promise.race([...onTheWay, ...storing]);
    }
    if (failure) throw failure;
  }

  private report(caughtUp = false): void {
    this.ctx.onProgress({
      peer: this.peer,
      direction: 'receive',
      objectsDone: this.objectsDone,
      objectsTotal: Math.max(this.objectsTotal, this.objectsDone),
      bytesDone: this.bytesDone,
      bytesTotal: Math.max(this.bytesTotal, this.bytesDone),
      caughtUp,
    });
  }
}

/** Bytes of the listed chunks, from the sizes their manifests declare (each chunk counted once). */
function chunkBytes(described: readonly DescribedObject[], wanted: ReadonlySet<string>): number {
  let total = 0;
  const counted = new Set<string>();
  for (const d of described) {
    if (d.type !== 'BlobManifest') continue;
    const { size, chunkSize, chunks } = d.object as unknown as BlobManifestRecord;
    chunks.forEach((h, i) => {
      if (!wanted.has(h) || counted.has(h)) return;
      counted.add(h);
      total += Math.max(0, Math.min(chunkSize, size - i * chunkSize));
    });
  }
  return total;
}
