/**
 * The start link (the renderer invitation in the app URL) expires on main's clock: a browser
 * that opens it too late is told so in plain words with the next step, and the next start's
 * link works in the same profile.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApp, type AppProcess } from './support/appProcess.js';
import { launchProfile, removeProfile, screenshot, type Profile } from './support/browser.js';
import { byId, completeFirstRun, UI_TIMEOUT_MS, waitConnected } from './support/rendererPage.js';

let dir: string | undefined;
let app: AppProcess | undefined;
let profile: Profile | undefined;

after(async () => {
  await profile?.close().catch(() => {});
  await app?.stop().catch(() => {});
  if (profile) await removeProfile(profile.userDataDir);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('an expired start link shows INVITE_EXPIRED with the next step; the next start\'s link pairs', { timeout: 180_000 }, async () => {
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-expired-'));
  const home = join(dir, 'home');
  app = await startApp(home, { listen: '127.0.0.2:0', name: 'ann', inviteTtlSeconds: 1 });
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  profile = await launchProfile();
  const page = await profile.page();
  await completeFirstRun(page, app.appUrl, 'ann', { expectConnected: false });
  await page.locator('[data-testid="error-banner"][data-code="INVITE_EXPIRED"]').waitFor({ timeout: UI_TIMEOUT_MS });
  const next = ((await byId(page, 'error-action').textContent()) ?? '').trim();
  assert.ok(next.length > 0, 'the banner says what to do next');
  await screenshot(page, 'start-link-expired');
  await app.waitFor((l) => (l.event === 'pairing:failed' || l.event === 'connection:failed') && l.code === 'INVITE_EXPIRED');
  assert.doesNotMatch((await byId(page, 'connection-status').textContent()) ?? '', /\bconnected\b/);

  // What the banner advises: start again, open the new link.
  assert.equal((await app.stop()).code, 0);
  app = await startApp(home, { listen: '127.0.0.2:0', name: 'ann' });
  await page.goto('about:blank');
  await page.goto(app.appUrl);
  const submit = byId(page, 'name-submit');
  // The profile kept the identity it made on the first try; it only has to connect.
  if (await byId(page, 'screen-first-run').isVisible()) await submit.click();
  await waitConnected(page);
});
