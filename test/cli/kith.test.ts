import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { readFile, stat, readdir, access } from 'node:fs/promises';
import { join } from 'node:path';
import { runKith, type KithIO } from '../../cli/kith.js';
import { defineCommand, parseIntegerArg, type AnyCommand, type CommandRegistry } from '../../cli/args.js';
import { COMMANDS } from '../../cli/commands/index.js';
import { homePaths, unlockHome } from '../../cli/home.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { KithError } from '../../shared/errors.js';
import { MAX_NAME_LENGTH } from '../../shared/limits.js';
import { makeTempHome, parseJsonLines, runCli } from '../support/cli.js';

const crypto = new NativeCrypto();
const isPosix = process.platform !== 'win32';

/** Runs `kith` in this process with captured streams and a non-TTY stdin. */
async function kith(argv: string[], options: { home?: string; env?: Record<string, string>; registry?: CommandRegistry; onShutdown?: KithIO['onShutdown'] } = {}) {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(new EventEmitter(), { isTTY: false, resume() {}, pause() {} });
  const code = await runKith({
    argv,
    env: { ...(options.home ? { KITH_HOME: options.home } : {}), ...options.env },
    cwd: '/nonexistent-cwd',
    platform: process.platform,
    homedir: '/nonexistent-homedir',
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    crypto,
    now: () => 1_700_000_000_000,
    onShutdown: options.onShutdown,
    registry: options.registry,
  });
  return { code, stdout, stderr, lines: argv.includes('--json') ? parseJsonLines(stdout) : [] };
}

async function tempHome(t: { after(fn: () => Promise<void>): void }) {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  return tmp.home;
}

const exists = (p: string) => access(p).then(() => true, () => false);

// ---- in-process: the framework ------------------------------------------------------------

test('help lists the commands (exit 0); COMMAND --help shows its usage; --json wraps help in one object', async () => {
  const all = await kith(['--help']);
  assert.equal(all.code, 0);
  for (const name of COMMANDS.keys()) assert.match(all.stdout, new RegExp(`^  ${name} `, 'm'));
  const one = await kith(['init', '--help']);
  assert.equal(one.code, 0);
  assert.match(one.stdout, /^Usage: kith init --name NAME/);
  assert.match(one.stdout, /--insecure-plaintext-keys/);
  const json = await kith(['whoami', '--help', '--json']);
  assert.equal(json.lines.length, 1);
  assert.match(String(json.lines[0]!.help), /^Usage: kith whoami/);
});

test('usage errors exit 2: JSON error objects on stdout, or a message plus usage on stderr', async () => {
  for (const argv of [[], ['nope'], ['whoami', 'extra'], ['init'], ['init', '--name', 'A', '--bogus'], ['--bogus', 'whoami'], ['whoami', '--home', '']]) {
    const json = await kith([...argv, '--json']);
    assert.equal(json.code, 2, argv.join(' '));
    assert.equal(json.stderr, '');
    assert.equal(json.lines.length, 1);
    const { error } = json.lines[0] as { error: { code: string; message: string } };
    assert.deepEqual(Object.keys(error).sort(), ['code', 'message']);
    assert.equal(error.code, 'USAGE');

    const human = await kith(argv);
    assert.equal(human.code, 2);
    assert.equal(human.stdout, '');
    assert.match(human.stderr, /\(USAGE\)\n\nUsage: kith /);
  }
  const human = await kith(['init', '--bogus']);
  assert.match(human.stderr, /Usage: kith init --name NAME/);
});

test('bad names and emails are refused with exit 2 before anything is created', async (t) => {
  const home = await tempHome(t);
  const badNames = ['', '   ', ' lead', 'x'.repeat(MAX_NAME_LENGTH + 1), 'bell\u0007', 'new\nline', 'esc\u001b[31m', 'rtl\u202eoverride', 'nul\u0000'];
  for (const name of badNames) {
    const r = await kith(['init', '--name', name, '--insecure-plaintext-keys', '--json'], { home });
    assert.equal(r.code, 2, JSON.stringify(name));
    assert.equal((r.lines[0] as { error: { code: string } }).error.code, 'USAGE');
    assert.match((r.lines[0] as { error: { message: string } }).error.message, /^--name: /);
  }
  for (const [option, value] of [['--instance-name', ''], ['--instance-name', 'tab\there'], ['--email', 'not-an-email']]) {
    const r = await kith(['init', '--name', 'Alice', option!, value!, '--insecure-plaintext-keys', '--json'], { home });
    assert.equal(r.code, 2, `${option} ${JSON.stringify(value)}`);
  }
  assert.equal(await exists(home), false, 'no home was created');
});

