import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile, utimes, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { KEYFILE_TEST_MIN_SCRYPT_N, MAX_IDENTITY_FILE_BYTES } from '../../shared/limits.js';
import {
  HOME_ENTRIES,
  acquireHomeLock,
  createHome,
  defaultHomeDir,
  homeExists,
  homePaths,
  loadPublicIdentity,
  readKeyProtection,
  unlockHome,
  writeFileAtomic,
} from '../../cli/home.js';
import { REPO_ROOT } from '../support/cli.js';

const crypto = new NativeCrypto();
const TEST_N = KEYFILE_TEST_MIN_SCRYPT_N;
const NOW = 1_700_000_000_000;
const isPosix = process.platform !== 'win32';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-home-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const plainHome = (home: string, name = 'Alice') => createHome(home, { name, instanceName: 'laptop', insecurePlaintext: true, crypto, now: NOW });
const protectedHome = (home: string, passphrase = 'pass phrase') =>
  createHome(home, { name: 'Alice', instanceName: 'laptop', email: 'alice@example.org', passphrase, crypto, now: NOW, testOnlyScryptN: TEST_N });

test('default home per platform: KITH_HOME, XDG, macOS and Windows app-data folders', () => {
  const base = { env: {}, homedir: '/home/u', cwd: '/work' };
  assert.equal(defaultHomeDir({ ...base, platform: 'linux' }), '/home/u/.local/share/kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'linux', env: { XDG_DATA_HOME: '/data' } }), '/data/kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'linux', env: { XDG_DATA_HOME: 'relative' } }), '/home/u/.local/share/kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'darwin' }), '/home/u/Library/Application Support/Kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'win32', homedir: 'C:\\Users\\u', env: { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' } }), 'C:\\Users\\u\\AppData\\Roaming\\Kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'win32', homedir: 'C:\\Users\\u' }), 'C:\\Users\\u\\AppData\\Roaming\\Kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'linux', env: { KITH_HOME: '/srv/kith', XDG_DATA_HOME: '/data' } }), '/srv/kith');
  assert.equal(defaultHomeDir({ ...base, platform: 'linux', env: { KITH_HOME: 'rel/home' } }), '/work/rel/home');
  assert.equal(defaultHomeDir({ ...base, platform: 'linux', env: { KITH_HOME: '' } }), '/home/u/.local/share/kith');
});

test('layout names are fixed and absolute', () => {
  const p = homePaths('rel');
  assert.ok(p.root.endsWith('/rel') || p.root.endsWith('\\rel'));
  for (const key of Object.keys(HOME_ENTRIES) as Array<keyof typeof HOME_ENTRIES>) assert.equal(p[key], join(p.root, HOME_ENTRIES[key]));
  assert.deepEqual(Object.values(HOME_ENTRIES), ['identity.json', 'keys.json', 'kith.lock', 'state', 'store', 'control.sock']);
});

test('createHome (plaintext) writes identity and 0600 keys in a 0700 dir, and leaves no lock or temp file', async (t) => {
  const home = join(await tempDir(t), 'nested', 'home');
  const local = await plainHome(home);
  const p = homePaths(home);
  assert.deepEqual((await readdir(home)).sort(), ['identity.json', 'keys.json']);
  if (isPosix) {
    assert.equal((await stat(home)).mode & 0o777, 0o700);
    assert.equal((await stat(p.keys)).mode & 0o777, 0o600);
  }
  assert.equal(await readKeyProtection(home), 'insecure-plaintext');
  const id = await loadPublicIdentity(home, crypto);
  assert.equal(id.personId, local.personId);
  assert.equal(id.instanceId, local.instanceId);
  assert.equal(id.name, 'Alice');
  assert.equal(id.instanceName, 'laptop');
  // identity.json holds only public data.
  const identityText = await readFile(p.identity, 'utf8');
  for (const secret of [local.personSecrets.signSecret, local.instanceSecrets.staticSecret]) {
    assert.ok(!identityText.includes(Buffer.from(secret).toString('base64url')));
  }
  const unlocked = await unlockHome(home, { crypto, passphrase: async () => assert.fail('plaintext keys need no passphrase') });
  assert.deepEqual(unlocked.instanceSecrets.staticSecret, local.instanceSecrets.staticSecret);
  assert.deepEqual(unlocked.personSecrets.signSecret, local.personSecrets.signSecret);
});

