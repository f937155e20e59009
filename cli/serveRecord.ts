/**
 * `state/serve.json`: where `kith serve` last listened. Written on every start and kept after
 * the node stops, so `kith invite` run while nobody serves can still name an address (with a
 * warning that the node must be running, on that address, for the invitation to work).
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import { IsInt, IsISO8601, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { homePaths, writeFileAtomic } from './home.js';
import { parseJson } from '../shared/canonical.js';
import { validateSchema } from '../shared/schema.js';
import { KithError } from '../shared/errors.js';
import { MAX_ENDPOINT_LENGTH, MAX_SERVE_RECORD_BYTES } from '../shared/limits.js';

export const SERVE_RECORD_FILE = 'serve.json';

class ServeRecordSchema {
  /** The listener's URL (what invitations name). */
  @IsString() @MaxLength(MAX_ENDPOINT_LENGTH) @Matches(/^wss?:\/\/\S+$/) url!: string;
  /** The serving process. */
  @IsInt() @Min(1) @Max(0xffff_ffff) pid!: number;
  /** When it started (ISO 8601). */
  @IsString() @IsISO8601() startedAt!: string;
}

export type ServeRecord = Readonly<ServeRecordSchema>;

function recordPath(home: string): string {
  return path.join(homePaths(home).state, SERVE_RECORD_FILE);
}

/** Records the listen address (atomically; replaces the previous record). */
export async function writeServeRecord(home: string, record: ServeRecord): Promise<void> {
  await fsp.mkdir(homePaths(home).state, { recursive: true, mode: 0o700 });
  await writeFileAtomic(recordPath(home), `${JSON.stringify(record)}\n`, { mode: 0o600, overwrite: true });
}

/** The last recorded listen address; undefined when there is none. A damaged record is an error naming the file. */
export async function readServeRecord(home: string): Promise<ServeRecord | undefined> {
  const file = recordPath(home);
  let handle: fsp.FileHandle;
  try {
    // Non-blocking: a FIFO planted here must not hang the command.
    handle = await fsp.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KithError('INTERNAL', `cannot read ${SERVE_RECORD_FILE} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_SERVE_RECORD_BYTES) throw new KithError('INVALID_INPUT', `${file} is not a serve record; remove it`);
    const buf = Buffer.alloc(MAX_SERVE_RECORD_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead > MAX_SERVE_RECORD_BYTES) throw new KithError('INVALID_INPUT', `${file} is not a serve record; remove it`);
    let value: unknown;
    try {
      value = parseJson(buf.subarray(0, bytesRead), { maxBytes: MAX_SERVE_RECORD_BYTES, integersOnly: true });
    } catch {
      throw new KithError('INVALID_INPUT', `${file} is not a serve record; remove it`);
    }
    return validateSchema(ServeRecordSchema, value, 'INVALID_INPUT', SERVE_RECORD_FILE);
  } finally {
    await handle.close();
  }
}
