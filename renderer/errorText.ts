/**
 * Errors in plain language (issue 6: "errors in plain language with what to do next"). Every
 * Kith error code maps to a sentence a person can read and the next step, worded for where
 * it happened: the start link of this window, an invitation this device made, one it is
 * accepting, or anything else. Where the next step is something the app can do (create a new
 * invitation, try again, reload), `action` names it and the banner offers it as a button.
 */
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../shared/errors.js';

/** Where the error happened; the same code reads differently in each place. */
export type ErrorContext = 'start' | 'invite' | 'accept' | 'channels' | 'devices' | 'general';

/** Something the app can do about the error when the person asks. */
export type ErrorActionKind = 'new-invite' | 'retry' | 'reload';

export interface ErrorAdvice {
  readonly code: ErrorCode;
  /** What happened, in one or two sentences. */
  readonly text: string;
  /** The next step, in words (shown as a button label when `action` is set). */
  readonly next?: string;
  readonly action?: ErrorActionKind;
}

/** How this window was started: the restart hint differs between `npm start` and the desktop app. */
export type HostKind = 'browser' | 'electron';

type Entry = { text: string; next?: string; action?: ErrorActionKind };

const PEER_BROKE = { text: 'The other side sent something invalid, so that connection was closed.', next: 'Kith reconnects by itself.' };
const WINDOW_KEYS = { text: 'The keys stored in this window are damaged or belong to someone else.', next: "Clear this site's data in the browser, then reload to start again." };
const HOME = { text: 'The Kith app has a problem with its data folder.', next: 'Check the terminal where Kith runs.' };

/** Every code, in general terms. The compiler checks that none is missing. */
const GENERAL: Record<ErrorCode, Entry> = {
  INVALID_INPUT: { text: 'Something entered is not valid.', next: 'Check it and try again.' },
  INTERNAL: { text: 'Something went wrong inside Kith.', next: 'Reload the window', action: 'reload' },
  NOT_FOUND: { text: 'It could not be found (it may not have arrived yet).', next: 'Wait for the next sync, then try again.' },
  ALREADY_EXISTS: { text: 'It already exists.' },
  TIMEOUT: { text: 'Kith did not answer in time.', next: 'Try again', action: 'retry' },
  CLOSED: { text: 'The connection to Kith is closed right now.', next: 'Wait until the status shows connected, then try again.' },
  USAGE: { text: 'That is not possible here.' },
  NOT_CANONICALIZABLE: { text: 'This cannot be stored: it contains values Kith cannot encode.' },
  OBJECT_INVALID: { text: 'This cannot be stored: it is not in the expected form.', next: 'Shorten the text or the file name and try again.' },
  OBJECT_TOO_LARGE: { text: 'This is too large to store as one message.', next: 'Send less text at once, or send it as a file.' },
  HASH_MISMATCH: { text: 'Some data arrived damaged and was refused.', next: 'Kith fetches it again with the next sync.' },
  SIGNATURE_INVALID: { text: 'A signature did not verify, so the data was refused.' },
  CERTIFICATE_INVALID: { text: "The other side's identity does not hold together, so it was refused.", next: 'Do not pair with it; ask the person to check their app.' },
  DANGLING_REFERENCE: { text: 'Some data it depends on has not arrived yet.', next: 'Wait for the next sync, then try again.' },
  ACCESS_DENIED: { text: 'You do not have access to this.', next: 'Ask its owner to share it with you.' },
  CRYPTO_FAILURE: { text: 'A cryptographic operation failed.', next: 'Reload the window', action: 'reload' },
  DECRYPT_FAILED: { text: 'Data could not be decrypted: it was altered or the key is wrong.' },
  WRONG_PASSPHRASE: { text: 'The passphrase is wrong.', next: 'Restart Kith and enter the right passphrase.' },
  PASSPHRASE_REQUIRED: { text: 'Kith needs its passphrase to unlock its keys.', next: 'Restart Kith and enter the passphrase.' },
  KEYFILE_INVALID: WINDOW_KEYS,
  HOME_EXISTS: HOME,
  HOME_NOT_FOUND: HOME,
  HOME_LOCKED: { text: 'Another Kith process is using the same data folder.', next: 'Close the other Kith, then try again.' },
  HANDSHAKE_FAILED: { text: 'The secure connection could not be set up.', next: 'Check that the link or code belongs to the right device, then try again.' },
  HANDSHAKE_TIMEOUT: { text: 'The other side did not finish setting up the secure connection in time.', next: 'Try again', action: 'retry' },
  FRAME_INVALID: PEER_BROKE,
  FRAME_TOO_LARGE: PEER_BROKE,
  REPLAY: PEER_BROKE,
  NONCE_EXHAUSTED: { text: 'A connection ran out of message numbers and was closed.', next: 'Kith reconnects by itself.' },
  HOST_REJECTED: { text: 'Kith refused this window because of the address it was opened at.', next: 'Open Kith through the link it printed (http://127.0.0.1:…).' },
  ORIGIN_REJECTED: { text: 'Kith refused the connection from this page.', next: 'Open Kith through the link it printed, not from another site.' },
  PATH_REJECTED: { text: 'Kith does not answer at this address.', next: 'Open Kith through the link it printed.' },
  UNKNOWN_PEER: { text: 'The other side does not know this device (it may have been reset).', next: 'Pair again with a new invitation.' },
  RATE_LIMITED: { text: 'Too many attempts in a short time.', next: 'Wait a minute, then try again.' },
  BUSY: { text: 'Kith is busy right now.', next: 'Try again', action: 'retry' },
  DUPLICATE_CONNECTION: { text: 'There is already a connection to this device.' },
  PROTOCOL_ERROR: PEER_BROKE,
  PEER_CLOSED: { text: 'The other side closed the connection.', next: 'Try again', action: 'retry' },
  INVITE_EXPIRED: { text: 'This invitation has expired.', next: 'Ask for a new invitation.' },
  INVITE_USED: { text: 'This invitation has already been used.', next: 'Ask for a new invitation.' },
  INVITE_REVOKED: { text: 'This invitation was withdrawn by the person who made it.', next: 'Ask for a new invitation.' },
  INVITE_MALFORMED: { text: 'This is not a complete Kith invitation.', next: 'Copy the whole link again, or scan the QR code.' },
  INVITE_UNKNOWN: { text: 'The other device does not know this invitation (it may have been used, withdrawn or expired).', next: 'Ask for a new invitation.' },
  KEY_MISMATCH: {
    text: 'The device that answered is not the one the invitation names; someone may be in between.',
    next: 'Do not use this link again. Ask for a new invitation, ideally in person.',
  },
  TOO_MANY_ATTEMPTS: { text: 'This invitation was blocked after too many failed attempts.', next: 'Ask for a new invitation.' },
  CONTACT_REVOKED: { text: 'This contact was revoked.', next: 'Restore it on the Devices screen before pairing again.' },
  UNREACHABLE: {
    text: 'The other device could not be reached.',
    next: 'Make sure it is running and on the same network, then try again.',
  },
  PAIRING_DECLINED: { text: 'The other side declined the pairing.', next: 'Ask them for a new invitation if that was a mistake.' },
  IDENTITY_INVALID: { text: "The other side's identity does not verify, so it was refused.", next: 'Do not pair with it; ask the person to check their app.' },
  SYNC_PROTOCOL_ERROR: PEER_BROKE,
  STORE_LOCKED: { text: "This window's storage is in use by another Kith tab.", next: 'Close the other Kith tabs, then reload', action: 'reload' },
  STORE_FAILED: { text: "This window's storage failed.", next: 'Reload the window', action: 'reload' },
};

