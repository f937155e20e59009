/**
 * Kith's errors: one class, a stable `code` per failure, a default message a person can
 * read. Compare by `code` (it survives IPC, JSON and bundling), never by `instanceof`.
 * Messages never contain secrets: no keys, tokens, passphrases or invitation links.
 */

/** Every code Kith raises, with the message shown when no more specific one is given. */
export const ERROR_CODES = {
  // general
  INVALID_INPUT: 'The input is not valid.',
  INTERNAL: 'An internal error occurred.',
  NOT_FOUND: 'Not found.',
  ALREADY_EXISTS: 'It already exists.',
  TIMEOUT: 'The operation timed out.',
  CLOSED: 'It has been closed.',
  USAGE: 'Wrong command usage.',
  // canonical JSON and objects
  NOT_CANONICALIZABLE: 'The value cannot be encoded as canonical JSON.',
  OBJECT_INVALID: 'The object does not match its schema.',
  OBJECT_TOO_LARGE: 'The object is larger than allowed.',
  HASH_MISMATCH: 'The content does not match its hash.',
  SIGNATURE_INVALID: 'The signature does not verify.',
  CERTIFICATE_INVALID: 'The instance certificate is not valid for this person.',
  DANGLING_REFERENCE: 'The object references something that is not stored.',
  ACCESS_DENIED: 'Access is not granted.',
  // crypto and keys at rest
  CRYPTO_FAILURE: 'A cryptographic operation failed.',
  DECRYPT_FAILED: 'Decryption failed: the data was altered or the key is wrong.',
  WRONG_PASSPHRASE: 'The passphrase is wrong.',
  PASSPHRASE_REQUIRED: 'A passphrase is needed to unlock the keys (prompt or KITH_PASSPHRASE).',
  KEYFILE_INVALID: 'The key file is damaged or not a Kith key file.',
  HOME_EXISTS: 'This home already holds an identity.',
  HOME_NOT_FOUND: 'No identity in this home: run `kith init --name NAME` first.',
  HOME_LOCKED: 'Another process owns this home.',
  // secure channel and listener
  HANDSHAKE_FAILED: 'The secure handshake failed.',
  HANDSHAKE_TIMEOUT: 'The secure handshake did not finish in time.',
  FRAME_INVALID: 'A malformed frame was received.',
  FRAME_TOO_LARGE: 'A frame exceeded the size limit.',
  REPLAY: 'A replayed handshake message was refused.',
  NONCE_EXHAUSTED: 'The secure session used up its message counter; a new handshake is needed.',
  HOST_REJECTED: 'The Host header is not allowed (DNS rebinding defence).',
  ORIGIN_REJECTED: 'The Origin is not allowed.',
  PATH_REJECTED: 'Unknown endpoint path.',
  UNKNOWN_PEER: 'The peer is not a known contact.',
  RATE_LIMITED: 'Too many attempts from this address; try again later.',
  BUSY: 'Too many handshakes in progress; try again later.',
  DUPLICATE_CONNECTION: 'A connection to this peer already exists.',
  PROTOCOL_ERROR: 'The peer broke the protocol.',
  PEER_CLOSED: 'The peer closed the connection.',
  // pairing
  INVITE_EXPIRED: 'The invitation has expired. Ask for a new one.',
  INVITE_USED: 'The invitation has already been used. Ask for a new one.',
  INVITE_REVOKED: 'The invitation was revoked by its creator. Ask for a new one.',
  INVITE_MALFORMED: 'The invitation link is damaged or incomplete.',
  INVITE_UNKNOWN: 'The inviter does not know this invitation (it may have been used, revoked or expired).',
  KEY_MISMATCH: 'The other side did not prove the key the invitation names. Do not retry with this link.',
  TOO_MANY_ATTEMPTS: 'The invitation was burned after too many failed attempts. Ask for a new one.',
  CONTACT_REVOKED: 'This contact was revoked; lift the revocation before pairing again.',
  UNREACHABLE: 'The other side could not be reached at any of its addresses.',
  PAIRING_DECLINED: 'The other side declined the pairing.',
  IDENTITY_INVALID: 'The identity the other side sent does not verify.',
  // sync
  SYNC_PROTOCOL_ERROR: 'The peer sent an invalid sync message.',
  // object stores
  STORE_LOCKED: 'The object store is already open.',
  STORE_FAILED: 'The object store hit a storage error; close and reopen it.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface KithErrorJSON {
  code: ErrorCode;
  message: string;
}

export class KithError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code], options);
    this.code = code;
    this.name = 'KithError';
  }

  toJSON(): KithErrorJSON {
    return { code: this.code, message: this.message };
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, value);
}

/** True when `err` carries `code`, whichever realm or bundle created it. */
export function hasCode(err: unknown, code: ErrorCode): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Wraps anything thrown into a KithError, keeping the code of one that already has a Kith code. */
export function toKithError(err: unknown, fallback: ErrorCode = 'INTERNAL'): KithError {
  if (err instanceof KithError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (isErrorCode(code)) return new KithError(code, (err as Error).message);
  return new KithError(fallback, undefined, { cause: err });
}
