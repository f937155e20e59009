/**
 * Steps through the renderer's UI by the test ids of the app brief (contract 6) — nothing
 * else of the renderer's markup is relied on.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { readQrFromPng } from './qrImages.js';
import { runCli, type CliResult } from '../../support/cli.js';
import { parseInvitationLink } from '../../../pairing/invitation.js';
import { deriveInviteSecrets } from '../../../connections/handshake.js';
import { NobleCrypto } from '../../../shared/crypto/nobleCrypto.js';
import { toHex } from '../../../shared/bytes.js';

/** Long enough for pairing on a loaded CI machine (two handshakes, a scrypt-free store, CHUM hello). */
export const UI_TIMEOUT_MS = 30_000;

export const byId = (page: Page, id: string) => page.getByTestId(id);

/** Waits until the header says the window is linked to main. */
export async function waitConnected(page: Page, timeout = UI_TIMEOUT_MS): Promise<void> {
  await page.getByTestId('connection-status').filter({ hasText: /\bconnected\b/ }).waitFor({ timeout });
}

/** First run: opens `url`, enters the name, and waits for the connection to main. */
export async function completeFirstRun(page: Page, url: string, name: string, options: { expectConnected?: boolean } = {}): Promise<void> {
  await page.goto(url);
  await byId(page, 'screen-first-run').waitFor({ timeout: UI_TIMEOUT_MS });
  await byId(page, 'name-input').fill(name);
  await byId(page, 'name-submit').click();
  if (options.expectConnected !== false) await waitConnected(page);
}

export async function navigate(page: Page, screen: string): Promise<void> {
  await byId(page, `nav-${screen}`).click();
  await byId(page, `screen-${screen}`).waitFor({ timeout: UI_TIMEOUT_MS });
}

/**
 * Creates a new invitation on the Invite screen and reads it back from a screenshot of the QR
 * code with jsQR (independent of the app's decoder). Also returns the link the screen shows.
 */
export async function inviteFromScreen(page: Page): Promise<{ qrPng: Buffer; fromQr: string; shownLink: string }> {
  await navigate(page, 'invite');
  const link = byId(page, 'invite-link');
  // The screen makes an invitation by itself when it has none: wait for it, so that the one
  // made below (refresh) is the last one and nothing replaces it behind the test's back.
  // (`invite-expiry` shows for every invitation; the link only while it is open.)
  await byId(page, 'invite-expiry').waitFor({ timeout: UI_TIMEOUT_MS });
  const before = (await link.count()) > 0 ? ((await link.textContent()) ?? '').trim() : '';
  await byId(page, 'invite-refresh').click();
  await page.waitForFunction(
    (old) => {
      const text = (document.querySelector('[data-testid="invite-link"]')?.textContent ?? '').trim();
      const img = document.querySelector('img[data-testid="invite-qr"]') as HTMLImageElement | null;
      return text !== old && text.startsWith('kith://') && !!img && img.complete && img.naturalWidth > 0;
    },
    before,
    { timeout: UI_TIMEOUT_MS },
  );
  // The link and the picture are read from one state of the screen: the same link before and after the screenshot.
  for (let attempt = 0; ; attempt++) {
    const shownLink = ((await link.textContent()) ?? '').trim();
    const qrPng = await byId(page, 'invite-qr').screenshot();
    const again = ((await link.textContent()) ?? '').trim();
    if (again !== shownLink) {
      if (attempt >= 3) throw new Error('the invitation on the Invite screen keeps changing');
      continue;
    }
    const fromQr = readQrFromPng(qrPng);
    if (!fromQr) throw new Error('jsQR found no QR code in the screenshot of the Invite screen');
    return { qrPng, fromQr, shownLink };
  }
}

/** Pastes `link` on the Accept screen and submits it. */
export async function pasteLink(page: Page, link: string): Promise<void> {
  await navigate(page, 'accept');
  await byId(page, 'accept-link-input').fill(link);
  await byId(page, 'accept-submit').click();
}