/** The start link of this window (first run): only a restart of Kith makes a new one. */
function startEntry(code: ErrorCode, host: HostKind): Entry | undefined {
  const restart = host === 'electron' ? 'Restart Kith to get a new one.' : 'Restart Kith (npm start) to get a new one.';
  switch (code) {
    case 'INVITE_EXPIRED':
      return { text: 'This start link has expired.', next: restart };
    case 'INVITE_USED':
      return { text: 'This start link has already been used.', next: restart };
    case 'INVITE_REVOKED':
    case 'INVITE_UNKNOWN':
    case 'TOO_MANY_ATTEMPTS':
      return { text: 'Kith no longer accepts this start link.', next: restart };
    case 'INVITE_MALFORMED':
      return { text: 'The start link of this window is damaged or incomplete.', next: host === 'electron' ? 'Restart Kith.' : 'Open the whole link that npm start printed.' };
    case 'NOT_FOUND':
      return {
        text: 'This window has no usable start link.',
        next: host === 'electron' ? 'Restart Kith.' : 'Open the link that npm start printed (it ends with #invite=…).',
      };
    case 'UNREACHABLE':
    case 'PEER_CLOSED':
    case 'HANDSHAKE_TIMEOUT':
      return { text: 'Kith could not be reached.', next: 'Check that Kith is still running, then try again', action: 'retry' };
    case 'KEY_MISMATCH':
      return { text: 'The Kith that answered is not the one that made this start link.', next: restart };
    default:
      return undefined;
  }
}

/** An invitation this device made and shows (Invite screen): the fix is a new one. */
function inviteEntry(code: ErrorCode): Entry | undefined {
  switch (code) {
    case 'INVITE_EXPIRED':
      return { text: 'This invitation has expired.', next: 'Create a new invitation', action: 'new-invite' };
    case 'INVITE_USED':
      return { text: 'This invitation has already been used.', next: 'Create a new invitation', action: 'new-invite' };
    case 'INVITE_REVOKED':
      return { text: 'This invitation was withdrawn.', next: 'Create a new invitation', action: 'new-invite' };
    case 'TOO_MANY_ATTEMPTS':
      return { text: 'This invitation was blocked after too many failed attempts (someone may have guessed at it).', next: 'Create a new invitation', action: 'new-invite' };
    case 'INVITE_UNKNOWN':
      return { text: 'Kith no longer knows this invitation.', next: 'Create a new invitation', action: 'new-invite' };
    default:
      return undefined;
  }
}

/** Accepting another device's invitation: a retry helps only when it could not be reached. */
function acceptEntry(code: ErrorCode): Entry | undefined {
  if (code === 'UNREACHABLE') return { ...GENERAL.UNREACHABLE, next: 'Make sure it is running and on the same network, then try again', action: 'retry' };
  return undefined;
}

/** The advice for `code` (anything that is not a Kith code reads as INTERNAL) in `context`. */
export function adviseError(code: unknown, context: ErrorContext, host: HostKind = 'browser'): ErrorAdvice {
  const known: ErrorCode = isErrorCode(code) ? code : 'INTERNAL';
  const entry =
    (context === 'start' ? startEntry(known, host) : context === 'invite' ? inviteEntry(known) : context === 'accept' ? acceptEntry(known) : undefined) ??
    GENERAL[known] ?? { text: ERROR_CODES[known] };
  return { code: known, ...entry };
}
