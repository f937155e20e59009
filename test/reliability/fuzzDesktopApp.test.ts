/**
 * Hostile input at the desktop app's local boundaries, property-based (fast-check):
 * - the app's command line: `parseStartArgs` (what `npm start` and the Electron main process
 *   read) with arbitrary argv and environments, strict and lenient: parsed options that hold
 *   together, or USAGE; whatever the strict parse accepts, the lenient one reads the same;
 * - `kith://` links from the OS: `isOpenableLink` on any value, and `OpenedLinks` driven by
 *   arbitrary sequences of pushes (any value), argv lists, listens and pauses, against a
 *   reference model (what waits is bounded, the newest kept, nothing but links passes);
 * - main's IPC and window guards: `assertTrustedSender`, `assertNoArguments`, `isAppUrl` and
 *   the content policy (`isAllowedRequest`, `isAllowedPermission`, `isAllowedPermissionCheck`)
 *   on arbitrary and near-miss URLs and origins: ACCESS_DENIED / INVALID_INPUT or false,
 *   never a pass for a URL outside the origin;
 * - the renderer: the start-link handoff (`readInviteFragment`, `takeStartLink` with a hostile
 *   bridge), main's state as companion payloads carry it (`readContacts`, `readConnections`,
 *   `readInvites`, `readProgress`, into `SyncActivity`), and `adviseError` on any code.
 * Every call is time-bounded and nothing may throw but a coded KithError where one is allowed.
 * Bounded runs in `npm test`, ×100 with KITH_STRESS.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isOpenableLink, parseStartArgs, type StartOptions } from '../../main/startOptions.js';
import { OpenedLinks } from '../../main/electron/OpenedLinks.js';
import { assertNoArguments, assertTrustedSender, isAppUrl } from '../../main/electron/senderGuard.js';
import { isAllowedPermission, isAllowedPermissionCheck, isAllowedRequest } from '../../main/electron/contentPolicy.js';
import { appOrigin } from '../../main/appUrl.js';
import type { PlatformEnv } from '../../cli/home.js';
import { readInviteFragment, takeStartLink, type HandoffWindow } from '../../renderer/handoff.js';
import { contactLinkState, readConnections, readContacts, readInvites, readProgress } from '../../renderer/mainState.js';
import { SyncActivity } from '../../renderer/SyncActivity.js';
import { adviseError, type ErrorContext } from '../../renderer/errorText.js';
import { INVITE_LINK_PREFIX } from '../../pairing/invitation.js';
import { ERROR_CODES, isErrorCode, KithError } from '../../shared/errors.js';
import { INVITE_MAX_TTL_SECONDS, MAX_INVITE_LINK_INPUT_LENGTH, MAX_MAIN_STATE_LIST_ENTRIES, MAX_MAIN_STATE_TEXT_LENGTH, MAX_NAME_LENGTH, MAX_PENDING_OPENED_LINKS, MAX_SYNC_ACTIVITY_ROWS } from '../../shared/limits.js';
import { hostileStrings, hostileValues } from '../support/hostile.js';
import { anyJson, atBoundary, atBoundaryAsync, B64URL_CHARS, fuzzRuns, fuzzTimeout, mutatedJson, OutcomeTally, trapUncaught, tweakedJson } from '../support/arbitraries.js';

const trap = trapUncaught();
after(() => {
  trap.check();
  trap.dispose();
});

const LINK = `${INVITE_LINK_PREFIX}${'A'.repeat(40)}`;
const shortHostile = hostileStrings().map((h) => h.value).filter((v) => v.length < 10_000);
const HOSTILE = hostileValues();
const arbHostileValue = fc.nat(HOSTILE.length - 1).map((i) => HOSTILE[i]!.value);

/** Link-like text: the real thing, near misses, and links past the input limit. */
const arbLinkText = fc.oneof(
  fc.constant(LINK),
  fc.string({ unit: fc.constantFrom(...B64URL_CHARS), maxLength: 300 }).map((s) => INVITE_LINK_PREFIX + s),
  fc.constantFrom(`${INVITE_LINK_PREFIX}${'A'.repeat(MAX_INVITE_LINK_INPUT_LENGTH)}`, 'kith://pair/v2#AAAA', 'KITH://pair/v1#AAAA', ` ${LINK}`, `${LINK}\n`, 'kith://pair/v1', `https://evil.example/#${LINK}`),
  fc.tuple(fc.nat(LINK.length - 1), fc.string({ unit: 'binary', minLength: 1, maxLength: 3 })).map(([at, s]) => LINK.slice(0, at) + s + LINK.slice(at + 1)),
);

