/**
 * The file store's on-disk format (see fileStore.ts for how it is used).
 *
 *   data.log   header, then the bytes of every entry back to back (no framing: the index
 *              says where each entry is, and a read checks its hash)
 *   index.log  header, then one record per batch:
 *                u32 bodyLength | u32 crc32(body) | body
 *              body = u32 firstSeqHigh | u32 firstSeqLow | u32 count | entry × count
 *              entry = u32 offsetHigh | u32 offsetLow | u32 size | u8 flags | hash (32)
 *                      | u8 typeLength | type (ASCII) | [author (32)] | [idHash (32)]
 *                      | u32 refCount | ref (32) × refCount
 *              flags: 1 = chunk, 2 = has author, 4 = has idHash. All integers big-endian.
 *   header     8-byte magic ("KITHIDX1" / "KITHDAT1") + the 16-byte epoch, so logs from
 *              another store life are never mixed in.
 *
 * One record per batch makes the batch atomic: its checksum covers every entry, so a torn
 * write loses the whole batch, never part of it.
 */
import { crc32 } from 'node:zlib';
import type { ObjectHash, InstanceId } from '../../shared/ids.js';
import type { StoredMeta } from '../ObjectStore.js';
import { assertKithObject } from '../../shared/objects.js';
import { BLOB_CHUNK_BYTES, MAX_OBJECT_BYTES, STORE_EPOCH_BYTES } from '../../shared/limits.js';
import { makeMeta, storedRefs, type FreshEntry } from './checkBatch.js';
import { MetaIndex } from './metaIndex.js';

export const INDEX_MAGIC = 'KITHIDX1';
export const DATA_MAGIC = 'KITHDAT1';
const MAGIC_BYTES = 8;
export const HEADER_BYTES = MAGIC_BYTES + STORE_EPOCH_BYTES;
const RECORD_PREFIX = 8;
const BODY_PREFIX = 12;
const HASH_BYTES = 32;
const U32 = 2 ** 32;
const FLAG_CHUNK = 1;
const FLAG_AUTHOR = 2;
const FLAG_ID_HASH = 4;

/** A log header: magic + epoch. */
export function logHeader(magic: string, epoch: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(magic, 0, 'latin1');
  header.set(epoch, MAGIC_BYTES);
  return header;
}

/** True when `header` is `magic` + `epoch`. */
export function headerMatches(header: Uint8Array, magic: string, epoch: Uint8Array): boolean {
  return header.length >= HEADER_BYTES && Buffer.from(header.buffer, header.byteOffset, HEADER_BYTES).equals(logHeader(magic, epoch));
}

/** The index record of one batch whose entries start at `offsets` in the data log. */
export function encodeBatchRecord(batch: readonly FreshEntry[], offsets: readonly number[]): Buffer {
  let size = RECORD_PREFIX + BODY_PREFIX;
  for (const { meta } of batch) {
    size += 13 + HASH_BYTES + 1 + meta.type.length + 4 + HASH_BYTES * meta.refs.length;
    if (meta.author !== undefined) size += HASH_BYTES;
    if (meta.idHash !== undefined) size += HASH_BYTES;
  }
  const out = Buffer.allocUnsafe(size);
  let p = RECORD_PREFIX;
  const firstSeq = batch[0]!.meta.seq;
  p = out.writeUInt32BE(Math.floor(firstSeq / U32), p);
  p = out.writeUInt32BE(firstSeq % U32, p);
  p = out.writeUInt32BE(batch.length, p);
  for (let i = 0; i < batch.length; i++) {
    const meta = batch[i]!.meta;
    const offset = offsets[i]!;
    p = out.writeUInt32BE(Math.floor(offset / U32), p);
    p = out.writeUInt32BE(offset % U32, p);
    p = out.writeUInt32BE(meta.size, p);
    p = out.writeUInt8((meta.kind === 'chunk' ? FLAG_CHUNK : 0) | (meta.author !== undefined ? FLAG_AUTHOR : 0) | (meta.idHash !== undefined ? FLAG_ID_HASH : 0), p);
    p += out.write(meta.hash, p, 'hex');
    p = out.writeUInt8(meta.type.length, p);
    p += out.write(meta.type, p, 'latin1');
    if (meta.author !== undefined) p += out.write(meta.author, p, 'hex');
    if (meta.idHash !== undefined) p += out.write(meta.idHash, p, 'hex');
    p = out.writeUInt32BE(meta.refs.length, p);
    for (const ref of meta.refs) p += out.write(ref, p, 'hex');
  }
  out.writeUInt32BE(size - RECORD_PREFIX, 0);
  out.writeUInt32BE(crc32(out.subarray(RECORD_PREFIX)), 4);
  return out;
}

export interface ScanResult {
  /** Metadata of every whole, valid batch, in sequence order. */
  readonly index: MetaIndex;
  /** Data-log offset of each entry, by `seq - 1`. */
  readonly offsets: number[];
  /** Where the valid part of the index log ends (its length after truncating a torn tail). */
  readonly indexEnd: number;
  /** Where the bytes of the last valid batch end in the data log. */
  readonly dataEnd: number;
}

