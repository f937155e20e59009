/**
 * The shape of a `kith` command and everything about its arguments: the global options,
 * the command line split into command + options (node:util parseArgs, strict), and the
 * validators every argument goes through before it reaches the rest of Kith. Argument
 * problems are USAGE errors (exit 2) naming the option, never echoing secrets.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { isEmail } from 'class-validator';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { hasLoneSurrogate } from '../shared/canonical.js';
import { KithError } from '../shared/errors.js';
import { MAX_CLI_PATH_LENGTH, MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from '../shared/limits.js';
import type { Output } from './output.js';
import type { PromptInput } from './passphrase.js';

// ---- commands -------------------------------------------------------------------------

/** One option in node:util parseArgs form. */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
export type OptionsSpec = { readonly [name: string]: OptionSpec };

type ValueOf<S extends OptionSpec> = S extends { type: 'boolean' }
  ? S extends { multiple: true } ? boolean[] : boolean
  : S extends { multiple: true } ? string[] : string;

/** Parsed values of a command's options; absent options are undefined. */
export type OptionValues<O extends OptionsSpec> = { readonly [K in keyof O]?: ValueOf<O[K]> };

/** What a command's `run` receives. */
export interface CommandContext<V = OptionValues<OptionsSpec>> {
  /** The command's parsed options (global options are not in here). */
  readonly values: V;
  /** Positional arguments after the command name, already counted against `positionals`. */
  readonly positionals: readonly string[];
  /** The home directory, absolute: --home, else $KITH_HOME, else the platform default. */
  readonly home: string;
  /** Where results, warnings and errors go. */
  readonly out: Output;
  /** The crypto provider (native in Node). */
  readonly crypto: CryptoProvider;
  /** The clock, milliseconds since the epoch. */
  now(): number;
  /** The environment (read it here, not from process.env, so tests can pass their own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The directory relative paths are resolved against. */
  readonly cwd: string;
  /** Standard input (`put -`, prompts). */
  readonly stdin: PromptInput;
  /** Standard input as a byte stream (`put -`, `accept -`); INVALID_INPUT where the host has none. */
  stdinBytes(): AsyncIterable<Uint8Array>;
  /** Writes raw bytes to stdout (`get` without -o); resolves once the stream took them, so big outputs respect backpressure. */
  writeStdout(bytes: Uint8Array): Promise<void>;
  /** Raw stderr, for drawings that carry their own terminal codes (the QR code of `invite --qr`); text from outside goes through `out`. */
  readonly stderr: { write(chunk: string): unknown };
  /** Aborted on SIGINT/SIGTERM for `longRunning` commands; never aborted for the others. */
  readonly signal: AbortSignal;
  /** The key-file passphrase: KITH_PASSPHRASE, else a prompt (twice with `confirm`), else PASSPHRASE_REQUIRED. */
  passphrase(options: { confirm: boolean }): Promise<string>;
}

/** A `kith` command. Adding one: a file in cli/commands/ exporting `defineCommand({...})`, plus one line in the registry. */
export interface Command<O extends OptionsSpec = OptionsSpec> {
  /** One line for `kith --help`. */
  readonly summary: string;
  /** The synopsis, e.g. `kith init --name NAME [--email EMAIL]`. */
  readonly usage: string;
  /** What each option means, shown by `kith COMMAND --help`. */
  readonly details?: string;
  /** The command's options; `--home`, `--json` and `--help` are added by the framework. */
  readonly options: O;
  /** How many positional arguments it takes (default none). */
  readonly positionals?: { readonly min: number; readonly max: number };
  /** Runs until stopped (serve): SIGINT/SIGTERM abort `ctx.signal` instead of ending the process. */
  readonly longRunning?: boolean;
  /** Does the work; reports through `ctx.out`; throws KithError on failure. */
  run(ctx: CommandContext<OptionValues<O>>): Promise<void>;
}

/** Identity function that infers the option types for `run`. */
export function defineCommand<const O extends OptionsSpec>(command: Command<O>): Command<O> {
  return command;
}

export type AnyCommand = Command<OptionsSpec>;
export type CommandRegistry = ReadonlyMap<string, AnyCommand>;

// ---- the command line -----------------------------------------------------------------

/** Options every command takes. They may come before or after the command name. */
export const GLOBAL_OPTIONS = {
  home: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionsSpec;

export const GLOBAL_USAGE = [
  'Global options:',
  '  --home DIR   the instance home (default: $KITH_HOME, else the platform app-data folder)',
  '  --json       one JSON object per line on stdout; errors as {"error":{"code","message"}}',
  '  -h, --help   show help (kith COMMAND --help for one command)',
].join('\n');

export type ParsedCommandLine =
  | { readonly kind: 'help'; readonly json: boolean; readonly command?: string }
  | {
      readonly kind: 'run';
      readonly json: boolean;
      readonly name: string;
      readonly command: AnyCommand;
      readonly home?: string;
      readonly values: OptionValues<OptionsSpec>;
      readonly positionals: readonly string[];
    };

/** A USAGE error; `command` names whose usage to show with it. */
export class UsageError extends KithError {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super('USAGE', message);
  }
}

