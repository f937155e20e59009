import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { getPassphrase, promptHidden, type PromptInput } from '../../cli/passphrase.js';
import { MAX_PASSPHRASE_LENGTH } from '../../shared/limits.js';

/** A terminal stand-in: records raw mode and plays `keystrokes` (one chunk each) once the prompt listens. */
class FakeTty extends EventEmitter implements PromptInput {
  readonly isTTY = true;
  raw = false;
  rawChanges: boolean[] = [];
  paused = true;
  private readonly pending: Array<string | Uint8Array>;

  constructor(keystrokes: Array<string | Uint8Array>) {
    super();
    this.pending = [...keystrokes];
  }
  setRawMode(mode: boolean) {
    this.raw = mode;
    this.rawChanges.push(mode);
    return this;
  }
  resume() {
    this.paused = false;
    // Deliver the next chunk asynchronously, like a person typing.
    const next = this.pending.shift();
    if (next !== undefined) setImmediate(() => this.deliver(next));
    return this;
  }
  pause() {
    this.paused = true;
    return this;
  }
  private deliver(chunk: string | Uint8Array) {
    this.emit('data', chunk);
    if (!this.paused) {
      const next = this.pending.shift();
      if (next !== undefined) setImmediate(() => this.deliver(next));
    }
  }
}

function sink() {
  let text = '';
  return { write: (s: string) => void (text += s), get text() { return text; } };
}

test('the hidden prompt reads a line without echoing it and restores the terminal', async () => {
  const tty = new FakeTty(['sec', 'ret\r']);
  const out = sink();
  assert.equal(await promptHidden(tty, out, 'Passphrase: '), 'secret');
  assert.deepEqual(tty.rawChanges, [true, false]);
  assert.equal(tty.paused, true);
  assert.equal(tty.listenerCount('data'), 0);
  assert.equal(out.text, 'Passphrase: \n');
  assert.ok(!out.text.includes('secret'));
});

test('the prompt edits (backspace, Ctrl-U), ignores escape sequences and decodes UTF-8 split across chunks', async () => {
  const euro = Buffer.from('€'); // 3 bytes
  const tty = new FakeTty(['abx\u007f', '\u001b[A', euro.subarray(0, 1), euro.subarray(1), 'c\n']);
  assert.equal(await promptHidden(tty, sink(), '> '), 'ab€c');
  const cleared = new FakeTty(['wrong\u0015right\r']);
  assert.equal(await promptHidden(cleared, sink(), '> '), 'right');
});

test('Ctrl-C and Ctrl-D on an empty line cancel with PASSPHRASE_REQUIRED and restore the terminal', async () => {
  for (const key of ['\u0003', '\u0004']) {
    const tty = new FakeTty([`ab${key === '\u0004' ? '\u0015' : ''}${key}`]);
    await assert.rejects(promptHidden(tty, sink(), '> '), { code: 'PASSPHRASE_REQUIRED' });
    assert.equal(tty.raw, false);
    assert.equal(tty.listenerCount('data'), 0);
  }
});

test('KITH_PASSPHRASE wins; it is validated and NFC-normalized; an empty one is refused', async () => {
  const stdin = new FakeTty([]);
  assert.equal(await getPassphrase({ env: { KITH_PASSPHRASE: 'cafe\u0301' }, stdin, stderr: sink() }, { confirm: true }), 'caf\u00e9');
  assert.equal(stdin.rawChanges.length, 0, 'no prompt when the variable is set');
  for (const bad of ['', 'x'.repeat(MAX_PASSPHRASE_LENGTH + 1), 'a\ud800']) {
    await assert.rejects(getPassphrase({ env: { KITH_PASSPHRASE: bad }, stdin, stderr: sink() }, { confirm: false }), (err: Error & { code: string }) => {
      assert.equal(err.code, 'INVALID_INPUT');
      assert.match(err.message, /^KITH_PASSPHRASE: /);
      return true;
    });
  }
});

test('without a terminal or the variable: PASSPHRASE_REQUIRED at once (scripts never hang)', async () => {
  const pipe = Object.assign(new EventEmitter(), { isTTY: false, resume() {}, pause() {} });
  await assert.rejects(getPassphrase({ env: {}, stdin: pipe, stderr: sink() }, { confirm: false }), { code: 'PASSPHRASE_REQUIRED' });
  const noRaw = Object.assign(new EventEmitter(), { isTTY: true, resume() {}, pause() {} });
  await assert.rejects(getPassphrase({ env: {}, stdin: noRaw, stderr: sink() }, { confirm: true }), { code: 'PASSPHRASE_REQUIRED' });
});

test('a new passphrase is asked twice; a mismatch or an empty one asks again, within a bound', async () => {
  const err = sink();
  const tty = new FakeTty(['one\r', 'two\r', '\r', 'good\r', 'good\r']);
  assert.equal(await getPassphrase({ env: {}, stdin: tty, stderr: err }, { confirm: true }), 'good');
  assert.match(err.text, /do not match/);
  assert.match(err.text, /must not be empty/);
  assert.ok(!err.text.includes('good') && !err.text.includes('one'));

  const stubborn = new FakeTty(['a\r', 'b\r', 'c\r', 'd\r', 'e\r', 'f\r']);
  await assert.rejects(getPassphrase({ env: {}, stdin: stubborn, stderr: sink() }, { confirm: true }), { code: 'INVALID_INPUT' });

  const once = new FakeTty(['only\r']);
  assert.equal(await getPassphrase({ env: {}, stdin: once, stderr: sink() }, { confirm: false }), 'only');
});
