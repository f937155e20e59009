/**
 * The same scenarios through the real desktop app: Playwright's `_electron.launch` on the
 * bundle scripts/build.mjs makes (dist/main/electron.cjs + preload.cjs + dist/renderer), when
 * ELECTRON_PATH names an Electron binary. Without one (this machine, CI) every test is skipped
 * and says why. On Linux the binary needs a display (run under xvfb-run).
 *
 * Keys: safeStorage when the OS keychain is usable; otherwise the app falls back to
 * KITH_PASSPHRASE, which these tests set.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
import { REPO_ROOT } from '../support/cli.js';
import { findElectron } from '../../main/findElectron.js';
import { TEST_PASSPHRASE, type Line } from './support/appProcess.js';
import { screenshot } from './support/browser.js';
import {
  byId, downloadFile, expectBanner, expectMessage, inviteFromScreen, kith, navigate, openChannel, pasteLink, send, sendFile, UI_TIMEOUT_MS, waitConnected,
} from './support/rendererPage.js';

const lookup = process.env.ELECTRON_PATH ? findElectron({ ELECTRON_PATH: process.env.ELECTRON_PATH }, REPO_ROOT) : undefined;
const skip: string | false = !lookup
  ? 'ELECTRON_PATH is not set: no Electron binary to drive (the Node-host end-to-end tests cover the same scenarios in Chromium)'
  : !lookup.found
    ? `ELECTRON_PATH does not name an Electron binary (${lookup.reason})`
    : false;
const TIMEOUT_MS = 240_000;

interface DesktopApp {
  readonly electron: ElectronApplication;
  readonly window: Page;
  /** The JSON lines the main process printed (--json): the first is { app, personId, … }. */
  readonly lines: Line[];
  readonly info: Line;
  close(): Promise<void>;
}

