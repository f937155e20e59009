/**
 * What the `kith` command writes. Human text by default; with `--json`, exactly one JSON
 * object per line on stdout — results, and failures as `{"error":{"code","message"}}` —
 * so scripts can read it line by line. Warnings always go to stderr as well.
 *
 * Values that came from elsewhere (names from peers, paths) are printed to a terminal
 * only after control characters are neutralized: a display name must not be able to
 * move the cursor or rewrite what the person sees.
 */
import { KithError, toKithError, type ErrorCode } from '../shared/errors.js';

/** Where output goes (process.stdout/stderr in production, buffers in tests). */
export interface OutputStreams {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

/** A JSON-safe record a command reports. */
export type JsonRecord = { readonly [key: string]: unknown };

export interface Output {
  /** True with `--json`. */
  readonly json: boolean;
  /** Reports a result: one JSON line in JSON mode, else `human` (build it with `formatFields`, which sanitizes) or the record as aligned `key: value` lines. */
  result(data: JsonRecord, human?: string): void;
  /** A note for a person (progress, hints): stderr in human mode, nothing in JSON mode. */
  info(message: string): void;
  /** A warning: stderr in both modes (commands also add a `warning` field to their JSON result). */
  warn(message: string): void;
  /** Reports a failure and returns the exit code: 2 for USAGE, 1 otherwise. `usage` is shown to people with USAGE errors. */
  error(err: unknown, usage?: string): number;
}

/** Exit status of a failure with `code` (2 is the convention for command-line misuse). */
export function exitCodeFor(code: ErrorCode): number {
  return code === 'USAGE' ? 2 : 1;
}

/** C0 and C1 controls, DEL, and the bidirectional overrides/isolates that can reorder what a terminal shows. */
const UNSAFE_CHARS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

/** Replaces terminal control characters in text from outside with U+FFFD. */
export function sanitizeForTerminal(text: string): string {
  return text.replace(UNSAFE_CHARS, '\ufffd').replace(/[\n\t]/g, ' ');
}

/** Aligned `label: value` lines, values sanitized. */
export function formatFields(rows: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(0, ...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${`${label}:`.padEnd(width + 1)} ${sanitizeForTerminal(String(value))}`).join('\n');
}

/** The error a person or script sees. Unexpected errors keep their internals to themselves (they may hold anything); `KITH_DEBUG=1` prints the stack. */
function describeFailure(err: unknown): KithError {
  if (err instanceof KithError) return err;
  const sys = err as NodeJS.ErrnoException | null;
  if (sys && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    return new KithError('INTERNAL', `${sys.syscall} failed (${sys.code})${sys.path ? `: ${sys.path}` : ''}`);
  }
  return toKithError(err);
}

export function createOutput(streams: OutputStreams, options: { json: boolean; debug?: boolean }): Output {
  const { json } = options;
  const debug = options.debug === true;
  const line = (value: unknown) => streams.stdout.write(`${JSON.stringify(value)}\n`);
  return {
    json,
    result(data, human) {
      if (json) line(data);
      else streams.stdout.write(`${human ?? formatFields(Object.entries(data))}\n`);
    },
    info(message) {
      if (!json) streams.stderr.write(`${sanitizeForTerminal(message)}\n`);
    },
    warn(message) {
      streams.stderr.write(`warning: ${sanitizeForTerminal(message)}\n`);
    },
    error(err, usage) {
      const failure = describeFailure(err);
      if (json) {
        line({ error: { code: failure.code, message: failure.message } });
      } else {
        streams.stderr.write(`kith: ${sanitizeForTerminal(failure.message)} (${failure.code})\n`);
        if (failure.code === 'USAGE' && usage) streams.stderr.write(`\n${usage}\n`);
      }
      if (debug && err instanceof Error && err.stack) streams.stderr.write(`${err.stack}\n`);
      return exitCodeFor(failure.code);
    },
  };
}
