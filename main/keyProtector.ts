/**
 * How the app host protects main's secret keys at rest (DESIGN §2). The host does not care
 * where the secret comes from: under Node it is the person's passphrase (KITH_PASSPHRASE or a
 * prompt, as for `kith`), under Electron a random key sealed by the OS keychain through
 * `safeStorage` (main/electron/safeStorageProtector.ts). Either way it ends up as the
 * key file's passphrase (shared/keyfile.ts), so one key-file format serves every host.
 */
import { getPassphrase, type PassphraseIO } from '../cli/passphrase.js';
import { KithError, hasCode } from '../shared/errors.js';

/** How a new home's keys are sealed. */
export type NewHomeSecret = { readonly passphrase: string } | { readonly insecurePlaintext: true };

export interface KeyProtector {
  /** The secret that seals the keys of a home created now (asked once, before anything is written). */
  newHome(home: string): Promise<NewHomeSecret>;
  /** The passphrase of an existing home's key file; asked only when the file is protected. */
  unlock(home: string): Promise<string>;
}

/** This process's environment and terminal; stdin is touched only when a prompt is shown (creating it keeps some terminals busy). */
export function processPassphraseIO(): PassphraseIO {
  return {
    env: process.env,
    get stdin() {
      return process.stdin;
    },
    stderr: process.stderr,
  };
}

/** What to tell a person who started the app where nobody can type a passphrase. */
export const PASSPHRASE_HINT =
  'the app keeps its keys under a passphrase: set KITH_PASSPHRASE, start it in a terminal to be asked, or pass --insecure-plaintext-keys to store them unencrypted';

/** Replaces a bare PASSPHRASE_REQUIRED with one that says what to do. */
function withHint(err: unknown): never {
  if (hasCode(err, 'PASSPHRASE_REQUIRED')) throw new KithError('PASSPHRASE_REQUIRED', PASSPHRASE_HINT);
  throw err;
}

/**
 * The Node host's protector: KITH_PASSPHRASE, else a no-echo prompt on the terminal (twice for a
 * new home), else PASSPHRASE_REQUIRED with a hint. With `insecurePlaintext`, a new home's keys
 * are written unencrypted (mode 0600) — the caller warns about it.
 */
export function passphraseProtector(io: PassphraseIO, options: { insecurePlaintext?: boolean } = {}): KeyProtector {
  return {
    async newHome() {
      if (options.insecurePlaintext) return { insecurePlaintext: true };
      return { passphrase: await getPassphrase(io, { confirm: true }).catch(withHint) };
    },
    async unlock() {
      return getPassphrase(io, { confirm: false }).catch(withHint);
    },
  };
}
