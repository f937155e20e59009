/**
 * The instance home on disk (Node): where a CLI node keeps its identity, its keys and,
 * later, its state, object store and control socket.
 *
 *   identity.json   the PublicIdentity (public; verified whenever it is read)
 *   keys.json       the key file (shared/keyfile.ts), mode 0600
 *   kith.lock       the pid of the one process that owns the home
 *   state/          small lowdb state (reserved)
 *   store/          the object store (reserved)
 *   control.sock    the owner's control socket (reserved)
 *
 * Files are published atomically and never overwritten by accident: written to a temp
 * file, fsynced, then hard-linked into place (link fails if the name exists, rename
 * would not), then the directory is fsynced.
 */
import { promises as fsp, constants as fsc, readFileSync, unlinkSync } from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { createLocalIdentity, verifyIdentity, type LocalIdentity, type VerifiedIdentity } from '../shared/identity.js';
import { normalizePassphrase, openKeyFile, parseKeyFile, sealKeyFile, wipeKeyBundle, type KeyFile, type KeyProtection } from '../shared/keyfile.js';
import { parseJson } from '../shared/canonical.js';
import { equalBytes, fromBase64url, fromUtf8, wipe } from '../shared/bytes.js';
import { KithError, hasCode, type ErrorCode } from '../shared/errors.js';
import {
  LOCK_RETRY_MS,
  LOCK_SETTLE_MS,
  LOCK_TAKEOVER_ATTEMPTS,
  MAX_IDENTITY_FILE_BYTES,
  MAX_KEYFILE_BYTES,
  MAX_LOCK_FILE_BYTES,
} from '../shared/limits.js';

/** The names inside a home. Later parts (state, store, control socket) use these, never literals. */
export const HOME_ENTRIES = {
  identity: 'identity.json',
  keys: 'keys.json',
  lock: 'kith.lock',
  state: 'state',
  store: 'store',
  controlSocket: 'control.sock',
} as const;

/** Absolute paths of everything in one home. */
export type HomePaths = { readonly root: string } & { readonly [K in keyof typeof HOME_ENTRIES]: string };

/** What `kith serve` and `kith init` print when keys are stored unencrypted. */
export const PLAINTEXT_KEYS_WARNING = 'secret keys are stored UNENCRYPTED in keys.json (--insecure-plaintext-keys); anyone who can read that file can act as you';

export function homePaths(dir: string): HomePaths {
  const root = path.resolve(dir);
  const at = (name: string) => path.join(root, name);
  return {
    root,
    identity: at(HOME_ENTRIES.identity),
    keys: at(HOME_ENTRIES.keys),
    lock: at(HOME_ENTRIES.lock),
    state: at(HOME_ENTRIES.state),
    store: at(HOME_ENTRIES.store),
    controlSocket: at(HOME_ENTRIES.controlSocket),
  };
}

/** Where the platform keeps the default home, given its environment (injected for tests). */
export interface PlatformEnv {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** The user's home directory. */
  readonly homedir: string;
  /** Base for a relative KITH_HOME. */
  readonly cwd: string;
}

/** `$KITH_HOME`, else the platform's app-data folder. */
export function defaultHomeDir(p: PlatformEnv = { env: process.env, platform: process.platform, homedir: os.homedir(), cwd: process.cwd() }): string {
  if (p.env.KITH_HOME) return path.resolve(p.cwd, p.env.KITH_HOME);
  if (p.platform === 'win32') {
    const appData = p.env.APPDATA;
    const base = appData && path.win32.isAbsolute(appData) ? appData : path.win32.join(p.homedir, 'AppData', 'Roaming');
    return path.win32.join(base, 'Kith');
  }
  if (p.platform === 'darwin') return path.posix.join(p.homedir, 'Library', 'Application Support', 'Kith');
  // XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and must be ignored.
  const xdg = p.env.XDG_DATA_HOME;
  const base = xdg && path.posix.isAbsolute(xdg) ? xdg : path.posix.join(p.homedir, '.local', 'share');
  return path.posix.join(base, 'kith');
}

// ---- small file helpers ---------------------------------------------------------------

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function ioError(err: unknown, what: string): KithError {
  if (err instanceof KithError) return err;
  return new KithError('INTERNAL', `cannot access ${what} (${errno(err) ?? 'I/O error'})`, { cause: err });
}

