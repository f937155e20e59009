/**
 * `npm start` the way a newcomer runs it: no `--json`, a home and a loopback address of their
 * choosing, `--headless` so no Electron window opens (there is no browser to open either: the
 * person opens the printed link). The banner's app URL serves the app, its `#invite=` fragment
 * is a renderer invitation, and the terminal QR code — turned back into pixels and read by jsQR
 * — holds exactly the pairing link printed under it, which main lists as open. Ctrl-C (SIGINT to
 * the process group, as a terminal sends it) stops it cleanly: it says so and frees the home.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, runCli } from '../support/cli.js';
import { START_SCRIPT, TEST_PASSPHRASE } from './support/appProcess.js';
import { readQrFromTerminal } from './support/qrImages.js';
import { inviteIdOf, type InviteListing } from './support/rendererPage.js';
import { parseInvitationLink } from '../../pairing/invitation.js';

const TIMEOUT_MS = 120_000;
/** The first start builds the renderer and derives the key from the passphrase (scrypt). */
const START_WAIT_MS = 60_000;
const STOP_WAIT_MS = 20_000;
const FETCH_TIMEOUT_MS = 10_000;
/** The banner's last line: everything above it has been printed. */
const BANNER_END = 'Stop with Ctrl-C.';
const QR_LINE_START = '\x1b[30;47m';

let dir: string | undefined;
let child: ChildProcessWithoutNullStreams | undefined;

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** `npm start -- ARGS` when npm is on the PATH (how the README starts the app), else the script it runs. */
function startCommand(args: readonly string[]): { command: string; argv: string[]; how: string } {
  const npm = spawnSync('npm', ['--version'], { encoding: 'utf8', timeout: 15_000 });
  if (npm.status === 0) return { command: 'npm', argv: ['start', '--', ...args], how: 'npm start' };
  return { command: process.execPath, argv: ['--import', 'tsx', START_SCRIPT, ...args], how: `node main/start.ts (npm is not usable here: ${npm.error?.message ?? npm.stderr})` };
}

/** Resolves with stdout once `predicate` holds for it; rejects when the process exits first or after `ms`. */
function waitForOutput(proc: ChildProcessWithoutNullStreams, output: () => string, predicate: (stdout: string) => boolean, ms: number, what: string, stderr: () => string): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      clearTimeout(timer);
      proc.stdout.off('data', check);
      proc.off('exit', exited);
      if (err) reject(err);
      else resolve(output());
    };
    const check = () => {
      if (predicate(output())) done();
    };
    const exited = (code: number | null, signal: NodeJS.Signals | null) => done(new Error(`npm start exited (${code ?? signal}) before ${what}; stdout: ${output()}; stderr: ${stderr()}`));
    const timer = setTimeout(() => done(new Error(`npm start printed no ${what} within ${ms} ms; stdout: ${output()}; stderr: ${stderr()}`)), ms);
    proc.stdout.on('data', check);
    proc.on('exit', exited);
    check();
  });
}

