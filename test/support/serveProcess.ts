/**
 * `kith serve --json` as a child process for tests: waits for its `{"listening": …}` line,
 * keeps every later line (events) for assertions, and stops it with a signal — every wait
 * bounded. KITH_* variables of the parent are never inherited (as in runCli).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { tmpdir } from 'node:os';
import { KITH_BIN } from './cli.js';

export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The listener URL from the first line. */
  readonly url: string;
  /** Every JSON line printed so far (the first is the `listening` line). */
  readonly lines: Array<Record<string, unknown>>;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Resolves with the first line (already printed or to come) that matches; rejects after `timeoutMs`. */
  waitFor(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and waits for the exit; SIGKILL and rejection if it does not exit within `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface ServeOptions {
  /** Extra arguments after `serve` (e.g. ['--listen', '127.0.0.2:0']). */
  readonly args?: readonly string[];
  /** Extra environment; `undefined` removes a variable. */
  readonly env?: Record<string, string | undefined>;
  /** How long to wait for the `listening` line. */
  readonly startTimeoutMs?: number;
}

const DEFAULT_WAIT_MS = 20_000;

export async function startServe(home: string, options: ServeOptions = {}): Promise<ServeProcess> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_')) env[k] = v;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, [KITH_BIN, '--home', home, 'serve', '--json', ...(options.args ?? [])], { cwd: tmpdir(), env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let partial = '';
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ unparsable: text });
      }
    }
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      notify();
      resolve(exited);
    }),
  );
  child.stdin.end();

  const waitFor = (match: (line: Record<string, unknown>) => boolean, timeoutMs = DEFAULT_WAIT_MS) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found) return done(found);
        if (exited) return done(undefined, new Error(`kith serve exited (${exited.code ?? exited.signal}) before the expected line; stderr: ${stderr}`));
      };
      const timer = setTimeout(() => done(undefined, new Error(`kith serve printed no matching line within ${timeoutMs} ms; lines: ${JSON.stringify(lines).slice(0, 2000)}; stderr: ${stderr}`)), timeoutMs);
      const done = (line?: Record<string, unknown>, err?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(line!);
      };
      waiters.add(check);
      check();
    });

  let first: Record<string, unknown>;
  try {
    first = await waitFor((l) => typeof l.listening === 'string' || 'error' in l, options.startTimeoutMs ?? DEFAULT_WAIT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (typeof first.listening !== 'string') {
    child.kill('SIGKILL');
    throw new Error(`kith serve failed: ${JSON.stringify(first)}`);
  }
  return {
    child,
    url: first.listening,
    lines,
    stderr: () => stderr,
    waitFor,
    async stop(signal = 'SIGTERM', timeoutMs = DEFAULT_WAIT_MS) {
      if (!exited) child.kill(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`kith serve did not exit within ${timeoutMs} ms after ${signal}; stderr: ${stderr}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exit, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
