/** `--help` for every command: exit 0, its own usage line and options, nothing touched; the same through the real executable. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { runKith } from '../../cli/kith.js';
import { COMMANDS } from '../../cli/commands/index.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { runCli } from '../support/cli.js';

const crypto = new NativeCrypto();

async function kith(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(new EventEmitter(), { isTTY: false, resume() {}, pause() {} });
  const code = await runKith({
    argv,
    env: { KITH_HOME: '/nonexistent-kith-home' },
    cwd: '/nonexistent-cwd',
    platform: process.platform,
    homedir: '/nonexistent-homedir',
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    crypto,
    now: () => 1_700_000_000_000,
  });
  return { code, stdout, stderr };
}

const EXPECTED = ['init', 'whoami', 'serve', 'invite', 'invites', 'accept', 'contacts', 'revoke', 'put', 'get', 'ls', 'status'];

test('every DESIGN §9 command is registered and has --help (human and JSON)', async () => {
  assert.deepEqual([...COMMANDS.keys()].sort(), [...EXPECTED].sort());
  for (const [name, command] of COMMANDS) {
    const human = await kith([name, '--help']);
    assert.equal(human.code, 0, name);
    assert.equal(human.stderr, '');
    assert.ok(human.stdout.startsWith(`Usage: kith ${name}`), `${name}: ${human.stdout.slice(0, 60)}`);
    assert.ok(command.usage.startsWith(`kith ${name}`));
    for (const option of Object.keys(command.options)) assert.ok(human.stdout.includes(`--${option}`), `${name} --help mentions --${option}`);
    assert.match(human.stdout, /--home DIR/);
    const json = await kith(['--json', name, '-h']);
    assert.equal(json.code, 0);
    const lines = json.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, `${name}: one JSON line`);
    assert.ok(String(JSON.parse(lines[0]!).help).startsWith(`Usage: kith ${name}`));
  }
  const all = await kith(['--help']);
  for (const name of EXPECTED) assert.match(all.stdout, new RegExp(`^  ${name} +\\S`, 'm'));
});

test('--help through the executable, for the long-running command too (it must not start)', { timeout: 30_000 }, async () => {
  const [serve, put] = await Promise.all([runCli(['serve', '--help']), runCli(['put', '--help', '--json'])]);
  assert.equal(serve.code, 0, serve.stderr);
  assert.match(serve.stdout, /^Usage: kith serve \[--listen HOST:PORT\]/);
  assert.equal(put.code, 0);
  assert.match(String(put.lines[0]!.help), /--share PERSON_ID/);
});
