/**
 * The app's command line, shared by `npm start` (main/start.ts) and the Electron main process:
 *
 *   [--home DIR] [--listen HOST:PORT] [--name NAME] [--json] [--insecure-plaintext-keys]
 *   [--invite-ttl SECONDS] [--headless] [kith://pair/v1#… …]
 *
 * Home: --home, else $KITH_HOME, else the sub-folder `app` of Kith's platform default home
 * (so the app and a `kith` node of the same person do not fight over one home).
 * Under Electron the parse is lenient: Chromium and test harnesses add switches of their own.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { defaultHomeDir, type PlatformEnv } from '../cli/home.js';
import { parseIntegerArg, parseNameArg, parsePathArg, UsageError } from '../cli/args.js';
import { parseListenArg, type ListenAddress } from '../cli/commands/serve.js';
import { INVITE_MAX_TTL_SECONDS, MAX_INVITE_LINK_INPUT_LENGTH } from '../shared/limits.js';
import { INVITE_LINK_PREFIX } from '../pairing/invitation.js';

export interface StartOptions {
  readonly home: string;
  readonly listen: ListenAddress;
  /** The person's name for a new home (without the `node-` prefix). */
  readonly name?: string;
  readonly json: boolean;
  readonly insecurePlaintextKeys: boolean;
  /** Lifetime of the renderer invitation (tests make it expire). */
  readonly inviteTtlSeconds?: number;
  /** Run the host in Node even when an Electron binary is available. */
  readonly headless: boolean;
  readonly help: boolean;
  /** `kith://` links the OS passed on the command line (Electron on Windows and Linux). */
  readonly links: readonly string[];
}

export const START_USAGE = [
  'Usage: npm start -- [--home DIR] [--listen HOST:PORT] [--name NAME] [--json] [--headless]',
  '',
  'Runs the Kith desktop app: in Electron when its binary is installed, otherwise in Node,',
  'serving the app to your browser at the printed URL.',
  '',
  'Options:',
  '  --home DIR                 where the app keeps its identity and data (default: $KITH_HOME,',
  '                             else the folder "app" in the platform app-data folder of Kith)',
  '  --listen HOST:PORT         where the app listens (default 127.0.0.1:0: this machine only; the',
  '                             port of the last run is reused). Another address makes it reachable',
  '                             from your network, so other devices can pair with it',
  '  --name NAME                your name, on first start (default: your OS user name)',
  '  --json                     one JSON object per line: {"app": URL}, then events',
  '  --headless                 do not open Electron; serve the app to a browser',
  '  --insecure-plaintext-keys  on first start, store the keys unencrypted (mode 0600)',
  '  --invite-ttl SECONDS       lifetime of the link that pairs the browser (default one hour)',
  '',
  'The passphrase comes from KITH_PASSPHRASE, else a prompt on the terminal.',
].join('\n');

const OPTIONS = {
  home: { type: 'string' },
  listen: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  'insecure-plaintext-keys': { type: 'boolean' },
  'invite-ttl': { type: 'string' },
  headless: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The app's default home: $KITH_HOME, else `<Kith's platform home>/app`. */
export function defaultAppHome(p: PlatformEnv): string {
  if (p.env.KITH_HOME) return defaultHomeDir(p);
  const join = p.platform === 'win32' ? path.win32.join : path.posix.join;
  return join(defaultHomeDir(p), 'app');
}

/** A `kith://` link as the OS hands it over; its content is checked by whoever redeems it (the renderer, through main). */
export function isOpenableLink(value: unknown): boolean {
  return typeof value === 'string' && value.length <= MAX_INVITE_LINK_INPUT_LENGTH && value.startsWith(INVITE_LINK_PREFIX);
}

/**
 * Parses the app's arguments. Strict (USAGE errors for unknown options and stray arguments)
 * unless `lenient`, which ignores what it does not know (Chromium switches under Electron).
 */
export function parseStartArgs(argv: readonly string[], p: PlatformEnv, options: { lenient?: boolean } = {}): StartOptions {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: boolean; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, strict: !options.lenient, allowPositionals: true });
  } catch (err) {
    throw new UsageError(String((err as Error).message).split(/\n|\. /)[0]!);
  }
  const v = parsed.values;
  const str = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
  const links = parsed.positionals.filter(isOpenableLink);
  const stray = parsed.positionals.find((a) => !isOpenableLink(a));
  if (stray !== undefined && !options.lenient) throw new UsageError(`unexpected argument '${stray.slice(0, 40)}'`);
  const homeArg = str(v.home);
  const ttl = str(v['invite-ttl']);
  const name = str(v.name);
  return {
    home: homeArg !== undefined ? parsePathArg(homeArg, '--home', p.cwd) : defaultAppHome(p),
    listen: parseListenArg(str(v.listen) ?? '127.0.0.1:0'),
    ...(name !== undefined ? { name: parseNameArg(name, '--name') } : {}),
    json: v.json === true,
    insecurePlaintextKeys: v['insecure-plaintext-keys'] === true,
    ...(ttl !== undefined ? { inviteTtlSeconds: parseIntegerArg(ttl, '--invite-ttl', { min: 1, max: INVITE_MAX_TTL_SECONDS }) } : {}),
    headless: v.headless === true,
    help: v.help === true,
    links,
  };
}