// ---- the app's command line --------------------------------------------------------------

const START_WORDS = [
  '--home', '--listen', '--name', '--json', '--insecure-plaintext-keys', '--invite-ttl', '--headless', '--help', '-h', '--', '-',
  '--home=', '--home=/h', '--listen=127.0.0.1:0', '--listen=[::1]:4100', '--invite-ttl=5', '--name=ann', '--json=1', '--headless=false', '-hj',
  // What Chromium, Electron and the OS add to an app's command line.
  '--inspect=0', '--no-sandbox', '--remote-debugging-port=9222', '--enable-logging', '-psn_0_12345', '--user-data-dir=/tmp/x', '.', '/usr/lib/kith/app.asar',
  // Values.
  '127.0.0.1:0', '127.0.0.2:4100', '[::1]:0', '0.0.0.0:1', 'localhost:99999', '192.168.1.20:4100', 'ann', 'h', '../x', '/abs', '0', '86400', '86401', '1e3', '-5',
];
const arbStartWord = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...START_WORDS) },
  { weight: 2, arbitrary: arbLinkText },
  { weight: 1, arbitrary: fc.constantFrom(...shortHostile) },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 100_000 }).map(String) },
);
const arbPlatformEnv: fc.Arbitrary<PlatformEnv> = fc
  .record({
    platform: fc.constantFrom<NodeJS.Platform>('linux', 'darwin', 'win32'),
    KITH_HOME: fc.option(fc.oneof(fc.constantFrom('rel/home', '/abs/home', '', 'C:\\kith'), fc.string({ maxLength: 20 }), fc.constantFrom(...shortHostile)), { nil: undefined }),
    XDG_DATA_HOME: fc.option(fc.oneof(fc.constant('/data'), fc.string({ maxLength: 10 })), { nil: undefined }),
    APPDATA: fc.option(fc.oneof(fc.constant('C:\\Users\\ann\\AppData\\Roaming'), fc.string({ maxLength: 10 })), { nil: undefined }),
  })
  .map(({ platform, ...env }) => (platform === 'win32' ? { env, platform, homedir: 'C:\\Users\\ann', cwd: 'C:\\work' } : { env, platform, homedir: '/home/ann', cwd: '/work' }));

/** What every accepted parse must hold. */
function checkStartOptions(o: StartOptions, argv: readonly string[]): void {
  assert.ok(typeof o.home === 'string' && o.home.length > 0, 'a home');
  assert.ok(typeof o.listen.host === 'string' && Number.isInteger(o.listen.port) && o.listen.port >= 0 && o.listen.port <= 65_535, 'a listen address');
  if (o.name !== undefined) assert.ok([...o.name].length >= 1 && [...o.name].length <= MAX_NAME_LENGTH, 'a name of allowed length');
  if (o.inviteTtlSeconds !== undefined) assert.ok(Number.isSafeInteger(o.inviteTtlSeconds) && o.inviteTtlSeconds >= 1 && o.inviteTtlSeconds <= INVITE_MAX_TTL_SECONDS);
  for (const flag of [o.json, o.insecurePlaintextKeys, o.headless, o.help]) assert.equal(typeof flag, 'boolean');
  for (const link of o.links) assert.ok(isOpenableLink(link) && argv.includes(link), 'links are openable arguments given');
}

