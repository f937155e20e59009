import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { startHost, mainPersonName, type HostOptions, type RendererSource } from '../../main/host.js';
import { passphraseProtector, PASSPHRASE_HINT } from '../../main/keyProtector.js';
import { parseListenArg } from '../../cli/commands/serve.js';
import { parseInvitationLink } from '../../pairing/invitation.js';
import { homeExists, homePaths } from '../../cli/home.js';
import { hasCode } from '../../shared/errors.js';
import { RENDERER_INVITE_TTL_SECONDS } from '../../shared/limits.js';
import { runCli } from '../support/cli.js';

/** A stand-in for renderer/build.ts (contract 1): three files, as the real build writes them. */
const stubRenderer: RendererSource = {
  async build(outDir) {
    await writeFile(join(outDir, 'index.html'), '<!doctype html><title>Kith</title><link rel="stylesheet" href="/app.css"><script type="module" src="/app.js"></script>');
    await writeFile(join(outDir, 'app.js'), 'document.title = "Kith";');
    await writeFile(join(outDir, 'app.css'), 'body{margin:0}');
  },
};

const plaintextKeys = passphraseProtector({ env: {}, stdin: { on() {}, removeListener() {}, resume() {}, pause() {} }, stderr: { write() {} } }, { insecurePlaintext: true });

async function tempDir(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-host-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

function options(home: string, extra: Partial<HostOptions> = {}): HostOptions {
  return { home, listen: parseListenArg('127.0.0.2:0'), name: 'ann', keys: plaintextKeys, renderer: stubRenderer, ...extra };
}

function httpGet(port: number, path: string, headers: Record<string, string> = {}, host = '127.0.0.2'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, headers, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket to the listener with the given Origin; resolves 'open' or the HTTP status it was refused with. */
function tryUpgrade(url: string, origin: string | undefined): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { ...(origin ? { origin } : {}), handshakeTimeout: 5000 });
    ws.on('open', () => {
      ws.terminate();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve(`${res.statusCode} ${String(res.headers['x-kith-error'] ?? '')}`);
      ws.terminate();
    });
    ws.on('error', (err) => resolve(`error ${err.message}`));
  });
}