/** Hard links are missing on FAT and some network filesystems; there we fall back to check-then-rename under the home lock. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** A unique sibling name for a temp file (created with `wx`, so a collision fails instead of clobbering). */
function tmpName(target: string): string {
  const unique = `${process.pid}.${process.hrtime.bigint()}.${Math.random().toString(36).slice(2)}`;
  return path.join(path.dirname(target), `.${path.basename(target)}.${unique}.tmp`);
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch (err) {
    // Windows cannot open or fsync a directory; its rename/link is durable enough there.
    if (process.platform !== 'win32') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `data` to `target` atomically: temp file (created exclusively, `mode`, fsynced),
 * then published, then the directory fsynced. Without `overwrite`, an existing target
 * throws `ALREADY_EXISTS` and is left untouched.
 */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: { mode: number; overwrite?: boolean }): Promise<void> {
  const tmp = tmpName(target);
  const handle = await fsp.open(tmp, 'wx', options.mode);
  try {
    try {
      await handle.chmod(options.mode); // the umask may have narrowed it; never widened
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (options.overwrite) {
      await fsp.rename(tmp, target);
    } else {
      try {
        await fsp.link(tmp, target);
      } catch (err) {
        if (errno(err) === 'EEXIST') throw new KithError('ALREADY_EXISTS', `${path.basename(target)} already exists`);
        if (!NO_LINK.has(errno(err) ?? '')) throw err;
        if (await exists(target)) throw new KithError('ALREADY_EXISTS', `${path.basename(target)} already exists`);
        await fsp.rename(tmp, target);
      }
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  await fsyncDir(path.dirname(target));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fsp.lstat(p);
    return true;
  } catch (err) {
    // ENOTDIR: a parent is a file, so nothing can exist below it.
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return false;
    throw ioError(err, p);
  }
}

/**
 * Reads a regular file of at most `max` bytes; null when it does not exist. Opened
 * non-blocking so a FIFO planted in the home cannot hang us; size checked before reading.
 */
async function readBounded(file: string, max: number, code: ErrorCode, what: string): Promise<Uint8Array | null> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    if (errno(err) === 'ENOENT') return null;
    throw ioError(err, what);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new KithError(code, `${what} is not a regular file`);
    if (st.size > max) throw new KithError(code, `${what} is larger than ${max} bytes`);
    // One byte of slack tells us the file grew past `max` after the stat.
    const buf = new Uint8Array(max + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > max) {
        wipe(buf);
        throw new KithError(code, `${what} is larger than ${max} bytes`);
      }
    }
    const out = buf.slice(0, total);
    wipe(buf);
    return out;
  } catch (err) {
    throw ioError(err, what);
  } finally {
    await handle.close();
  }
}

// ---- identity and keys ----------------------------------------------------------------

/** True when the home holds an identity or a key file (either means: do not create one here). */
export async function homeExists(dir: string): Promise<boolean> {
  const p = homePaths(dir);
  return (await exists(p.identity)) || (await exists(p.keys));
}

async function assertNoHome(p: HomePaths): Promise<void> {
  if (await exists(p.identity)) throw new KithError('HOME_EXISTS', `${p.root} already holds an identity`);
  if (await exists(p.keys)) {
    throw new KithError('HOME_EXISTS', `${p.root} holds a key file without an identity (an interrupted init?); move keys.json away to start over`);
  }
}

export interface CreateHomeOptions {
  /** The person's display name (Profile). */
  readonly name: string;
  /** This instance's name. */
  readonly instanceName: string;
  /** The person's email (Profile), optional. */
  readonly email?: string;
  /** Protects the keys with this passphrase… */
  readonly passphrase?: string;
  /** …or writes them unencrypted, when the person asked for it explicitly. */
  readonly insecurePlaintext?: boolean;
  readonly crypto: CryptoProvider;
  /** Milliseconds since the epoch (certificate and profile version). */
  readonly now: number;
  /** TESTS ONLY: a smaller scrypt cost (see shared/keyfile.ts). */
  readonly testOnlyScryptN?: number;
}

/**
 * Creates a person, an instance, its certificate and profile in `dir` (created with mode
 * 0700 if missing). Fails with HOME_EXISTS if an identity or key file is there; never
 * overwrites. Holds the home lock while writing. Returns the new identity with its
 * secrets: the caller should wipe them when done (`wipeLocalIdentity`).
 */
