/**
 * `npm start`: the desktop app. With an Electron binary (ELECTRON_PATH, or a downloaded
 * `electron` package) and without `--headless`, it builds the app and launches Electron;
 * otherwise it runs the same host (main/host.ts) in Node and prints the URL to open in a
 * browser, a QR code for pairing other devices, and where the home is. `--json` prints
 * `{"app": URL, …}` as one line, then one line per event. Stops cleanly on SIGINT/SIGTERM.
 */
import * as os from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { createOutput, formatFields, type Output } from '../cli/output.js';
import { printServeEvents } from '../cli/serveEvents.js';
import { invitationQrTerminal } from '../pairing/qr.js';
import { KithError, hasCode } from '../shared/errors.js';
import { APP_SHUTDOWN_TIMEOUT_MS, INVITE_DEFAULT_TTL_SECONDS } from '../shared/limits.js';
import { parseStartArgs, START_USAGE, type StartOptions } from './startOptions.js';
import { findElectron } from './findElectron.js';
import { passphraseProtector, processPassphraseIO } from './keyProtector.js';
import { startHost, type AppHost, type RendererSource } from './host.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Development builds of the renderer: renderer/build.ts (contract 1), loaded only when needed. */
const buildRendererNow: RendererSource = {
  async build(outDir) {
    let mod: typeof import('../renderer/build.js');
    try {
      mod = await import('../renderer/build.js');
    } catch (err) {
      throw new KithError('INTERNAL', `cannot load the renderer build (renderer/build.ts): ${(err as Error).message.split('\n')[0]}`);
    }
    await mod.buildRenderer({ outDir });
  },
};

function banner(host: AppHost, contact: { link: string; qr: string; ttlMinutes: number } | undefined): string {
  const me = host.instance.whoami();
  const where = host.lan ? `${host.listening} (reachable from your network: you chose --listen)` : `${host.listening} (this machine only)`;
  const lines = [
    `Kith is running: main instance ${me.name}${host.created ? ' (created now)' : ''}.`,
    '',
    `Open the app: ${host.appUrl}`,
    '  The first browser that opens this link becomes your app; keep it to yourself.',
    '',
    formatFields([
      ['home', host.home],
      ['listening', where],
      ['keys', host.keyProtection === 'passphrase' ? 'protected by your passphrase' : 'UNENCRYPTED (mode 0600)'],
      ['person', me.personId],
    ]),
  ];
  if (contact) {
    lines.push('', `Pair another device: scan this code with Kith there, or paste the link (valid ${contact.ttlMinutes} minutes):`, contact.qr, contact.link);
    if (!host.lan) lines.push('  The app listens on this machine only; to pair devices on your network, start it with --listen <LAN address>:PORT.');
  }
  lines.push('', 'Stop with Ctrl-C.');
  return lines.join('\n');
}

/** Runs the host in this process until SIGINT/SIGTERM; resolves with the exit code. */
async function runNodeHost(options: StartOptions, out: Output): Promise<number> {
  const shutdown = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (shutdown.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    shutdown.abort(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let host: AppHost | undefined;
  try {
    host = await startHost({
      home: options.home,
      listen: options.listen,
      name: options.name,
      keys: passphraseProtector(processPassphraseIO(), { insecurePlaintext: options.insecurePlaintextKeys }),
      renderer: buildRendererNow,
      rendererInviteTtlSeconds: options.inviteTtlSeconds,
    });
    for (const warning of host.warnings) out.warn(warning);
    const me = host.instance.whoami();
    let contact: { link: string; qr: string; ttlMinutes: number } | undefined;
    if (!out.json) {
      const invite = await host.createContactInvite(INVITE_DEFAULT_TTL_SECONDS);
      contact = { link: invite.link, qr: await invitationQrTerminal(invite.link), ttlMinutes: INVITE_DEFAULT_TTL_SECONDS / 60 };
    }
    out.result(
      {
        app: host.appUrl,
        home: host.home,
        listening: host.listening,
        lan: host.lan,
        personId: me.personId,
        instanceId: me.instanceId,
        name: me.name,
        controlSocket: host.controlSocket,
        ...(host.warnings.length ? { warning: host.warnings.join('; ') } : {}),
      },
      banner(host, contact),
    );
    const stopEvents = printServeEvents(host.instance.events, out);
    await new Promise<void>((resolve) => {
      if (shutdown.signal.aborted) return resolve();
      shutdown.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    stopEvents();
    await closeWithin(host, APP_SHUTDOWN_TIMEOUT_MS);
    const reason = shutdown.signal.reason;
    out.result({ event: 'stopped', ...(typeof reason === 'string' ? { signal: reason } : {}) }, `stopped${typeof reason === 'string' ? ` (${reason})` : ''}`);
    return 0;
  } catch (err) {
    if (host) await closeWithin(host, APP_SHUTDOWN_TIMEOUT_MS).catch(() => {});
    return out.error(err);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function closeWithin(host: AppHost, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KithError('TIMEOUT', `the app did not close within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([host.close(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the renderer and the Electron bundles, then runs Electron with the same arguments until it exits. */
async function runElectron(electronPath: string, argv: readonly string[], out: Output): Promise<number> {
  const build = spawnSync(process.execPath, [path.join(REPO_ROOT, 'scripts', 'build.mjs'), '--only=renderer,electron'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (build.status !== 0) return out.error(new KithError('INTERNAL', 'the app build failed (see above)'));
  const child = spawn(electronPath, [path.join(REPO_ROOT, 'dist', 'main', 'electron.cjs'), ...argv], { cwd: REPO_ROOT, stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('error', (err) => resolve(out.error(new KithError('INTERNAL', `cannot start Electron: ${err.message}`))));
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  const json = argv.includes('--json');
  let out = createOutput({ stdout: process.stdout, stderr: process.stderr }, { json, debug: process.env.KITH_DEBUG === '1' });
  let options: StartOptions;
  try {
    options = parseStartArgs(argv, { env: process.env, platform: process.platform, homedir: os.homedir(), cwd: process.cwd() });
  } catch (err) {
    return out.error(err, hasCode(err, 'USAGE') ? START_USAGE : undefined);
  }
  out = createOutput({ stdout: process.stdout, stderr: process.stderr }, { json: options.json, debug: process.env.KITH_DEBUG === '1' });
  if (options.help) {
    out.result({ help: START_USAGE }, START_USAGE);
    return 0;
  }
  if (!options.headless) {
    const electron = findElectron(process.env, REPO_ROOT);
    if (electron.found) return runElectron(electron.path, argv, out);
    out.info(`Running the app in Node (no Electron here: ${electron.reason}); open the link below in your browser.`);
  }
  return runNodeHost(options, out);
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const code = await main();
  process.exitCode = code;
  // Everything was closed; should a stray handle keep the loop alive, do not hang the terminal.
  setTimeout(() => process.exit(code), 2_000).unref();
}