async function launchDesktop(home: string, listen: string, name: string): Promise<DesktopApp> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_')) env[k] = v;
  env.KITH_PASSPHRASE = TEST_PASSPHRASE;
  const electron = await _electron.launch({
    executablePath: process.env.ELECTRON_PATH!,
    // --no-sandbox: CI containers run as root, where Chromium's OS sandbox cannot start. The window's own `sandbox: true` is asserted below.
    args: ['--no-sandbox', join(REPO_ROOT, 'dist', 'main', 'electron.cjs'), '--home', home, '--listen', listen, '--json', '--name', name],
    cwd: REPO_ROOT,
    env,
    timeout: 60_000,
  });
  const lines: Line[] = [];
  let partial = '';
  electron.process().stdout?.setEncoding('utf8').on('data', (d: string) => {
    partial += d;
    let nl: number;
    while ((nl = partial.indexOf('\n')) !== -1) {
      const text = partial.slice(0, nl);
      partial = partial.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Line);
      } catch {
        // Electron and Chromium print their own lines; only ours are JSON.
      }
    }
  });
  const window = await electron.firstWindow({ timeout: 60_000 });
  const deadline = Date.now() + 30_000;
  while (!lines.some((l) => typeof l.app === 'string')) {
    if (Date.now() > deadline) throw new Error(`the desktop app printed no {"app": …} line; lines: ${JSON.stringify(lines)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { electron, window, lines, info: lines.find((l) => typeof l.app === 'string')!, close: () => electron.close() };
}

let dir: string;
let desktop: DesktopApp | undefined;

before(async () => {
  if (skip) return;
  const build = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build.mjs'), '--only=renderer,electron'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`the app build failed: ${build.stderr}`);
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-electron-'));
});

after(async () => {
  await desktop?.close().catch(() => {});
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('Electron: first run federates the window with main; kith contacts lists it', { skip, timeout: TIMEOUT_MS }, async () => {
  const home = join(dir, 'a');
  desktop = await launchDesktop(home, '127.0.0.2:0', 'ann');
  const w = desktop.window;
  assert.equal(new URL(w.url()).hash, '', 'Electron loads the app without the invitation in the URL');
  await byId(w, 'screen-first-run').waitFor({ timeout: UI_TIMEOUT_MS });
  await byId(w, 'name-input').fill('ann');
  await byId(w, 'name-submit').click();
  await waitConnected(w);
  await screenshot(w, 'electron-first-run-connected');
  const contacts = (await kith(home, 'contacts')).lines as Array<{ name: string; relation: string }>;
  assert.deepEqual(contacts.filter((c) => c.relation === 'renderer').map((c) => c.name), ['ann']);
  // The invitation is handed over once: used now, so the preload gets null.
  assert.equal(await w.evaluate(() => (window as unknown as { kith: { getRendererInvite(): Promise<string | null> } }).kith.getRendererInvite()), null);
});

test('Electron: the window is isolated, without Node, under the CSP; navigation and new windows are denied', { skip, timeout: TIMEOUT_MS }, async () => {
  const d = desktop!;
  const w = d.window;
  const probe = await w.evaluate(async () => {
    const win = window as unknown as Record<string, unknown>;
    const response = await fetch('/');
    return {
      require: typeof win.require,
      process: typeof win.process,
      bridge: Object.keys(win.kith as object).sort(),
      csp: response.headers.get('content-security-policy'),
      opened: window.open('https://example.com/') === null,
    };
  });
  assert.equal(probe.require, 'undefined');
  assert.equal(probe.process, 'undefined');
  assert.deepEqual(probe.bridge, ['getRendererInvite', 'onOpenLink']);
  assert.match(probe.csp ?? '', /^default-src 'none'; script-src 'self'; style-src 'self';/);
  assert.equal(probe.opened, true, 'window.open is denied');
  // Context isolation: the page sees contextBridge proxies, not the preload's own functions.
  assert.match(await w.evaluate(() => String((window as unknown as { kith: { onOpenLink: unknown } }).kith.onOpenLink)), /\[native code\]/);
  // The sandboxed preload could only have come from our bundle; the webPreferences object itself is unit-tested (test/main/electron/webPreferences.test.ts).
  const before = w.url();
  await w.evaluate(() => {
    location.href = 'https://example.com/';
  });
  await w.waitForTimeout(1_000);
  assert.equal(new URL(w.url()).origin, new URL(before).origin, 'navigation away is denied');
  assert.equal(await d.electron.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length), 1);
});

test('Electron: a kith:// link the OS opens fills the Accept screen and is not redeemed', { skip, timeout: TIMEOUT_MS }, async () => {
  const d = desktop!;
  const link = 'kith://pair/v1#AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
  const pairedBefore = d.lines.filter((l) => l.event === 'pairing:paired' || l.event === 'pairing:failed').length;
  await d.electron.evaluate(({ app }, url) => app.emit('open-url', { preventDefault() {} }, url), link);
  await byId(d.window, 'screen-accept').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await byId(d.window, 'accept-link-input').inputValue(), link);
  await d.window.waitForTimeout(1_000);
  assert.equal(d.lines.filter((l) => l.event === 'pairing:paired' || l.event === 'pairing:failed').length, pairedBefore, 'main did not try to redeem it');
});

test('Electron: a restart reconnects the window without a new invitation', { skip, timeout: TIMEOUT_MS }, async () => {
  const home = join(dir, 'a');
  await desktop!.close();
  desktop = await launchDesktop(home, '127.0.0.2:0', 'ann');
  await waitConnected(desktop.window);
  assert.equal(await byId(desktop.window, 'screen-first-run').count(), 0);
  assert.ok(!desktop.lines.some((l) => l.event === 'pairing:paired'));
});

test('Electron: two desktop apps pair by QR code and exchange a message and a file each way; a reused and an expired invitation say so', { skip, timeout: TIMEOUT_MS }, async () => {
  const a = desktop!;
  const b = await launchDesktop(join(dir, 'b'), '127.0.0.3:0', 'bob');
  try {
    await byId(b.window, 'name-input').fill('bob');
    await byId(b.window, 'name-submit').click();
    await waitConnected(b.window);
    const invite = await inviteFromScreen(a.window);
    assert.equal(invite.fromQr, invite.shownLink);
    await pasteLink(b.window, invite.fromQr);
    await byId(b.window, 'accept-result').filter({ hasText: 'node-ann' }).waitFor({ timeout: UI_TIMEOUT_MS });
    await navigate(a.window, 'channels');
    await byId(a.window, 'channel-create-name').fill('desk');
    await a.window.locator('[data-testid="channel-member"][data-name="node-bob"]').check({ timeout: UI_TIMEOUT_MS });
    await byId(a.window, 'channel-create').click();
    // The same steps as the Chromium suite (test/e2e/devicePairing.test.ts), through the desktop windows.
    for (const [from, to, text, author] of [[a.window, b.window, 'from ann on the desktop', 'ann'], [b.window, a.window, 'and back from bob', 'bob']] as const) {
      await openChannel(from, 'desk');
      await openChannel(to, 'desk');
      await send(from, text);
      await expectMessage(to, text, author);
      // A file larger than one blob chunk, so it travels as several.
      const file = randomBytes(1_300_000);
      await sendFile(from, dir, `from-${author}.bin`, file);
      assert.ok((await downloadFile(to, `from-${author}.bin`, author)).equals(file), `${author}'s file arrived intact`);
    }
    await screenshot(b.window, 'electron-channel');

    // A reused invitation, then an expired one (made through `kith --home A invite --ttl 1`).
    await pasteLink(b.window, invite.fromQr);
    await expectBanner(b.window, 'INVITE_USED', 'This invitation has already been used.', 'Ask for a new invitation.', 'sentence');
    const { lines } = await kith(join(dir, 'a'), 'invite', '--ttl', '1');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await pasteLink(b.window, String(lines[0]!.url));
    await expectBanner(b.window, 'INVITE_EXPIRED', 'This invitation has expired.', 'Ask for a new invitation.', 'sentence');
    await screenshot(b.window, 'electron-invite-expired');
  } finally {
    await b.close();
  }
});
