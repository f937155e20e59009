/**
 * Two app instances — two homes, two hosts (127.0.0.2 and 127.0.0.3), two browser profiles —
 * pair through QR codes: read from a screenshot of A's Invite screen by jsQR and pasted into
 * B's Accept screen, opened as a picture, and scanned through Chromium's fake camera (a Y4M
 * video of the code). Reused and expired invitations show their errors. Then a channel carries a
 * message and a file each way (renderer A → main A → main B → renderer B and back), and
 * survives a restart of B's host and browser.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startApp, type AppProcess, type Line } from './support/appProcess.js';
import { launchProfile, removeProfile, screenshot, type Profile } from './support/browser.js';
import { byId, completeFirstRun, inviteFromScreen, kith, navigate, pasteLink, UI_TIMEOUT_MS, waitConnected } from './support/rendererPage.js';
import { decodePng, writeQrVideo } from './support/qrImages.js';
import { parseInvitationLink } from '../../pairing/invitation.js';

const TIMEOUT_MS = 240_000;

let dir: string;
let homeA: string;
let homeB: string;
let appA: AppProcess;
let appB: AppProcess;
let profileA: Profile | undefined;
let profileB: Profile | undefined;
let pageA: Page;
let pageB: Page;
let cameraFile: string;
let profileBDir: string;

const paired = (app: AppProcess, role: string) => app.lines.filter((l: Line) => l.event === 'pairing:paired' && l.role === role && (l.peer as { name?: string }).name?.startsWith('node-')).length;

/** B's browser: a camera that shows whatever `cameraFile` holds, with the permission prompt answered yes. */
async function launchB(userDataDir?: string): Promise<Profile> {
  return launchProfile({
    userDataDir,
    args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${cameraFile}`],
    grant: { origin: appB.origin, permissions: ['camera'] },
  });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-pair-'));
  homeA = join(dir, 'a');
  homeB = join(dir, 'b');
  cameraFile = join(dir, 'camera.y4m');
  // A white picture until there is a code to show (Chromium opens the file when the camera starts).
  await writeQrVideo(cameraFile, { width: 2, height: 2, data: new Uint8Array(16).fill(255) }, { frames: 1 });
  [appA, appB] = await Promise.all([startApp(homeA, { listen: '127.0.0.2:0', name: 'ann' }), startApp(homeB, { listen: '127.0.0.3:0', name: 'bob' })]);
  profileA = await launchProfile();
  profileB = await launchB();
  profileBDir = profileB.userDataDir;
  [pageA, pageB] = await Promise.all([profileA.page(), profileB.page()]);
  await Promise.all([completeFirstRun(pageA, appA.appUrl, 'ann'), completeFirstRun(pageB, appB.appUrl, 'bob')]);
});

after(async () => {
  await profileA?.close().catch(() => {});
  await profileB?.close().catch(() => {});
  await Promise.all([appA?.stop().catch(() => {}), appB?.stop().catch(() => {})]);
  if (profileA) await removeProfile(profileA.userDataDir);
  if (profileBDir) await removeProfile(profileBDir);
  await rm(dir, { recursive: true, force: true });
});

async function waitContactConnected(page: Page, name: string): Promise<void> {
  await navigate(page, 'devices');
  await page.locator(`[data-testid="contact-row"][data-name="${name}"][data-state="connected"]`).waitFor({ timeout: UI_TIMEOUT_MS });
}

test('QR pairing: the code on A\'s Invite screen, read from a screenshot by jsQR, pasted into B', { timeout: TIMEOUT_MS }, async () => {
  const invite = await inviteFromScreen(pageA);
  await screenshot(pageA, 'invite');
  assert.equal(invite.fromQr, invite.shownLink, 'the QR code holds exactly the link the screen shows');
  const parsed = parseInvitationLink(invite.fromQr, { nowSeconds: Date.now() / 1000 });
  assert.equal(parsed.purpose, 'contact');
  assert.equal(parsed.name, 'node-ann');
  assert.deepEqual(parsed.endpoints, [appA.info.listening]);

  await pasteLink(pageB, invite.fromQr);
  await byId(pageB, 'accept-result').filter({ hasText: 'node-ann' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await screenshot(pageB, 'accept');
  await appA.waitFor((l) => l.event === 'pairing:paired' && l.role === 'inviter' && (l.peer as { name: string }).name === 'node-bob');
  await waitContactConnected(pageA, 'node-bob');
  await waitContactConnected(pageB, 'node-ann');
  await screenshot(pageB, 'devices-paired');
  const contactsA = (await kith(homeA, 'contacts')).lines as Array<{ name: string; relation: string }>;
  assert.deepEqual(contactsA.map((c) => `${c.name}/${c.relation}`).sort(), ['ann/renderer', 'node-bob/contact']);
});

test('QR pairing through the camera (Chromium\'s fake camera playing the code) and from a picture of it', { timeout: TIMEOUT_MS }, async () => {
  // Camera: A shows a new code; B's camera "sees" it.
  const byCamera = await inviteFromScreen(pageA);
  await writeQrVideo(cameraFile, decodePng(byCamera.qrPng));
  const before = paired(appB, 'invitee');
  await navigate(pageB, 'accept');
  // Count camera starts, to know the code came in through the camera and nothing else.
  await pageB.evaluate(() => {
    const devices = navigator.mediaDevices;
    const original = devices.getUserMedia.bind(devices);
    (window as unknown as { cameraStarts: number }).cameraStarts = 0;
    devices.getUserMedia = (constraints) => {
      (window as unknown as { cameraStarts: number }).cameraStarts++;
      return original(constraints);
    };
  });
  await byId(pageB, 'accept-scan').click();
  await appB.waitFor(() => paired(appB, 'invitee') > before);
  assert.equal(await pageB.evaluate(() => (window as unknown as { cameraStarts: number }).cameraStarts), 1, 'the camera was started once');
  await byId(pageB, 'accept-result').filter({ hasText: 'node-ann' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await screenshot(pageB, 'accept-camera');
  await byId(pageA, 'invite-expiry').filter({ hasText: /used/i }).waitFor({ timeout: UI_TIMEOUT_MS });

  // Picture: the screenshot PNG handed to the Accept screen's file input.
  const byPicture = await inviteFromScreen(pageA);
  const beforePicture = paired(appB, 'invitee');
  await navigate(pageB, 'accept');
  await byId(pageB, 'accept-file-input').setInputFiles({ name: 'invite.png', mimeType: 'image/png', buffer: byPicture.qrPng });
  await appB.waitFor(() => paired(appB, 'invitee') > beforePicture);
  // Re-pairing with a known person updates the existing contact: still one contact for A.
  const contactsB = (await kith(homeB, 'contacts')).lines as Array<{ name: string }>;
  assert.equal(contactsB.filter((c) => c.name === 'node-ann').length, 1);
});

test('a reused and an expired invitation say so and offer what to do next', { timeout: TIMEOUT_MS }, async () => {
  // Reused: a link A's Invite screen showed and B already redeemed.
  const used = await inviteFromScreen(pageA);
  await pasteLink(pageB, used.fromQr);
  await byId(pageB, 'accept-result').filter({ hasText: 'node-ann' }).waitFor({ timeout: UI_TIMEOUT_MS });
  await pasteLink(pageB, used.fromQr);
  await pageB.locator('[data-testid="error-banner"][data-code="INVITE_USED"]').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(((await byId(pageB, 'error-action').textContent()) ?? '').trim().length > 0);
  await screenshot(pageB, 'error-invite-used');

  // Expired: made through `kith --home A invite --ttl 1` (A's running app answers it), used two seconds later.
  const { lines } = await kith(homeA, 'invite', '--ttl', '1');
  const link = String(lines[0]!.url);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await pasteLink(pageB, link);
  await pageB.locator('[data-testid="error-banner"][data-code="INVITE_EXPIRED"]').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(((await byId(pageB, 'error-action').textContent()) ?? '').trim().length > 0);
  await screenshot(pageB, 'error-invite-expired');
});

async function openChannel(page: Page, name: string): Promise<void> {
  await navigate(page, 'channels');
  const item = page.locator(`[data-testid="channel-item"][data-name="${name}"]`);
  await item.waitFor({ timeout: UI_TIMEOUT_MS });
  await item.click();
  await byId(page, 'message-input').waitFor({ timeout: UI_TIMEOUT_MS });
}

async function send(page: Page, text: string): Promise<void> {
  await byId(page, 'message-input').fill(text);
  await byId(page, 'message-send').click();
}

function messageWith(page: Page, text: string) {
  return page.locator('[data-testid="message"]').filter({ has: page.locator('[data-testid="message-text"]', { hasText: text }) });
}

async function expectMessage(page: Page, text: string, author: string): Promise<void> {
  const m = messageWith(page, text);
  await m.waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await m.getAttribute('data-author'), author);
  assert.equal(await m.getAttribute('data-verified'), 'true');
}

async function sendFile(page: Page, name: string, bytes: Buffer): Promise<void> {
  await byId(page, 'file-input').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: bytes });
}

async function downloadFile(page: Page, name: string, author: string): Promise<Buffer> {
  const entry = page.locator('[data-testid="message"]').filter({ has: page.locator('[data-testid="message-file"]', { hasText: name }) });
  await entry.waitFor({ timeout: UI_TIMEOUT_MS * 2 });
  assert.equal(await entry.getAttribute('data-author'), author);
  assert.equal(await entry.getAttribute('data-verified'), 'true');
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: UI_TIMEOUT_MS }), entry.locator('[data-testid="message-file"]').click()]);
  assert.equal(download.suggestedFilename(), name);
  return readFile(await download.path());
}

test('a channel carries a message and a file each way: renderer → main → main → renderer', { timeout: TIMEOUT_MS }, async () => {
  await navigate(pageA, 'channels');
  await byId(pageA, 'channel-create-name').fill('family');
  await pageA.locator('[data-testid="channel-member"][data-name="node-bob"]').check();
  await byId(pageA, 'channel-create').click();
  await openChannel(pageA, 'family');
  await send(pageA, 'hello from ann');
  await expectMessage(pageA, 'hello from ann', 'ann');

  await openChannel(pageB, 'family');
  await expectMessage(pageB, 'hello from ann', 'ann');
  await send(pageB, 'hi ann, bob here');
  await expectMessage(pageA, 'hi ann, bob here', 'bob');

  // Files larger than one blob chunk (1 MiB), so they travel as several chunks.
  const fromAnn = randomBytes(1_500_000);
  const fromBob = randomBytes(1_200_000);
  await sendFile(pageA, 'from-ann.bin', fromAnn);
  assert.ok((await downloadFile(pageB, 'from-ann.bin', 'ann')).equals(fromAnn), 'B received A\'s file intact');
  await sendFile(pageB, 'from-bob.bin', fromBob);
  assert.ok((await downloadFile(pageA, 'from-bob.bin', 'bob')).equals(fromBob), 'A received B\'s file intact');
  await screenshot(pageA, 'channel-a');
  await screenshot(pageB, 'channel-b');
  await navigate(pageB, 'activity');
  await byId(pageB, 'sync-row').first().waitFor({ timeout: UI_TIMEOUT_MS });
  await screenshot(pageB, 'activity-b');
});

test('the channel survives a restart of B\'s host and browser', { timeout: TIMEOUT_MS }, async () => {
  await profileB!.close();
  profileB = undefined;
  assert.equal((await appB.stop()).code, 0);
  // A writes while B is away.
  await send(pageA, 'while you were away');
  await expectMessage(pageA, 'while you were away', 'ann');

  appB = await startApp(homeB, { listen: '127.0.0.3:0', name: 'bob' });
  profileB = await launchB(profileBDir);
  pageB = await profileB.page();
  await pageB.goto(appB.appUrl);
  await waitConnected(pageB);
  await openChannel(pageB, 'family');
  await expectMessage(pageB, 'hello from ann', 'ann');
  await expectMessage(pageB, 'while you were away', 'ann');
  await send(pageB, 'back again');
  await expectMessage(pageA, 'back again', 'bob');
  await screenshot(pageB, 'channel-b-after-restart');
});