test(`parseStartArgs, strict and lenient, with arbitrary argv and environments: options that hold together or USAGE; the lenient parse reads what the strict one accepts the same (${fuzzRuns(3000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  const strict = new OutcomeTally();
  const lenient = new OutcomeTally();
  fc.assert(
    fc.property(fc.array(arbStartWord, { maxLength: 8 }), arbPlatformEnv, (argv, p) => {
      const s = atBoundary(() => parseStartArgs(argv, p), { allowed: ['USAGE'] });
      const l = atBoundary(() => parseStartArgs(argv, p, { lenient: true }), { allowed: ['USAGE'] });
      strict.add(s);
      lenient.add(l);
      if (s.ok) {
        checkStartOptions(s.value, argv);
        assert.ok(l.ok, `the lenient parse refused what the strict one accepted: ${!l.ok && l.message}`);
        assert.deepEqual(l.value, s.value);
      }
      if (l.ok) checkStartOptions(l.value, argv);
    }),
    { numRuns: fuzzRuns(3000) },
  );
  assert.ok(strict.get('ok') > 0 && strict.get('USAGE') > 0 && lenient.get('ok') > strict.get('ok'), `${strict} ${lenient}`);
  t.diagnostic(`strict: ${strict}; lenient: ${lenient}`);
});

// ---- kith:// links from the OS -------------------------------------------------------------

type LinkOp = { readonly op: 'push'; readonly value: unknown } | { readonly op: 'argv'; readonly values: unknown[] } | { readonly op: 'listen' } | { readonly op: 'pause' };
const arbLinkValue = fc.oneof({ weight: 3, arbitrary: arbLinkText }, { weight: 1, arbitrary: arbHostileValue }, { weight: 1, arbitrary: fc.constantFrom(...START_WORDS) });
const arbLinkOp: fc.Arbitrary<LinkOp> = fc.oneof(
  { weight: 8, arbitrary: arbLinkValue.map((value) => ({ op: 'push' as const, value })) },
  { weight: 2, arbitrary: fc.array(arbLinkValue, { maxLength: 12 }).map((values) => ({ op: 'argv' as const, values })) },
  { weight: 1, arbitrary: fc.constant({ op: 'listen' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'pause' as const }) },
);

test(`kith:// links from the OS: isOpenableLink on any value; OpenedLinks under arbitrary pushes, argv lists, listens and pauses matches its model (${fuzzRuns(1000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  let taken = 0;
  let dropped = 0;
  fc.assert(
    fc.property(fc.array(arbLinkOp, { maxLength: 40 }), (ops) => {
      const links = new OpenedLinks();
      const delivered: string[] = [];
      const model = { listening: false, pending: [] as string[], delivered: [] as string[] };
      const modelPush = (v: unknown): boolean => {
        const openable = typeof v === 'string' && v.length <= MAX_INVITE_LINK_INPUT_LENGTH && v.startsWith(INVITE_LINK_PREFIX);
        if (!openable) return false;
        if (model.listening) model.delivered.push(v);
        else {
          model.pending.push(v);
          if (model.pending.length > MAX_PENDING_OPENED_LINKS) model.pending.shift();
        }
        return true;
      };
      for (const op of ops) {
        switch (op.op) {
          case 'push': {
            const got = atBoundary(() => links.push(op.value), { allowed: [] });
            assert.ok(got.ok);
            assert.equal(got.value, modelPush(op.value));
            assert.equal(atBoundary(() => isOpenableLink(op.value), { allowed: [] }).ok, true);
            if (got.value) taken++;
            else dropped++;
            break;
          }
          case 'argv':
            assert.ok(atBoundary(() => links.pushFromArgv(op.values as string[]), { allowed: [] }).ok);
            for (const v of op.values) modelPush(v);
            break;
          case 'listen': {
            const waiting = links.listen((link) => delivered.push(link));
            assert.deepEqual(waiting, model.pending);
            assert.ok(waiting.length <= MAX_PENDING_OPENED_LINKS);
            model.pending = [];
            model.listening = true;
            break;
          }
          case 'pause':
            links.pause();
            model.listening = false;
            break;
        }
      }
      assert.deepEqual(delivered, model.delivered);
      assert.deepEqual(links.listen(() => {}), model.pending);
    }),
    { numRuns: fuzzRuns(1000) },
  );
  assert.ok(taken > 0 && dropped > 0, `${taken} taken, ${dropped} dropped`);
  t.diagnostic(`${taken} links taken, ${dropped} values dropped`);
});

