/**
 * The control-socket protocol (DESIGN §9): how other `kith` commands talk to the process
 * that owns a home. Newline-delimited JSON, one frame per line, every frame validated with
 * class-validator before anything acts on it.
 *
 *   client → owner   { id, command, args }       a request
 *                    { id, data: "<base64url>" }  upload bytes (put), at most CONTROL_STREAM_CHUNK_BYTES each
 *                    { id, end: true }            end of the upload
 *   owner → client   { id, item: {…} }            one element of a list, or the header of a download
 *                    { id, data: "<base64url>" }  download bytes (get)
 *                    { id, result: {…} }          success; ends the request
 *                    { id, error: {code, message} } failure; ends the request (id null: the line itself was bad)
 *
 * A connection serves one request at a time. Only the commands listed here exist: nothing
 * reaches the keys, and no command takes a path (the client reads and writes its own files).
 */
import 'reflect-metadata';
import {
  ArrayMaxSize, Equals, IsArray, IsIn, IsInt, IsObject, IsString, Matches, Max, MaxLength, Min, ValidateIf,
} from 'class-validator';
import type { ClassConstructor } from 'class-transformer';
import { validateSchema, Nested, HASH_HEX_RE } from '../../shared/schema.js';
import { ERROR_CODES, KithError, isErrorCode, type ErrorCode } from '../../shared/errors.js';
import { CONTROL_STREAM_CHUNK_BYTES, INVITE_MAX_TTL_SECONDS, MAX_CONTROL_ERROR_MESSAGE_LENGTH, MAX_INVITE_LINK_INPUT_LENGTH, TYPE_LIMITS } from '../../shared/limits.js';

/** Bumped on any incompatible change; `hello` reports it and clients refuse another. */
export const CONTROL_PROTOCOL_VERSION = 1;

/** The commands an owner answers. */
export const CONTROL_COMMANDS = ['hello', 'invite', 'invites', 'revoke-invite', 'accept', 'contacts', 'revoke', 'put', 'get', 'ls', 'status'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

/** base64url characters of one data frame: 4 per 3 bytes, rounded up. */
const MAX_DATA_CHARS = Math.ceil((CONTROL_STREAM_CHUNK_BYTES * 4) / 3);
const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;
const INVITE_ID_RE = /^[0-9a-f]{32}$/;

// ---- frames -------------------------------------------------------------------------

class RequestFrameSchema {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @IsIn(CONTROL_COMMANDS) command!: ControlCommand;
  @IsObject() args!: Record<string, unknown>;
}

class DataFrameSchema {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @IsString() @MaxLength(MAX_DATA_CHARS) @Matches(BASE64URL_RE) data!: string;
}

class EndFrameSchema {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @Equals(true) end!: true;
}

class ItemFrameSchema {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @IsObject() item!: Record<string, unknown>;
}

class ResultFrameSchema {
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @IsObject() result!: Record<string, unknown>;
}

class ErrorBodySchema {
  @IsIn(Object.keys(ERROR_CODES)) code!: ErrorCode;
  @IsString() @MaxLength(MAX_CONTROL_ERROR_MESSAGE_LENGTH) message!: string;
}

class ErrorFrameSchema {
  @ValidateIf((o: { id: unknown }) => o.id !== null) @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) id!: number | null;
  @Nested(() => ErrorBodySchema) error!: ErrorBodySchema;
}

export type ClientFrame =
  | { readonly kind: 'request'; readonly id: number; readonly command: ControlCommand; readonly args: Record<string, unknown> }
  | { readonly kind: 'data'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly kind: 'end'; readonly id: number };

export type ServerFrame =
  | { readonly kind: 'item'; readonly id: number; readonly item: Record<string, unknown> }
  | { readonly kind: 'data'; readonly id: number; readonly bytes: Uint8Array }
  | { readonly kind: 'result'; readonly id: number; readonly result: Record<string, unknown> }
  | { readonly kind: 'error'; readonly id: number | null; readonly error: KithError };

function has(value: unknown, key: string): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, key);
}