test('a protected home unlocks with its passphrase only; a wrong one changes nothing on disk', async (t) => {
  const home = join(await tempDir(t), 'home');
  const local = await protectedHome(home);
  assert.equal(await readKeyProtection(home), 'passphrase');
  if (isPosix) assert.equal((await stat(homePaths(home).keys)).mode & 0o777, 0o600);
  const keysPath = homePaths(home).keys;
  const before = await readFile(keysPath);
  const beforeStat = await stat(keysPath);
  await assert.rejects(unlockHome(home, { crypto, passphrase: 'not it', testOnlyScryptN: TEST_N }), { code: 'WRONG_PASSPHRASE' });
  await assert.rejects(unlockHome(home, { crypto, testOnlyScryptN: TEST_N }), { code: 'PASSPHRASE_REQUIRED' });
  assert.deepEqual(await readFile(keysPath), before);
  assert.equal((await stat(keysPath)).mtimeMs, beforeStat.mtimeMs);
  assert.deepEqual((await readdir(home)).sort(), ['identity.json', 'keys.json']);
  let asked = 0;
  const unlocked = await unlockHome(home, { crypto, passphrase: async () => (asked++, 'pass phrase'), testOnlyScryptN: TEST_N });
  assert.equal(asked, 1);
  assert.deepEqual(unlocked.personSecrets.encryptSecret, local.personSecrets.encryptSecret);
  assert.equal(unlocked.public.profile.email, 'alice@example.org');
});

test('createHome never overwrites: identity or key file present → HOME_EXISTS, bytes unchanged', async (t) => {
  const dir = await tempDir(t);
  const home = join(dir, 'home');
  await plainHome(home);
  const identity = await readFile(homePaths(home).identity);
  const keys = await readFile(homePaths(home).keys);
  await assert.rejects(plainHome(home, 'Mallory'), { code: 'HOME_EXISTS' });
  await assert.rejects(protectedHome(home), { code: 'HOME_EXISTS' });
  assert.deepEqual(await readFile(homePaths(home).identity), identity);
  assert.deepEqual(await readFile(homePaths(home).keys), keys);
  assert.equal(await homeExists(home), true);

  // An interrupted init (keys, no identity) is not silently replaced either.
  const half = join(dir, 'half');
  await mkdir(half);
  await writeFile(join(half, 'keys.json'), '{}');
  await assert.rejects(plainHome(half), { code: 'HOME_EXISTS' });
  await assert.rejects(loadPublicIdentity(half, crypto), { code: 'HOME_NOT_FOUND' });

  // Concurrent creations of one home: exactly one wins.
  const raced = join(dir, 'raced');
  const results = await Promise.allSettled([plainHome(raced, 'A'), plainHome(raced, 'B'), plainHome(raced, 'C')]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  for (const r of results) if (r.status === 'rejected') assert.ok(['HOME_EXISTS', 'HOME_LOCKED'].includes((r.reason as { code: string }).code));
  await loadPublicIdentity(raced, crypto);
});

test('bad protection options and a file where the home should be are refused, creating nothing', async (t) => {
  const dir = await tempDir(t);
  const base = { name: 'A', instanceName: 'i', crypto, now: NOW };
  for (const bad of [{}, { passphrase: '' }, { passphrase: 'p', insecurePlaintext: true }, { insecurePlaintext: false }, { insecurePlaintext: true, name: '' }, { insecurePlaintext: true, email: 'no' }]) {
    await assert.rejects(createHome(join(dir, 'h'), { ...base, ...bad }), { code: 'INVALID_INPUT' }, JSON.stringify(bad));
  }
  assert.deepEqual(await readdir(dir), []);
  await writeFile(join(dir, 'file'), 'x');
  await assert.rejects(plainHome(join(dir, 'file')), { code: 'INVALID_INPUT' });
  await assert.rejects(plainHome(join(dir, 'file', 'below')), { code: 'INVALID_INPUT' });
  assert.equal(await homeExists(join(dir, 'file', 'below')), false);
});

test('identity.json is verified: missing, tampered, oversized, garbage, not a file', async (t) => {
  const dir = await tempDir(t);
  await assert.rejects(loadPublicIdentity(join(dir, 'nothing'), crypto), { code: 'HOME_NOT_FOUND' });
  const home = join(dir, 'home');
  await plainHome(home);
  const p = homePaths(home);
  const good = JSON.parse(await readFile(p.identity, 'utf8'));

  const expectBroken = async (content: string | Buffer, codes: string[]) => {
    await writeFile(p.identity, content);
    await assert.rejects(loadPublicIdentity(home, crypto), (err: { code: string }) => codes.includes(err.code));
    await assert.rejects(unlockHome(home, { crypto }), (err: { code: string }) => codes.includes(err.code));
  };
  await expectBroken(JSON.stringify({ ...good, profile: { ...good.profile, name: 'Mallory' } }), ['SIGNATURE_INVALID', 'IDENTITY_INVALID']);
  await expectBroken(JSON.stringify({ ...good, instance: { ...good.instance, name: 'other' } }), ['CERTIFICATE_INVALID']);
  await expectBroken(JSON.stringify({ ...good, extra: 1 }), ['IDENTITY_INVALID']);
  await expectBroken(' '.repeat(MAX_IDENTITY_FILE_BYTES + 1), ['IDENTITY_INVALID']);
  await expectBroken('{"person":', ['IDENTITY_INVALID']);
  await expectBroken(Buffer.from([0xff, 0xfe, 0x00]), ['IDENTITY_INVALID']);
  await expectBroken('[]', ['IDENTITY_INVALID']);
  await rm(p.identity);
  await mkdir(p.identity);
  await assert.rejects(loadPublicIdentity(home, crypto), { code: 'IDENTITY_INVALID' });
  if (isPosix) {
    // A FIFO must not block the reader (nobody will ever write to it).
    await rm(p.identity, { recursive: true });
    execFileSync('mkfifo', [p.identity]);
    await assert.rejects(loadPublicIdentity(home, crypto), { code: 'IDENTITY_INVALID' });
  }
});

test('keys from another home are refused; a missing or damaged key file is KEYFILE_INVALID', async (t) => {
  const dir = await tempDir(t);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  await plainHome(a);
  await plainHome(b, 'Bob');
  await copyFile(homePaths(b).keys, homePaths(a).keys);
  await assert.rejects(unlockHome(a, { crypto }), { code: 'KEYFILE_INVALID' });
  await writeFile(homePaths(a).keys, '{"format":"kith-keys"}');
  await assert.rejects(unlockHome(a, { crypto }), { code: 'KEYFILE_INVALID' });
  await rm(homePaths(a).keys);
  await assert.rejects(unlockHome(a, { crypto }), { code: 'KEYFILE_INVALID' });
  await loadPublicIdentity(a, crypto); // the public part needs no keys
});

test('writeFileAtomic publishes whole files, never overwrites unless asked, leaves no temp files', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'f.json');
  await writeFileAtomic(target, 'one', { mode: 0o600 });
  await assert.rejects(writeFileAtomic(target, 'two', { mode: 0o600 }), { code: 'ALREADY_EXISTS' });
  assert.equal(await readFile(target, 'utf8'), 'one');
  await writeFileAtomic(target, 'three', { mode: 0o644, overwrite: true });
  assert.equal(await readFile(target, 'utf8'), 'three');
  if (isPosix) assert.equal((await stat(target)).mode & 0o777, 0o644);
  assert.deepEqual(await readdir(dir), ['f.json']);
});