// ---- main's IPC and window guards ----------------------------------------------------------

const arbOrigin = fc.tuple(fc.constantFrom('127.0.0.1', '::1', '192.168.1.20', 'localhost', '10.0.0.7', 'fe80::1'), fc.integer({ min: 1, max: 65_535 })).map(([host, port]) => appOrigin(host, port));

/** URLs a frame or a request might carry, most of them close to `origin`. */
function arbUrlNear(origin: string): fc.Arbitrary<string> {
  const u = new URL(origin);
  return fc.oneof(
    fc.constantFrom(
      `${origin}/`, `${origin}/index.html?x#y`, `${origin}`, origin.toUpperCase(), `https://${u.host}/`, `ws://${u.host}/kith/v1`, `wss://${u.host}/kith/v1`,
      `http://user:pw@${u.host}/`, `http://${u.hostname}.evil.example:${u.port}/`, `http://evil.example/?${origin}`, `${origin}@evil.example/`, `  ${origin}/`,
      `http:\\\\${u.host}\\`, `http://${u.hostname}:${Number(u.port) + 1}/`, `http://${u.hostname}:0${u.port}/`, 'about:blank', 'file:///etc/passwd', 'data:text/html,x',
      'blob:null/1', 'devtools://devtools/bundled/x.html', 'javascript:alert(1)', '',
    ),
    fc.string({ maxLength: 30 }).map((path) => `${origin}/${path}`),
    fc.tuple(fc.nat(origin.length), fc.string({ minLength: 1, maxLength: 3 })).map(([at, s]) => `${origin.slice(0, at)}${s}${origin.slice(at + 1)}/`),
    fc.string({ maxLength: 40 }),
    fc.constantFrom(...shortHostile),
  );
}

/** The independent reading of "a page of this origin": plain http to exactly this host and port. */
function sameOrigin(url: string, origin: string): boolean {
  const u = new URL(url);
  const o = new URL(origin);
  return u.protocol === 'http:' && u.hostname === o.hostname && u.port === o.port;
}

const arbGuardCase = arbOrigin.chain((origin) =>
  fc.record({
    origin: fc.constant(origin),
    url: arbUrlNear(origin),
    fromOurWindow: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyJson }),
    fromMainFrame: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyJson }),
    frameUrl: fc.oneof({ weight: 6, arbitrary: arbUrlNear(origin) }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbHostileValue }),
    args: fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(fc.oneof(anyJson, arbHostileValue), { minLength: 1, maxLength: 3 }) }),
    permission: fc.oneof({ weight: 3, arbitrary: fc.constant('media') }, { weight: 2, arbitrary: fc.constantFrom('notifications', 'geolocation', 'clipboard-read', 'openExternal', '') }, { weight: 1, arbitrary: fc.string({ maxLength: 12 }) }),
    mediaTypes: fc.oneof(
      { weight: 2, arbitrary: fc.constant(['video']) },
      { weight: 2, arbitrary: fc.option(fc.array(fc.oneof(fc.constantFrom('video', 'audio', ''), fc.string({ maxLength: 6 })), { maxLength: 3 }), { nil: undefined }) },
    ),
    requestingOrigin: fc.oneof(fc.constant(origin), arbUrlNear(origin)),
  }),
);

