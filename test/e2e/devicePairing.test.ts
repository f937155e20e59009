/**
 * Two app instances — two homes, two hosts (127.0.0.2 and 127.0.0.3), two browser profiles —
 * pair through QR codes: read from a screenshot of A's Invite screen by jsQR and pasted into
 * B's Accept screen, opened as a picture, and scanned through Chromium's fake camera (a Y4M
 * video of the code). Reused, withdrawn and expired invitations show their errors with the next
 * step; the Invite screen counts down, replaces and withdraws its invitation (checked against
 * `kith invites`). Then a channel carries a message and a file each way (renderer A → main A →
 * main B → renderer B and back), and survives a restart of B's side (a large file sent meanwhile
 * shows its progress on B's Sync activity) and then of A's side, without a new invitation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startApp, type AppProcess, type Line } from './support/appProcess.js';
import { launchProfile, removeProfile, screenshot, type Profile } from './support/browser.js';
import {
  PROGRESS_RECORDER_SCRIPT,
  UI_TIMEOUT_MS,
  byId,
  completeFirstRun,
  downloadFile,
  expectBanner,
  expectMessage,
  inviteFromScreen,
  inviteIdOf,
  kith,
  listInvites,
  navigate,
  openChannel,
  pasteLink,
  progressSamples,
  send,
  sendFile,
  waitConnected,
} from './support/rendererPage.js';
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
let profileADir: string;
let profileBDir: string;
/** A one-minute invitation the Invite screen test leaves on A's screen, to find expired later. */
let expiring: { link: string; expiresAt: number } | undefined;

/** Sent while B is away: large enough that catching up takes several renders of the progress bars. */
const LARGE_FILE_BYTES = 24 * 1024 * 1024;

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
  profileADir = profileA.userDataDir;
  profileB = await launchB();
  profileBDir = profileB.userDataDir;
  [pageA, pageB] = await Promise.all([profileA.page(), profileB.page()]);
  await Promise.all([completeFirstRun(pageA, appA.appUrl, 'ann'), completeFirstRun(pageB, appB.appUrl, 'bob')]);
});

after(async () => {
  await profileA?.close().catch(() => {});
  await profileB?.close().catch(() => {});
  await Promise.all([appA?.stop().catch(() => {}), appB?.stop().catch(() => {})]);
  if (profileADir) await removeProfile(profileADir);
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
  await expectBanner(pageB, 'INVITE_USED', 'This invitation has already been used.', 'Ask for a new invitation.', 'sentence');
  await screenshot(pageB, 'error-invite-used');

  // Expired: made through `kith --home A invite --ttl 1` (A's running app answers it), used two seconds later.
  const { lines } = await kith(homeA, 'invite', '--ttl', '1');
  const link = String(lines[0]!.url);
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await pasteLink(pageB, link);
  await expectBanner(pageB, 'INVITE_EXPIRED', 'This invitation has expired.', 'Ask for a new invitation.', 'sentence');
  await screenshot(pageB, 'error-invite-expired');
});

/** Seconds left as the Invite screen's countdown reads ("Expires in 0:58"); fails on any other text. */
async function countdownSeconds(page: Page): Promise<number> {
  const text = ((await byId(page, 'invite-expiry').textContent()) ?? '').trim();
  const m = /^Expires in (\d+):(\d\d)$/.exec(text);
  assert.ok(m, `the Invite screen shows a countdown, not "${text}"`);
  return Number(m[1]) * 60 + Number(m[2]);
}

