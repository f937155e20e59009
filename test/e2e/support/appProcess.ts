/**
 * `npm start` as a child process for the end-to-end tests: `node --import tsx main/start.ts
 * --home DIR --listen HOST:0 --json --name NAME --headless`, with KITH_PASSPHRASE set. Waits for
 * the `{"app": URL}` line, keeps every later line (events) for assertions, and stops it with a
 * signal — every wait bounded. KITH_* and ELECTRON_PATH of the parent are never inherited.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../support/cli.js';

export const START_SCRIPT = join(REPO_ROOT, 'main', 'start.ts');
/** The passphrase every test home uses (scrypt at full cost: ~0.5–1 s per start). */
export const TEST_PASSPHRASE = 'e2e passphrase, not a secret';

export type Line = Record<string, unknown>;

export interface AppProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The app URL with its `#invite=` fragment. */
  readonly appUrl: string;
  /** `http://HOST:PORT`. */
  readonly origin: string;
  /** The first line (app, listening, personId, instanceId, name, home, controlSocket). */
  readonly info: Line;
  /** Every JSON line so far. */
  readonly lines: Line[];
  stderr(): string;
  /** Resolves with the first line (printed already or to come) that matches; rejects after `timeoutMs`. */
  waitFor(match: (line: Line) => boolean, timeoutMs?: number): Promise<Line>;
  /** Sends `signal` and waits for the exit (SIGKILL and rejection after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface AppOptions {
  readonly listen: string;
  readonly name?: string;
  readonly inviteTtlSeconds?: number;
  readonly extraArgs?: readonly string[];
  readonly env?: Record<string, string | undefined>;
  readonly startTimeoutMs?: number;
}

const DEFAULT_WAIT_MS = 30_000;

export async function startApp(home: string, options: AppOptions): Promise<AppProcess> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_') && k !== 'ELECTRON_PATH') env[k] = v;
  env.KITH_PASSPHRASE = TEST_PASSPHRASE;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const args = [
    '--import', 'tsx', START_SCRIPT,
    '--home', home, '--listen', options.listen, '--json', '--headless',
    ...(options.name ? ['--name', options.name] : []),
    ...(options.inviteTtlSeconds !== undefined ? ['--invite-ttl', String(options.inviteTtlSeconds)] : []),
    ...(options.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: Line[] = [];
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
        lines.push(JSON.parse(text) as Line);
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

  const waitFor = (match: (line: Line) => boolean, timeoutMs = DEFAULT_WAIT_MS) =>
    new Promise<Line>((resolve, reject) => {
      const check = () => {
        const found = lines.find(match);
        if (found) return done(found);
        if (exited) return done(undefined, new Error(`the app exited (${exited.code ?? exited.signal}) before the expected line; stderr: ${stderr}`));
      };
      const timer = setTimeout(() => done(undefined, new Error(`the app printed no matching line within ${timeoutMs} ms; lines: ${JSON.stringify(lines).slice(0, 2000)}; stderr: ${stderr}`)), timeoutMs);
      const done = (line?: Line, err?: Error) => {
        clearTimeout(timer);
        waiters.delete(check);
        if (err) reject(err);
        else resolve(line!);
      };
      waiters.add(check);
      check();
    });

  let first: Line;
  try {
    first = await waitFor((l) => typeof l.app === 'string' || 'error' in l, options.startTimeoutMs ?? DEFAULT_WAIT_MS);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  if (typeof first.app !== 'string') {
    child.kill('SIGKILL');
    throw new Error(`the app failed to start: ${JSON.stringify(first)}; stderr: ${stderr}`);
  }
  const appUrl = first.app;
  return {
    child,
    appUrl,
    origin: new URL(appUrl).origin,
    info: first,
    lines,
    stderr: () => stderr,
    waitFor,
    async stop(signal = 'SIGTERM', timeoutMs = DEFAULT_WAIT_MS) {
      if (!exited) child.kill(signal);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`the app did not exit within ${timeoutMs} ms after ${signal}; stderr: ${stderr}`));
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