test(`main's IPC and window guards on arbitrary senders, arguments, URLs and permission asks: refused with ACCESS_DENIED / INVALID_INPUT or false, never a pass outside our origin (${fuzzRuns(3000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  const senders = new OutcomeTally();
  let requestsAllowed = 0;
  let permissionsAllowed = 0;
  fc.assert(
    fc.property(arbGuardCase, (c) => {
      const facts = { fromOurWindow: c.fromOurWindow as boolean, fromMainFrame: c.fromMainFrame as boolean, frameUrl: c.frameUrl as string | undefined };
      const sender = atBoundary(() => assertTrustedSender(facts, c.origin), { allowed: ['ACCESS_DENIED'] });
      senders.add(sender);
      if (sender.ok) {
        assert.ok(facts.fromOurWindow && facts.fromMainFrame, 'only our window\'s top frame passes');
        assert.ok(sameOrigin(facts.frameUrl!, c.origin), `a frame outside the origin passed: ${String(facts.frameUrl)}`);
      }
      const args = atBoundary(() => assertNoArguments(c.args), { allowed: ['INVALID_INPUT'] });
      assert.equal(args.ok, c.args.length === 0);
      const app = atBoundary(() => isAppUrl(c.url, c.origin), { allowed: [] });
      assert.ok(app.ok && (!app.value || sameOrigin(c.url, c.origin)), `isAppUrl passed ${c.url}`);
      const request = atBoundary(() => isAllowedRequest(c.url, c.origin), { allowed: [] });
      assert.ok(request.ok);
      if (request.value) {
        requestsAllowed++;
        const inMemory = ['data:', 'blob:', 'devtools://'].some((p) => c.url.startsWith(p));
        assert.ok(inMemory || sameOrigin(c.url, c.origin) || (new URL(c.url).protocol === 'ws:' && new URL(c.url).host === new URL(c.origin).host), `a request outside the app was allowed: ${c.url}`);
      }
      const ask = { permission: c.permission, requestingUrl: facts.frameUrl, mediaTypes: c.mediaTypes, fromOurWindow: facts.fromOurWindow };
      const permission = atBoundary(() => isAllowedPermission(ask, c.origin), { allowed: [] });
      assert.ok(permission.ok);
      if (permission.value) {
        permissionsAllowed++;
        assert.ok(c.permission === 'media' && facts.fromOurWindow && sameOrigin(facts.frameUrl!, c.origin) && c.mediaTypes!.length > 0 && c.mediaTypes!.every((m) => m === 'video'), 'only the camera, for our page');
      }
      const check = atBoundary(() => isAllowedPermissionCheck(c.permission, c.requestingOrigin, c.origin), { allowed: [] });
      assert.ok(check.ok && check.value === (c.permission === 'media' && c.requestingOrigin === c.origin));
    }),
    { numRuns: fuzzRuns(3000) },
  );
  assert.ok(senders.get('ok') > 0 && senders.get('ACCESS_DENIED') > 0 && requestsAllowed > 0 && permissionsAllowed > 0, `${senders}; ${requestsAllowed} requests and ${permissionsAllowed} permissions allowed`);
  t.diagnostic(`senders: ${senders}; ${requestsAllowed} requests and ${permissionsAllowed} permission asks allowed`);
});

// ---- the renderer: start-link handoff ------------------------------------------------------

const arbFragment = fc.oneof(
  arbLinkText.map((l) => `#invite=${encodeURIComponent(l)}`),
  fc.tuple(fc.string({ maxLength: 10 }), arbLinkText).map(([other, l]) => `#${encodeURIComponent(other)}=1&invite=${encodeURIComponent(l)}`),
  arbLinkText.map((l) => `#invite=${l}`),
  fc.constantFrom('', '#', '#invite=', '#invite=%', '#invite=%E0%A4%A', '#invite=%20%20', `#invite=${'%41'.repeat(MAX_INVITE_LINK_INPUT_LENGTH + 1)}`, `#${'x'.repeat(5000)}`),
  fc.string({ maxLength: 60 }).map((s) => `#${s}`),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `#invite=${s}`),
  fc.constantFrom(...shortHostile),
);

