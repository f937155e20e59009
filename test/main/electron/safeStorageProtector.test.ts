import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeStorageProtector, safeStorageUsable, SEALED_KEY_FILE, type SafeStorageLike } from '../../../main/electron/safeStorageProtector.js';
import type { KeyProtector } from '../../../main/keyProtector.js';
import { hasCode, KithError } from '../../../shared/errors.js';

/** A keychain stand-in: XOR with a per-"machine" byte, plus a marker so foreign data fails to open. */
function fakeSafeStorage(opts: { available?: boolean; backend?: ReturnType<NonNullable<SafeStorageLike['getSelectedStorageBackend']>>; machine?: number; rotate?: boolean } = {}): SafeStorageLike & { encryptions: number } {
  const machine = opts.machine ?? 7;
  const s = {
    encryptions: 0,
    async isAsyncEncryptionAvailable() {
      return opts.available ?? true;
    },
    getSelectedStorageBackend: () => opts.backend ?? 'gnome_libsecret',
    async encryptStringAsync(plain: string) {
      s.encryptions++;
      return Buffer.from([machine, ...Buffer.from(plain, 'utf8').map((b) => b ^ machine)]);
    },
    async decryptStringAsync(sealed: Buffer) {
      if (sealed[0] !== machine) throw new Error('keychain: cannot decrypt');
      return { result: Buffer.from(sealed.subarray(1).map((b) => b ^ machine)).toString('utf8'), shouldReEncrypt: opts.rotate ?? false };
    },
  };
  return s;
}

const fallback: KeyProtector & { calls: string[] } = {
  calls: [],
  async newHome() {
    fallback.calls.push('newHome');
    return { passphrase: 'typed passphrase' };
  },
  async unlock() {
    fallback.calls.push('unlock');
    return 'typed passphrase';
  },
};

async function home(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-safe-'));
  return { dir: join(dir, 'home'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

test('a new home gets a random 256-bit key, sealed by the keychain in keys.safe (0600), and unlocks with it', async () => {
  const h = await home();
  try {
    const safe = fakeSafeStorage();
    const p = safeStorageProtector({ safeStorage: safe, platform: 'linux', fallback, randomBytes: (n) => randomBytes(n) });
    const secret = await p.newHome(h.dir);
    assert.ok('passphrase' in secret);
    const key = (secret as { passphrase: string }).passphrase;
    assert.match(key, /^[A-Za-z0-9_-]{43}$/);
    const file = join(h.dir, SEALED_KEY_FILE);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!(await readFile(file)).includes(Buffer.from(key)), 'the key is not on disk in the clear');
    assert.equal(await p.unlock(h.dir), key);
    const other = await safeStorageProtector({ safeStorage: safe, platform: 'linux', fallback, randomBytes: (n) => randomBytes(n) }).newHome(join(h.dir, 'b'));
    assert.notEqual((other as { passphrase: string }).passphrase, key, 'random per home');
  } finally {
    await h.cleanup();
  }
});

test('without a usable keychain (none, or Linux basic_text) the passphrase protector takes over', async () => {
  assert.equal(await safeStorageUsable(fakeSafeStorage({ available: false }), 'darwin'), false);
  assert.equal(await safeStorageUsable(fakeSafeStorage({ backend: 'basic_text' }), 'linux'), false);
  assert.equal(await safeStorageUsable(fakeSafeStorage({ backend: 'unknown' }), 'linux'), false);
  assert.equal(await safeStorageUsable(fakeSafeStorage({ backend: 'basic_text' }), 'win32'), true, 'the backend name is a Linux matter');
  assert.equal(await safeStorageUsable(fakeSafeStorage({ backend: 'kwallet5' }), 'linux'), true);
  const h = await home();
  try {
    fallback.calls.length = 0;
    const p = safeStorageProtector({ safeStorage: fakeSafeStorage({ backend: 'basic_text' }), platform: 'linux', fallback, randomBytes: (n) => randomBytes(n) });
    assert.deepEqual(await p.newHome(h.dir), { passphrase: 'typed passphrase' });
    // A home without keys.safe (made by `npm start` in Node) keeps its passphrase.
    assert.equal(await p.unlock(h.dir), 'typed passphrase');
    assert.deepEqual(fallback.calls, ['newHome', 'unlock']);
  } finally {
    await h.cleanup();
  }
});

test('a sealed key the keychain cannot open, a damaged file, or a locked keychain fail with a code', async () => {
  const h = await home();
  try {
    const p = safeStorageProtector({ safeStorage: fakeSafeStorage({ machine: 1 }), platform: 'darwin', fallback, randomBytes: (n) => randomBytes(n) });
    await p.newHome(h.dir);
    const elsewhere = safeStorageProtector({ safeStorage: fakeSafeStorage({ machine: 2 }), platform: 'darwin', fallback, randomBytes: (n) => randomBytes(n) });
    await assert.rejects(elsewhere.unlock(h.dir), (err) => hasCode(err, 'DECRYPT_FAILED'));
    const locked = safeStorageProtector({ safeStorage: fakeSafeStorage({ machine: 1, available: false }), platform: 'darwin', fallback, randomBytes: (n) => randomBytes(n) });
    await assert.rejects(locked.unlock(h.dir), (err) => hasCode(err, 'PASSPHRASE_REQUIRED'));
    await writeFile(join(h.dir, SEALED_KEY_FILE), Buffer.alloc(10_000));
    await assert.rejects(p.unlock(h.dir), (err) => err instanceof KithError && err.code === 'KEYFILE_INVALID');
    await writeFile(join(h.dir, SEALED_KEY_FILE), Buffer.alloc(0));
    await assert.rejects(p.unlock(h.dir), (err) => hasCode(err, 'KEYFILE_INVALID'));
  } finally {
    await h.cleanup();
  }
});

test('when the keychain rotated its key, the key-file key is sealed again', async () => {
  const h = await home();
  try {
    const safe = fakeSafeStorage({ rotate: true });
    const p = safeStorageProtector({ safeStorage: safe, platform: 'win32', fallback, randomBytes: (n) => randomBytes(n) });
    const key = ((await p.newHome(h.dir)) as { passphrase: string }).passphrase;
    assert.equal(safe.encryptions, 1);
    assert.equal(await p.unlock(h.dir), key);
    assert.equal(safe.encryptions, 2);
  } finally {
    await h.cleanup();
  }
});
