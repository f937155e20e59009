/**
 * Messages of the pairing protocol (DESIGN §6), exchanged inside the Noise_IKpsk2 session:
 *
 *   invitee → inviter   pair-hello    { identity, endpoints, binding }
 *   inviter → invitee   pair-welcome  { identity, endpoints, binding }   or   pair-error { code, message }
 *
 * `binding` is the sender's *person* signature over
 *   "kith pair binding v1" ‖ role ‖ handshake hash ‖ the sender instance's static key
 * so an identity cannot be relayed from another session (the hash differs), reflected back
 * (the role differs), or attached to a different instance key.
 */
import { Equals, IsArray, ArrayMaxSize, IsIn, IsString, Length, Matches, MaxLength } from 'class-validator';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { Nested, SIG64_RE, validateSchema } from '../shared/schema.js';
import { PublicIdentity, type LocalIdentity } from '../shared/identity.js';
import { ERROR_CODES, KithError, type ErrorCode } from '../shared/errors.js';
import { concatBytes, fromBase64url, toBase64url, utf8, readU32 } from '../shared/bytes.js';
import { parseJson } from '../shared/canonical.js';
import { MAX_ENDPOINTS, MAX_ENDPOINT_LENGTH, MAX_PAIRING_MESSAGE_BYTES, MAX_PAIR_ERROR_MESSAGE_LENGTH } from '../shared/limits.js';

const BINDING_LABEL = utf8('kith pair binding v1');
const SAS_INFO = utf8('kith pairing sas');
const ENDPOINT_RE = /^wss?:\/\/[^\s/?#@]+\/kith\/v1$/;

export type Role = 'invitee' | 'inviter';
const ROLE_BYTE: Record<Role, number> = { invitee: 1, inviter: 2 };

export class PairHello {
  @Equals('pair-hello') t!: 'pair-hello';
  @Nested(() => PublicIdentity) identity!: PublicIdentity;
  @IsArray() @ArrayMaxSize(MAX_ENDPOINTS) @IsString({ each: true }) @MaxLength(MAX_ENDPOINT_LENGTH, { each: true }) @Matches(ENDPOINT_RE, { each: true }) endpoints!: string[];
  @Matches(SIG64_RE) binding!: string;
}

export class PairWelcome {
  @Equals('pair-welcome') t!: 'pair-welcome';
  @Nested(() => PublicIdentity) identity!: PublicIdentity;
  @IsArray() @ArrayMaxSize(MAX_ENDPOINTS) @IsString({ each: true }) @MaxLength(MAX_ENDPOINT_LENGTH, { each: true }) @Matches(ENDPOINT_RE, { each: true }) endpoints!: string[];
  @Matches(SIG64_RE) binding!: string;
}

export class PairError {
  @Equals('pair-error') t!: 'pair-error';
  @IsIn(Object.keys(ERROR_CODES)) code!: ErrorCode;
  @IsString() @Length(0, MAX_PAIR_ERROR_MESSAGE_LENGTH) message!: string;
}

export type PairingMessage = PairHello | PairWelcome | PairError;

export function encodePairingMessage(message: PairingMessage): Uint8Array {
  return utf8(JSON.stringify(message));
}

/** Parses a pairing message from the peer; PROTOCOL_ERROR for anything malformed. */
export function decodePairingMessage<T extends PairingMessage>(bytes: Uint8Array, expected: Array<'pair-hello' | 'pair-welcome' | 'pair-error'>): T {
  let value: unknown;
  try {
    value = parseJson(bytes, { maxBytes: MAX_PAIRING_MESSAGE_BYTES });
  } catch (err) {
    throw new KithError('PROTOCOL_ERROR', `pairing message: ${(err as Error).message}`);
  }
  const t = (value as { t?: unknown } | null)?.t;
  if (typeof t !== 'string' || !expected.includes(t as never)) throw new KithError('PROTOCOL_ERROR', `unexpected pairing message`);
  const cls = t === 'pair-hello' ? PairHello : t === 'pair-welcome' ? PairWelcome : PairError;
  return validateSchema(cls as never, value, 'PROTOCOL_ERROR', t) as T;
}

function bindingMessage(role: Role, handshakeHash: Uint8Array, staticKey: Uint8Array): Uint8Array {
  return concatBytes(BINDING_LABEL, Uint8Array.of(ROLE_BYTE[role]), handshakeHash, staticKey);
}

/** Our person's signature binding this session (handshake hash) to our instance key. */
export async function signBinding(crypto: CryptoProvider, self: LocalIdentity, role: Role, handshakeHash: Uint8Array): Promise<string> {
  const staticKey = fromBase64url(self.public.instance.staticKey);
  return toBase64url(await crypto.ed25519Sign(self.personSecrets.signSecret, bindingMessage(role, handshakeHash, staticKey)));
}

/** Checks the peer's binding; IDENTITY_INVALID when it was made for another session, role or key. */
export async function verifyBinding(
  crypto: CryptoProvider,
  personSignKey: Uint8Array,
  role: Role,
  handshakeHash: Uint8Array,
  staticKey: Uint8Array,
  binding: string,
): Promise<void> {
  const ok = await crypto.ed25519Verify(personSignKey, bindingMessage(role, handshakeHash, staticKey), fromBase64url(binding));
  if (!ok) throw new KithError('IDENTITY_INVALID', 'the identity is not bound to this session');
}

/** The 6-digit short authentication string both sides can show ("Pair with Ann? Code 042917"). */
export function shortAuthString(crypto: CryptoProvider, handshakeHash: Uint8Array): string {
  const bytes = crypto.hkdfSha256(handshakeHash, new Uint8Array(0), SAS_INFO, 4);
  return String(readU32(bytes, 0) % 1_000_000).padStart(6, '0');
}