test('first start creates node-<name>, serves the renderer on its origin and hands out a renderer invitation', async () => {
  const t = await tempDir();
  const home = join(t.dir, 'home');
  const host = await startHost(options(home));
  try {
    assert.equal(host.created, true);
    assert.equal(host.instance.whoami().name, 'node-ann');
    assert.equal(host.keyProtection, 'insecure-plaintext');
    assert.ok(host.warnings.some((w) => /UNENCRYPTED/.test(w)), 'plaintext keys are announced');
    assert.equal((await stat(homePaths(home).keys)).mode & 0o777, 0o600);
    const port = Number(new URL(host.origin).port);
    assert.equal(host.origin, `http://127.0.0.2:${port}`);
    assert.equal(host.listening, `ws://127.0.0.2:${port}/kith/v1`);
    assert.equal(host.lan, false);

    // The app URL: the origin plus the invitation in the fragment.
    const url = new URL(host.appUrl);
    assert.equal(url.origin, host.origin);
    assert.equal(url.pathname, '/');
    assert.match(url.hash, /^#invite=kith%3A%2F%2Fpair%2Fv1%23/);
    const link = decodeURIComponent(url.hash.slice('#invite='.length));
    const inv = parseInvitationLink(link, { nowSeconds: Date.now() / 1000 });
    assert.equal(inv.purpose, 'renderer');
    assert.deepEqual(inv.endpoints, [host.listening]);
    assert.equal(inv.name, 'node-ann');
    assert.ok(Math.abs(inv.expiresAt - Date.now() / 1000 - RENDERER_INVITE_TTL_SECONDS) < 30);
    assert.equal(host.pendingRendererInvite(), link);

    // The page and its headers, on the same origin as the socket.
    const page = await httpGet(port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<title>Kith<\/title>/);
    assert.match(String(page.headers['content-security-policy']), new RegExp(`connect-src 'self' ws://127\\.0\\.0\\.2:${port};`));
    assert.equal((await httpGet(port, '/', { host: `evil.example:${port}` })).status, 421, 'DNS rebinding: a foreign Host is refused');
    assert.equal((await httpGet(port, '/nope.js')).status, 404);

    // Exactly the app's origin may open a Kith socket from a browser.
    assert.equal(await tryUpgrade(host.listening, host.origin), 'open');
    assert.equal(await tryUpgrade(host.listening, `http://localhost:${port}`), '403 ORIGIN_REJECTED');
    assert.equal(await tryUpgrade(host.listening, `http://127.0.0.1:${port}`), '403 ORIGIN_REJECTED');
    assert.equal(await tryUpgrade(host.listening, 'null'), '403 ORIGIN_REJECTED');
    assert.equal(await tryUpgrade(host.listening, 'https://example.com'), '403 ORIGIN_REJECTED');

    // A second process on the same home is refused while this one runs.
    await assert.rejects(startHost(options(home)), (err) => hasCode(err, 'HOME_LOCKED'));

    // `kith --home DIR …` reaches this main instance through the control socket.
    const whoami = await runCli(['--home', home, '--json', 'status'], { entry: 'source' });
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal(whoami.lines[0]!.running, true);
    assert.equal((whoami.lines[0]!.identity as { name: string }).name, 'node-ann');
  } finally {
    await host.close();
    await t.cleanup();
  }
});

test('a restart keeps the identity and the port, and retires the previous renderer invitation', async () => {
  const t = await tempDir();
  const home = join(t.dir, 'home');
  try {
    const first = await startHost(options(home));
    const firstOrigin = first.origin;
    const firstInvite = first.instance.invites().find((i) => i.purpose === 'renderer')!;
    const person = first.instance.whoami().personId;
    await first.close();
    await first.close(); // idempotent

    const second = await startHost(options(home, { name: 'someone-else' }));
    try {
      assert.equal(second.created, false);
      assert.equal(second.instance.whoami().personId, person);
      assert.equal(second.origin, firstOrigin, 'the same origin, so the browser keeps the renderer identity');
      assert.ok(second.warnings.some((w) => /--name is used only when the home is created/.test(w)));
      const invites = second.instance.invites();
      assert.equal(invites.find((i) => i.inviteId === firstInvite.inviteId)?.status, 'revoked');
      assert.equal(invites.filter((i) => i.purpose === 'renderer' && i.status === 'open').length, 1);
    } finally {
      await second.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('when the previous port is taken, the host moves and says so', async () => {
  const t = await tempDir();
  const home = join(t.dir, 'home');
  const blocker = createNetServer();
  try {
    const first = await startHost(options(home));
    const port = Number(new URL(first.origin).port);
    await first.close();
    await new Promise<void>((resolve, reject) => blocker.once('error', reject).listen(port, '127.0.0.2', () => resolve()));
    const second = await startHost(options(home));
    try {
      assert.notEqual(Number(new URL(second.origin).port), port);
      assert.ok(second.warnings.some((w) => w.includes(`port ${port} is taken`)));
    } finally {
      await second.close();
    }
    // An explicit port that is taken is an error, not a silent move.
    await assert.rejects(startHost(options(home, { listen: parseListenArg(`127.0.0.2:${port}`) })), (err) => hasCode(err, 'UNREACHABLE'));
  } finally {
    blocker.close();
    await t.cleanup();
  }
});

test('a contact invitation made for the terminal is revoked when the app closes', async () => {
  const t = await tempDir();
  const host = await startHost(options(join(t.dir, 'home')));
  try {
    const invite = await host.createContactInvite(600);
    assert.equal(invite.purpose, 'contact');
    await host.close();
    // Reopen to read the registry as it was left on disk.
    const again = await startHost(options(join(t.dir, 'home')));
    try {
      const statuses = new Map(again.instance.invites().map((i) => [i.inviteId, i.status]));
      assert.equal(statuses.get(invite.inviteId), 'revoked');
    } finally {
      await again.close();
    }
  } finally {
    await host.close();
    await t.cleanup();
  }
});

test('without a passphrase source the host refuses with a hint, creating nothing and leaving no lock', async () => {
  const t = await tempDir();
  const home = join(t.dir, 'home');
  try {
    const noTty = passphraseProtector({ env: {}, stdin: { isTTY: false, on() {}, removeListener() {}, resume() {}, pause() {} }, stderr: { write() {} } });
    await assert.rejects(startHost(options(home, { keys: noTty })), (err) => hasCode(err, 'PASSPHRASE_REQUIRED') && (err as Error).message === PASSPHRASE_HINT);
    assert.equal(await homeExists(home), false);

    // With KITH_PASSPHRASE the keys are sealed, and the next start needs the same passphrase.
    const withEnv = (pass: string) => passphraseProtector({ env: { KITH_PASSPHRASE: pass }, stdin: { on() {}, removeListener() {}, resume() {}, pause() {} }, stderr: { write() {} } });
    const host = await startHost(options(home, { keys: withEnv('correct horse') }));
    assert.equal(host.keyProtection, 'passphrase');
    assert.equal(host.warnings.length, 0);
    await host.close();
    await assert.rejects(startHost(options(home, { keys: withEnv('wrong') })), (err) => hasCode(err, 'WRONG_PASSPHRASE'));
    await assert.rejects(startHost(options(home, { keys: noTty })), (err) => hasCode(err, 'PASSPHRASE_REQUIRED'));
    // The failed starts released the lock: a good one still works.
    const again = await startHost(options(home, { keys: withEnv('correct horse') }));
    await again.close();
  } finally {
    await t.cleanup();
  }
});

test("main's person name: node-<name>, from --name or the OS user name, validated", () => {
  assert.equal(mainPersonName('ann', () => 'root'), 'node-ann');
  assert.equal(mainPersonName(undefined, () => 'carol'), 'node-carol');
  assert.throws(() => mainPersonName(undefined, () => ''), (err) => hasCode(err, 'USAGE'));
  assert.throws(() => mainPersonName('a\u0000b', () => 'x'), (err) => hasCode(err, 'USAGE'));
  assert.throws(() => mainPersonName('x'.repeat(60), () => 'x'), (err) => hasCode(err, 'USAGE'), 'node- plus 60 characters is over the name limit');
});

test('a LAN address is announced as the explicit choice it is', async () => {
  const t = await tempDir();
  // 127.0.0.2 stands in for a LAN address: what matters is that the host treats a non-loopback listen as the LAN choice.
  const lan = { ...parseListenArg('127.0.0.2:0'), loopback: false };
  const host = await startHost(options(join(t.dir, 'home'), { listen: lan }));
  try {
    assert.equal(host.lan, true);
    assert.ok(host.warnings.some((w) => /other machines on that network/.test(w)));
  } finally {
    await host.close();
    await t.cleanup();
  }
});