/** True when `--json` appears before any `--` (used to format errors even when parsing fails). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

/**
 * Splits `argv` into global options, the command and its options. Before the command
 * only global options are allowed; after it, the command's own plus the global ones.
 */
export function parseCommandLine(argv: readonly string[], registry: CommandRegistry): ParsedCommandLine {
  let json = false;
  let help = false;
  let home: string | undefined;
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-')) break;
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') help = true;
    else if (arg === '--home') {
      if (i + 1 >= argv.length) throw new UsageError("option '--home DIR' needs a value");
      home = argv[++i]!;
    } else if (arg.startsWith('--home=')) home = arg.slice('--home='.length);
    else throw new UsageError(`unknown option before the command: '${arg}' (command options go after the command name)`);
  }
  const name = argv[i];
  if (name === undefined) {
    if (help) return { kind: 'help', json };
    throw new UsageError('missing command');
  }
  const command = registry.get(name);
  if (!command) throw new UsageError(`unknown command '${name}'`);

  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv.slice(i + 1) as string[],
      options: { ...command.options, ...GLOBAL_OPTIONS },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    // node:util's messages go on with advice about '--'; the first sentence names the problem.
    throw new UsageError(String((err as Error).message).split(/\n|\. /)[0]!, name);
  }
  const { home: laterHome, json: laterJson, help: laterHelp, ...values } = parsed.values;
  json ||= laterJson === true;
  if (help || laterHelp === true) return { kind: 'help', json, command: name };
  const { min, max } = command.positionals ?? { min: 0, max: 0 };
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument '${parsed.positionals[max]}'`, name);
  if (parsed.positionals.length < min) throw new UsageError('missing argument', name);
  return {
    kind: 'run',
    json,
    name,
    command,
    home: typeof laterHome === 'string' ? laterHome : home,
    // strict parseArgs produced exactly the types the command's option specs declare
    values: values as OptionValues<OptionsSpec>,
    positionals: parsed.positionals,
  };
}

// ---- argument validators --------------------------------------------------------------

/** A string option that must be present. */
export function requireOption(value: string | undefined, option: string): string {
  if (value === undefined) throw new UsageError(`${option} is required`);
  return value;
}

/**
 * Characters a display name may not contain: C0/C1 controls and DEL, invisible
 * zero-width space and direction marks, line/paragraph separators, bidi embeddings,
 * overrides and isolates, word joiner and invisible operators, BOM. (ZWJ/ZWNJ stay:
 * emoji sequences and several scripts need them.)
 */
const NAME_FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/**
 * A display name (person, instance): NFC, 1–MAX_NAME_LENGTH characters, no leading or
 * trailing space, nothing that could disguise it on a screen.
 */
export function parseNameArg(value: string, option: string): string {
  // A code point is at most two UTF-16 units: anything longer cannot fit, and is not walked.
  if (value.length > 2 * MAX_NAME_LENGTH) throw new UsageError(`${option}: longer than ${MAX_NAME_LENGTH} characters`);
  if (hasLoneSurrogate(value)) throw new UsageError(`${option}: not valid Unicode`);
  const name = value.normalize('NFC');
  const length = [...name].length;
  if (length === 0) throw new UsageError(`${option}: must not be empty`);
  if (length > MAX_NAME_LENGTH) throw new UsageError(`${option}: longer than ${MAX_NAME_LENGTH} characters`);
  if (name.trim() !== name) throw new UsageError(`${option}: must not start or end with spaces`);
  if (NAME_FORBIDDEN.test(name)) throw new UsageError(`${option}: must not contain control or invisible formatting characters`);
  return name;
}

/** An email address, checked exactly as the Profile schema checks it. */
export function parseEmailArg(value: string, option: string): string {
  if (value.length > MAX_EMAIL_LENGTH) throw new UsageError(`${option}: longer than ${MAX_EMAIL_LENGTH} characters`);
  // validator.js's isEmail throws a URIError on lone surrogates; refuse them first.
  if (hasLoneSurrogate(value) || NAME_FORBIDDEN.test(value) || !isEmail(value)) throw new UsageError(`${option}: not an email address`);
  return value;
}

/** A filesystem path, resolved against `cwd`. */
export function parsePathArg(value: string, option: string, cwd: string): string {
  if (value.length === 0) throw new UsageError(`${option}: must not be empty`);
  if (value.length > MAX_CLI_PATH_LENGTH) throw new UsageError(`${option}: longer than ${MAX_CLI_PATH_LENGTH} characters`);
  if (value.includes('\u0000')) throw new UsageError(`${option}: contains a NUL character`);
  if (hasLoneSurrogate(value)) throw new UsageError(`${option}: not valid Unicode`);
  const resolved = path.resolve(cwd, value);
  if (resolved.length > MAX_CLI_PATH_LENGTH) throw new UsageError(`${option}: longer than ${MAX_CLI_PATH_LENGTH} characters`);
  return resolved;
}

/** A decimal integer in [min, max] (TTLs, counts, ports): digits only, no sign, exponent or spaces. */
export function parseIntegerArg(value: string, option: string, range: { min: number; max: number }): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) throw new UsageError(`${option}: expected a whole number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new UsageError(`${option}: must be between ${range.min} and ${range.max}`);
  }
  return n;
}
