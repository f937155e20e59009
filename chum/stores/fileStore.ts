/**
 * The object store for Node (DESIGN §7): log-structured, in one directory given by the caller.
 *
 * - `data.log` takes entry bytes, `index.log` one checksummed record per batch (format in
 *   fileStoreFormat.ts). The index is the source of truth: an entry exists once its batch
 *   record is durable.
 * - A write appends the group's bytes to the data log and fsyncs it, then appends the
 *   group's index records and fsyncs that. A crash before the second fsync completes leaves
 *   at most a torn tail, which the next open cuts off, so each batch is whole or absent.
 * - Opening reads only the index (metadata stays in memory); bytes are read on demand with
 *   positioned reads and checked against their hash.
 * - `EPOCH` names the store's life. A missing or damaged store becomes a fresh store with a
 *   new epoch (the old logs are kept beside it as `*.discarded`), so peers never trust
 *   sequences that no longer mean what they did.
 *
 * No path is ever derived from a hash: the only paths are the three fixed names in `dir`.
 */
import { mkdir, open, readFile, realpath, rename, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore, StoredMeta } from '../ObjectStore.js';
import { KithError } from '../../shared/errors.js';
import { fromHex, toHex } from '../../shared/bytes.js';
import { MAX_READ_RUN_BYTES, MAX_READ_RUN_ENTRIES, MAX_STORE_COMMIT_WINDOW_MS, STORE_EPOCH_BYTES } from '../../shared/limits.js';
import { BackedStore, type BackedStoreOptions, type StoreBackend } from './backedStore.js';
import type { FreshEntry } from './checkBatch.js';
import { DATA_MAGIC, HEADER_BYTES, INDEX_MAGIC, encodeBatchRecord, headerMatches, logHeader, scanIndexLog } from './fileStoreFormat.js';
import { MetaIndex } from './metaIndex.js';
import { claimStore } from './openGuard.js';

export interface FileStoreOptions {
  /** For SHA-256 checks on put and get, and the epoch. */
  readonly crypto: CryptoProvider;
  /** The store's directory; created when missing. */
  readonly dir: string;
  /** Extra milliseconds a group commit waits for more concurrent puts (default 0: puts made together, or while the previous group is being written, share a commit). */
  readonly fsyncBatchMs?: number;
}

/** What opening found on disk. */
export interface FileStoreRecovery {
  /** Why a fresh store was started: "new" (nothing there), or what was wrong with the old one; undefined when the store was loaded. */
  readonly reset?: string;
  /** Bytes cut from the end of the index log (a torn or invalid tail). */
  readonly droppedIndexBytes: number;
  /** Bytes cut from the end of the data log (bytes whose batch record never became durable). */
  readonly droppedDataBytes: number;
}

export interface FileStore extends ObjectStore {
  /** What opening found and repaired. */
  readonly recovery: FileStoreRecovery;
  /** Durable group commits so far (one fsync pair each), for tests and benchmarks. */
  readonly groupCommits: number;
}

const EPOCH_FILE = 'EPOCH';
const INDEX_FILE = 'index.log';
const DATA_FILE = 'data.log';
const DISCARDED_SUFFIX = '.discarded';
const EPOCH_TEXT = (epoch: string): string => `kith-object-store 1 ${epoch}\n`;
const EPOCH_RE = /^kith-object-store 1 ([0-9a-f]{32})\n$/;
const EPOCH_FILE_BYTES = EPOCH_TEXT('0'.repeat(2 * STORE_EPOCH_BYTES)).length;

/** In-process claims on store directories are keyed by their real path within this scope. */
const FILE_SCOPE = {};

class FileStoreImpl extends BackedStore implements FileStore {
  constructor(
    options: BackedStoreOptions,
    readonly recovery: FileStoreRecovery,
  ) {
    super(options);
  }
}