test('npm start without --json prints the app URL and a terminal QR code of the pairing link; Ctrl-C stops it cleanly', { timeout: TIMEOUT_MS }, async (t) => {
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-npm-start-'));
  const home = join(dir, 'home');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_') && k !== 'ELECTRON_PATH') env[k] = v;
  // A newcomer types the passphrase at the prompt; stdin is not a terminal here.
  env.KITH_PASSPHRASE = TEST_PASSPHRASE;
  const start = startCommand(['--home', home, '--listen', '127.0.0.4:0', '--headless']);
  if (start.command !== 'npm') t.diagnostic(`running ${start.how}`);
  // Its own process group, so that Ctrl-C can be sent as a terminal sends it: to npm, its shell and node at once.
  const proc = spawn(start.command, start.argv, { cwd: REPO_ROOT, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  proc.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  proc.stdin.end();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));

  await waitForOutput(proc, () => stdout, (s) => s.includes(BANNER_END), START_WAIT_MS, 'banner', () => stderr);
  const lines = stdout.split('\n');
  const text = (l: string) => l.replace(/\x1b\[[0-9;]*m/g, '');

  // The app URL, with the renderer invitation in its fragment, serves the app.
  const appLine = lines.map(text).find((l) => l.startsWith('Open the app: '));
  assert.ok(appLine, `the banner has "Open the app: URL"; stdout: ${stdout}`);
  const appUrl = appLine.slice('Open the app: '.length).trim();
  assert.match(appUrl, /^http:\/\/127\.0\.0\.4:\d+\/#invite=kith%3A%2F%2Fpair%2Fv1%23/);
  const startLink = decodeURIComponent(new URL(appUrl).hash.replace(/^#invite=/, ''));
  assert.equal(parseInvitationLink(startLink, { nowSeconds: Date.now() / 1000 }).purpose, 'renderer');
  const page = await fetch(appUrl, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await page.text(), /<title>Kith<\/title>[\s\S]*<script type="module" src="app\.js"><\/script>/);
  const listening = lines.map(text).find((l) => l.startsWith('listening:'))?.replace(/^listening:\s+/, '').split(' ')[0];
  assert.match(listening ?? '', /^ws:\/\/127\.0\.0\.4:\d+\/kith\/v1$/, 'the banner says where main listens');

  // The terminal QR code, drawn back into pixels and read by jsQR, is the pairing link printed under it.
  const qrStart = lines.findIndex((l) => l.startsWith(QR_LINE_START));
  assert.ok(qrStart > 0, `the banner has a terminal QR code; stdout: ${stdout}`);
  let qrEnd = qrStart;
  while (qrEnd < lines.length && lines[qrEnd]!.startsWith(QR_LINE_START)) qrEnd++;
  const qrLines = lines.slice(qrStart, qrEnd);
  assert.ok(qrLines.length >= 12, `a QR code of ${qrLines.length} lines is too small for a link`);
  const fromQr = readQrFromTerminal(qrLines);
  assert.ok(fromQr, 'jsQR reads the terminal QR code');
  const pairingLink = text(lines[qrEnd] ?? '').trim();
  assert.equal(fromQr, pairingLink, 'the QR code holds exactly the link printed under it');
  const pairing = parseInvitationLink(pairingLink, { nowSeconds: Date.now() / 1000 });
  assert.equal(pairing.purpose, 'contact');
  assert.match(pairing.name, /^node-/);
  assert.deepEqual(pairing.endpoints, [listening]);

  // While it runs, `kith --home` reaches it: both invitations are open.
  const invites = await runCli(['--home', home, '--json', 'invites'], { entry: 'source', timeoutMs: 30_000 });
  assert.equal(invites.code, 0, invites.stderr);
  const byId = new Map((invites.lines as unknown as InviteListing[]).map((i) => [i.inviteId, i]));
  assert.equal(byId.get(inviteIdOf(pairingLink))?.status, 'open', 'main lists the printed pairing link as open');
  assert.equal(byId.get(inviteIdOf(startLink))?.status, 'open', 'main lists the start link as open');

  // Ctrl-C: the host says it stopped, the process ends, and the home is free again.
  process.kill(-proc.pid!, 'SIGINT');
  let timer: ReturnType<typeof setTimeout> | undefined;
  const ended = await Promise.race([
    exit,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`npm start did not exit within ${STOP_WAIT_MS} ms of Ctrl-C; stdout tail: ${stdout.slice(-500)}; stderr: ${stderr}`)), STOP_WAIT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  assert.match(stdout, /\nstopped \(SIGINT\)\n/, 'the host reports a clean stop');
  // node exits 0; npm, interrupted itself, passes the interrupt on as a shell does.
  assert.ok(ended.code === 0 || ended.signal === 'SIGINT', `exit ${JSON.stringify(ended)}; stderr: ${stderr}`);
  const offline = await runCli(['--home', home, '--json', 'invites'], { entry: 'source', timeoutMs: 30_000, env: { KITH_PASSPHRASE: TEST_PASSPHRASE } });
  assert.equal(offline.code, 0, `the home opens once the app is gone (lock released): ${offline.stderr}`);
  assert.ok(offline.lines.some((i) => i.inviteId === inviteIdOf(pairingLink)), 'the invitation was kept on disk');
});
