/**
 * Main's keys under Electron (DESIGN §2: "Desktop app: Electron safeStorage"). A random
 * 256-bit key becomes the key file's passphrase; that key is sealed by the OS keychain through
 * `safeStorage` (Keychain on macOS, DPAPI on Windows, libsecret/KWallet on Linux) and kept next
 * to the key file as `keys.safe`. Nobody types anything, and a copy of the home alone does not
 * open the keys on another machine or account.
 *
 * When safeStorage cannot protect anything — no keychain, or Linux's `basic_text` backend,
 * which "encrypts" with a constant password — this falls back to the passphrase protector
 * (KITH_PASSPHRASE or the terminal prompt). Homes created by `npm start` in Node have no
 * `keys.safe` and keep using their passphrase.
 *
 * Only `import type` from electron: the real `safeStorage` is passed in, tests pass a fake.
 */
import { promises as fsp, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import type { SafeStorage } from 'electron';
import type { KeyProtector, NewHomeSecret } from '../keyProtector.js';
import { writeFileAtomic } from '../../cli/home.js';
import { toBase64url } from '../../shared/bytes.js';
import { KithError } from '../../shared/errors.js';
import { MAX_SEALED_KEY_BYTES } from '../../shared/limits.js';

/** The file in the home that holds the sealed key-file key. */
export const SEALED_KEY_FILE = 'keys.safe';
/** Bytes of the random key-file key. */
const KEY_BYTES = 32;

/** The part of Electron's safeStorage used here. */
export type SafeStorageLike = Pick<SafeStorage, 'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync'> &
  Partial<Pick<SafeStorage, 'getSelectedStorageBackend'>>;

export interface SafeStorageProtectorOptions {
  readonly safeStorage: SafeStorageLike;
  readonly platform: NodeJS.Platform;
  /** Used when safeStorage cannot protect anything, and for homes without `keys.safe`. */
  readonly fallback: KeyProtector;
  /** Random bytes (the crypto provider's). */
  readonly randomBytes: (n: number) => Uint8Array;
}

/** True when safeStorage really encrypts with a secret the OS keeps (not Linux's hard-coded basic_text password). */
export async function safeStorageUsable(safeStorage: SafeStorageLike, platform: NodeJS.Platform): Promise<boolean> {
  if (!(await safeStorage.isAsyncEncryptionAvailable())) return false;
  if (platform !== 'linux') return true;
  const backend = safeStorage.getSelectedStorageBackend?.();
  return backend !== undefined && backend !== 'basic_text' && backend !== 'unknown';
}

async function readSealed(file: string): Promise<Buffer | undefined> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new KithError('KEYFILE_INVALID', `cannot read ${SEALED_KEY_FILE} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_SEALED_KEY_BYTES) throw new KithError('KEYFILE_INVALID', `${SEALED_KEY_FILE} is not a sealed key`);
    const buf = Buffer.alloc(MAX_SEALED_KEY_BYTES + 1);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    if (bytesRead === 0 || bytesRead > MAX_SEALED_KEY_BYTES) throw new KithError('KEYFILE_INVALID', `${SEALED_KEY_FILE} is not a sealed key`);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export function safeStorageProtector(opts: SafeStorageProtectorOptions): KeyProtector {
  const fileIn = (home: string) => path.join(home, SEALED_KEY_FILE);
  const seal = async (home: string, key: string) => {
    const sealed = await opts.safeStorage.encryptStringAsync(key);
    await fsp.mkdir(home, { recursive: true, mode: 0o700 });
    await writeFileAtomic(fileIn(home), sealed, { mode: 0o600, overwrite: true });
  };
  return {
    async newHome(home): Promise<NewHomeSecret> {
      if (!(await safeStorageUsable(opts.safeStorage, opts.platform))) return opts.fallback.newHome(home);
      const key = toBase64url(opts.randomBytes(KEY_BYTES));
      // Sealed and on disk before the key file exists: a key file whose key was never saved could not be opened again.
      await seal(home, key);
      return { passphrase: key };
    },
    async unlock(home) {
      const sealed = await readSealed(fileIn(home));
      if (!sealed) return opts.fallback.unlock(home);
      if (!(await opts.safeStorage.isAsyncEncryptionAvailable())) {
        throw new KithError('PASSPHRASE_REQUIRED', `the app's keys are sealed by the system keychain, which is not available now; unlock the keychain (log in to the desktop session) and start Kith again`);
      }
      let opened: { result: string; shouldReEncrypt: boolean };
      try {
        opened = await opts.safeStorage.decryptStringAsync(sealed);
      } catch {
        throw new KithError('DECRYPT_FAILED', `the system keychain cannot open ${SEALED_KEY_FILE} (was the home copied from another account or machine?)`);
      }
      // The keychain rotated its key: store the key-file key under the new one.
      if (opened.shouldReEncrypt) await seal(home, opened.result).catch(() => {});
      return opened.result;
    },
  };
}
