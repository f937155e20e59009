/**
 * One `ObjectStore` implementation over a small storage backend, so every store shares the
 * same gate (`checkBatch`), the same in-memory index and the same group commit, and differs
 * only in where bytes and index records go (memory, log files, IndexedDB).
 *
 * Group commit: `put` checks its batch at once, then queues it. The queue is written as one
 * group once the current synchronous run ends (or after `windowMs`); batches arriving while a
 * group is being written form the next group. Each group is one backend `write` — for the
 * file store one fsync pair — however many batches it holds. Batches are planned in call
 * order, so a batch may reference entries of an earlier batch still in the queue.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectHash } from '../../shared/ids.js';
import type { ObjectStore, PutEntry, PutOptions, StoredMeta, StoreStats } from '../ObjectStore.js';
import { KithError, toKithError } from '../../shared/errors.js';
import { TypedEmitter } from '../../shared/events.js';
import { checkEntries, planBatch, type CheckedEntry, type FreshEntry } from './checkBatch.js';
import { isHexOf } from '../../shared/bytes.js';
import type { MetaIndex } from './metaIndex.js';

/** Where a store keeps bytes and index records. Called only by BackedStore, one write at a time. */
export interface StoreBackend {
  /** The bytes of an entry the index holds (the store verifies their hash). */
  read(meta: StoredMeta): Promise<Uint8Array>;
  /** The bytes of several entries the index holds, in order (without it: one `read` each, concurrently). */
  readMany?(metas: readonly StoredMeta[]): Promise<Uint8Array[]>;
  /**
   * Makes the new entries of these batches durable, in order, before resolving. Each batch
   * must stay atomic on its own: after a crash it is entirely present or entirely absent.
   */
  write(batches: readonly (readonly FreshEntry[])[]): Promise<void>;
  /** Releases files or connections; called once, after every write and read settled. */
  close(): Promise<void>;
}

export interface BackedStoreOptions {
  readonly crypto: CryptoProvider;
  readonly epoch: string;
  /** The index as loaded from storage; the store owns it from now on. */
  readonly index: MetaIndex;
  readonly backend: StoreBackend;
  /** Extra time a group waits for more batches before it is written (0: only until the current synchronous run ends). */
  readonly windowMs: number;
  /**
   * True when a failed write may leave partial state behind (an appended log): the store then
   * refuses every later put, since its sequences may no longer match what is on disk.
   * IndexedDB rolls a failed transaction back, so it can carry on.
   */
  readonly failStopOnWriteError: boolean;
}

interface Pending {
  readonly entries: readonly CheckedEntry[];
  readonly resolve: (metas: StoredMeta[]) => void;
  readonly reject: (err: unknown) => void;
}

export class BackedStore implements ObjectStore {
  readonly epoch: string;
  private readonly crypto: CryptoProvider;
  private readonly index: MetaIndex;
  private readonly backend: StoreBackend;
  private readonly windowMs: number;
  private readonly failStop: boolean;
  private readonly emitter = new TypedEmitter<{ stored: readonly StoredMeta[] }>();
  private queue: Pending[] = [];
  private cancelTimer: (() => void) | undefined;
  private flushing: Promise<void> | undefined;
  private failure: KithError | undefined;
  private closing: Promise<void> | undefined;
  private readonly reads = new Set<Promise<unknown>>();
  private commits = 0;

  constructor(options: BackedStoreOptions) {
    this.crypto = options.crypto;
    this.epoch = options.epoch;
    this.index = options.index;
    this.backend = options.backend;
    this.windowMs = options.windowMs;
    this.failStop = options.failStopOnWriteError;
  }

  get lastSeq(): number {
    return this.index.lastSeq;
  }

  /** Backend writes so far: each is one durable group of batches (one fsync pair for files). */
  get groupCommits(): number {
    return this.commits;
  }

  has(hash: ObjectHash): boolean {
    this.assertOpen();
    return this.index.has(hash);
  }

  meta(hash: ObjectHash): StoredMeta | undefined {
    this.assertOpen();
    return this.index.meta(hash);
  }

  since(after: number, limit: number): StoredMeta[] {
    this.assertOpen();
    return this.index.since(after, limit);
  }

  versionsOf(idHash: ObjectHash): StoredMeta[] {
    this.assertOpen();
    return this.index.versionsOf(idHash);
  }

  stats(): StoreStats {
    this.assertOpen();
    return this.index.stats();
  }

  onStored(listener: (metas: readonly StoredMeta[]) => void): () => void {
    this.assertOpen();
    if (typeof listener !== 'function') throw new KithError('INVALID_INPUT', 'onStored: expected a function');
    return this.emitter.on('stored', listener);
  }

