/**
 * Ed25519 verification in worker threads, in batches (Node only; used by NativeCrypto).
 *
 * Why: `crypto.verify` with a callback runs on libuv's threadpool, but each call still costs
 * the calling thread 13–18 µs to set up (measured here), about a fifth of the verification
 * itself. A node receiving thousands of signed objects spent that on its main thread, which is
 * the thread that also parses, hashes and stores them. Here the calls of one event-loop
 * iteration are packed into one buffer (~0.5–1 µs each on the caller's thread), sent to a
 * worker, verified there with the same `crypto.verify` and cached KeyObjects, and answered as
 * one array of verdicts.
 *
 * Safety: the verdict is OpenSSL's, computed exactly as on the main thread; the caller runs the
 * byte-level precheck (providerRules.ed25519Precheck) before anything is queued. A worker that
 * fails or exits hands its outstanding requests back, and they are verified on the threadpool
 * instead: a verification is never lost and never defaults to true. After
 * VERIFY_POOL_MAX_FAILURES failed workers the pool stops starting new ones and every request
 * takes the threadpool path. Idle workers are unref'd, so the pool never keeps a process alive.
 *
 * One pool per process (module state), shared by every NativeCrypto: a test suite creates
 * dozens of providers and must not start dozens of threads. Each request carries its caller's
 * fallback, so the pool holds on to a provider only while that provider's requests are open.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { PUBLIC_KEY_CACHE_ENTRIES, VERIFY_POOL_BATCH, VERIFY_POOL_START_BATCH, VERIFY_POOL_MAX_BATCH_BYTES, VERIFY_POOL_MAX_FAILURES, VERIFY_POOL_MAX_MESSAGE_BYTES, VERIFY_POOL_MAX_WORKERS } from '../limits.js';

/**
 * The worker: plain CommonJS run with `eval`, so it needs no file next to a build output.
 * Input per request: publicKey (32) ‖ signature (64) ‖ message length (u32 LE) ‖ message.
 * Output: one byte per request, 1 for a valid signature.
 */
const WORKER_SOURCE = `
'use strict';
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const keys = new Map();
const MAX_KEYS = ${PUBLIC_KEY_CACHE_ENTRIES};
function keyFor(raw) {
  const id = Buffer.from(raw.buffer, raw.byteOffset, 32).toString('base64url');
  let key = keys.get(id);
  if (key === undefined) {
    try {
      key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    } catch {
      key = null;
    }
    if (keys.size >= MAX_KEYS) keys.delete(keys.keys().next().value);
    keys.set(id, key);
  }
  return key;
}
parentPort.on('message', ({ id, buffer, count }) => {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const verdicts = new Uint8Array(count);
  let off = 0;
  for (let i = 0; i < count; i++) {
    const key = keyFor(bytes.subarray(off, off + 32));
    const signature = bytes.subarray(off + 32, off + 96);
    const length = view.getUint32(off + 96, true);
    const message = bytes.subarray(off + 100, off + 100 + length);
    off += 100 + length;
    let ok = false;
    if (key !== null) {
      try {
        ok = crypto.verify(null, message, key, signature);
      } catch {
        ok = false;
      }
    }
    verdicts[i] = ok ? 1 : 0;
  }
  parentPort.postMessage({ id, verdicts }, [verdicts.buffer]);
});
`;

interface Request {
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** The caller's own threadpool path, for when no worker can answer. */
  readonly fallback: FallbackVerify;
  readonly resolve: (ok: boolean) => void;
}

/** Verifies one request on the threadpool: the path taken when no worker can. */
export type FallbackVerify = (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => Promise<boolean>;

class PoolWorker {
  readonly worker: Worker;
  /** Batches sent and not answered, by id. */
  readonly outstanding = new Map<number, Request[]>();
  dead = false;

  constructor(private readonly pool: VerifyPool) {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, name: 'kith-verify' });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; verdicts: Uint8Array }) => this.onAnswer(m));
    this.worker.on('error', () => this.fail());
    this.worker.on('exit', () => this.fail());
  }

  get load(): number {
    let n = 0;
    for (const batch of this.outstanding.values()) n += batch.length;
    return n;
  }

  send(id: number, requests: Request[], buffer: ArrayBuffer): void {
    if (this.outstanding.size === 0) this.worker.ref();
    this.outstanding.set(id, requests);
    this.worker.postMessage({ id, buffer, count: requests.length }, [buffer]);
  }

  private onAnswer({ id, verdicts }: { id: number; verdicts: Uint8Array }): void {
    const requests = this.outstanding.get(id);
    if (requests === undefined) return;
    this.outstanding.delete(id);
    if (this.outstanding.size === 0) this.worker.unref();
    if (!(verdicts instanceof Uint8Array) || verdicts.length !== requests.length) {
      // Never trust a malformed answer: verify these again on the threadpool.
      this.pool.retry(requests);
    } else {
      for (let i = 0; i < requests.length; i++) requests[i]!.resolve(verdicts[i] === 1);
    }
    this.pool.workerFree();
  }

  private fail(): void {
    if (this.dead) return;
    this.dead = true;
    const lost = [...this.outstanding.values()].flat();
    this.outstanding.clear();
    void this.worker.terminate().catch(() => undefined);
    this.pool.workerFailed(this, lost);
  }
}