/** Thrown inside the scanner to drop the current record and everything after it. */
class Stop extends Error {}

/**
 * Reads an index log (header already checked) and keeps the longest valid prefix of batch
 * records: each must be complete, match its checksum, continue the sequence, point inside the
 * data log right after the previous entry, respect the size limits, add only new hashes and
 * reference only stored ones. The first record that fails any check ends the scan; it and
 * everything after it belong to a write that never finished (or to damage) and are dropped.
 */
export function scanIndexLog(log: Buffer, dataSize: number): ScanResult {
  const index = new MetaIndex();
  const offsets: number[] = [];
  const knownTypes = new Set<string>(['chunk']);
  let pos = HEADER_BYTES;
  let dataEnd = HEADER_BYTES;
  while (pos + RECORD_PREFIX <= log.length) {
    const bodyLength = log.readUInt32BE(pos);
    const bodyStart = pos + RECORD_PREFIX;
    const end = bodyStart + bodyLength;
    if (bodyLength < BODY_PREFIX || end > log.length) break;
    if (crc32(log.subarray(bodyStart, end)) !== log.readUInt32BE(pos + 4)) break;
    try {
      const fresh = decodeBody(log, bodyStart, end, index, dataEnd, dataSize, knownTypes);
      for (const { meta, offset } of fresh) {
        index.add(meta);
        offsets.push(offset);
        dataEnd = offset + meta.size;
      }
    } catch (err) {
      if (err instanceof Stop) break;
      throw err;
    }
    pos = end;
  }
  return { index, offsets, indexEnd: pos, dataEnd };
}

function decodeBody(
  log: Buffer,
  start: number,
  end: number,
  index: MetaIndex,
  dataStart: number,
  dataSize: number,
  knownTypes: Set<string>,
): Array<{ meta: StoredMeta; offset: number }> {
  const need = (p: number, n: number): number => {
    if (p + n > end) throw new Stop();
    return p;
  };
  const hexAt = (p: number): string => log.toString('hex', need(p, HASH_BYTES), p + HASH_BYTES);
  let p = start;
  const firstSeq = log.readUInt32BE(p) * U32 + log.readUInt32BE(p + 4);
  const count = log.readUInt32BE(p + 8);
  p += BODY_PREFIX;
  if (firstSeq !== index.lastSeq + 1 || count === 0) throw new Stop();
  const out: Array<{ meta: StoredMeta; offset: number }> = [];
  const planned = new Map<string, StoredMeta>();
  const find = (h: ObjectHash): StoredMeta | undefined => planned.get(h) ?? index.meta(h);
  let cursor = dataStart;
  for (let i = 0; i < count; i++) {
    need(p, 13);
    const offset = log.readUInt32BE(p) * U32 + log.readUInt32BE(p + 4);
    const size = log.readUInt32BE(p + 8);
    const flags = log.readUInt8(p + 12);
    p += 13;
    const kind = flags & FLAG_CHUNK ? 'chunk' : 'object';
    if (offset !== cursor || size > (kind === 'chunk' ? BLOB_CHUNK_BYTES : MAX_OBJECT_BYTES) || offset + size > dataSize) throw new Stop();
    cursor += size;
    const hash = hexAt(p) as ObjectHash;
    p += HASH_BYTES;
    const typeLength = log.readUInt8(need(p, 1));
    const type = log.toString('latin1', need(p + 1, typeLength), p + 1 + typeLength);
    p += 1 + typeLength;
    if (!knownTypes.has(type)) {
      try {
        assertKithObject({ $type: type });
      } catch {
        throw new Stop();
      }
      knownTypes.add(type);
    }
    if (kind === 'chunk' && (type !== 'chunk' || (flags & (FLAG_AUTHOR | FLAG_ID_HASH)) !== 0)) throw new Stop();
    let author: InstanceId | undefined;
    let idHash: ObjectHash | undefined;
    if (flags & FLAG_AUTHOR) {
      author = hexAt(p) as InstanceId;
      p += HASH_BYTES;
    }
    if (flags & FLAG_ID_HASH) {
      idHash = hexAt(p) as ObjectHash;
      p += HASH_BYTES;
    }
    const refCount = log.readUInt32BE(need(p, 4));
    p += 4;
    need(p, refCount * HASH_BYTES);
    const named: ObjectHash[] = new Array(refCount);
    for (let r = 0; r < refCount; r++, p += HASH_BYTES) named[r] = log.toString('hex', p, p + HASH_BYTES) as ObjectHash;
    const refs = storedRefs(named, find);
    if (refs === undefined) throw new Stop();
    if (kind === 'chunk' && refCount > 0) throw new Stop();
    if (planned.has(hash) || index.has(hash)) throw new Stop();
    const meta = makeMeta({ hash, kind, type, refs, author, idHash }, firstSeq + i, size, find);
    planned.set(hash, meta);
    out.push({ meta, offset });
  }
  if (p !== end) throw new Stop();
  return out;
}
