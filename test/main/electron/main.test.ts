/**
 * The bundled Electron main process, run under plain Node against a fake `electron` module
 * (fakeElectron.cjs): no Electron binary exists here, but the bundle's wiring — the host with
 * safeStorage keys, the hardened window, IPC sender checks, permissions, request filtering,
 * kith:// links, clean quit — is exercised for real. The fake plays a scripted session and
 * reports what main did.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../support/cli.js';
import { SEALED_KEY_FILE } from '../../../main/electron/safeStorageProtector.js';

interface Outcome {
  value?: unknown;
  error?: string;
}
interface Report {
  errors: string[];
  exitCode: number;
  userData: string;
  webPreferences: Record<string, unknown>;
  loadedUrl: string;
  page: { status: number; csp: string };
  channels: string[];
  ipc: Record<string, Outcome>;
  links: { waiting: Outcome; sent: unknown[][] };
  permissions: Record<string, boolean>;
  requests: Record<string, boolean>;
  navigation: { windowOpen: { action: string }; willNavigate: boolean; willRedirect: boolean; webview: boolean };
  sealed?: boolean;
  protocolRegistered?: string;
}

test('the Electron main bundle: host, window, IPC checks, permissions, links and quit, against a fake electron', { timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-electron-main-'));
  try {
    // The layout of dist/: main/electron.cjs + main/preload.cjs next to renderer/, and our fake as node_modules/electron.
    await build({
      absWorkingDir: REPO_ROOT,
      entryPoints: [join(REPO_ROOT, 'main', 'electron', 'main.ts')],
      outfile: join(dir, 'main', 'electron.cjs'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      tsconfig: join(REPO_ROOT, 'tsconfig.json'),
      external: ['electron', 'bufferutil', 'utf-8-validate'],
      logLevel: 'silent',
    });
    await mkdir(join(dir, 'renderer'));
    await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><script type="module" src="/app.js"></script>');
    await writeFile(join(dir, 'renderer', 'app.js'), '');
    await mkdir(join(dir, 'node_modules', 'electron'), { recursive: true });
    await copyFile(join(REPO_ROOT, 'test', 'main', 'electron', 'fakeElectron.cjs'), join(dir, 'node_modules', 'electron', 'index.js'));
    const home = join(dir, 'home');
    const reportFile = join(dir, 'report.json');

    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_')) env[k] = v;
    env.FAKE_ELECTRON_REPORT = reportFile;
    const child = spawn(process.execPath, [join(dir, 'main', 'electron.cjs'), '--inspect-brk-not-ours', '--home', home, '--listen', '127.0.0.2:0', '--json', '--name', 'ann'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the bundle did not quit within 60 s; stdout: ${stdout}; stderr: ${stderr}`));
      }, 60_000);
      child.on('exit', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 0, `exit code; stderr: ${stderr}`);
    const r = JSON.parse(await readFile(reportFile, 'utf8')) as Report;
    assert.deepEqual(r.errors, []);

    // The host ran in the one Electron profile of this home, with its keys sealed by safeStorage.
    assert.equal(r.userData, join(home, 'electron'));
    assert.equal(r.sealed, true);
    assert.equal((await stat(join(home, SEALED_KEY_FILE))).mode & 0o777, 0o600);
    assert.equal(r.protocolRegistered, undefined, 'a development run does not take over the system kith:// handler');
    const first = JSON.parse(stdout.split('\n')[0]!) as { app: string; name: string };
    assert.equal(first.name, 'node-ann');
    assert.match(first.app, /^http:\/\/127\.0\.0\.2:\d+\/$/);
    assert.ok(stdout.includes('"event":"stopped"'), 'a clean quit closes the host');

    // The window: hardened preferences, the app's origin without the invitation, served with the CSP.
    assert.equal(r.webPreferences.contextIsolation, true);
    assert.equal(r.webPreferences.sandbox, true);
    assert.equal(r.webPreferences.nodeIntegration, false);
    assert.equal(r.webPreferences.webSecurity, true);
    assert.equal(r.webPreferences.preload, join(dir, 'main', 'preload.cjs'));
    assert.equal(r.loadedUrl, first.app);
    assert.equal(r.page.status, 200);
    assert.match(r.page.csp, /^default-src 'none';/);

    // IPC: exactly our channels; only our window's top frame on our origin, with no arguments, gets an answer.
    assert.deepEqual(r.channels, ['kith:get-renderer-invite', 'kith:take-opened-links']);
    assert.match(String(r.ipc.good!.value), /^kith:\/\/pair\/v1#/);
    for (const refused of ['otherWindow', 'subframe', 'otherOrigin', 'noFrame']) assert.deepEqual(r.ipc[refused], { error: 'ACCESS_DENIED' }, refused);
    assert.deepEqual(r.ipc.extraArgument, { error: 'INVALID_INPUT' });

    // kith:// links: only invitation links, queued until the renderer listens, then sent to it; never redeemed.
    assert.deepEqual(r.links.waiting.value, ['kith://pair/v1#AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f']);
    assert.deepEqual(r.links.sent, [['kith:open-link', 'kith://pair/v1#AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4fB']]);
    assert.ok(!stdout.includes('pairing:'), 'main did not try to pair with a link');

    assert.deepEqual(r.permissions, { camera: true, microphone: false, cameraOtherContents: false, notifications: false, checkCamera: true, checkGeolocation: false, device: false });
    assert.deepEqual(r.requests, { app: false, socket: false, remote: true });
    assert.deepEqual(r.navigation, { windowOpen: { action: 'deny' }, willNavigate: true, willRedirect: true, webview: true });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