export class VerifyPool {
  private workers: PoolWorker[] = [];
  private failures = 0;
  private queue: Request[] = [];
  private queuedBytes = 0;
  private flushScheduled = false;
  private nextId = 0;
  private readonly maxWorkers: number;

  constructor(maxWorkers = Math.max(1, Math.min(VERIFY_POOL_MAX_WORKERS, availableParallelism()))) {
    this.maxWorkers = maxWorkers;
  }

  /** True once too many workers failed: every request then takes the fallback. */
  get disabled(): boolean {
    return this.failures >= VERIFY_POOL_MAX_FAILURES;
  }

  /**
   * Queues one verification (inputs already prechecked); what is queued is sent when a batch is
   * full or on the next check phase (setImmediate), not on a microtask: callers released by a
   * batch's answers (a concurrency bound) queue their next checks over several microtask hops,
   * and a microtask flush sent the first of them alone (half of a 10k-object sync's messages to
   * the workers carried one check, measured). See flush.
   */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, fallback: FallbackVerify): Promise<boolean> {
    // Long messages are not worth copying to another thread; the threadpool takes them as they are.
    if (this.disabled || message.length > VERIFY_POOL_MAX_MESSAGE_BYTES) return fallback(publicKey, message, signature);
    return new Promise<boolean>((resolve) => {
      this.queue.push({ publicKey, message, signature, fallback, resolve });
      this.queuedBytes += 100 + message.length;
      if (this.queue.length >= VERIFY_POOL_BATCH || this.queuedBytes >= VERIFY_POOL_MAX_BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Called by a worker with an answer it cannot use: verify those on the threadpool. */
  retry(requests: readonly Request[]): void {
    for (const r of requests) void r.fallback(r.publicKey, r.message, r.signature).then(r.resolve, () => r.resolve(false));
  }

  /** Called once by a worker that errored or exited: its requests go to the threadpool. */
  workerFailed(worker: PoolWorker, lost: readonly Request[]): void {
    this.workers = this.workers.filter((w) => w !== worker);
    this.failures++;
    this.retry(lost);
    this.flush();
  }

  /** Called by a worker that answered a batch: what queued up meanwhile leaves now. */
  workerFree(): void {
    if (this.queue.length > 0 && !this.flushScheduled) this.flush();
  }

  /** Terminates the workers (tests); requests still outstanding are verified on the threadpool. */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = [];
    this.retry(this.queue.splice(0));
    this.queuedBytes = 0;
    for (const w of workers) {
      w.dead = true;
      this.retry([...w.outstanding.values()].flat());
      w.outstanding.clear();
    }
    await Promise.all(workers.map((w) => w.worker.terminate().catch(() => undefined)));
  }

  /**
   * Sends what is queued. Light load (no worker busy, fewer than VERIFY_POOL_START_BATCH
   * queued): the threadpool, which costs less per lone verification than a round trip to a
   * worker. Every worker busy: the batch grows until one answers (workerFree flushes again),
   * so callers that release one verification per answer share one message per batch. Otherwise
   * the queue is split over the free workers (starting them up to maxWorkers), so 64 checks in
   * flight keep two cores busy, not one.
   */
  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    const live = this.workers.filter((w) => !w.dead);
    const free = live.filter((w) => w.load === 0);
    const busy = live.length > free.length;
    if (!busy && this.queue.length < VERIFY_POOL_START_BATCH) {
      this.retry(this.takeQueue());
      return;
    }
    const startable = this.disabled ? 0 : Math.max(0, this.maxWorkers - this.workers.length);
    if (free.length + startable === 0) {
      if (live.length === 0) {
        this.retry(this.takeQueue());
        return;
      }
      if (this.queue.length < VERIFY_POOL_BATCH && this.queuedBytes < VERIFY_POOL_MAX_BATCH_BYTES) return;
      live.sort((a, b) => a.load - b.load);
      this.sendTo(live[0]!, this.takeQueue());
      return;
    }
    const requests = this.takeQueue();
    const parts = Math.max(1, Math.min(free.length + startable, Math.floor(requests.length / VERIFY_POOL_START_BATCH)));
    const size = Math.ceil(requests.length / parts);
    for (let i = 0; i < requests.length; i += size) {
      const part = requests.slice(i, i + size);
      const worker = free.shift() ?? this.startWorker();
      if (worker === undefined) this.retry(part);
      else this.sendTo(worker, part);
    }
  }

  private sendTo(worker: PoolWorker, requests: Request[]): void {
    let bytes = 0;
    for (const r of requests) bytes += 100 + r.message.length;
    const buffer = new ArrayBuffer(bytes);
    const out = new Uint8Array(buffer);
    const view = new DataView(buffer);
    let off = 0;
    for (const r of requests) {
      out.set(r.publicKey, off);
      out.set(r.signature, off + 32);
      view.setUint32(off + 96, r.message.length, true);
      out.set(r.message, off + 100);
      off += 100 + r.message.length;
    }
    try {
      worker.send(this.nextId++, requests, buffer);
    } catch {
      this.retry(requests);
    }
  }

  /** Empties the queue. */
  private takeQueue(): Request[] {
    const requests = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return requests;
  }

  /** A new worker, or undefined when none can be started (the failure is counted). */
  private startWorker(): PoolWorker | undefined {
    if (this.disabled || this.workers.length >= this.maxWorkers) return undefined;
    try {
      const fresh = new PoolWorker(this);
      this.workers.push(fresh);
      return fresh;
    } catch {
      this.failures++;
      return undefined;
    }
  }
}