/** `kith --home HOME --json ARGS…` against the running app (its control socket). */
export async function kith(home: string, ...args: string[]): Promise<CliResult> {
  const result = await runCli(['--home', home, '--json', ...args], { entry: 'source', timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`kith ${args.join(' ')} failed (${result.code}): ${result.stdout} ${result.stderr}`);
  return result;
}

/** One row of `kith invites --json`. */
export interface InviteListing {
  readonly inviteId: string;
  readonly purpose: string;
  readonly status: string;
  readonly expiresAt: string;
}

/** `kith --home HOME invites`: the invitations main remembers, by id. */
export async function listInvites(home: string): Promise<Map<string, InviteListing>> {
  const { lines } = await kith(home, 'invites');
  return new Map((lines as unknown as InviteListing[]).map((i) => [i.inviteId, i]));
}

/** The id main files an invitation link under (derived from the link's token, as the inviter does). */
export function inviteIdOf(link: string): string {
  const { token } = parseInvitationLink(link, { nowSeconds: Date.now() / 1000 });
  return toHex(deriveInviteSecrets(new NobleCrypto(), token).inviteId);
}

/** A value a `<progress>` element took, with the sync row (or test id) it belongs to. */
export interface ProgressSample {
  readonly testId: string | null;
  readonly source: string | null;
  readonly direction: string | null;
  readonly peer: string | null;
  readonly value: number;
  readonly max: number;
}

/** At most this many samples are kept: a long transfer re-renders a few times a second. */
const MAX_PROGRESS_SAMPLES = 10_000;

/**
 * Page script (for `context.addInitScript({ content })`, so it runs before the app): records
 * every value any `<progress>` element shows, from the moment it appears, in
 * `window.kithProgressSamples`. A transfer may end between two polls of a test; a
 * MutationObserver sees every render. Plain JavaScript text, because a function would be
 * serialised after tsx's transform (which adds helpers the page does not have).
 */
export const PROGRESS_RECORDER_SCRIPT = `(() => {
  const samples = [];
  window.kithProgressSamples = samples;
  const note = (p) => {
    if (samples.length >= ${MAX_PROGRESS_SAMPLES}) return;
    const row = p.closest('[data-testid="sync-row"]');
    samples.push({
      testId: p.getAttribute('data-testid') ?? (row ? row.getAttribute('data-testid') : null),
      source: row ? row.getAttribute('data-source') : null,
      direction: row ? row.getAttribute('data-direction') : null,
      peer: row ? row.getAttribute('data-peer') : null,
      value: p.value,
      max: p.max,
    });
  };
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.target instanceof HTMLProgressElement) note(r.target);
      for (const n of r.addedNodes) {
        if (n instanceof HTMLProgressElement) note(n);
        else if (n instanceof Element) n.querySelectorAll('progress').forEach(note);
      }
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
})();`;

/** The samples PROGRESS_RECORDER_SCRIPT collected in `page` so far. */
export async function progressSamples(page: Page): Promise<ProgressSample[]> {
  return page.evaluate(() => (window as unknown as { kithProgressSamples?: ProgressSample[] }).kithProgressSamples ?? []);
}

// ---- channels and errors (shared by the Chromium and Electron suites) -----------------

/**
 * The banner for `code` says `text` and offers exactly `next`: a button when the app can do it
 * (`button`), a sentence when the person must (the inviter's new invitation is theirs to make).
 */
export async function expectBanner(page: Page, code: string, text: string, next: string, kind: 'button' | 'sentence'): Promise<void> {
  const banner = page.locator(`[data-testid="error-banner"][data-code="${code}"]`);
  await banner.waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(((await banner.textContent()) ?? '').includes(text), `the ${code} banner says "${text}": ${await banner.textContent()}`);
  const action = banner.getByTestId('error-action');
  assert.equal(((await action.textContent()) ?? '').trim(), next);
  assert.equal(await action.evaluate((el) => el.tagName), kind === 'button' ? 'BUTTON' : 'P');
}

export async function openChannel(page: Page, name: string): Promise<void> {
  await navigate(page, 'channels');
  const item = page.locator(`[data-testid="channel-item"][data-name="${name}"]`);
  await item.waitFor({ timeout: UI_TIMEOUT_MS });
  await item.click();
  await byId(page, 'message-input').waitFor({ timeout: UI_TIMEOUT_MS });
}

export async function send(page: Page, text: string): Promise<void> {
  await byId(page, 'message-input').fill(text);
  await byId(page, 'message-send').click();
}

export function messageWith(page: Page, text: string) {
  return page.locator('[data-testid="message"]').filter({ has: page.locator('[data-testid="message-text"]', { hasText: text }) });
}

export async function expectMessage(page: Page, text: string, author: string): Promise<void> {
  const m = messageWith(page, text);
  await m.waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await m.getAttribute('data-author'), author);
  assert.equal(await m.getAttribute('data-verified'), 'true');
}

/**
 * Picks a file on the page from a path: Playwright hands a local browser the path, where a
 * buffer would travel base64 over the DevTools protocol (a 24 MiB one took over 15 s on a
 * loaded CI machine).
 */
export async function sendFile(page: Page, scratchDir: string, name: string, bytes: Buffer): Promise<void> {
  const folder = await mkdtemp(join(scratchDir, 'upload-'));
  const path = join(folder, name);
  await writeFile(path, bytes);
  await byId(page, 'file-input').setInputFiles(path, { timeout: UI_TIMEOUT_MS * 2 });
}

export async function downloadFile(page: Page, name: string, author: string): Promise<Buffer> {
  const entry = page.locator('[data-testid="message"]').filter({ has: page.locator('[data-testid="message-file"]', { hasText: name }) });
  await entry.waitFor({ timeout: UI_TIMEOUT_MS * 2 });
  assert.equal(await entry.getAttribute('data-author'), author);
  assert.equal(await entry.getAttribute('data-verified'), 'true');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_TIMEOUT_MS }), entry.locator('[data-testid="message-file"]').click()]);
  assert.equal(download.suggestedFilename(), name);
  return readFile(await download.path());
}
