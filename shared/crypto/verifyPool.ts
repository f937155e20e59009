/**
 * Ed25519 verification in worker threads, in batches (Node only; used by NativeCrypto).
 *
 * Why: `crypto.verify` with a callback runs on libuv's threadpool, but each call still costs
 * the calling thread 13–18 µs to set up (measured here), about a fifth of the verification
 * itself. A node receiving thousands of signed objects spent that on its main thread, which is
 * the thread that also parses, hashes and stores them. Here the calls of one turn are packed
 * into one buffer (~0.5–1 µs each on the caller's thread), sent to a worker, verified there
 * with the same `crypto.verify` and cached KeyObjects, and answered as one array of verdicts.
 *
 * Safety: the verdict is OpenSSL's, computed exactly as on the main thread; the caller runs the
 * byte-level precheck (providerRules.ed25519Precheck) before anything is queued. A worker that
 * fails or exits hands its outstanding requests back, and they are verified on the threadpool
 * instead: a verification is never lost and never defaults to true. After
 * VERIFY_POOL_MAX_FAILURES failed workers the pool stops starting new ones and every request
 * takes the threadpool path. Idle workers are unref'd, so the pool never keeps a process alive.
 *
 * One pool per process (module state), shared by every NativeCrypto: a test suite creates
 * dozens of providers and must not start dozens of threads.
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

  constructor(
    private readonly fallback: FallbackVerify,
    maxWorkers = Math.max(1, Math.min(VERIFY_POOL_MAX_WORKERS, availableParallelism())),
  ) {
    this.maxWorkers = maxWorkers;
  }

  /** True once too many workers failed: every request then takes the fallback. */
  get disabled(): boolean {
    return this.failures >= VERIFY_POOL_MAX_FAILURES;
  }

  /** Queues one verification (inputs already prechecked); the batch leaves at the end of this turn or when full. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    // Long messages are not worth copying to another thread; the threadpool takes them as they are.
    if (this.disabled || message.length > VERIFY_POOL_MAX_MESSAGE_BYTES) return this.fallback(publicKey, message, signature);
    return new Promise<boolean>((resolve) => {
      this.queue.push({ publicKey, message, signature, resolve });
      this.queuedBytes += 100 + message.length;
      if (this.queue.length >= VERIFY_POOL_BATCH || this.queuedBytes >= VERIFY_POOL_MAX_BATCH_BYTES) this.flush();
      else if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  /** Called by a worker with an answer it cannot use: verify those on the threadpool. */
  retry(requests: readonly Request[]): void {
    for (const r of requests) void this.fallback(r.publicKey, r.message, r.signature).then(r.resolve, () => r.resolve(false));
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

  private flush(): void {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    // A few verifications at a time (a CLI command, a pairing) are not worth starting a thread for.
    const few = this.workers.length === 0 && this.queue.length < VERIFY_POOL_START_BATCH;
    const worker = few ? undefined : this.pickWorker();
    if (worker === undefined) {
      this.retry(this.takeQueue().requests);
      return;
    }
    // Every worker is busy: let the batch grow until one answers (workerFree flushes again).
    // Callers that verify a few at a time (a pipeline releasing one verification per answer)
    // then share one message per batch instead of paying a postMessage each.
    if (worker.load > 0 && this.queue.length < VERIFY_POOL_BATCH && this.queuedBytes < VERIFY_POOL_MAX_BATCH_BYTES) return;
    const { requests, bytes } = this.takeQueue();
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
  private takeQueue(): { requests: Request[]; bytes: number } {
    const requests = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    return { requests, bytes };
  }

  /** The least loaded live worker, starting one while fewer than maxWorkers run and all are busy. */
  private pickWorker(): PoolWorker | undefined {
    let best: PoolWorker | undefined;
    for (const w of this.workers) if (!w.dead && (best === undefined || w.load < best.load)) best = w;
    if ((best === undefined || best.load > 0) && this.workers.length < this.maxWorkers && !this.disabled) {
      try {
        const fresh = new PoolWorker(this);
        this.workers.push(fresh);
        return fresh;
      } catch {
        this.failures++;
      }
    }
    return best;
  }
}