test('init without a passphrase source fails with PASSPHRASE_REQUIRED (exit 1) and creates nothing', async (t) => {
  const home = await tempHome(t);
  const r = await kith(['init', '--name', 'Alice', '--json'], { home });
  assert.equal(r.code, 1);
  const { error } = r.lines[0] as { error: { code: string; message: string } };
  assert.equal(error.code, 'PASSPHRASE_REQUIRED');
  assert.match(error.message, /KITH_PASSPHRASE/);
  assert.match(error.message, /--insecure-plaintext-keys/);
  assert.equal(await exists(home), false);
});

test('in-process init and whoami agree; no secret reaches any output', async (t) => {
  const home = await tempHome(t);
  const init = await kith(['--json', 'init', '--name', 'Zoë', '--instance-name', 'desk', '--email', 'zoe@example.org', '--insecure-plaintext-keys'], { home });
  assert.equal(init.code, 0, init.stdout + init.stderr);
  const created = init.lines[0]!;
  const who = await kith(['whoami', '--json'], { home });
  assert.deepEqual(who.lines, [{ personId: created.personId, instanceId: created.instanceId, name: 'Zoë', staticKey: created.staticKey }]);
  const local = await unlockHome(home, { crypto });
  const everything = init.stdout + init.stderr + who.stdout + who.stderr;
  for (const secret of [local.personSecrets.signSecret, local.personSecrets.encryptSecret, local.instanceSecrets.signSecret, local.instanceSecrets.staticSecret]) {
    assert.ok(!everything.includes(Buffer.from(secret).toString('base64url')));
  }
  assert.equal(local.public.instance.name, 'desk');
  assert.equal(local.public.profile.email, 'zoe@example.org');
});

test('whoami without a home: HOME_NOT_FOUND, exit 1, pointing at kith init', async (t) => {
  const home = await tempHome(t);
  const r = await kith(['whoami'], { home });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /kith init --name NAME.*\(HOME_NOT_FOUND\)/);
});

test('a new command plugs in with a small definition: typed options, positionals, validation, signal', async () => {
  const seen: unknown[] = [];
  const invite = defineCommand({
    summary: 'create an invitation',
    usage: 'kith invite [--ttl SECONDS] [--qr]',
    options: { ttl: { type: 'string' }, qr: { type: 'boolean' } },
    positionals: { min: 0, max: 1 },
    longRunning: true,
    async run(ctx) {
      const ttl = ctx.values.ttl === undefined ? 600 : parseIntegerArg(ctx.values.ttl, '--ttl', { min: 1, max: 86_400 });
      seen.push(ctx.signal.aborted, ctx.positionals);
      if (ctx.values.qr) throw new KithError('INVITE_REVOKED');
      ctx.out.result({ ttl, home: ctx.home });
    },
  });
  const registry: CommandRegistry = new Map<string, AnyCommand>([['invite', invite]]);
  let disposed = 0;
  const onShutdown = () => ({ signal: new AbortController().signal, dispose: () => void disposed++ });

  const ok = await kith(['invite', '--ttl', '60', 'label', '--json', '--home', '/h'], { registry, onShutdown });
  assert.equal(ok.code, 0);
  assert.deepEqual(ok.lines, [{ ttl: 60, home: '/h' }]);
  assert.deepEqual(seen, [false, ['label']]);
  assert.equal(disposed, 1, 'shutdown handlers are removed when a long-running command ends');

  const bad = await kith(['invite', '--ttl', '1e9', '--json'], { registry, onShutdown, home: '/h' });
  assert.equal(bad.code, 2);
  assert.deepEqual(bad.lines, [{ error: { code: 'USAGE', message: '--ttl: expected a whole number' } }]);
  const failing = await kith(['invite', '--qr'], { registry, onShutdown, home: '/h' });
  assert.equal(failing.code, 1);
  assert.match(failing.stderr, /\(INVITE_REVOKED\)\n$/);
  assert.equal(disposed, 3);
});

// ---- child processes: the real executable ----------------------------------------------------

