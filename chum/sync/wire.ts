/**
 * CHUM's wire messages (DESIGN §7), one application message each, first byte = type.
 * Binary where volume matters (object batches, hash lists, chunks), JSON for the rest.
 * Every decoder treats its input as hostile: sizes are bounded before anything is
 * allocated, and any violation is a SYNC_PROTOCOL_ERROR (the peer loses its session).
 *
 *   HELLO      both ways   { v, epoch, count, mark }      my store's epoch and size, and how far I have your objects
 *   PLAN       exp → imp   { from, to, objects, bytes }   what the backlog holds (for progress)
 *   BATCH      exp → imp   flags, seq, objects…           objects in store order; seq = how far the exporter looked
 *   ACK        imp → exp   { seq }                        batch stored; the mark is persisted
 *   OFFER      exp → imp   hashes                         objects that became visible behind the mark
 *   WANT       imp → exp   hashes                         objects (and their closure) the importer lacks; answered
 *                                                         by BATCHes flagged WANTED, the last one also LAST
 *   RECON_EXP  exp → imp   reconciliation message         (range-based set reconciliation, exporter's side)
 *   RECON_IMP  imp → exp   reconciliation message
 *   CHUNK_REQ  imp → exp   hashes                         blob chunks wanted (pipelined window)
 *   CHUNK      exp → imp   hash ‖ bytes
 *   MISSING    exp → imp   hashes                         chunks the exporter cannot give
 */
import { Equals, IsInt, IsOptional, IsString, Matches, Max, Min, Length } from 'class-validator';
import { Nested, validateSchema } from '../../shared/schema.js';
import { KithError } from '../../shared/errors.js';
import { concatBytes, fromHex, toHex, utf8, readU32, writeU32 } from '../../shared/bytes.js';
import { parseJson } from '../../shared/canonical.js';
import type { ObjectHash } from '../../shared/ids.js';
import { BLOB_CHUNK_BYTES, MAX_HASHES_PER_MESSAGE, MAX_OBJECT_BYTES, MAX_SYNC_CONTROL_BYTES, SYNC_BATCH_BYTES, SYNC_BATCH_OBJECTS } from '../../shared/limits.js';

export const enum Msg {
  Hello = 0x10,
  Plan = 0x11,
  Batch = 0x12,
  Ack = 0x13,
  Offer = 0x14,
  Want = 0x15,
  ReconExp = 0x16,
  ReconImp = 0x17,
  ChunkReq = 0x18,
  Chunk = 0x19,
  Missing = 0x1a,
}

export const SYNC_PROTOCOL_VERSION = 1;
const EPOCH_RE = /^[A-Za-z0-9_-]{8,64}$/;
const MAX_SEQ = Number.MAX_SAFE_INTEGER;

export class Mark {
  @IsString() @Matches(EPOCH_RE) epoch!: string;
  @IsInt() @Min(0) @Max(MAX_SEQ) seq!: number;
}

export class HelloMessage {
  @Equals(SYNC_PROTOCOL_VERSION) v!: number;
  @IsString() @Matches(EPOCH_RE) epoch!: string;
  /** Objects in the sender's store (an empty receiver is streamed to, not reconciled with). */
  @IsInt() @Min(0) @Max(MAX_SEQ) count!: number;
  @IsOptional() @Nested(() => Mark) mark?: Mark;
}

export class PlanMessage {
  @IsInt() @Min(0) @Max(MAX_SEQ) from!: number;
  @IsInt() @Min(0) @Max(MAX_SEQ) to!: number;
  @IsInt() @Min(0) @Max(MAX_SEQ) objects!: number;
  @IsInt() @Min(0) @Max(MAX_SEQ) bytes!: number;
}

export class AckMessage {
  @IsInt() @Min(0) @Max(MAX_SEQ) seq!: number;
}


function fail(message: string): never {
  throw new KithError('SYNC_PROTOCOL_ERROR', message);
}