// ---- the lock ---------------------------------------------------------------------------

test('the lock is exclusive within a process and released cleanly', async (t) => {
  const home = await tempDir(t);
  const lock = await acquireHomeLock(home);
  const content = JSON.parse(await readFile(homePaths(home).lock, 'utf8'));
  assert.equal(content.pid, process.pid);
  await assert.rejects(acquireHomeLock(home), (err: Error & { code: string }) => err.code === 'HOME_LOCKED' && err.message.includes(String(process.pid)));
  await lock.release();
  await lock.release(); // idempotent
  assert.deepEqual(await readdir(home), []);
  const again = await acquireHomeLock(home);
  again.releaseSync();
  assert.deepEqual(await readdir(home), []);
});

test('stale locks are taken over: dead pid, our pid from an earlier process, unreadable and old, leftover takeover guard', async (t) => {
  const home = await tempDir(t);
  const lockPath = homePaths(home).lock;
  const dead = 999_999;
  const isAlive = (pid: number) => pid !== dead;

  await writeFile(lockPath, JSON.stringify({ pid: dead, started: 1 }));
  (await acquireHomeLock(home, { isAlive })).releaseSync();

  // Same pid, different start time: a predecessor that had our pid (pid 1 in a restarted container).
  await writeFile(lockPath, JSON.stringify({ pid: process.pid, started: 1 }));
  (await acquireHomeLock(home)).releaseSync();

  // Unreadable: held while it may still be being written, stale once old.
  await writeFile(lockPath, 'garbage');
  await assert.rejects(acquireHomeLock(home), { code: 'HOME_LOCKED' });
  const old = new Date(Date.now() - 60_000);
  await utimes(lockPath, old, old);
  (await acquireHomeLock(home)).releaseSync();

  // A takeover guard left by a process that died mid-takeover does not block forever.
  await writeFile(lockPath, JSON.stringify({ pid: dead, started: 1 }));
  await writeFile(`${lockPath}.takeover`, JSON.stringify({ pid: dead, started: 2 }));
  const lock = await acquireHomeLock(home, { isAlive });
  assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, process.pid);
  await lock.release();
  assert.deepEqual(await readdir(home), []);

  // A live owner is never displaced.
  await writeFile(lockPath, JSON.stringify({ pid: 4242, started: 1 }));
  await assert.rejects(acquireHomeLock(home, { isAlive: () => true }), (err: Error & { code: string }) => err.code === 'HOME_LOCKED' && err.message.includes('4242'));
  assert.equal(JSON.parse(await readFile(lockPath, 'utf8')).pid, 4242);
});