export async function createHome(dir: string, options: CreateHomeOptions): Promise<LocalIdentity> {
  const p = homePaths(dir);
  // Refuse bad protection options before anything touches the disk.
  if ((options.passphrase !== undefined) === (options.insecurePlaintext === true)) {
    throw new KithError('INVALID_INPUT', 'createHome: give either a passphrase or insecurePlaintext: true');
  }
  const passphrase = options.passphrase === undefined ? undefined : normalizePassphrase(options.passphrase);
  // Generating keys is cheap and validates the names and email (the schema) before we touch the disk.
  const local = await createLocalIdentity(options.crypto, {
    personName: options.name,
    instanceName: options.instanceName,
    email: options.email,
    now: options.now,
  });
  try {
    await writeNewHome(p, local, passphrase, options);
    return local;
  } catch (err) {
    wipeLocalIdentity(local);
    throw err;
  }
}

async function writeNewHome(p: HomePaths, local: LocalIdentity, passphrase: string | undefined, options: CreateHomeOptions): Promise<void> {
  await ensureDir(p.root);
  await assertNoHome(p);
  const lock = await acquireHomeLock(p.root);
  try {
    await assertNoHome(p);
    const keyText = await sealKeyFile(
      options.crypto,
      { person: local.personSecrets, instance: local.instanceSecrets },
      { passphrase, insecurePlaintext: options.insecurePlaintext, testOnlyScryptN: options.testOnlyScryptN },
    );
    try {
      await writeFileAtomic(p.keys, keyText, { mode: 0o600 });
    } catch (err) {
      if (hasCode(err, 'ALREADY_EXISTS')) throw new KithError('HOME_EXISTS', `${p.root} already holds a key file`);
      throw ioError(err, p.keys);
    }
    try {
      await writeFileAtomic(p.identity, `${JSON.stringify(local.public, null, 2)}\n`, { mode: 0o644 });
    } catch (err) {
      // Under the lock the key file is the one we just wrote: without its identity it is useless.
      await fsp.rm(p.keys, { force: true });
      if (hasCode(err, 'ALREADY_EXISTS')) throw new KithError('HOME_EXISTS', `${p.root} already holds an identity`);
      throw ioError(err, p.identity);
    }
  } finally {
    await lock.release();
  }
}

async function ensureDir(root: string): Promise<void> {
  try {
    await fsp.mkdir(path.dirname(root), { recursive: true });
    await fsp.mkdir(root, { mode: 0o700 });
    return;
  } catch (err) {
    if (errno(err) !== 'EEXIST' && errno(err) !== 'ENOTDIR') throw ioError(err, root);
  }
  const isDir = await fsp.stat(root).then((st) => st.isDirectory(), () => false);
  if (!isDir) throw new KithError('INVALID_INPUT', `${root} is not a directory`);
}

/** Reads and verifies the public identity; needs no secrets. HOME_NOT_FOUND when there is none. */
export async function loadPublicIdentity(dir: string, crypto: CryptoProvider): Promise<VerifiedIdentity> {
  const p = homePaths(dir);
  const bytes = await readBounded(p.identity, MAX_IDENTITY_FILE_BYTES, 'IDENTITY_INVALID', HOME_ENTRIES.identity);
  if (bytes === null) throw new KithError('HOME_NOT_FOUND', `no identity in ${p.root}: run \`kith init --name NAME\` first`);
  let value: unknown;
  try {
    value = parseJson(fromUtf8(bytes, HOME_ENTRIES.identity), { maxBytes: MAX_IDENTITY_FILE_BYTES, integersOnly: true });
  } catch (err) {
    throw new KithError('IDENTITY_INVALID', `${HOME_ENTRIES.identity}: ${(err as Error).message}`);
  }
  return verifyIdentity(crypto, value);
}

async function readKeyFile(p: HomePaths): Promise<KeyFile> {
  const bytes = await readBounded(p.keys, MAX_KEYFILE_BYTES, 'KEYFILE_INVALID', HOME_ENTRIES.keys);
  if (bytes === null) throw new KithError('KEYFILE_INVALID', `${HOME_ENTRIES.keys} is missing from ${p.root}`);
  try {
    return parseKeyFile(bytes);
  } finally {
    wipe(bytes);
  }
}

/** How the home's keys are protected (so `serve` can warn about plaintext keys on start). */
export async function readKeyProtection(dir: string): Promise<KeyProtection> {
  return (await readKeyFile(homePaths(dir))).protection;
}

export interface UnlockOptions {
  readonly crypto: CryptoProvider;
  /** The passphrase, or a function asked only when the keys are protected (a prompt). */
  readonly passphrase?: string | (() => Promise<string>);
  /** TESTS ONLY: accept a key file sealed with this smaller scrypt cost. */
  readonly testOnlyScryptN?: number;
}