function encodeJson(type: Msg, value: unknown): Uint8Array {
  const body = utf8(JSON.stringify(value));
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

function decodeJson<T extends object>(cls: new () => T, body: Uint8Array, what: string): T {
  if (body.length > MAX_SYNC_CONTROL_BYTES) fail(`${what} too large`);
  let value: unknown;
  try {
    value = parseJson(body, { integersOnly: true, maxBytes: MAX_SYNC_CONTROL_BYTES });
  } catch {
    fail(`${what} is not valid JSON`);
  }
  return validateSchema(cls, value, 'SYNC_PROTOCOL_ERROR', what);
}

export const encodeHello = (m: HelloMessage) => encodeJson(Msg.Hello, m);
export const encodePlan = (m: PlanMessage) => encodeJson(Msg.Plan, m);
export const encodeAck = (m: AckMessage) => encodeJson(Msg.Ack, m);

function writeSeq(out: Uint8Array, offset: number, seq: number): void {
  writeU32(out, offset, Math.floor(seq / 2 ** 32));
  writeU32(out, offset + 4, seq >>> 0);
}
function readSeq(bytes: Uint8Array, offset: number): number {
  const seq = readU32(bytes, offset) * 2 ** 32 + readU32(bytes, offset + 4);
  if (!Number.isSafeInteger(seq)) fail('sequence out of range');
  return seq;
}

/** BATCH flags: bit 0 = `seq` advances the mark (0 for backfill and reconciliation batches). */
export const BATCH_ADVANCES_MARK = 1;
/** Bit 1: part of the answer to a WANT (outside the flow-control window, not acknowledged). */
export const BATCH_WANTED = 2;
/** Bit 2: the last batch of the answer to a WANT. */
export const BATCH_LAST = 4;
const KNOWN_FLAGS = BATCH_ADVANCES_MARK | BATCH_WANTED | BATCH_LAST;

export interface BatchMessage {
  readonly advancesMark: boolean;
  /** Part of a WANT answer. */
  readonly wanted?: boolean;
  /** Last batch of a WANT answer. */
  readonly last?: boolean;
  readonly seq: number;
  readonly objects: readonly Uint8Array[];
}

/** type(1) ‖ flags(1) ‖ seq(8) ‖ count(4) ‖ (len(4) ‖ bytes)* */
export function encodeBatch(m: BatchMessage): Uint8Array {
  let size = 14;
  for (const o of m.objects) size += 4 + o.length;
  const out = new Uint8Array(size);
  out[0] = Msg.Batch;
  out[1] = (m.advancesMark ? BATCH_ADVANCES_MARK : 0) | (m.wanted ? BATCH_WANTED : 0) | (m.last ? BATCH_LAST : 0);
  writeSeq(out, 2, m.seq);
  writeU32(out, 10, m.objects.length);
  let offset = 14;
  for (const o of m.objects) {
    writeU32(out, offset, o.length);
    out.set(o, offset + 4);
    offset += 4 + o.length;
  }
  return out;
}

export function decodeBatch(body: Uint8Array): BatchMessage {
  if (body.length < 13) fail('batch header truncated');
  const flags = body[0]!;
  if (flags & ~KNOWN_FLAGS) fail('unknown batch flags');
  if (flags & BATCH_WANTED && flags & BATCH_ADVANCES_MARK) fail('a WANT answer cannot advance the mark');
  if (flags & BATCH_LAST && !(flags & BATCH_WANTED)) fail('LAST without WANTED');
  const seq = readSeq(body, 1);
  const count = readU32(body, 9);
  // A batch may exceed the configured soft limits by one object (a single large object), never more.
  if (count > SYNC_BATCH_OBJECTS * 2) fail(`batch of ${count} objects`);
  if (body.length > SYNC_BATCH_BYTES + MAX_OBJECT_BYTES + 14 + 4 * count) fail('batch too large');
  const objects: Uint8Array[] = [];
  let offset = 13;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > body.length) fail('batch truncated');
    const len = readU32(body, offset);
    offset += 4;
    if (len > MAX_OBJECT_BYTES) fail('object too large');
    if (offset + len > body.length) fail('batch truncated');
    objects.push(body.subarray(offset, offset + len));
    offset += len;
  }
  if (offset !== body.length) fail('trailing bytes after batch');
  return { advancesMark: (flags & BATCH_ADVANCES_MARK) !== 0, wanted: (flags & BATCH_WANTED) !== 0, last: (flags & BATCH_LAST) !== 0, seq, objects };
}

