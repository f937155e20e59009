/**
 * Where the CLI gets the key-file passphrase: `KITH_PASSPHRASE`, else a no-echo prompt on
 * the terminal (asked twice when a new one is chosen), else PASSPHRASE_REQUIRED — a
 * script without a terminal must never hang waiting for input nobody will type.
 */
import { StringDecoder } from 'node:string_decoder';
import { KithError } from '../shared/errors.js';
import { normalizePassphrase } from '../shared/keyfile.js';
import { MAX_PASSPHRASE_LENGTH, PASSPHRASE_PROMPT_ATTEMPTS } from '../shared/limits.js';

/** The part of process.stdin the prompt uses (a fake in tests). */
export interface PromptInput {
  /** True when connected to a terminal. */
  readonly isTTY?: boolean;
  /** Raw mode: keys arrive one by one and are not echoed. Present on TTY streams only. */
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  removeListener(event: 'data', listener: (chunk: Uint8Array | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface PassphraseIO {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdin: PromptInput;
  /** Where prompts go: stderr, so stdout stays clean for `--json`. */
  readonly stderr: { write(chunk: string): unknown };
}

const CTRL_C = '\u0003';
const CTRL_D = '\u0004';
const CTRL_U = '\u0015';
const ESC = '\u001b';
const BACKSPACE = new Set(['\u007f', '\b']);

/**
 * Reads one line from a TTY without echoing it. Ctrl-C or Ctrl-D on an empty line cancel
 * (PASSPHRASE_REQUIRED); backspace and Ctrl-U edit; escape sequences (arrow keys) are ignored.
 */
export function promptHidden(input: PromptInput, output: { write(chunk: string): unknown }, question: string): Promise<string> {
  if (typeof input.setRawMode !== 'function') return Promise.reject(new KithError('PASSPHRASE_REQUIRED'));
  const setRawMode = input.setRawMode.bind(input);
  output.write(question);
  return new Promise((resolve, reject) => {
    const decoder = new StringDecoder('utf8');
    const chars: string[] = [];
    const finish = (err: KithError | null) => {
      input.removeListener('data', onData);
      setRawMode(false);
      input.pause();
      output.write('\n');
      const text = chars.join('');
      chars.length = 0;
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Uint8Array | string) => {
      const text = typeof chunk === 'string' ? chunk : decoder.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') return finish(null);
        if (ch === CTRL_C || (ch === CTRL_D && chars.length === 0)) return finish(new KithError('PASSPHRASE_REQUIRED', 'cancelled at the passphrase prompt'));
        if (ch === CTRL_D) return finish(null);
        if (ch === ESC) return; // the rest of this chunk is the escape sequence
        if (BACKSPACE.has(ch)) chars.pop();
        else if (ch === CTRL_U) chars.length = 0;
        else if (ch >= ' ' && chars.length <= MAX_PASSPHRASE_LENGTH) chars.push(ch);
      }
    };
    input.on('data', onData);
    setRawMode(true);
    input.resume();
  });
}

function fromEnvironment(value: string): string {
  try {
    return normalizePassphrase(value);
  } catch (err) {
    throw new KithError('INVALID_INPUT', `KITH_PASSPHRASE: ${(err as Error).message.replace(/^passphrase: /, '')}`);
  }
}

/**
 * The passphrase from KITH_PASSPHRASE or the terminal, normalized (NFC). With `confirm`
 * (choosing a new one) the prompt asks twice and retries a few times on a mismatch.
 */
export async function getPassphrase(io: PassphraseIO, options: { confirm: boolean }): Promise<string> {
  const fromEnv = io.env.KITH_PASSPHRASE;
  if (fromEnv !== undefined) return fromEnvironment(fromEnv);
  if (!io.stdin.isTTY || typeof io.stdin.setRawMode !== 'function') throw new KithError('PASSPHRASE_REQUIRED');
  if (!options.confirm) return normalizePassphrase(await promptHidden(io.stdin, io.stderr, 'Passphrase: '));
  for (let attempt = 0; attempt < PASSPHRASE_PROMPT_ATTEMPTS; attempt++) {
    let first: string;
    try {
      first = normalizePassphrase(await promptHidden(io.stdin, io.stderr, 'New passphrase for the keys: '));
    } catch (err) {
      if (!(err instanceof KithError) || err.code !== 'INVALID_INPUT') throw err;
      io.stderr.write(`${err.message}; try again.\n`);
      continue;
    }
    const second = await promptHidden(io.stdin, io.stderr, 'Repeat the passphrase: ');
    if (second.normalize('NFC') === first) return first;
    io.stderr.write('The passphrases do not match; try again.\n');
  }
  throw new KithError('INVALID_INPUT', 'no matching passphrase was entered');
}