test('end to end: init (plaintext) → whoami (JSON and human) → init again → HOME_EXISTS; usage error; npm-run entry', async (t) => {
  const home = await tempHome(t);
  const other = await tempHome(t);
  const [init, usage, badName] = await Promise.all([
    runCli(['init', '--name', 'Alice', '--insecure-plaintext-keys', '--json'], { home }),
    runCli(['init', '--json', '--frobnicate'], { home: other }),
    runCli(['init', '--name', 'a\u0007b', '--insecure-plaintext-keys', '--json'], { home: other }),
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.lines.length, 1);
  const created = init.lines[0]!;
  assert.deepEqual(Object.keys(created).sort(), ['home', 'instanceId', 'name', 'personId', 'staticKey', 'warning']);
  assert.equal(created.name, 'Alice');
  assert.equal(created.home, home);
  assert.match(String(created.personId), /^[0-9a-f]{64}$/);
  assert.match(String(created.staticKey), /^[A-Za-z0-9_-]{43}$/);
  assert.match(String(created.warning), /UNENCRYPTED/);
  assert.match(init.stderr, /^warning: .*UNENCRYPTED/m);
  const keys = JSON.parse(await readFile(homePaths(home).keys, 'utf8'));
  assert.equal(keys.protection, 'insecure-plaintext');
  if (isPosix) {
    assert.equal((await stat(homePaths(home).keys)).mode & 0o777, 0o600);
    assert.equal((await stat(home)).mode & 0o777, 0o700);
  }

  assert.equal(usage.code, 2);
  assert.deepEqual(usage.lines, [{ error: { code: 'USAGE', message: "Unknown option '--frobnicate'" } }]);
  assert.equal(badName.code, 2);
  assert.equal((badName.lines[0] as { error: { code: string } }).error.code, 'USAGE');

  const [whoJson, whoHuman, again, fromSource] = await Promise.all([
    runCli(['whoami', '--json'], { home }),
    runCli(['--home', home, 'whoami']),
    runCli(['init', '--name', 'Mallory', '--insecure-plaintext-keys', '--json'], { home }),
    runCli(['whoami', '--json', '--home', home], { entry: 'source' }),
  ]);
  const expected = { personId: created.personId, instanceId: created.instanceId, name: 'Alice', staticKey: created.staticKey };
  assert.equal(whoJson.code, 0, whoJson.stderr);
  assert.deepEqual(whoJson.lines, [expected]);
  assert.equal(whoHuman.code, 0, whoHuman.stderr);
  assert.match(whoHuman.stdout, /^name: +Alice$/m);
  assert.match(whoHuman.stdout, new RegExp(`^person: +${created.personId}$`, 'm'));
  assert.match(whoHuman.stdout, new RegExp(`^static key: +${created.staticKey}$`, 'm'));
  assert.equal(again.code, 1);
  assert.equal((again.lines[0] as { error: { code: string } }).error.code, 'HOME_EXISTS');
  assert.deepEqual(JSON.parse(await readFile(homePaths(home).keys, 'utf8')), keys, 'the second init changed nothing');
  assert.equal(fromSource.code, 0, fromSource.stderr);
  assert.deepEqual(fromSource.lines, [expected]);
});

test('end to end: KITH_PASSPHRASE protects the keys (real scrypt cost); without it and without a terminal, PASSPHRASE_REQUIRED', async (t) => {
  const home = await tempHome(t);
  const none = await tempHome(t);
  const passphrase = 'a long passphrase that must never be printed';
  const [init, missing] = await Promise.all([
    runCli(['init', '--name', 'Bob', '--json'], { home, env: { KITH_PASSPHRASE: passphrase } }),
    runCli(['init', '--name', 'Bob'], { home: none, input: 'typed into a pipe\n' }),
  ]);
  assert.equal(init.code, 0, init.stderr);
  assert.equal(init.lines.length, 1);
  assert.equal(init.lines[0]!.warning, undefined);
  assert.equal(init.stderr, '');
  assert.ok(!(init.stdout + init.stderr).includes(passphrase));
  const keys = JSON.parse(await readFile(homePaths(home).keys, 'utf8'));
  assert.equal(keys.protection, 'passphrase');
  assert.equal(keys.kdf.N, 2 ** 17);
  await assert.rejects(unlockHome(home, { crypto }), { code: 'PASSPHRASE_REQUIRED' });
  const local = await unlockHome(home, { crypto, passphrase });
  assert.equal(local.personId, init.lines[0]!.personId);

  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /KITH_PASSPHRASE.*\(PASSPHRASE_REQUIRED\)/);
  assert.equal(missing.stdout, '');
  assert.deepEqual(await readdir(join(none, '..')), [], 'nothing was created');
});