export async function openFileStore(options: FileStoreOptions): Promise<FileStore> {
  const crypto = options?.crypto;
  if (typeof crypto?.sha256 !== 'function' || typeof crypto.randomBytes !== 'function') {
    throw new KithError('INVALID_INPUT', 'openFileStore: a crypto provider is required');
  }
  const { dir, fsyncBatchMs = 0 } = options;
  if (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0')) throw new KithError('INVALID_INPUT', 'openFileStore: dir must be a non-empty path');
  if (typeof fsyncBatchMs !== 'number' || !Number.isFinite(fsyncBatchMs) || fsyncBatchMs < 0 || fsyncBatchMs > MAX_STORE_COMMIT_WINDOW_MS) {
    throw new KithError('INVALID_INPUT', `openFileStore: fsyncBatchMs must be a number in [0, ${MAX_STORE_COMMIT_WINDOW_MS}]`);
  }
  let root: string;
  try {
    await mkdir(resolve(dir), { recursive: true });
    root = await realpath(resolve(dir));
  } catch (err) {
    throw new KithError('STORE_FAILED', `openFileStore: cannot use ${dir} as a store directory`, { cause: err });
  }
  const release = claimStore(FILE_SCOPE, root, `the object store in ${root}`);
  try {
    const { backend, epoch, index, recovery } = await FileBackend.open(crypto, root, release);
    return new FileStoreImpl({ crypto, epoch, index, backend, windowMs: fsyncBatchMs, failStopOnWriteError: true }, recovery);
  } catch (err) {
    release();
    throw err instanceof KithError ? err : new KithError('STORE_FAILED', `openFileStore: cannot open the store in ${root}`, { cause: err });
  }
}

interface Opened {
  readonly backend: FileBackend;
  readonly epoch: string;
  readonly index: MetaIndex;
  readonly recovery: FileStoreRecovery;
}

class FileBackend implements StoreBackend {
  private constructor(
    private readonly data: FileHandle,
    private readonly indexLog: FileHandle,
    /** Data-log offset of each entry, by `seq - 1`. */
    private readonly offsets: number[],
    private dataEnd: number,
    private indexEnd: number,
    private readonly release: () => void,
  ) {}

  static async open(crypto: CryptoProvider, root: string, release: () => void): Promise<Opened> {
    const paths = { epoch: join(root, EPOCH_FILE), index: join(root, INDEX_FILE), data: join(root, DATA_FILE) };
    const epochHex = await readEpoch(paths.epoch);
    let problem: string;
    if (epochHex !== undefined) {
      const loaded = await FileBackend.load(root, paths, epochHex, release);
      if (typeof loaded !== 'string') return loaded;
      problem = loaded;
    } else {
      problem = (await exists(paths.index)) || (await exists(paths.data)) ? 'the EPOCH file is missing or damaged' : 'new';
    }
    for (const path of [paths.index, paths.data, paths.epoch]) {
      if (await exists(path)) await rename(path, path + DISCARDED_SUFFIX);
    }
    const epoch = crypto.randomBytes(STORE_EPOCH_BYTES);
    const data = await createLog(paths.data, logHeader(DATA_MAGIC, epoch));
    const indexLog = await createLog(paths.index, logHeader(INDEX_MAGIC, epoch));
    await syncDir(root);
    // The EPOCH file is written last and atomically: it is what makes the new logs a store.
    await writeFileDurably(paths.epoch, EPOCH_TEXT(toHex(epoch)));
    await syncDir(root);
    const backend = new FileBackend(data, indexLog, [], HEADER_BYTES, HEADER_BYTES, release);
    return { backend, epoch: toHex(epoch), index: new MetaIndex(), recovery: { reset: problem, droppedIndexBytes: 0, droppedDataBytes: 0 } };
  }

  /** Loads an existing store, or says what is wrong with it. */
  private static async load(root: string, paths: { index: string; data: string }, epochHex: string, release: () => void): Promise<Opened | string> {
    const epoch = fromHex(epochHex);
    let data: FileHandle | undefined;
    let indexLog: FileHandle | undefined;
    let owned = false;
    try {
      data = await open(paths.data, 'r+');
      indexLog = await open(paths.index, 'r+');
      const dataSize = (await data.stat()).size;
      const log = await readAll(indexLog);
      if (!headerMatches(log, INDEX_MAGIC, epoch)) return 'the index log header does not match the epoch';
      if (!headerMatches(await readAt(data, 0, Math.min(dataSize, HEADER_BYTES)), DATA_MAGIC, epoch)) return 'the data log header does not match the epoch';

      const scan = scanIndexLog(log, dataSize);
      const recovery = { droppedIndexBytes: log.length - scan.indexEnd, droppedDataBytes: dataSize - scan.dataEnd };
      if (recovery.droppedIndexBytes > 0) {
        await indexLog.truncate(scan.indexEnd);
        await indexLog.datasync();
      }
      if (recovery.droppedDataBytes > 0) {
        await data.truncate(scan.dataEnd);
        await data.datasync();
      }
      const backend = new FileBackend(data, indexLog, scan.offsets, scan.dataEnd, scan.indexEnd, release);
      owned = true;
      return { backend, epoch: epochHex, index: scan.index, recovery };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return `a log file is missing in ${root}`;
      throw err;
    } finally {
      if (!owned) await Promise.allSettled([data?.close(), indexLog?.close()]);
    }
  }

  async read(meta: StoredMeta): Promise<Uint8Array> {
    return readAt(this.data, this.offsetOf(meta), meta.size);
  }

  /** Entries that lie back to back in the data log (a run of sequences) come from one positioned read. */
  async readMany(metas: readonly StoredMeta[]): Promise<Uint8Array[]> {
    const out: Uint8Array[] = new Array(metas.length);
    const runs: Array<Promise<void>> = [];
    for (let i = 0; i < metas.length; ) {
      const start = this.offsetOf(metas[i]!);
      let end = start + metas[i]!.size;
      let j = i + 1;
      while (j < metas.length && j - i < MAX_READ_RUN_ENTRIES && this.offsetOf(metas[j]!) === end && end - start + metas[j]!.size <= MAX_READ_RUN_BYTES) {
        end += metas[j]!.size;
        j++;
      }
      const first = i;
      const last = j;
      runs.push(
        readAt(this.data, start, end - start).then((bytes) => {
          for (let k = first, at = 0; k < last; at += metas[k]!.size, k++) out[k] = bytes.subarray(at, at + metas[k]!.size);
        }),
      );
      i = j;
    }
    await Promise.all(runs);
    return out;
  }

  private offsetOf(meta: StoredMeta): number {
    const offset = this.offsets[meta.seq - 1];
    if (offset === undefined) throw new KithError('INTERNAL', `file store: no offset for seq ${meta.seq}`);
    return offset;
  }

  async write(batches: readonly (readonly FreshEntry[])[]): Promise<void> {
    let cursor = this.dataEnd;
    const bytes: Uint8Array[] = [];
    const records: Buffer[] = [];
    const offsets: number[] = [];
    for (const batch of batches) {
      const batchOffsets: number[] = [];
      for (const entry of batch) {
        batchOffsets.push(cursor);
        if (entry.bytes.length > 0) bytes.push(entry.bytes);
        cursor += entry.bytes.length;
      }
      records.push(encodeBatchRecord(batch, batchOffsets));
      offsets.push(...batchOffsets);
    }
    if (cursor > this.dataEnd) {
      await writeAllAt(this.data, bytes, this.dataEnd);
      await this.data.datasync();
    }
    const recordBytes = records.length === 1 ? records[0]! : Buffer.concat(records);
    await writeAllAt(this.indexLog, [recordBytes], this.indexEnd);
    await this.indexLog.datasync();
    this.dataEnd = cursor;
    this.indexEnd += recordBytes.length;
    for (const offset of offsets) this.offsets.push(offset);
  }

  async close(): Promise<void> {
    try {
      await Promise.all([this.data.close(), this.indexLog.close()]);
    } finally {
      this.release();
    }
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** The epoch in the EPOCH file, or undefined when it is missing or not exactly our format. */
async function readEpoch(path: string): Promise<string | undefined> {
  try {
    if ((await stat(path)).size !== EPOCH_FILE_BYTES) return undefined;
    return EPOCH_RE.exec(await readFile(path, 'latin1'))?.[1];
  } catch {
    return undefined;
  }
}

async function createLog(path: string, header: Buffer): Promise<FileHandle> {
  const handle = await open(path, 'w+');
  try {
    await writeAllAt(handle, [header], 0);
    await handle.datasync();
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

async function writeFileDurably(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text, 'latin1');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

/** fsync of a directory makes created and renamed names durable (Linux, macOS); Windows refuses it and needs none. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes every buffer at `position`, continuing after short writes. */
async function writeAllAt(handle: FileHandle, buffers: Uint8Array[], position: number): Promise<void> {
  let pending = buffers;
  let at = position;
  while (pending.length > 0) {
    const { bytesWritten } = await handle.writev(pending, at);
    at += bytesWritten;
    let skip = bytesWritten;
    let i = 0;
    while (i < pending.length && skip >= pending[i]!.length) skip -= pending[i++]!.length;
    pending = pending.slice(i);
    if (pending.length > 0 && skip > 0) pending[0] = pending[0]!.subarray(skip);
    if (bytesWritten === 0 && pending.length > 0) throw new KithError('STORE_FAILED', 'the disk accepted no bytes');
  }
}

/** Reads exactly `length` bytes at `position` (positioned reads only; never a whole log). */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new KithError('STORE_FAILED', 'a log file is shorter than its index says');
    done += bytesRead;
  }
  return out;
}

/** Reads a whole file through its handle (used for the index log only). */
async function readAll(handle: FileHandle): Promise<Buffer> {
  const size = (await handle.stat()).size;
  const bytes = await readAt(handle, 0, size);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
