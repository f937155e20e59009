/**
 * The `kith` command (DESIGN §9): global options, dispatch to a command from the
 * registry, output and exit codes. `runKith` takes all its inputs (argv, environment,
 * streams, crypto, clock) so tests can run it in-process; `main` wires the real process.
 */
import * as os from 'node:os';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { NativeCrypto } from '../shared/crypto/nativeCrypto.js';
import { KithError } from '../shared/errors.js';
import { COMMANDS } from './commands/index.js';
import { GLOBAL_USAGE, UsageError, parseCommandLine, parsePathArg, wantsJson, type AnyCommand, type CommandContext, type CommandRegistry } from './args.js';
import { createOutput, type OutputStreams } from './output.js';
import { defaultHomeDir } from './home.js';
import { getPassphrase, type PromptInput } from './passphrase.js';

/** Everything the command line touches. */
export interface KithIO extends OutputStreams {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly platform: NodeJS.Platform;
  /** The user's home directory (for the default Kith home). */
  readonly homedir: string;
  readonly stdin: PromptInput;
  /** Standard input as bytes (absent: commands that need it fail with INVALID_INPUT). */
  readonly stdinBytes?: () => AsyncIterable<Uint8Array>;
  /** Writes raw bytes to stdout, resolving when written (absent: commands that need it fail with INVALID_INPUT). */
  readonly stdoutBytes?: (bytes: Uint8Array) => Promise<void>;
  readonly crypto: CryptoProvider;
  /** The clock, milliseconds since the epoch. */
  now(): number;
  /** Installs SIGINT/SIGTERM handling for a long-running command; absent in tests that never stop. */
  onShutdown?(): { readonly signal: AbortSignal; dispose(): void };
  /** The commands (default: the registry in commands/index.ts). */
  readonly registry?: CommandRegistry;
}

const SYNOPSIS = 'kith [--home DIR] [--json] COMMAND [OPTIONS]';

function helpText(registry: CommandRegistry, name?: string): string {
  const command = name === undefined ? undefined : registry.get(name);
  if (command) {
    return [`Usage: ${command.usage}`, '', `${command.summary[0]?.toUpperCase() ?? ''}${command.summary.slice(1)}.`, ...(command.details ? ['', command.details] : []), '', GLOBAL_USAGE].join('\n');
  }
  const width = Math.max(...[...registry.keys()].map((k) => k.length));
  const lines = [...registry].map(([key, c]) => `  ${key.padEnd(width)}  ${c.summary}`);
  return [`Usage: ${SYNOPSIS}`, '', 'Commands:', ...lines, '', GLOBAL_USAGE].join('\n');
}

function usageHint(name: string | undefined, command: AnyCommand | undefined): string {
  if (name !== undefined && command) return `Usage: ${command.usage}\nRun 'kith ${name} --help' for details.`;
  return `Usage: ${SYNOPSIS}\nRun 'kith --help' for the list of commands.`;
}

/** Runs one command line; returns the exit status (0, 1, or 2 for usage errors). */
export async function runKith(io: KithIO): Promise<number> {
  const registry = io.registry ?? COMMANDS;
  const debug = io.env.KITH_DEBUG === '1';
  let out = createOutput(io, { json: wantsJson(io.argv), debug });
  let running: { name: string; command: AnyCommand } | undefined;
  try {
    const parsed = parseCommandLine(io.argv, registry);
    out = createOutput(io, { json: parsed.json, debug });
    if (parsed.kind === 'help') {
      const text = helpText(registry, parsed.command);
      out.result({ help: text }, text);
      return 0;
    }
    running = { name: parsed.name, command: parsed.command };
    const homeArg = parsed.home ?? defaultHomeDir({ env: io.env, platform: io.platform, homedir: io.homedir, cwd: io.cwd });
    const home = parsePathArg(homeArg, parsed.home === undefined ? 'home' : '--home', io.cwd);
    const shutdown = parsed.command.longRunning ? io.onShutdown?.() : undefined;
    const ctx: CommandContext = {
      values: parsed.values,
      positionals: parsed.positionals,
      home,
      out,
      crypto: io.crypto,
      now: () => io.now(),
      env: io.env,
      cwd: io.cwd,
      stdin: io.stdin,
      stdinBytes: () => {
        if (!io.stdinBytes) throw new KithError('INVALID_INPUT', 'standard input is not available here');
        return io.stdinBytes();
      },
      writeStdout: (bytes) => (io.stdoutBytes ? io.stdoutBytes(bytes) : Promise.reject(new KithError('INVALID_INPUT', 'raw output is not available here'))),
      stderr: io.stderr,
      signal: shutdown?.signal ?? new AbortController().signal,
      passphrase: (options) => getPassphrase({ env: io.env, stdin: io.stdin, stderr: io.stderr }, options),
    };
    try {
      await parsed.command.run(ctx);
    } finally {
      shutdown?.dispose();
    }
    return 0;
  } catch (err) {
    const usageOf = err instanceof UsageError && err.command !== undefined ? err.command : running?.name;
    return out.error(err, usageHint(usageOf, usageOf === undefined ? undefined : registry.get(usageOf)));
  }
}

/** SIGINT/SIGTERM end a long-running command gracefully; a second one ends the process at once. */
function installShutdownHandlers(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    controller.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Runs `kith` in this process with its real arguments, streams and environment. */
export function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  return runKith({
    argv,
    env: process.env,
    cwd: process.cwd(),
    platform: process.platform,
    homedir: os.homedir(),
    // A getter: touching process.stdin creates the stream, which only commands that read it need.
    get stdin() {
      return process.stdin;
    },
    stdinBytes: () => process.stdin,
    stdoutBytes: (bytes) => new Promise<void>((resolve, reject) => void process.stdout.write(bytes, (err) => (err ? reject(err) : resolve()))),
    stdout: process.stdout,
    stderr: process.stderr,
    crypto: new NativeCrypto(),
    now: () => Date.now(),
    onShutdown: installShutdownHandlers,
  });
}

/** True when this file is the script node was started with (`npm run kith`), not an import (bin/kith.mjs, tests). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main();
