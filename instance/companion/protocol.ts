/**
 * The companion protocol: how an app's renderer asks its main instance to act (create a
 * device invitation, accept another device's link, revoke a contact …) and hears about
 * main's state. It runs on the same secure session as CHUM (SessionMux types 0x30–0x32)
 * and only between companions (the contact relation renderer ↔ main); nobody else can
 * reach it.
 *
 *   0x30 REQUEST   renderer → main   { id, method, params }
 *   0x31 RESPONSE  main → renderer   { id, result } | { id, error: { code, message } }
 *   0x32 EVENT     main → renderer   { event, payload }
 */
import { IsIn, IsInt, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateIf } from 'class-validator';
import { Nested, validateSchema } from '../../shared/schema.js';
import { parseJson } from '../../shared/canonical.js';
import { ERROR_CODES, KithError, type ErrorCode } from '../../shared/errors.js';
import { utf8 } from '../../shared/bytes.js';
import { COMPANION_MIN_INVITE_TTL_SECONDS, INVITE_MAX_TTL_SECONDS, MAX_COMPANION_ERROR_MESSAGE_LENGTH, MAX_COMPANION_MESSAGE, MAX_INVITE_LINK_INPUT_LENGTH } from '../../shared/limits.js';

export const COMPANION_REQUEST = 0x30;
export const COMPANION_RESPONSE = 0x31;
export const COMPANION_EVENT = 0x32;

export const COMPANION_METHODS = ['status', 'contacts', 'createInvite', 'listInvites', 'revokeInvite', 'acceptInvite', 'revokeContact', 'unrevokeContact'] as const;
export type CompanionMethod = (typeof COMPANION_METHODS)[number];

export const COMPANION_EVENTS = ['contacts', 'connections', 'paired', 'pairingFailed', 'progress', 'invites'] as const;
export type CompanionEventName = (typeof COMPANION_EVENTS)[number];

export class CompanionRequest {
  @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @IsIn(COMPANION_METHODS as unknown as string[]) method!: CompanionMethod;
  @IsObject() params!: Record<string, unknown>;
}

export class CompanionErrorBody {
  @IsIn(Object.keys(ERROR_CODES)) code!: ErrorCode;
  @IsString() @Length(0, MAX_COMPANION_ERROR_MESSAGE_LENGTH) message!: string;
}

export class CompanionResponse {
  @IsInt() @Min(1) @Max(Number.MAX_SAFE_INTEGER) id!: number;
  @ValidateIf((o: CompanionResponse) => o.error === undefined) @IsObject() result?: Record<string, unknown>;
  @IsOptional() @Nested(() => CompanionErrorBody) error?: CompanionErrorBody;
}

export class CompanionEvent {
  @IsIn(COMPANION_EVENTS as unknown as string[]) event!: CompanionEventName;
  @IsObject() payload!: Record<string, unknown>;
}

// ---- per-method parameters ---------------------------------------------------------

export class CreateInviteParams {
  @IsOptional() @IsInt() @Min(COMPANION_MIN_INVITE_TTL_SECONDS) @Max(INVITE_MAX_TTL_SECONDS) ttlSeconds?: number;
}
export class InviteIdParams {
  @Matches(/^[0-9a-f]{32}$/) inviteId!: string;
}
export class AcceptInviteParams {
  @IsString() @Length(1, MAX_INVITE_LINK_INPUT_LENGTH) link!: string;
}
export class PersonIdParams {
  @Matches(/^[0-9a-f]{64}$/) personId!: string;
}
export class NoParams {}

export const PARAMS: Record<CompanionMethod, new () => object> = {
  status: NoParams,
  contacts: NoParams,
  createInvite: CreateInviteParams,
  listInvites: NoParams,
  revokeInvite: InviteIdParams,
  acceptInvite: AcceptInviteParams,
  revokeContact: PersonIdParams,
  unrevokeContact: PersonIdParams,
};

export function encodeCompanion(type: number, body: unknown): Uint8Array {
  const json = utf8(JSON.stringify(body));
  const out = new Uint8Array(1 + json.length);
  out[0] = type;
  out.set(json, 1);
  return out;
}

/** Decodes a companion message of the expected class; PROTOCOL_ERROR for anything malformed. */
export function decodeCompanion<T extends object>(cls: new () => T, message: Uint8Array): T {
  if (message.length > MAX_COMPANION_MESSAGE) throw new KithError('PROTOCOL_ERROR', 'companion message too large');
  let value: unknown;
  try {
    value = parseJson(message.subarray(1), { maxBytes: MAX_COMPANION_MESSAGE });
  } catch (err) {
    throw new KithError('PROTOCOL_ERROR', `companion message: ${(err as Error).message}`);
  }
  return validateSchema(cls, value, 'PROTOCOL_ERROR', cls.name);
}