/** What `window.kith` might be: absent, junk, or a bridge whose invite answer is anything, a throw or a rejection. */
const arbBridge = fc.oneof(
  fc.constant(undefined),
  arbHostileValue,
  fc.oneof(anyJson, arbLinkText, fc.constantFrom('throw', 'throw-plain', 'reject')).map((answer) => ({
    getRendererInvite: () => {
      if (answer === 'throw') throw new KithError('ACCESS_DENIED', 'refused');
      if (answer === 'throw-plain') throw new Error('ACCESS_DENIED');
      if (answer === 'reject') return Promise.reject(new Error('INTERNAL'));
      return Promise.resolve(answer);
    },
    onOpenLink: () => () => {},
  })),
);

test(`the renderer's start-link handoff: fragments and bridges of any kind give a bounded link or null, and the fragment is always cleared (${fuzzRuns(1000)} runs)`, { timeout: fuzzTimeout() }, async (t) => {
  const got = new OutcomeTally();
  await fc.assert(
    fc.asyncProperty(arbFragment, arbBridge, fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbHostileValue }), async (hash, kith, notAString) => {
      const fragment = atBoundary(() => readInviteFragment((notAString ?? hash) as string), { allowed: [] });
      assert.ok(fragment.ok);
      const isLink = (v: unknown) => v === null || (typeof v === 'string' && v.length > 0 && v.length <= MAX_INVITE_LINK_INPUT_LENGTH);
      assert.ok(isLink(fragment.value) && (fragment.value === null || fragment.value === fragment.value.trim()), `fragment read as ${String(fragment.value).slice(0, 80)}`);
      let replaced: string | undefined;
      const win: HandoffWindow = { location: { hash, pathname: '/', search: '' }, history: { replaceState: (_d, _u, url) => void (replaced = url) }, kith };
      const taken = await atBoundaryAsync(() => takeStartLink(win), { allowed: [] });
      assert.ok(taken.ok && isLink(taken.value), `start link ${String(taken.ok && taken.value).slice(0, 80)}`);
      assert.equal(replaced, hash ? '/' : undefined, 'the fragment is removed from the address bar');
      got.add(taken.value === null ? { ok: false, code: 'null', message: '' } : { ok: true, value: undefined });
    }),
    { numRuns: fuzzRuns(1000) },
  );
  assert.ok(got.get('ok') > 0 && got.get('null') > 0, got.toString());
  t.diagnostic(`start links: ${got}`);
});

// ---- the renderer: main's state ------------------------------------------------------------

const P = 'a'.repeat(64);
const I = 'b'.repeat(64);
const stateSeeds = {
  contacts: { contacts: [{ personId: P, name: 'node-bob', relation: 'contact', revoked: false, pairedAt: 5, instances: [{ name: 'laptop' }] }, { personId: 'c'.repeat(64), name: 'window', relation: 'renderer', revoked: true, pairedAt: 0, instances: [] }] },
  connections: { connections: [{ personId: P, instanceId: I, state: 'connected' }, { personId: P, instanceId: 'd'.repeat(64), state: 'waiting' }] },
  invites: { invites: [{ inviteId: 'f'.repeat(32), status: 'open', expiresAt: 1_700_000_000 }] },
  progress: { peer: { instanceId: I, personId: P, name: 'node-bob' }, direction: 'receive', objectsDone: 1, objectsTotal: 2, bytesDone: 3, bytesTotal: 4, caughtUp: false },
};
const arbStatePayload = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.values(stateSeeds)).chain((s) => fc.oneof(mutatedJson(s), tweakedJson(s))) },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('contacts', 'connections', 'invites'), fc.array(anyJson, { maxLength: 5 })).map(([k, v]) => ({ [k]: v })) },
  { weight: 1, arbitrary: arbHostileValue },
);
const HEX64 = /^[0-9a-f]{64}$/;
const isShortText = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= MAX_MAIN_STATE_TEXT_LENGTH;
const isCount = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const CONTEXTS: ErrorContext[] = ['start', 'invite', 'accept', 'channels', 'devices', 'general'];

