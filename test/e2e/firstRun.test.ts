/**
 * End to end, in Chromium against `npm start` (Node host): a browser profile opens the printed
 * URL, becomes the renderer instance (person `ann`), pairs with main (`node-ann`) through the
 * URL's invitation, and `kith --home … contacts` lists it. Then the window's security settings,
 * and a restart of host and browser that reconnects without a new invitation.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startApp, type AppProcess } from './support/appProcess.js';
import { launchProfile, removeProfile, screenshot, type Profile } from './support/browser.js';
import { byId, completeFirstRun, kith, navigate, waitConnected } from './support/rendererPage.js';

const FILE_TIMEOUT_MS = 240_000;

let dir: string;
let home: string;
let app: AppProcess | undefined;
let profile: Profile | undefined;
let page: Page;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-first-'));
  home = join(dir, 'home');
  app = await startApp(home, { listen: '127.0.0.2:0', name: 'ann' });
  profile = await launchProfile();
  page = await profile.page();
});

after(async () => {
  await profile?.close().catch(() => {});
  await app?.stop().catch(() => {});
  if (profile) await removeProfile(profile.userDataDir);
  await rm(dir, { recursive: true, force: true });
});

type ContactLine = { name: string; relation: string; personId: string; instances: Array<{ state?: string }> };

test('first run: the renderer becomes its own instance and federates with main', { timeout: FILE_TIMEOUT_MS }, async () => {
  const a = app!;
  assert.match(a.appUrl, /^http:\/\/127\.0\.0\.2:\d+\/#invite=kith%3A%2F%2Fpair%2Fv1%23/);
  assert.equal(a.info.name, 'node-ann');
  await page.goto(a.appUrl);
  await byId(page, 'screen-first-run').waitFor();
  await screenshot(page, 'first-run');
  await byId(page, 'name-input').fill('ann');
  await byId(page, 'name-submit').click();
  await waitConnected(page);
  // The invitation is a secret: the renderer took it out of the address bar.
  assert.equal(new URL(page.url()).hash, '');
  await a.waitFor((l) => l.event === 'pairing:paired' && (l.peer as { name?: string }).name === 'ann');
  await screenshot(page, 'channels-empty');

  await navigate(page, 'identity');
  const personId = (await byId(page, 'person-id').textContent()) ?? '';
  const mainPersonId = (await byId(page, 'main-person-id').textContent()) ?? '';
  assert.ok(mainPersonId.includes(String(a.info.personId)), 'the identity screen names main\'s person');
  assert.ok(!personId.includes(String(a.info.personId)), 'the renderer acts for a person of its own');
  assert.ok(((await byId(page, 'instance-id').textContent()) ?? '').length > 0);
  assert.ok(((await byId(page, 'fingerprint').first().textContent()) ?? '').length > 0);
  await screenshot(page, 'identity');

  // `kith --home DIR contacts` reaches this main instance and lists the renderer as connected.
  const contacts = (await kith(home, 'contacts')).lines as ContactLine[];
  const renderer = contacts.filter((c) => c.relation === 'renderer');
  assert.equal(renderer.length, 1, JSON.stringify(contacts));
  assert.equal(renderer[0]!.name, 'ann');
  assert.ok(personId.includes(renderer[0]!.personId), 'the contact main stores is the person the window shows');
  assert.equal(renderer[0]!.instances[0]!.state, 'connected');

  await navigate(page, 'devices');
  await byId(page, 'contact-row').first().waitFor();
  await screenshot(page, 'devices');
  await navigate(page, 'activity');
  await screenshot(page, 'activity');
  assert.deepEqual(profile!.errors.filter((e) => !/favicon/.test(e)), []);
});

test('the window runs without Node, under the strict CSP', { timeout: FILE_TIMEOUT_MS }, async () => {
  const a = app!;
  const probe = await page.evaluate(() => {
    const w = window as unknown as Record<string, unknown>;
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.append(s);
    return {
      require: typeof w.require,
      process: typeof w.process,
      module: typeof w.module,
      electron: typeof w.electron,
      inlineRan: w.__inlineRan === true,
    };
  });
  assert.deepEqual(probe, { require: 'undefined', process: 'undefined', module: 'undefined', electron: 'undefined', inlineRan: false });
  // Strings as code (no 'unsafe-eval'): a string timer of the page never runs.
  await page.evaluate(() => (setTimeout as unknown as (code: string, ms: number) => void)('window.__stringTimerRan = true', 0));
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => (window as unknown as Record<string, unknown>).__stringTimerRan === true), false);
  const response = await page.request.get(`${a.origin}/`);
  const port = new URL(a.origin).port;
  assert.equal(
    response.headers()['content-security-policy'],
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws://127.0.0.2:${port}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  );
  assert.equal(response.headers()['x-content-type-options'], 'nosniff');
  assert.equal(response.headers()['referrer-policy'], 'no-referrer');
  assert.equal(response.headers()['cross-origin-opener-policy'], 'same-origin');
  assert.equal((await page.request.post(`${a.origin}/`)).status(), 405);
  assert.equal((await page.request.get(`${a.origin}/../../etc/passwd`)).status(), 404);
});

test('restart of host and browser: the renderer reconnects as a known contact, without a new invitation', { timeout: FILE_TIMEOUT_MS }, async () => {
  const before = app!;
  const userDataDir = profile!.userDataDir;
  await profile!.close();
  profile = undefined;
  const stopped = await before.stop();
  assert.equal(stopped.code, 0, 'a clean exit on SIGTERM');
  assert.ok(before.lines.some((l) => l.event === 'stopped'));

  app = await startApp(home, { listen: '127.0.0.2:0', name: 'ann' });
  const after = app;
  assert.equal(after.origin, before.origin, 'the same origin (remembered port), so the profile keeps its identity');
  assert.equal(after.info.personId, before.info.personId);
  profile = await launchProfile({ userDataDir });
  page = await profile.page();
  // Opening the new URL (with this run's invitation) must not pair again.
  await page.goto(after.appUrl);
  await waitConnected(page);
  assert.equal(await byId(page, 'screen-first-run').count(), 0, 'no first run for a known renderer');
  assert.equal(new URL(page.url()).hash, '');
  const contacts = (await kith(home, 'contacts')).lines as ContactLine[];
  assert.equal(contacts.filter((c) => c.relation === 'renderer').length, 1, 'still exactly one renderer');
  assert.ok(!after.lines.some((l) => l.event === 'pairing:paired'), 'no pairing happened in this run');
  const invites = (await kith(home, 'invites')).lines as Array<{ purpose: string; status: string }>;
  assert.equal(invites.filter((i) => i.purpose === 'renderer' && i.status === 'open').length, 1, "this run's renderer invitation stayed unused");
  await screenshot(page, 'reconnected');
});
