import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import {
  GLOBAL_OPTIONS,
  defineCommand,
  parseCommandLine,
  parseEmailArg,
  parseIntegerArg,
  parseNameArg,
  parsePathArg,
  wantsJson,
  type AnyCommand,
  type CommandRegistry,
} from '../../cli/args.js';
import { COMMANDS } from '../../cli/commands/index.js';
import { MAX_CLI_PATH_LENGTH, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from '../../shared/limits.js';
import { hostileStrings } from '../support/hostile.js';

const put = defineCommand({
  summary: 'store a file',
  usage: 'kith put FILE [--share ID…]',
  options: { share: { type: 'string', multiple: true }, force: { type: 'boolean', short: 'f' } },
  positionals: { min: 1, max: 1 },
  async run() {},
});
// The fake `put` goes last so it replaces the real one (its -f option is what these tests parse).
const registry: CommandRegistry = new Map<string, AnyCommand>([...COMMANDS, ['put', put]]);

test('global options go before or after the command; command options after it', () => {
  const a = parseCommandLine(['--home', '/h', '--json', 'put', 'file.txt', '--share', 'x', '--share=y', '-f'], registry);
  assert.equal(a.kind, 'run');
  if (a.kind !== 'run') return;
  assert.equal(a.name, 'put');
  assert.equal(a.home, '/h');
  assert.equal(a.json, true);
  assert.deepEqual(a.values, { share: ['x', 'y'], force: true });
  assert.deepEqual(a.positionals, ['file.txt']);

  const b = parseCommandLine(['put', '--json', '--home=/other', '--', '--odd-name'], registry);
  assert.ok(b.kind === 'run' && b.json && b.home === '/other');
  assert.deepEqual(b.kind === 'run' && b.positionals, ['--odd-name']);
  const c = parseCommandLine(['--home=/first', 'whoami', '--home', '/last'], registry);
  assert.ok(c.kind === 'run' && c.home === '/last');
});

test('help: kith --help, kith -h, kith COMMAND --help', () => {
  assert.deepEqual(parseCommandLine(['--help'], registry), { kind: 'help', json: false });
  assert.deepEqual(parseCommandLine(['-h', '--json'], registry), { kind: 'help', json: true });
  assert.deepEqual(parseCommandLine(['put', '--help'], registry), { kind: 'help', json: false, command: 'put' });
  // Help wins over missing arguments.
  assert.deepEqual(parseCommandLine(['init', '-h'], registry), { kind: 'help', json: false, command: 'init' });
});

test('usage errors: missing or unknown command, unknown options, wrong positionals, missing values', () => {
  const cases: Array<[string[], RegExp]> = [
    [[], /missing command/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['--name', 'x', 'init'], /before the command/],
    [['--home'], /needs a value/],
    [['put'], /missing argument/],
    [['put', 'a', 'b'], /unexpected argument 'b'/],
    [['put', 'a', '--bogus'], /Unknown option '--bogus'/],
    [['whoami', 'extra'], /unexpected argument 'extra'/],
    [['init', '--name'], /argument missing/],
    [['init', '--name', '--json'], /ambiguous/],
    [['whoami', '--json=1'], /does not take an argument/],
    [['__proto__'], /unknown command/],
    [['constructor'], /unknown command/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(() => parseCommandLine(argv, registry), (err: Error & { code: string }) => {
      assert.equal(err.code, 'USAGE', argv.join(' '));
      assert.match(err.message, message, argv.join(' '));
      assert.ok(!err.message.includes('\n'));
      return true;
    });
  }
  assert.equal(wantsJson(['x', '--json']), true);
  assert.equal(wantsJson(['x', '--', '--json']), false);
});

test('names: NFC, 1–64 characters (code points), no edge spaces, no control or invisible formatting', () => {
  assert.equal(parseNameArg('Alice', '--name'), 'Alice');
  assert.equal(parseNameArg('Zoe\u0308', '--name'), 'Zo\u00eb');
  assert.equal(parseNameArg('👩‍👩‍👧 family', '--name'), '👩‍👩‍👧 family'); // ZWJ sequences are fine
  assert.equal(parseNameArg('😀'.repeat(MAX_NAME_LENGTH), '--name').length, 2 * MAX_NAME_LENGTH);
  assert.equal(parseNameArg('李小龍', '--name'), '李小龍');
  const bad = ['', ' ', ' Alice', 'Alice ', 'x'.repeat(MAX_NAME_LENGTH + 1), '😀'.repeat(MAX_NAME_LENGTH + 1), 'a\u0000b', 'a\u0007b', 'a\nb', 'a\tb', 'a\u007fb', 'a\u009bb', 'evil\u202egnp.exe', 'a\u2066b', 'a\u200bb', 'a\u200fb', 'a\ufeffb', 'a\u2028b', 'a\ud800b'];
  for (const name of bad) assert.throws(() => parseNameArg(name, '--name'), { code: 'USAGE' }, JSON.stringify(name));
  assert.throws(() => parseNameArg('', '--instance-name'), /--instance-name: must not be empty/);
});

test('emails, paths and integers are validated before use', () => {
  assert.equal(parseEmailArg('alice@example.org', '--email'), 'alice@example.org');
  for (const email of ['', 'alice', 'alice@', '@example.org', 'a b@example.org', 'alice@example.org\n', `${'a'.repeat(MAX_EMAIL_LENGTH)}@example.org`]) {
    assert.throws(() => parseEmailArg(email, '--email'), { code: 'USAGE' }, JSON.stringify(email));
  }
  assert.equal(parsePathArg('h', '--home', '/base'), '/base/h');
  assert.equal(parsePathArg('/abs/h', '--home', '/base'), '/abs/h');
  for (const p of ['', 'a\u0000b', 'x'.repeat(MAX_CLI_PATH_LENGTH + 1)]) assert.throws(() => parsePathArg(p, '--home', '/base'), { code: 'USAGE' });
  const range = { min: 1, max: 86_400 };
  assert.equal(parseIntegerArg('600', '--ttl', range), 600);
  for (const v of ['', '0', '-5', '+5', '1e3', '0x10', '1.5', ' 5', '5 ', '05', '86401', '99999999999999999999', 'NaN', 'Infinity']) {
    assert.throws(() => parseIntegerArg(v, '--ttl', range), { code: 'USAGE' }, v);
  }
});

test('hostile strings through every validator: accepted as a string or refused with USAGE, never a crash', () => {
  for (const { name, value } of hostileStrings()) {
    for (const validate of [
      () => parseNameArg(value, '--name'),
      () => parseEmailArg(value, '--email'),
      () => parsePathArg(value, '--home', '/base'),
      () => parseIntegerArg(value, '--ttl', { min: 0, max: 10 }),
    ]) {
      let result: unknown;
      try {
        result = validate();
      } catch (err) {
        assert.equal((err as { code?: string }).code, 'USAGE', name);
        continue;
      }
      assert.ok(typeof result === 'string' || typeof result === 'number', name);
    }
  }
});

test('every registered command is well-formed and does not shadow a global option', () => {
  assert.ok(COMMANDS.size >= 2);
  for (const [name, command] of COMMANDS) {
    assert.match(name, /^[a-z][a-z-]*$/);
    assert.ok(command.summary.length > 0 && !command.summary.endsWith('.'), name);
    assert.ok(command.usage.startsWith(`kith ${name}`), name);
    for (const option of Object.keys(command.options)) assert.ok(!(option in GLOBAL_OPTIONS), `${name} --${option}`);
    // The options are a valid node:util parseArgs configuration.
    parseArgs({ args: [], options: { ...command.options }, strict: true, allowPositionals: true });
  }
});