/** Value of each base64url character, -1 for anything else. */
const B64URL_VALUE = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * Bytes of a data frame. Node's decoder runs natively (data frames are the bulk of every
 * transfer; shared/bytes.ts decodes in JavaScript, 3× slower here) but is lenient, so the
 * strict rules are checked first: only the alphabet (the schema's regex did that), no
 * impossible length, no stray bits in the last character — one encoding per byte string.
 */
function decodeData(data: string): Uint8Array {
  const rest = data.length % 4;
  if (rest === 1) throw new KithError('PROTOCOL_ERROR', 'data: impossible base64url length');
  if (rest > 1) {
    const last = B64URL_VALUE[data.charCodeAt(data.length - 1)] ?? -1;
    if (last < 0 || (last & (rest === 2 ? 0x0f : 0x03)) !== 0) throw new KithError('PROTOCOL_ERROR', 'data: non-canonical base64url');
  }
  const bytes = Buffer.from(data, 'base64url');
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * One data frame as its line, without JSON.stringify: base64url never needs escaping, and
 * scanning ~87 KiB per frame for characters to escape was a sixth of a transfer's CPU.
 * The encoder is Node's (native); its output is the same as shared/bytes.ts toBase64url.
 */
export function dataFrameLine(id: number, bytes: Uint8Array): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new KithError('INVALID_INPUT', 'data frame: bad id');
  return `{"id":${id},"data":"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url')}"}`;
}

/** Validates one parsed line from a client. PROTOCOL_ERROR names what is wrong, never the values. */
export function parseClientFrame(value: unknown): ClientFrame {
  if (has(value, 'command')) {
    const f = validateSchema(RequestFrameSchema, value, 'PROTOCOL_ERROR', 'request');
    return { kind: 'request', id: f.id, command: f.command, args: f.args };
  }
  if (has(value, 'data')) {
    const f = validateSchema(DataFrameSchema, value, 'PROTOCOL_ERROR', 'data frame');
    return { kind: 'data', id: f.id, bytes: decodeData(f.data) };
  }
  if (has(value, 'end')) {
    const f = validateSchema(EndFrameSchema, value, 'PROTOCOL_ERROR', 'end frame');
    return { kind: 'end', id: f.id };
  }
  throw new KithError('PROTOCOL_ERROR', 'expected a request, data or end frame');
}

/** Validates one parsed line from the owner. */
export function parseServerFrame(value: unknown): ServerFrame {
  if (has(value, 'error')) {
    const f = validateSchema(ErrorFrameSchema, value, 'PROTOCOL_ERROR', 'error frame');
    return { kind: 'error', id: f.id, error: new KithError(isErrorCode(f.error.code) ? f.error.code : 'INTERNAL', f.error.message) };
  }
  if (has(value, 'result')) {
    const f = validateSchema(ResultFrameSchema, value, 'PROTOCOL_ERROR', 'result frame');
    return { kind: 'result', id: f.id, result: f.result };
  }
  if (has(value, 'item')) {
    const f = validateSchema(ItemFrameSchema, value, 'PROTOCOL_ERROR', 'item frame');
    return { kind: 'item', id: f.id, item: f.item };
  }
  if (has(value, 'data')) {
    const f = validateSchema(DataFrameSchema, value, 'PROTOCOL_ERROR', 'data frame');
    return { kind: 'data', id: f.id, bytes: decodeData(f.data) };
  }
  throw new KithError('PROTOCOL_ERROR', 'expected an item, data, result or error frame');
}

/** The error frame for a failure; messages are bounded (they are already free of secrets: KithError's rule). */
export function errorFrame(id: number | null, err: KithError): { id: number | null; error: { code: ErrorCode; message: string } } {
  return { id, error: { code: err.code, message: err.message.slice(0, MAX_CONTROL_ERROR_MESSAGE_LENGTH) } };
}

// ---- arguments of each command --------------------------------------------------------

/** Commands without arguments take `{}` (class-validator refuses a class without any rule, so this one is checked by hand). */
class NoArgs {}

export class InviteArgs {
  /** Lifetime in seconds (default: the registry's). */
  @ValidateIf((o: { ttlSeconds?: unknown }) => o.ttlSeconds !== undefined) @IsInt() @Min(1) @Max(INVITE_MAX_TTL_SECONDS) ttlSeconds?: number;
}

export class RevokeInviteArgs {
  /** The invitation to revoke. */
  @IsString() @Matches(INVITE_ID_RE) inviteId!: string;
}

export class AcceptArgs {
  /** The invitation link (a secret: never logged or echoed). */
  @IsString() @MaxLength(MAX_INVITE_LINK_INPUT_LENGTH) link!: string;
}

export class RevokeArgs {
  /** The person to revoke. */
  @IsString() @Matches(HASH_HEX_RE) personId!: string;
}

export class PutArgs {
  /** `blob`: raw bytes; `object`: a JSON object, stored canonically. */
  @IsIn(['blob', 'object']) kind!: 'blob' | 'object';
  /** Persons granted access to what is stored. */
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxGrantPersons) @Matches(HASH_HEX_RE, { each: true }) share!: string[];
}

export class GetArgs {
  /** The object or blob manifest to read. */
  @IsString() @Matches(HASH_HEX_RE) hash!: string;
}

/** The argument schema of every command (a request whose args fail it gets INVALID_INPUT). */
export const ARG_SCHEMAS: { readonly [C in ControlCommand]: ClassConstructor<object> } = {
  hello: NoArgs,
  invite: InviteArgs,
  invites: NoArgs,
  'revoke-invite': RevokeInviteArgs,
  accept: AcceptArgs,
  contacts: NoArgs,
  revoke: RevokeArgs,
  put: PutArgs,
  get: GetArgs,
  ls: NoArgs,
  status: NoArgs,
};

/** Validates a request's args against its command's schema. */
export function parseArgsFor<T extends object>(command: ControlCommand, args: unknown): T {
  if (ARG_SCHEMAS[command] === NoArgs) {
    const plain = typeof args === 'object' && args !== null && [Object.prototype, null].includes(Object.getPrototypeOf(args));
    if (!plain || Reflect.ownKeys(args).length > 0) {
      throw new KithError('INVALID_INPUT', `${command} takes no arguments`);
    }
    return args as T;
  }
  return validateSchema(ARG_SCHEMAS[command] as ClassConstructor<T>, args, 'INVALID_INPUT', `${command} arguments`);
}