  async get(hash: ObjectHash): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const meta = this.index.meta(hash);
    if (!meta) return undefined;
    return this.checked(meta, await this.tracked(this.backend.read(meta)));
  }

  async getMany(hashes: readonly ObjectHash[]): Promise<Array<Uint8Array | undefined>> {
    this.assertOpen();
    if (!Array.isArray(hashes)) throw new KithError('INVALID_INPUT', 'getMany: expected an array of hashes');
    const metas: StoredMeta[] = [];
    for (const hash of hashes) {
      const meta = this.index.meta(hash);
      if (meta) metas.push(meta);
    }
    const { backend } = this;
    const read = backend.readMany ? backend.readMany(metas) : Promise.all(metas.map((m) => backend.read(m)));
    const bytes = await this.tracked(read);
    const byHash = new Map<string, Uint8Array>();
    metas.forEach((meta, i) => byHash.set(meta.hash, this.checked(meta, bytes[i]!)));
    return hashes.map((h) => byHash.get(h));
  }

  /** Awaits a backend read, which `close` waits for. */
  private async tracked<T>(read: Promise<T>): Promise<T> {
    this.reads.add(read);
    try {
      return await read;
    } catch (err) {
      throw toKithError(err, 'STORE_FAILED');
    } finally {
      this.reads.delete(read);
    }
  }

  /** Disks and browser profiles rot: a store never hands out bytes under the wrong name. */
  private checked(meta: StoredMeta, bytes: Uint8Array): Uint8Array {
    if (!isHexOf(this.crypto.sha256(bytes), meta.hash)) throw new KithError('HASH_MISMATCH', `the stored bytes of ${meta.hash} are damaged`);
    return bytes;
  }

  async put(entries: readonly PutEntry[], options?: PutOptions): Promise<StoredMeta[]> {
    this.assertOpen();
    if (this.failure) throw this.failure;
    const checked = checkEntries(this.crypto, entries, options?.handOver === true);
    if (checked.length === 0) return [];
    return new Promise<StoredMeta[]>((resolve, reject) => {
      this.queue.push({ entries: checked, resolve, reject });
      this.schedule();
    });
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    // Batches queued before close are flushed now, not dropped: their callers are waiting.
    while (this.flushing || this.queue.length > 0) {
      this.startFlush();
      await this.flushing;
    }
    await Promise.allSettled([...this.reads]);
    this.emitter.removeAllListeners();
    await this.backend.close();
  }

  private assertOpen(): void {
    if (this.closing) throw new KithError('CLOSED', 'the object store is closed');
  }

  private schedule(): void {
    if (this.flushing || this.cancelTimer) return;
    if (this.windowMs > 0) {
      const timer = setTimeout(() => this.startFlush(), this.windowMs);
      this.cancelTimer = () => clearTimeout(timer);
    } else {
      // A microtask groups every put made in the same synchronous run (a Promise.all of puts,
      // one decoded sync frame) without adding latency; puts arriving later join the group
      // after the one being written. Isomorphic, unlike setImmediate.
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) this.startFlush();
      });
      this.cancelTimer = () => {
        cancelled = true;
      };
    }
  }

  /** Starts writing the queue unless a write is running; cancels a scheduled start. */
  private startFlush(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    if (this.flushing) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      // A put that arrived after the last loop check but before this line is still queued.
      if (this.queue.length > 0) this.schedule();
    });
  }

  private async flush(): Promise<void> {
    while (this.queue.length > 0) {
      const group = this.queue;
      this.queue = [];
      try {
        await this.commitGroup(group);
      } catch (err) {
        // Only a bug gets here (commitGroup settles its batches itself); stop rather than guess.
        this.failure ??= new KithError('STORE_FAILED', 'the object store failed', { cause: err });
        for (const pending of group) pending.reject(this.failure);
      }
    }
  }

  private async commitGroup(group: readonly Pending[]): Promise<void> {
    if (this.failure) {
      for (const pending of group) pending.reject(this.failure);
      return;
    }
    const planned = new Map<ObjectHash, StoredMeta>();
    const lookup = (hash: ObjectHash): StoredMeta | undefined => planned.get(hash) ?? this.index.meta(hash);
    let nextSeq = this.index.lastSeq + 1;
    const accepted: Array<{ pending: Pending; metas: StoredMeta[]; fresh: FreshEntry[] }> = [];
    for (const pending of group) {
      try {
        const plan = planBatch(pending.entries, lookup, nextSeq);
        for (const entry of plan.fresh) planned.set(entry.meta.hash, entry.meta);
        nextSeq += plan.fresh.length;
        accepted.push({ pending, ...plan });
      } catch (err) {
        pending.reject(err);
      }
    }
    const writes = accepted.filter((a) => a.fresh.length > 0).map((a) => a.fresh);
    if (writes.length > 0) {
      try {
        await this.backend.write(writes);
        this.commits++;
      } catch (err) {
        // Every accepted batch fails, re-puts included: their metas may name entries of this group.
        const error = new KithError('STORE_FAILED', 'writing to the object store failed', { cause: err });
        if (this.failStop) this.failure = error;
        for (const a of accepted) a.pending.reject(error);
        return;
      }
    }
    for (const a of accepted) for (const entry of a.fresh) this.index.add(entry.meta);
    for (const a of accepted) {
      if (a.fresh.length > 0) this.emitter.emit('stored', a.fresh.map((entry) => entry.meta));
      a.pending.resolve(a.metas);
    }
  }
}