test('the Invite screen: the expiry counts down, "New invitation" replaces the link, "Withdraw" revokes it', { timeout: TIMEOUT_MS }, async () => {
  await navigate(pageA, 'invite');
  await byId(pageA, 'invite-ttl').selectOption('60');
  const first = await inviteFromScreen(pageA);
  const firstId = inviteIdOf(first.shownLink);
  const left = await countdownSeconds(pageA);
  assert.ok(left > 30 && left <= 60, `a one-minute invitation shows under a minute left, not ${left} s`);
  // The chosen lifetime stays chosen after a visit to another screen.
  await navigate(pageA, 'channels');
  await navigate(pageA, 'invite');
  assert.equal(await byId(pageA, 'invite-ttl').inputValue(), '60');
  // The countdown runs: within a few seconds it shows less.
  await pageA.waitForFunction(
    (before) => {
      const m = /^Expires in (\d+):(\d\d)$/.exec((document.querySelector('[data-testid="invite-expiry"]')?.textContent ?? '').trim());
      return !!m && Number(m[1]) * 60 + Number(m[2]) < before;
    },
    left,
    { timeout: 5_000 },
  );
  assert.ok((await countdownSeconds(pageA)) < left);
  let invites = await listInvites(homeA);
  assert.equal(invites.get(firstId)?.status, 'open', 'main lists the invitation the screen shows as open');
  assert.equal(invites.get(firstId)?.purpose, 'contact');

  // "New invitation": another link, and main no longer accepts the one it replaces.
  const second = await inviteFromScreen(pageA);
  assert.notEqual(second.shownLink, first.shownLink);
  const secondId = inviteIdOf(second.shownLink);
  invites = await listInvites(homeA);
  assert.equal(invites.get(firstId)?.status, 'revoked', 'the replaced invitation is revoked');
  assert.equal(invites.get(secondId)?.status, 'open');

  // "Withdraw": the code and link disappear, main lists it revoked, and redeeming it fails.
  await byId(pageA, 'invite-revoke').click();
  await byId(pageA, 'invite-expiry').filter({ hasText: /^Withdrawn$/ }).waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await byId(pageA, 'invite-link').count(), 0, 'no link is shown for a withdrawn invitation');
  assert.equal(await byId(pageA, 'invite-qr').count(), 0, 'no QR code is shown for a withdrawn invitation');
  await expectBanner(pageA, 'INVITE_REVOKED', 'This invitation was withdrawn.', 'Create a new invitation', 'button');
  await screenshot(pageA, 'invite-withdrawn');
  assert.equal((await listInvites(homeA)).get(secondId)?.status, 'revoked');
  const pairedBefore = paired(appB, 'invitee');
  await pasteLink(pageB, second.shownLink);
  await expectBanner(pageB, 'INVITE_REVOKED', 'This invitation was withdrawn by the person who made it.', 'Ask for a new invitation.', 'sentence');
  assert.equal(paired(appB, 'invitee'), pairedBefore, 'a withdrawn invitation pairs nothing');
  await screenshot(pageB, 'error-invite-withdrawn');

  // Left on the screen (one minute) for the expiry test further down.
  const last = await inviteFromScreen(pageA);
  expiring = { link: last.shownLink, expiresAt: parseInvitationLink(last.shownLink, { nowSeconds: Date.now() / 1000 }).expiresAt };
});

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
  await sendFile(pageA, dir, 'from-ann.bin', fromAnn);
  assert.ok((await downloadFile(pageB, 'from-ann.bin', 'ann')).equals(fromAnn), 'B received A\'s file intact');
  await sendFile(pageB, dir, 'from-bob.bin', fromBob);
  assert.ok((await downloadFile(pageA, 'from-bob.bin', 'bob')).equals(fromBob), 'A received B\'s file intact');
  await screenshot(pageA, 'channel-a');
  await screenshot(pageB, 'channel-b');
  await navigate(pageB, 'activity');
  await byId(pageB, 'sync-row').first().waitFor({ timeout: UI_TIMEOUT_MS });
  await screenshot(pageB, 'activity-b');
});

/**
 * Resolves when `app` (main) printed that its session with `peerName` received `bytes` more
 * than it had received by line `from`, and was caught up.
 */
function waitReceived(app: AppProcess, peerName: string, bytes: number, from: number): Promise<Line> {
  const isFromPeer = (l: Line) => l.event === 'sync:progress' && l.direction === 'receive' && (l.peer as { name?: string }).name === peerName;
  const base = Math.max(0, ...app.lines.slice(0, from).filter(isFromPeer).map((l) => Number(l.bytesDone)));
  return app.waitFor((l) => isFromPeer(l) && l.caughtUp === true && Number(l.bytesDone) >= base + bytes && app.lines.indexOf(l) >= from, UI_TIMEOUT_MS * 2);
}

test('B\'s side restarts: the channel carries on, and a large file sent meanwhile shows its progress on B\'s Sync activity', { timeout: TIMEOUT_MS }, async () => {
  await profileB!.close();
  profileB = undefined;
  assert.equal((await appB.stop()).code, 0);
  // A writes while B is away: a message and a large file (main A holds it all before B returns).
  await send(pageA, 'while you were away');
  await expectMessage(pageA, 'while you were away', 'ann');
  const large = randomBytes(LARGE_FILE_BYTES);
  const fromLine = appA.lines.length;
  await sendFile(pageA, dir, 'large.bin', large);
  await waitReceived(appA, 'ann', LARGE_FILE_BYTES, fromLine);

  appB = await startApp(homeB, { listen: '127.0.0.3:0', name: 'bob' });
  await waitReceived(appB, 'node-ann', LARGE_FILE_BYTES, 0);
  // B's window catches up from main B: the Sync activity screen shows the transfer as it goes.
  profileB = await launchB(profileBDir);
  await profileB.context.addInitScript({ content: PROGRESS_RECORDER_SCRIPT });
  pageB = await profileB.page();
  await pageB.goto(appB.appUrl);
  await navigate(pageB, 'activity');
  const windowRow = pageB.locator('[data-testid="sync-row"][data-source="window"][data-direction="receive"]');
  await windowRow.filter({ hasText: /up to date/ }).waitFor({ timeout: UI_TIMEOUT_MS * 2 });
  await screenshot(pageB, 'activity-b-after-restart');
  const samples = (await progressSamples(pageB)).filter((p) => p.testId === 'sync-row' && p.source === 'window' && p.direction === 'receive');
  const partial = samples.filter((p) => p.value > 0 && p.value < p.max);
  assert.ok(partial.length > 0, `the progress bar showed the transfer part-way (samples: ${JSON.stringify(samples.slice(0, 40))})`);
  assert.equal(await windowRow.locator('progress').evaluate((el) => (el as HTMLProgressElement).value), 1, 'the bar is full once caught up');

  await waitConnected(pageB);
  await openChannel(pageB, 'family');
  await expectMessage(pageB, 'hello from ann', 'ann');
  await expectMessage(pageB, 'while you were away', 'ann');
  assert.ok((await downloadFile(pageB, 'large.bin', 'ann')).equals(large), 'B received the large file intact');
  await send(pageB, 'back again');
  await expectMessage(pageA, 'back again', 'bob');
  await screenshot(pageB, 'channel-b-after-restart');
});

