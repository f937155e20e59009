/**
 * The sending half of a CHUM session (DESIGN §7). After the peer's HELLO it either resumes
 * after the peer's mark (same epoch), streams everything to an empty peer, or runs
 * range-based reconciliation over what the peer may see. Objects go out in store order (so
 * references always precede what references them), in batches of ≤ SYNC_BATCH_OBJECTS /
 * SYNC_BATCH_BYTES, at most SYNC_WINDOW_BATCHES unacknowledged. Access is checked for every
 * object when its batch is built. New objects are pushed live as they are indexed.
 */
import type { SyncContext, SyncPeer } from './context.js';
import type { HelloMessage } from './wire.js';
import { Msg, encodeBatch, encodeChunkHeader, encodeHashes, encodePlan, encodeRecon } from './wire.js';
import { Reconciler } from '../reconcile/Reconciler.js';
import { ReconcileSet } from '../reconcile/ReconcileSet.js';
import { KithError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import type { ObjectHash } from '../../shared/ids.js';
import {
  SYNC_BATCH_BYTES, SYNC_BATCH_OBJECTS, SYNC_WINDOW_BATCHES, BLOB_WINDOW_CHUNKS, EXPORT_SCAN_PAGE_ENTRIES, MAX_HASHES_PER_MESSAGE, MARK_ONLY_BATCH_DELAY_MS,
} from '../../shared/limits.js';
import type { StoredMeta } from '../ObjectStore.js';
import type { MessageParts } from '../../connections/SecureSession.js';

type Mode = 'waiting' | 'reconciling' | 'streaming';
/** A peer holding at most this many objects is treated as new: its own identity records and little else. */
const NEARLY_EMPTY_OBJECTS = 32;

export class Exporter {
  private mode: Mode = 'waiting';
  private pos = 0;
  private inflight = 0;
  private pumping = false;
  private closed = false;
  private reconciler: Reconciler | undefined;
  private reconSeq = 0;
  private readonly reconHave: string[] = [];
  private readonly offered = new Set<string>();
  private chunkRequests = 0;
  /**
   * Chunk reads started as their requests arrive, before their turn in the outgoing queue: the
   * next chunk comes off the disk while the current one is sent, instead of after it (the sender
   * used to sit idle ~40% of a blob transfer). At most BLOB_WINDOW_CHUNKS are read ahead, the
   * importer's own window; the rest wait in `unread` and are read as room frees up.
   */
  private readonly readAhead = new Map<ObjectHash, Promise<Uint8Array | undefined>>();
  private readonly unread: ObjectHash[] = [];
  private readonly roomWaiters: Array<() => void> = [];
  private sentObjects = 0;
  private sentBytes = 0;
  private planObjects = 0;
  private planBytes = 0;
  private readonly offIndexed: () => void;
  /** A mark-only batch waiting for objects to ride with (see MARK_ONLY_BATCH_DELAY_MS). */
  private markTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: SyncContext,
    private readonly peer: SyncPeer,
    private readonly send: (message: Uint8Array | MessageParts) => Promise<void>,
    private readonly fail: (err: unknown) => void,
  ) {
    this.offIndexed = ctx.access.events.on('indexed', (e) => {
      const gained = e.widened.get(peer.personId);
      if (gained && this.mode === 'streaming') this.background(this.offer(gained));
      this.background(this.pump());
    });
  }

  /** Work started without awaiting it: its failure ends the session instead of going unhandled. */
  private background(work: Promise<void>): void {
    work.catch(this.fail);
  }

  close(): void {
    this.closed = true;
    this.readAhead.clear();
    this.unread.length = 0;
    clearTimeout(this.markTimer);
    this.offIndexed();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  /** The peer said where it stands with our objects. */
  async onHello(hello: HelloMessage): Promise<void> {
    if (this.mode !== 'waiting') throw new KithError('SYNC_PROTOCOL_ERROR', 'hello sent twice');
    await this.ctx.access.settled();
    const { store } = this.ctx;
    const mark = hello.mark;
    if (mark && mark.epoch === store.epoch && mark.seq <= store.lastSeq) {
      this.startStreaming(mark.seq);
    } else if (this.peerIsNearlyEmpty(hello.count)) {
      // A new device (it holds little more than its own identity): streaming is cheaper than
      // reconciling, and it sets marks as it goes, so an interrupted first sync resumes.
      this.startStreaming(0);
    } else {
      // Mark unusable (other epoch, or none) and the peer holds objects: reconcile instead of resending everything.
      this.mode = 'reconciling';
      this.reconSeq = this.ctx.access.seq;
      const ids: Uint8Array[] = [];
      for (const meta of this.metas(0, this.reconSeq)) {
        if (meta.kind === 'object' && this.ctx.access.mayReceive(this.peer.personId, meta.hash)) ids.push(fromHex(meta.hash));
      }
      this.reconciler = new Reconciler(ReconcileSet.fromIds(ids));
      await this.send(encodeRecon(Msg.ReconExp, this.reconciler.initiate()));
    }
  }

  /** The importer's side of reconciliation; an empty message means it has nothing more to say. */
  async onRecon(message: Uint8Array): Promise<void> {
    if (this.mode !== 'reconciling' || !this.reconciler) throw new KithError('SYNC_PROTOCOL_ERROR', 'unexpected reconciliation message');
    let reply: Uint8Array | undefined;
    if (message.length > 0) {
      const r = this.reconciler.reconcile(message);
      for (const id of r.have) this.reconHave.push(toHex(id));
      reply = r.reply;
    }
    if (reply) {
      await this.send(encodeRecon(Msg.ReconExp, reply));
      return;
    }
    // Done: send what the peer lacks (store order keeps closure), then continue from the snapshot.
    this.reconciler = undefined;
    const missing = this.sortBySeq(this.reconHave.filter((h) => this.ctx.access.mayReceive(this.peer.personId, h)));
    this.reconHave.length = 0;
    this.plan(missing.length, missing.reduce((n, h) => n + (this.ctx.store.meta(h as ObjectHash)?.size ?? 0), 0), this.reconSeq);
    await this.sendObjects(missing);
    this.startStreaming(this.reconSeq, true);
  }

  onAck(): void {
    if (this.inflight <= 0) throw new KithError('SYNC_PROTOCOL_ERROR', 'acknowledgement without a batch');
    this.inflight--;
    this.roomWaiters.shift()?.();
    this.background(this.pump());
  }

  /** Resolves when fewer than SYNC_WINDOW_BATCHES batches are unacknowledged (or the session ends). */
  private windowRoom(): Promise<void> {
    if (this.closed || this.inflight < SYNC_WINDOW_BATCHES) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /** True when the peer holds under a tenth of what we would send it (or almost nothing at all). */
  private peerIsNearlyEmpty(peerCount: number): boolean {
    if (peerCount <= NEARLY_EMPTY_OBJECTS) return true;
    let exportable = 0;
    for (const meta of this.metas(0, this.ctx.access.seq)) {
      if (meta.kind === 'object' && this.ctx.access.mayReceive(this.peer.personId, meta.hash) && ++exportable > peerCount * 10) return true;
    }
    return false;
  }

  /**
   * The peer lacks these objects (offered ones, or references it found missing): answer with
   * each one it may see plus everything they reference (transitively) that it may see, in
   * store order, as WANTED batches ending with LAST. The importer skips what it already has;
   * sending the whole visible closure keeps a deep DAG at one round trip.
   */
  async onWant(hashes: readonly ObjectHash[]): Promise<void> {
    const closure = new Set<string>();
    const stack = hashes.filter((h) => this.ctx.store.meta(h)?.kind === 'object' && this.ctx.access.mayReceive(this.peer.personId, h));
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (closure.has(h)) continue;
      const meta = this.ctx.store.meta(h as ObjectHash);
      if (!meta || meta.kind !== 'object' || !this.ctx.access.mayReceive(this.peer.personId, h)) continue;
      closure.add(h);
      for (const r of meta.refs) if (!closure.has(r)) stack.push(r);
    }
    await this.sendObjects(this.sortBySeq([...closure]), { wanted: true });
  }

  /**
   * Called as a chunk request arrives (its answer waits its turn in the outgoing queue): counts
   * it against the window and starts reading what it names.
   */
  chunksRequested(hashes: readonly ObjectHash[]): void {
    this.chunkRequests += hashes.length;
    if (this.chunkRequests > BLOB_WINDOW_CHUNKS * 4) throw new KithError('SYNC_PROTOCOL_ERROR', 'too many chunk requests in flight');
    this.unread.push(...hashes);
    this.readMore();
  }

  private readMore(): void {
    while (this.readAhead.size < BLOB_WINDOW_CHUNKS && this.unread.length > 0 && !this.closed) {
      const h = this.unread.shift()!;
      if (this.readAhead.has(h)) continue;
      const read = this.readChunk(h);
      read.catch(() => {}); // raised where it is awaited
      this.readAhead.set(h, read);
    }
  }

  /** The chunk's stored bytes if the peer may receive it now, else undefined. */
  private readChunk(h: ObjectHash): Promise<Uint8Array | undefined> {
    const meta = this.ctx.store.meta(h);
    return meta?.kind === 'chunk' && this.ctx.access.mayReceive(this.peer.personId, h) ? this.ctx.store.get(h) : Promise.resolve(undefined);
  }

  /** Answers one chunk request in its turn; `chunksRequested` saw it arrive. */
  async onChunkRequest(hashes: readonly ObjectHash[]): Promise<void> {
    try {
      const missing: string[] = [];
      for (const h of hashes) {
        const early = this.readAhead.get(h);
        this.readAhead.delete(h);
        const unreadAt = early === undefined ? this.unread.indexOf(h) : -1;
        if (unreadAt >= 0) this.unread.splice(unreadAt, 1);
        this.readMore();
        const read = await (early ?? this.readChunk(h));
        // Access is checked at send time: a grant revoked while the chunk was read stops it here.
        const bytes = read !== undefined && this.ctx.access.mayReceive(this.peer.personId, h) ? read : undefined;
        if (!bytes) {
          missing.push(h);
          continue;
        }
        await this.send([encodeChunkHeader(h), bytes]);
        this.sentBytes += bytes.length;
      }
      if (missing.length) await this.send(encodeHashes(Msg.Missing, missing));
    } finally {
      this.chunkRequests -= hashes.length;
    }
  }

  private startStreaming(from: number, markNow = false): void {
    this.mode = 'streaming';
    this.pos = from;
    let objects = 0;
    let bytes = 0;
    // Objects only: blob chunks travel on request, and the importer adds the chunks it lacks to
    // its total from their manifests (a plan counting them too would count them twice).
    for (const meta of this.metas(from, this.ctx.access.seq)) {
      if (meta.kind === 'object' && meta.author !== this.peer.instanceId && this.ctx.access.mayReceive(this.peer.personId, meta.hash)) {
        objects++;
        bytes += meta.size;
      }
    }
    this.plan(objects, bytes, this.ctx.access.seq);
    if (markNow) this.background(this.sendBatch([], true));
    this.background(this.pump());
  }

  private plan(objects: number, bytes: number, to: number): void {
    this.planObjects += objects;
    this.planBytes += bytes;
    this.background(this.send(encodePlan({ from: this.pos, to, objects, bytes })));
    this.report();
  }

  /** Streams batches while the window has room and the index has objects beyond `pos`. */
  private async pump(): Promise<void> {
    if (this.pumping || this.mode !== 'streaming') return;
    this.pumping = true;
    try {
      while (!this.closed && this.inflight < SYNC_WINDOW_BATCHES && this.pos < this.ctx.access.seq) {
        const limit = this.ctx.access.seq;
        const chosen: ObjectHash[] = [];
        let bytes = 0;
        let scanned = this.pos;
        scan: for (;;) {
          const page = this.ctx.store.since(scanned, EXPORT_SCAN_PAGE_ENTRIES);
          if (page.length === 0) break;
          for (const meta of page) {
            if (meta.seq > limit) break scan;
            scanned = meta.seq;
            if (meta.kind !== 'object' || !this.ctx.access.mayReceive(this.peer.personId, meta.hash)) continue;
            // The instance that wrote an object has it; echoing it back wastes the link (a reset
            // store of that instance changes its epoch and is reconciled instead).
            if (meta.author === this.peer.instanceId) continue;
            chosen.push(meta.hash);
            bytes += meta.size;
            if (chosen.length >= SYNC_BATCH_OBJECTS || bytes >= SYNC_BATCH_BYTES) break scan;
          }
        }
        if (scanned === this.pos) break;
        // Chosen in store order, so they mostly lie back to back in the store: one read.
        const objects = (await this.ctx.store.getMany(chosen)).filter((b): b is Uint8Array => b !== undefined);
        this.pos = scanned;
        if (objects.length === 0) {
          this.markSoon();
          continue;
        }
        await this.sendBatch(objects, true);
      }
      if (this.pos >= this.ctx.access.seq && this.inflight === 0) this.report(true);
    } finally {
      this.pumping = false;
    }
  }

  /** Sends the peer its new mark (no objects) unless a batch carries it first. */
  private markSoon(): void {
    this.markTimer ??= setTimeout(() => {
      this.markTimer = undefined;
      if (!this.closed) this.background(this.sendBatch([], true));
    }, MARK_ONLY_BATCH_DELAY_MS);
  }

  private async sendBatch(objects: Uint8Array[], advancesMark: boolean, want?: { last: boolean }): Promise<void> {
    if (advancesMark) {
      clearTimeout(this.markTimer);
      this.markTimer = undefined;
    }
    // WANT answers travel outside the flow-control window: the importer waits for them mid-batch.
    if (!want) {
      await this.windowRoom();
      if (this.closed) return;
      this.inflight++;
    }
    this.sentObjects += objects.length;
    for (const o of objects) this.sentBytes += o.length;
    await this.send(encodeBatch({ advancesMark, seq: advancesMark ? this.pos : 0, objects, wanted: !!want, last: want?.last ?? false }));
    this.report();
  }

  /** Sends objects (already access-checked, in store order) outside the mark stream. */
  private async sendObjects(hashes: readonly string[], opts: { wanted?: boolean } = {}): Promise<void> {
    let batch: ObjectHash[] = [];
    let bytes = 0;
    const flush = async (last: boolean) => {
      const objects = (await this.ctx.store.getMany(batch)).filter((b): b is Uint8Array => b !== undefined);
      batch = [];
      bytes = 0;
      if (opts.wanted) await this.sendBatch(objects, false, { last });
      else if (objects.length) await this.sendBatch(objects, false);
    };
    for (const h of hashes) {
      const meta = this.ctx.store.meta(h as ObjectHash);
      if (!meta) continue;
      batch.push(meta.hash);
      bytes += meta.size;
      if (batch.length >= SYNC_BATCH_OBJECTS || bytes >= SYNC_BATCH_BYTES) await flush(false);
    }
    if (opts.wanted || batch.length) await flush(true);
  }

  /** Offers objects that became visible to the peer behind its mark (a grant arrived). */
  private async offer(gained: ReadonlySet<string>): Promise<void> {
    const behind = this.sortBySeq([...gained].filter((h) => !this.offered.has(h) && (this.ctx.store.meta(h as ObjectHash)?.seq ?? Infinity) <= this.pos && this.ctx.store.meta(h as ObjectHash)?.kind === 'object'));
    for (const h of behind) this.offered.add(h);
    for (let i = 0; i < behind.length; i += MAX_HASHES_PER_MESSAGE) {
      await this.send(encodeHashes(Msg.Offer, behind.slice(i, i + MAX_HASHES_PER_MESSAGE)));
    }
  }

  private *metas(after: number, upTo: number): Generator<StoredMeta> {
    for (let cursor = after; ; ) {
      const page = this.ctx.store.since(cursor, EXPORT_SCAN_PAGE_ENTRIES);
      if (page.length === 0) return;
      for (const meta of page) {
        if (meta.seq > upTo) return;
        yield meta;
      }
      cursor = page[page.length - 1]!.seq;
    }
  }

  private sortBySeq(hashes: readonly string[]): string[] {
    return [...hashes].sort((a, b) => (this.ctx.store.meta(a as ObjectHash)?.seq ?? 0) - (this.ctx.store.meta(b as ObjectHash)?.seq ?? 0));
  }

  private report(caughtUp = false): void {
    this.ctx.onProgress({
      peer: this.peer,
      direction: 'send',
      objectsDone: this.sentObjects,
      objectsTotal: Math.max(this.planObjects, this.sentObjects),
      bytesDone: this.sentBytes,
      bytesTotal: Math.max(this.planBytes, this.sentBytes),
      caughtUp,
    });
  }
}