/**
 * Loads the identity and its secrets. Checks that the secrets are the keys the public
 * identity names, so a key file from another home is refused. Reads only; a wrong
 * passphrase changes nothing on disk.
 */
export async function unlockHome(dir: string, options: UnlockOptions): Promise<LocalIdentity> {
  const p = homePaths(dir);
  const crypto = options.crypto;
  const verified = await loadPublicIdentity(p.root, crypto);
  const file = await readKeyFile(p);
  let passphrase: string | undefined;
  if (file.protection === 'passphrase') {
    passphrase = typeof options.passphrase === 'function' ? await options.passphrase() : options.passphrase;
    if (passphrase === undefined) throw new KithError('PASSPHRASE_REQUIRED');
  }
  const bundle = await openKeyFile(crypto, file, { passphrase, testOnlyScryptN: options.testOnlyScryptN });
  const person = verified.identity.person;
  const matches =
    equalBytes(await crypto.ed25519PublicKey(bundle.person.signSecret), verified.personSignKey) &&
    equalBytes(await crypto.x25519PublicKey(bundle.person.encryptSecret), fromBase64url(person.encryptKey)) &&
    equalBytes(await crypto.ed25519PublicKey(bundle.instance.signSecret), verified.instanceSignKey) &&
    equalBytes(await crypto.x25519PublicKey(bundle.instance.staticSecret), verified.staticKey);
  if (!matches) {
    wipeKeyBundle(bundle);
    throw new KithError('KEYFILE_INVALID', `${HOME_ENTRIES.keys} holds keys of a different identity than ${HOME_ENTRIES.identity}`);
  }
  return {
    public: verified.identity,
    personId: verified.personId,
    instanceId: verified.instanceId,
    personSecrets: bundle.person,
    instanceSecrets: bundle.instance,
  };
}

/** Overwrites the secrets of a LocalIdentity once nobody needs them any more. */
export function wipeLocalIdentity(local: LocalIdentity): void {
  wipeKeyBundle({ person: local.personSecrets, instance: local.instanceSecrets });
}

// ---- the home lock --------------------------------------------------------------------

/** The lock a process holds on a home. */
export interface HomeLock {
  /** The lock file. */
  readonly path: string;
  /** The pid written into it. */
  readonly pid: number;
  /** Removes the lock if it is still ours. Idempotent. */
  release(): Promise<void>;
  /** The same, synchronously, for `process.on('exit')` handlers. */
  releaseSync(): void;
}

export interface LockOptions {
  /** The pid to record (default: this process). Tests use distinct fake pids to race in one process. */
  readonly pid?: number;
  /** Whether a pid is a running process (default: `process.kill(pid, 0)`). */
  readonly isAlive?: (pid: number) => boolean;
}

/** Who wrote a lock: the pid plus the writer's start time, so a restarted process that got the same pid (pid 1 in a container) can tell its predecessor's lock from its own. */
interface LockOwner {
  readonly pid: number;
  readonly started: number;
}

type LockState =
  | { readonly kind: 'missing' }
  | { readonly kind: 'owned'; readonly owner: LockOwner; readonly ino: number }
  | { readonly kind: 'unreadable'; readonly ino: number; readonly mtimeMs: number };

const MAX_PID = 0xffff_ffff;

export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else — alive all the same.
    return errno(err) === 'EPERM';
  }
}

function parseOwner(bytes: Uint8Array): LockOwner | null {
  try {
    const value = parseJson(fromUtf8(bytes), { maxBytes: MAX_LOCK_FILE_BYTES }) as Record<string, unknown>;
    const keys = typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value).sort().join() : '';
    const { pid, started } = value;
    if (keys !== 'pid,started' || !Number.isSafeInteger(pid) || typeof started !== 'number') return null;
    if ((pid as number) < 1 || (pid as number) > MAX_PID) return null;
    return { pid: pid as number, started };
  } catch {
    return null;
  }
}

async function readLock(file: string): Promise<LockState> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, fsc.O_RDONLY | (fsc.O_NONBLOCK ?? 0));
  } catch (err) {
    if (errno(err) === 'ENOENT') return { kind: 'missing' };
    throw ioError(err, path.basename(file));
  }
  try {
    const st = await handle.stat();
    const buf = new Uint8Array(MAX_LOCK_FILE_BYTES);
    const { bytesRead } = st.isFile() ? await handle.read(buf, 0, buf.length, 0) : { bytesRead: 0 };
    const owner = st.size <= MAX_LOCK_FILE_BYTES ? parseOwner(buf.subarray(0, bytesRead)) : null;
    return owner ? { kind: 'owned', owner, ino: st.ino } : { kind: 'unreadable', ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await handle.close();
  }
}