test('an invitation left on the Invite screen expires: the screen says so and offers a new one', { timeout: TIMEOUT_MS }, async () => {
  assert.ok(expiring, 'the Invite screen test left a one-minute invitation');
  const waitMs = Math.max(0, expiring.expiresAt * 1000 - Date.now()) + UI_TIMEOUT_MS;
  await navigate(pageA, 'invite');
  await byId(pageA, 'invite-expiry').filter({ hasText: /^Expired$/ }).waitFor({ timeout: waitMs });
  assert.equal(await byId(pageA, 'invite-link').count(), 0, 'no link is shown for an expired invitation');
  await expectBanner(pageA, 'INVITE_EXPIRED', 'This invitation has expired.', 'Create a new invitation', 'button');
  await screenshot(pageA, 'invite-expired');
  assert.equal((await listInvites(homeA)).get(inviteIdOf(expiring.link))?.status, 'expired', 'main lists it as expired');

  // The offered step makes a new, open invitation.
  await byId(pageA, 'error-action').click();
  await pageA.waitForFunction(
    (old) => {
      const text = (document.querySelector('[data-testid="invite-link"]')?.textContent ?? '').trim();
      return text.startsWith('kith://') && text !== old;
    },
    expiring.link,
    { timeout: UI_TIMEOUT_MS },
  );
  const fresh = ((await byId(pageA, 'invite-link').textContent()) ?? '').trim();
  assert.ok((await countdownSeconds(pageA)) > 0);
  assert.equal(await pageA.locator('[data-testid="error-banner"][data-code="INVITE_EXPIRED"]').count(), 0, 'the banner is gone');
  assert.equal((await listInvites(homeA)).get(inviteIdOf(fresh))?.status, 'open');
});

test('A\'s side restarts (host and browser on the same home and profile): a message each way, without a new invitation', { timeout: TIMEOUT_MS }, async () => {
  await profileA!.close();
  profileA = undefined;
  assert.equal((await appA.stop()).code, 0);
  const pairedOnB = appB.lines.filter((l) => l.event === 'pairing:paired').length;
  // B writes while A is away.
  await send(pageB, 'while ann was away');
  await expectMessage(pageB, 'while ann was away', 'bob');

  appA = await startApp(homeA, { listen: '127.0.0.2:0', name: 'ann' });
  profileA = await launchProfile({ userDataDir: profileADir });
  pageA = await profileA.page();
  // The page without the new run's `#invite=` fragment: the window reconnects as the contact it is.
  await pageA.goto(`${appA.origin}/`);
  await waitConnected(pageA);
  await openChannel(pageA, 'family');
  await expectMessage(pageA, 'while ann was away', 'bob');
  await send(pageA, 'ann is back');
  await expectMessage(pageB, 'ann is back', 'ann');
  await send(pageB, 'welcome back, ann');
  await expectMessage(pageA, 'welcome back, ann', 'bob');
  await screenshot(pageA, 'channel-a-after-restart');

  // Nothing paired anew on either side, and the start link of A's new run was never used.
  assert.deepEqual(appA.lines.filter((l) => l.event === 'pairing:paired'), []);
  assert.equal(appB.lines.filter((l) => l.event === 'pairing:paired').length, pairedOnB);
  const startLink = decodeURIComponent(new URL(appA.appUrl).hash.replace(/^#invite=/, ''));
  assert.equal((await listInvites(homeA)).get(inviteIdOf(startLink))?.status, 'open', 'the new start link is still unused');
  const contacts = (await kith(homeA, 'contacts')).lines as Array<{ name: string; relation: string }>;
  assert.deepEqual(contacts.map((c) => `${c.name}/${c.relation}`).sort(), ['ann/renderer', 'node-bob/contact']);
});
