import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOutput, exitCodeFor, formatFields, sanitizeForTerminal } from '../../cli/output.js';
import { KithError } from '../../shared/errors.js';
import { parseJsonLines } from '../support/cli.js';

function capture(json: boolean, debug = false) {
  const streams = { out: '', err: '' };
  const output = createOutput({ stdout: { write: (s: string) => (streams.out += s) }, stderr: { write: (s: string) => (streams.err += s) } }, { json, debug });
  return { output, streams };
}

test('JSON mode: one object per line on stdout, errors as {"error":{"code","message"}}, exit 2 for USAGE else 1', () => {
  const { output, streams } = capture(true);
  output.result({ a: 1, text: 'multi\nline' });
  output.info('progress for people only');
  output.warn('careful');
  assert.equal(output.error(new KithError('USAGE', 'bad flag'), 'Usage: kith x'), 2);
  assert.equal(output.error(new KithError('HOME_EXISTS')), 1);
  const lines = parseJsonLines(streams.out);
  assert.deepEqual(lines, [
    { a: 1, text: 'multi\nline' },
    { error: { code: 'USAGE', message: 'bad flag' } },
    { error: { code: 'HOME_EXISTS', message: 'This home already holds an identity.' } },
  ]);
  assert.equal(streams.err, 'warning: careful\n');
  assert.ok(!streams.out.includes('Usage:'));
});

test('human mode: results on stdout, errors with their code and (for USAGE) the usage on stderr', () => {
  const { output, streams } = capture(false);
  output.result({ name: 'Alice', n: 2 });
  output.info('note');
  assert.equal(output.error(new KithError('USAGE', 'bad flag'), 'Usage: kith x'), 2);
  assert.equal(output.error(new KithError('WRONG_PASSPHRASE'), 'Usage: kith x'), 1);
  assert.equal(streams.out, 'name: Alice\nn:    2\n');
  assert.equal(streams.err, 'note\nkith: bad flag (USAGE)\n\nUsage: kith x\nkith: The passphrase is wrong. (WRONG_PASSPHRASE)\n');
});

test('unexpected errors do not leak their text; system errors name the call; KITH_DEBUG adds the stack', () => {
  const { output, streams } = capture(true);
  assert.equal(output.error(new Error('secret-ish internals')), 1);
  const sys = Object.assign(new Error('EACCES: permission denied, open /x'), { code: 'EACCES', syscall: 'open', path: '/x' });
  assert.equal(output.error(sys), 1);
  assert.equal(output.error({ code: 'TIMEOUT', message: 'from another realm' }), 1);
  assert.deepEqual(parseJsonLines(streams.out), [
    { error: { code: 'INTERNAL', message: 'An internal error occurred.' } },
    { error: { code: 'INTERNAL', message: 'open failed (EACCES): /x' } },
    { error: { code: 'TIMEOUT', message: 'from another realm' } },
  ]);
  assert.equal(streams.err, '');
  const debug = capture(false, true);
  debug.output.error(new Error('boom'));
  assert.match(debug.streams.err, /Error: boom\n\s+at /);
  assert.equal(exitCodeFor('USAGE'), 2);
  assert.equal(exitCodeFor('INTERNAL'), 1);
});

test('text from outside cannot drive the terminal', () => {
  assert.equal(sanitizeForTerminal('a\u001b[2Jb\u0007c\u009bd\u202eevil\u2066e'), 'a\ufffd[2Jb\ufffdc\ufffdd\ufffdevil\ufffde');
  assert.equal(sanitizeForTerminal('line\nbreak\ttab'), 'line break tab');
  assert.equal(sanitizeForTerminal('Zoë 👩‍💻'), 'Zoë 👩‍💻');
  assert.equal(formatFields([['name', 'x\u001b]0;pwned\u0007'], ['id', 1]]), 'name: x\ufffd]0;pwned\ufffd\nid:   1');
  const { output, streams } = capture(false);
  output.error(new KithError('IDENTITY_INVALID', 'peer name \u001b[31mred'));
  assert.ok(!streams.err.includes('\u001b'));
});