/** Creates `file` holding `owner` only if it does not exist; the content is complete the moment the name appears. */
async function createExclusive(file: string, owner: LockOwner): Promise<boolean> {
  const text = `${JSON.stringify(owner)}\n`;
  const tmp = tmpName(file);
  try {
    await fsp.writeFile(tmp, text, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    throw ioError(err, path.basename(file));
  }
  try {
    await fsp.link(tmp, file);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    if (!NO_LINK.has(errno(err) ?? '')) throw ioError(err, path.basename(file));
    // No hard links: create in place; readers give an unreadable lock LOCK_SETTLE_MS to fill.
    try {
      await fsp.writeFile(file, text, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (err2) {
      if (errno(err2) === 'EEXIST') return false;
      throw ioError(err2, path.basename(file));
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

/**
 * Takes the home lock: creates `kith.lock` exclusively with this process's pid. A lock
 * whose process is gone is stale and is taken over; HOME_LOCKED (naming the pid) when a
 * live process holds it, this process included.
 *
 * Stale takeover is race-free: only the holder of `kith.lock.takeover` (itself created
 * exclusively) may delete a stale lock, and it re-checks under that guard that the lock
 * is still the same stale file. Others retry, then see the winner's live lock.
 */
export async function acquireHomeLock(dir: string, options: LockOptions = {}): Promise<HomeLock> {
  const p = homePaths(dir);
  const me: LockOwner = { pid: options.pid ?? process.pid, started: performance.timeOrigin };
  const isAlive = options.isAlive ?? pidIsAlive;
  const guard = `${p.lock}.takeover`;

  /** Null when the lock is stale; otherwise the error to throw. */
  const heldError = (state: LockState): KithError | null => {
    if (state.kind === 'missing') return null;
    if (state.kind === 'unreadable') {
      return Date.now() - state.mtimeMs < LOCK_SETTLE_MS ? new KithError('HOME_LOCKED', `${p.root} is being locked by another process`) : null;
    }
    const { pid, started } = state.owner;
    if (pid === me.pid) {
      return started === me.started ? new KithError('HOME_LOCKED', `this process (pid ${pid}) already owns ${p.root}`) : null;
    }
    return isAlive(pid) ? new KithError('HOME_LOCKED', `another process (pid ${pid}) owns ${p.root}`) : null;
  };

  for (let attempt = 0; attempt < LOCK_TAKEOVER_ATTEMPTS; attempt++) {
    if (await createExclusive(p.lock, me)) return heldLock(p.lock, me);
    const seen = await readLock(p.lock);
    if (seen.kind === 'missing') continue; // released meanwhile
    const held = heldError(seen);
    if (held) throw held;
    if (await createExclusive(guard, me)) {
      try {
        // Under the guard nobody else deletes the lock, and its dead owner cannot; so if it is still the file we judged stale, it stays so until we remove it.
        const again = await readLock(p.lock);
        if (again.kind !== 'missing' && again.ino === seen.ino && heldError(again) === null) await fsp.rm(p.lock, { force: true });
        if (await createExclusive(p.lock, me)) return heldLock(p.lock, me);
      } finally {
        await fsp.rm(guard, { force: true });
      }
    } else {
      const g = await readLock(guard);
      // A guard left by a process that died mid-takeover (a window of microseconds) would block everyone: clear it.
      if (g.kind !== 'missing' && heldError(g) === null) await fsp.rm(guard, { force: true });
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
  }
  const last = await readLock(p.lock);
  throw heldError(last) ?? new KithError('HOME_LOCKED', `${p.root}: could not take over a stale lock`);
}

function heldLock(file: string, me: LockOwner): HomeLock {
  const ours = (bytes: Uint8Array): boolean => {
    const owner = parseOwner(bytes);
    return owner !== null && owner.pid === me.pid && owner.started === me.started;
  };
  return {
    path: file,
    pid: me.pid,
    async release() {
      const bytes = await readBounded(file, MAX_LOCK_FILE_BYTES, 'INTERNAL', HOME_ENTRIES.lock).catch(() => null);
      if (bytes && ours(bytes)) await fsp.rm(file, { force: true });
    },
    releaseSync() {
      try {
        if (ours(readFileSync(file))) unlinkSync(file);
      } catch {
        // Gone already, or unreadable: not ours to remove.
      }
    },
  };
}
