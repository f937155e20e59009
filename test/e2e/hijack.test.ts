/**
 * Nobody else gets the renderer's connection to main: a second tab of the same profile backs
 * off (`already-open`), pages of other origins cannot open a Kith socket (Origin check), a
 * DNS-rebinding name is refused (Host check), and a fresh profile without the renderer's keys
 * cannot act as it — not even with the (used) invitation link.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { startApp, type AppProcess, type Line } from './support/appProcess.js';
import { launchProfile, removeProfile, screenshot, type Profile } from './support/browser.js';
import { byId, completeFirstRun, kith, UI_TIMEOUT_MS, waitConnected } from './support/rendererPage.js';

const TIMEOUT_MS = 180_000;
const REBIND_NAME = 'rebind.test';

let dir: string;
let home: string;
let app: AppProcess;
let owner: Profile | undefined;
let stranger: Profile | undefined;
let outsider: Profile | undefined;
let page: Page;
let attacker: Server | undefined;
let attackerOrigin: string;

/** A web page elsewhere (another origin, no CSP of ours) that tries to reach the app's socket. */
async function startAttackerSite(): Promise<void> {
  attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>a page on another origin</p>'));
  await new Promise<void>((resolve) => attacker!.listen(0, '127.0.0.3', () => resolve()));
  attackerOrigin = `http://127.0.0.3:${(attacker.address() as { port: number }).port}`;
}

/** From inside `p`, opens a WebSocket to `url`; resolves how it ended ('open' means it got through). */
function trySocket(p: Page, url: string): Promise<string> {
  return p.evaluate(
    (target) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(target);
        const timer = setTimeout(() => resolve('timeout'), 10_000);
        ws.onopen = () => {
          clearTimeout(timer);
          ws.close();
          resolve('open');
        };
        ws.onclose = (e) => {
          clearTimeout(timer);
          resolve(`closed ${e.code}`);
        };
      }),
    url,
  );
}

const refusals = (code: string) => app.lines.filter((l: Line) => l.event === 'connection:failed' && l.code === code).length;
const explain = (err: Error): never => {
  throw new Error(`${err.message.split(';')[0]}; events: ${app.lines.map((l) => `${String(l.event)}${l.code ? `:${String(l.code)}` : ''}`).join(' ')}`);
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kith-e2e-hijack-'));
  home = join(dir, 'home');
  app = await startApp(home, { listen: '127.0.0.2:0', name: 'ann' });
  await startAttackerSite();
  owner = await launchProfile({ args: [`--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.2`] });
  page = await owner.page();
  await completeFirstRun(page, app.appUrl, 'ann');
  // The page shows "connected" before main has necessarily printed its pairing event: wait for
  // it, so the first test's count of pairing events starts after the renderer's own pairing.
  await app.waitFor((l) => l.event === 'pairing:paired');
});

after(async () => {
  await owner?.close().catch(() => {});
  await stranger?.close().catch(() => {});
  attacker?.close();
  await app?.stop().catch(() => {});
  await outsider?.close().catch(() => {});
  for (const p of [owner, stranger, outsider]) if (p) await removeProfile(p.userDataDir);
  await rm(dir, { recursive: true, force: true });
});

test('a second tab of the same profile shows "already open" and leaves the connection alone', { timeout: TIMEOUT_MS }, async () => {
  const pairings = app.lines.filter((l) => String(l.event).startsWith('pairing:')).length;
  const second = await owner!.context.newPage();
  const sockets: string[] = [];
  second.on('websocket', (ws) => sockets.push(ws.url()));
  // Even with the invitation link in hand, the second tab does not connect.
  await second.goto(app.appUrl);
  await byId(second, 'already-open').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.equal(await byId(second, 'name-input').count(), 0);
  assert.equal(new URL(second.url()).hash, '', 'the second tab dropped the link from its address bar too');
  await screenshot(second, 'already-open');
  await second.waitForTimeout(1_000);
  assert.deepEqual(sockets, [], 'the second tab opened no socket to main');
  assert.equal(app.lines.filter((l) => String(l.event).startsWith('pairing:')).length, pairings, 'nothing tried to pair');
  await waitConnected(page);
  const renderers = ((await kith(home, 'contacts')).lines as Array<{ relation: string }>).filter((c) => c.relation === 'renderer');
  assert.equal(renderers.length, 1);
  await second.close();
});