test('racing takeovers of a stale lock: exactly one winner every round', async (t) => {
  const home = await tempDir(t);
  const lockPath = homePaths(home).lock;
  const dead = 1;
  const isAlive = (pid: number) => pid !== dead;
  for (let round = 0; round < 25; round++) {
    await writeFile(lockPath, JSON.stringify({ pid: dead, started: round }));
    // Random numbers of event-loop turns before starting vary the interleaving of the contenders' file operations from round to round.
    const contenders = Array.from({ length: 8 }, async (_, i) => {
      for (let hops = Math.floor(Math.random() * 40); hops > 0; hops--) await new Promise((resolve) => setImmediate(resolve));
      return acquireHomeLock(home, { pid: 10_000 + i, isAlive });
    });
    const results = await Promise.allSettled(contenders);
    const winners = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    assert.equal(winners.length, 1, `round ${round}`);
    const owner = JSON.parse(await readFile(lockPath, 'utf8')).pid;
    assert.equal(owner, winners[0]!.pid);
    for (const r of results) {
      if (r.status === 'rejected') {
        assert.equal(r.reason.code, 'HOME_LOCKED');
        assert.match(r.reason.message, new RegExp(`pid ${owner}\\b`));
      }
    }
    await winners[0]!.release();
  }
  assert.deepEqual(await readdir(home), []);
});

// ---- across processes ---------------------------------------------------------------------

const HOME_MODULE = pathToFileURL(join(REPO_ROOT, 'cli', 'home.ts')).href;
/** A child that (at START_AT, for races) takes the lock, reports, then holds it until killed when HOLD is set. */
const LOCK_CHILD = `
import { acquireHomeLock } from ${JSON.stringify(HOME_MODULE)};
const startAt = Number(process.env.START_AT ?? 0);
while (Date.now() < startAt) {}
try {
  const lock = await acquireHomeLock(process.env.LOCK_DIR);
  console.log(JSON.stringify({ ok: true, pid: process.pid }));
  if (process.env.HOLD) setInterval(() => {}, 1000);
  else await lock.release();
} catch (err) {
  console.log(JSON.stringify({ ok: false, code: err.code, message: err.message }));
}
`;

function lockChild(dir: string, env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', LOCK_CHILD], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOCK_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const firstLine = new Promise<{ ok: boolean; pid?: number; code?: string; message?: string }>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('lock child timed out'));
    }, 20_000);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)));
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (!buf.includes('\n')) reject(new Error('lock child exited without reporting'));
    });
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, firstLine, exited };
}

test('across processes: a live owner excludes others; once it is killed its lock is stale and taken over', async (t) => {
  const home = await tempDir(t);
  const holder = lockChild(home, { HOLD: '1' });
  t.after(() => holder.child.kill('SIGKILL'));
  const held = await holder.firstLine;
  assert.equal(held.ok, true);
  assert.equal(held.pid, holder.child.pid);

  await assert.rejects(acquireHomeLock(home), (err: Error & { code: string }) => err.code === 'HOME_LOCKED' && err.message.includes(`pid ${holder.child.pid}`));
  holder.child.kill('SIGKILL');
  await holder.exited;
  assert.equal(JSON.parse(await readFile(homePaths(home).lock, 'utf8')).pid, holder.child.pid, 'a killed owner leaves its lock behind');
  const lock = await acquireHomeLock(home);
  assert.equal(JSON.parse(await readFile(homePaths(home).lock, 'utf8')).pid, process.pid);
  await lock.release();
});

test('across processes: two processes racing for a stale lock, exactly one wins', async (t) => {
  const home = await tempDir(t);
  // A pid that certainly belonged to a process that has exited.
  const gone = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => gone.on('exit', resolve));
  await writeFile(homePaths(home).lock, JSON.stringify({ pid: gone.pid, started: 1 }));
  const startAt = String(Date.now() + 2_500);
  const a = lockChild(home, { START_AT: startAt, HOLD: '1' });
  const b = lockChild(home, { START_AT: startAt, HOLD: '1' });
  t.after(() => {
    a.child.kill('SIGKILL');
    b.child.kill('SIGKILL');
  });
  const results = await Promise.all([a.firstLine, b.firstLine]);
  const winners = results.filter((r) => r.ok);
  assert.equal(winners.length, 1, JSON.stringify(results));
  const loser = results.find((r) => !r.ok)!;
  assert.equal(loser.code, 'HOME_LOCKED');
  assert.match(loser.message!, new RegExp(`pid ${winners[0]!.pid}\\b`));
  assert.equal(JSON.parse(await readFile(homePaths(home).lock, 'utf8')).pid, winners[0]!.pid);
});