test(`the renderer reading main's state: any payload gives well-formed entries or none, the sync activity stays bounded, every error code reads as advice (${fuzzRuns(2000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  const activity = new SyncActivity(I);
  let entries = 0;
  fc.assert(
    fc.property(arbStatePayload, fc.constantFrom<'window' | 'main'>('window', 'main'), fc.oneof(anyJson, fc.constantFrom(...Object.keys(ERROR_CODES), '__proto__', 'toString', 'constructor')), fc.constantFrom(...CONTEXTS), fc.constantFrom<'browser' | 'electron'>('browser', 'electron'), (payload, source, code, context, host) => {
      const contacts = atBoundary(() => readContacts(payload), { allowed: [] });
      const connections = atBoundary(() => readConnections(payload), { allowed: [] });
      const invites = atBoundary(() => readInvites(payload), { allowed: [] });
      const progress = atBoundary(() => readProgress(payload), { allowed: [] });
      assert.ok(contacts.ok && connections.ok && invites.ok && progress.ok);
      for (const c of contacts.value) {
        assert.ok(HEX64.test(c.personId) && isShortText(c.name) && ['contact', 'renderer', 'main'].includes(c.relation) && typeof c.revoked === 'boolean' && isCount(c.pairedAt));
        assert.ok(c.instances.length <= MAX_MAIN_STATE_LIST_ENTRIES && c.instances.every(isShortText));
        const state = atBoundary(() => contactLinkState(c.personId, connections.value), { allowed: [] });
        assert.ok(state.ok && ['connected', 'connecting', 'waiting', 'idle'].includes(state.value));
      }
      for (const c of connections.value) assert.ok(HEX64.test(c.personId) && HEX64.test(c.instanceId) && ['connected', 'connecting', 'waiting', 'idle'].includes(c.state));
      for (const i of invites.value) assert.ok(/^[0-9a-f]{32}$/.test(i.inviteId) && ['open', 'used', 'revoked', 'burned', 'expired'].includes(i.status) && isCount(i.expiresAt));
      entries += contacts.value.length + connections.value.length + invites.value.length;
      if (progress.value) {
        const p = progress.value;
        assert.ok(HEX64.test(p.peerInstanceId) && isShortText(p.peerName) && (p.direction === 'send' || p.direction === 'receive'));
        assert.ok([p.objectsDone, p.objectsTotal, p.bytesDone, p.bytesTotal].every(isCount) && typeof p.caughtUp === 'boolean');
        assert.ok(atBoundary(() => activity.update(source, p), { allowed: [] }).ok);
        entries++;
      }
      const rows = atBoundary(() => activity.list(), { allowed: [] });
      assert.ok(rows.ok && rows.value.length <= MAX_SYNC_ACTIVITY_ROWS && rows.value.every((r) => r.fraction >= 0 && r.fraction <= 1));
      const advice = atBoundary(() => adviseError(code, context, host), { allowed: [] });
      assert.ok(advice.ok && isErrorCode(advice.value.code) && typeof advice.value.text === 'string' && advice.value.text.length > 0);
      if (isErrorCode(code)) assert.equal(advice.value.code, code);
    }),
    { numRuns: fuzzRuns(2000) },
  );
  // Lists longer than the cap are cut, not walked whole.
  const many = { contacts: Array.from({ length: MAX_MAIN_STATE_LIST_ENTRIES + 5 }, () => stateSeeds.contacts.contacts[0]) };
  assert.equal(readContacts(many).length, MAX_MAIN_STATE_LIST_ENTRIES);
  assert.ok(entries > 0, 'some entries were read');
  t.diagnostic(`${entries} entries read; ${activity.list().length} sync activity rows`);
});