test('pages of other origins cannot open a Kith socket (Origin), a rebinding name is refused (Host)', { timeout: TIMEOUT_MS }, async () => {
  const port = new URL(app.origin).port;
  const endpoint = `ws://127.0.0.2:${port}/kith/v1`;
  // Chromium's own Local Network Access checks would stop some of these requests before they
  // reach the app (data: pages, public sites); switched off here so the app's checks are what is tested.
  outsider = await launchProfile({ args: ['--disable-features=LocalNetworkAccessChecks', `--host-resolver-rules=MAP ${REBIND_NAME} 127.0.0.2`] });
  const elsewhere = await outsider.page();
  try {
    // A site on another origin.
    await elsewhere.goto(`${attackerOrigin}/`);
    const originBefore = refusals('ORIGIN_REJECTED');
    assert.notEqual(await trySocket(elsewhere, endpoint), 'open');
    await app.waitFor(() => refusals('ORIGIN_REJECTED') > originBefore, 10_000).catch(explain);

    // A data: URL page (Origin "null").
    await elsewhere.goto('data:text/html,<p>data page</p>');
    const nullBefore = refusals('ORIGIN_REJECTED');
    assert.notEqual(await trySocket(elsewhere, endpoint), 'open');
    await app.waitFor(() => refusals('ORIGIN_REJECTED') > nullBefore, 10_000).catch(explain);

    // DNS rebinding: a name of the attacker's that resolves to the app's address. The page is not served…
    const rebound = await elsewhere.goto(`http://${REBIND_NAME}:${port}/`);
    assert.equal(rebound?.status(), 421);
    assert.doesNotMatch((await rebound?.text()) ?? '', /app\.js/);
    // …and a socket through that name is refused on its Host header.
    await elsewhere.goto(`${attackerOrigin}/`);
    const hostBefore = refusals('HOST_REJECTED');
    assert.notEqual(await trySocket(elsewhere, `ws://${REBIND_NAME}:${port}/kith/v1`), 'open');
    await app.waitFor(() => refusals('HOST_REJECTED') > hostBefore, 10_000).catch(explain);
  } finally {
    await outsider.close();
  }
  // The renderer itself is untouched by all this.
  await waitConnected(page);
});

test('a fresh profile without the renderer\'s keys cannot act as it, not even with the used link', { timeout: TIMEOUT_MS }, async () => {
  stranger = await launchProfile();
  const p = await stranger.page();
  // No link: the window cannot pair and says what to do.
  await p.goto(`${app.origin}/`);
  await byId(p, 'screen-first-run').waitFor({ timeout: UI_TIMEOUT_MS });
  await byId(p, 'name-input').fill('mallory');
  await byId(p, 'name-submit').click();
  await byId(p, 'error-banner').waitFor({ timeout: UI_TIMEOUT_MS });
  assert.doesNotMatch((await byId(p, 'connection-status').textContent()) ?? '', /\bconnected\b/);

  // The link that paired the real renderer: used, so main refuses it. (about:blank first: a
  // fragment change alone would not load the page again.)
  await p.goto('about:blank');
  await p.goto(app.appUrl);
  await byId(p, 'screen-first-run').waitFor({ timeout: UI_TIMEOUT_MS });
  await byId(p, 'name-submit').click();
  const banner = byId(p, 'error-banner').and(p.locator('[data-code="INVITE_USED"]'));
  await banner.waitFor({ timeout: UI_TIMEOUT_MS });
  assert.ok(((await byId(p, 'error-action').textContent()) ?? '').trim().length > 0, 'the banner offers the next step');
  await screenshot(p, 'invite-used');
  await app.waitFor((l) => (l.event === 'pairing:failed' || l.event === 'connection:failed') && l.code === 'INVITE_USED');
  assert.doesNotMatch((await byId(p, 'connection-status').textContent()) ?? '', /\bconnected\b/);

  const renderers = ((await kith(home, 'contacts')).lines as Array<{ relation: string; name: string }>).filter((c) => c.relation === 'renderer');
  assert.deepEqual(renderers.map((c) => c.name), ['ann'], 'main still has exactly the one renderer');
  await waitConnected(page);
});