export function encodeHashes(type: Msg.Offer | Msg.Want | Msg.ChunkReq | Msg.Missing, hashes: readonly string[]): Uint8Array {
  if (hashes.length > MAX_HASHES_PER_MESSAGE) throw new KithError('INVALID_INPUT', 'too many hashes for one message');
  const out = new Uint8Array(1 + 32 * hashes.length);
  out[0] = type;
  hashes.forEach((h, i) => out.set(fromHex(h), 1 + 32 * i));
  return out;
}

export function decodeHashes(body: Uint8Array): ObjectHash[] {
  if (body.length % 32 !== 0) fail('hash list length is not a multiple of 32');
  const n = body.length / 32;
  if (n > MAX_HASHES_PER_MESSAGE) fail(`hash list of ${n} entries`);
  const out: ObjectHash[] = [];
  for (let i = 0; i < n; i++) out.push(toHex(body.subarray(32 * i, 32 * i + 32)) as ObjectHash);
  return out;
}

/** type(1) ‖ hash(32) ‖ bytes */
export function encodeChunk(hash: string, bytes: Uint8Array): Uint8Array {
  return concatBytes(encodeChunkHeader(hash), bytes);
}

/** A chunk message's type and hash: sent as a part before the chunk's bytes, which are never copied into a message. */
export function encodeChunkHeader(hash: string): Uint8Array {
  const out = new Uint8Array(33);
  out[0] = Msg.Chunk;
  out.set(fromHex(hash), 1);
  return out;
}

export function decodeChunk(body: Uint8Array): { hash: ObjectHash; bytes: Uint8Array } {
  if (body.length < 32) fail('chunk truncated');
  if (body.length - 32 > BLOB_CHUNK_BYTES) fail('chunk too large');
  return { hash: toHex(body.subarray(0, 32)) as ObjectHash, bytes: body.subarray(32) };
}

export function encodeRecon(type: Msg.ReconExp | Msg.ReconImp, message: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + message.length);
  out[0] = type;
  out.set(message, 1);
  return out;
}

export type Decoded =
  | { type: Msg.Hello; hello: HelloMessage }
  | { type: Msg.Plan; plan: PlanMessage }
  | { type: Msg.Batch; batch: BatchMessage }
  | { type: Msg.Ack; ack: AckMessage }
  | { type: Msg.Offer | Msg.Want | Msg.ChunkReq | Msg.Missing; hashes: ObjectHash[] }
  | { type: Msg.ReconExp | Msg.ReconImp; recon: Uint8Array }
  | { type: Msg.Chunk; chunk: { hash: ObjectHash; bytes: Uint8Array } };

/** Decodes one sync message from the peer. */
export function decodeMessage(message: Uint8Array): Decoded {
  if (!(message instanceof Uint8Array) || message.length < 1) fail('empty message');
  const type = message[0]!;
  const body = message.subarray(1);
  switch (type) {
    case Msg.Hello:
      return { type, hello: decodeJson(HelloMessage, body, 'hello') };
    case Msg.Plan:
      return { type, plan: decodeJson(PlanMessage, body, 'plan') };
    case Msg.Ack:
      return { type, ack: decodeJson(AckMessage, body, 'ack') };
    case Msg.Batch:
      return { type, batch: decodeBatch(body) };
    case Msg.Offer:
    case Msg.Want:
    case Msg.ChunkReq:
    case Msg.Missing:
      return { type, hashes: decodeHashes(body) };
    case Msg.ReconExp:
    case Msg.ReconImp:
      return { type, recon: body };
    case Msg.Chunk:
      return { type, chunk: decodeChunk(body) };
    default:
      fail(`unknown sync message type ${type}`);
  }
}

