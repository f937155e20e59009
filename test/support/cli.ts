/**
 * Runs the `kith` executable in a child process, the way a person or script would, with
 * a temporary home and a clean environment, and parses `--json` output (asserting that
 * every stdout line is exactly one JSON object).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The executable (bin/kith.mjs) and the source entry that `npm run kith` uses. */
export const KITH_BIN = join(REPO_ROOT, 'bin', 'kith.mjs');
export const KITH_SOURCE = join(REPO_ROOT, 'cli', 'kith.ts');

export interface CliResult {
  /** Exit status (null if killed by a signal). */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed line by line when `--json` was passed; empty otherwise. */
  readonly lines: Array<Record<string, unknown>>;
}

export interface CliOptions {
  /** Sets KITH_HOME (omit to pass --home yourself). */
  readonly home?: string;
  /** Extra environment; `undefined` removes a variable. KITH_* from the parent are never inherited. */
  readonly env?: Record<string, string | undefined>;
  /** Working directory (default: the temp dir for 'bin', so nothing depends on the repo being the cwd; the repo for 'source'). */
  readonly cwd?: string;
  /** Written to stdin, which is then closed (stdin is a pipe, never a TTY). */
  readonly input?: string;
  /** Kills the child and fails after this long. */
  readonly timeoutMs?: number;
  /** 'bin' (default) runs bin/kith.mjs; 'source' runs `node --import tsx cli/kith.ts` like `npm run kith`. */
  readonly entry?: 'bin' | 'source';
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Splits `--json` stdout into objects; throws unless every line is exactly one JSON object. */
export function parseJsonLines(stdout: string): Array<Record<string, unknown>> {
  if (stdout === '') return [];
  if (!stdout.endsWith('\n')) throw new Error(`--json output does not end with a newline: ${JSON.stringify(stdout.slice(-80))}`);
  return stdout
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const value: unknown = JSON.parse(line);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`--json line is not an object: ${line.slice(0, 80)}`);
      return value as Record<string, unknown>;
    });
}

export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_')) env[k] = v;
  if (options.home !== undefined) env.KITH_HOME = options.home;
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const argv = options.entry === 'source' ? ['--import', 'tsx', KITH_SOURCE, ...args] : [KITH_BIN, ...args];
  // `--import tsx` resolves from the working directory, as `npm run kith` does from the package root.
  const cwd = options.cwd ?? (options.entry === 'source' ? REPO_ROOT : tmpdir());
  const child = spawn(process.execPath, argv, { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // the child may exit before reading its input
  child.stdin.end(options.input ?? '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kith ${args.join(' ')} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve({ code, signal, stdout, stderr, lines: args.includes('--json') ? parseJsonLines(stdout) : [] });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** A fresh temp directory; `home` inside it does not exist yet (init creates it). */
export async function makeTempHome(): Promise<{ dir: string; home: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-cli-test-'));
  return { dir, home: join(dir, 'home'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}
