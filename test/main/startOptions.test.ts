import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultAppHome, isOpenableLink, parseStartArgs } from '../../main/startOptions.js';
import { appOrigin, appUrl } from '../../main/appUrl.js';
import { hasCode } from '../../shared/errors.js';
import { hostileValues } from '../support/hostile.js';

const linux = { env: {}, platform: 'linux' as const, homedir: '/home/ann', cwd: '/work' };
const LINK = 'kith://pair/v1#AAAA';

test('defaults: the app home under Kith\'s platform home, loopback on any port, Node unless Electron exists', () => {
  const o = parseStartArgs([], linux);
  assert.equal(o.home, '/home/ann/.local/share/kith/app');
  assert.deepEqual(o.listen, { host: '127.0.0.1', port: 0, loopback: true });
  assert.equal(o.json, false);
  assert.equal(o.headless, false);
  assert.equal(o.insecurePlaintextKeys, false);
  assert.equal(o.name, undefined);
  assert.equal(o.inviteTtlSeconds, undefined);
  assert.deepEqual(o.links, []);
});

test('the default home follows KITH_HOME and each platform', () => {
  assert.equal(defaultAppHome({ ...linux, env: { KITH_HOME: 'rel/home' } }), '/work/rel/home');
  assert.equal(defaultAppHome({ ...linux, env: { XDG_DATA_HOME: '/data' } }), '/data/kith/app');
  assert.equal(defaultAppHome({ ...linux, platform: 'darwin' }), '/home/ann/Library/Application Support/Kith/app');
  assert.equal(defaultAppHome({ env: { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming' }, platform: 'win32', homedir: 'C:\\Users\\ann', cwd: 'C:\\' }), 'C:\\Users\\ann\\AppData\\Roaming\\Kith\\app');
});

test('every option', () => {
  const o = parseStartArgs(['--home', 'h', '--listen', '127.0.0.2:4100', '--json', '--name', 'ann', '--insecure-plaintext-keys', '--invite-ttl', '5', '--headless', LINK], linux);
  assert.equal(o.home, '/work/h');
  assert.deepEqual(o.listen, { host: '127.0.0.2', port: 4100, loopback: true });
  assert.equal(o.json, true);
  assert.equal(o.name, 'ann');
  assert.equal(o.insecurePlaintextKeys, true);
  assert.equal(o.inviteTtlSeconds, 5);
  assert.equal(o.headless, true);
  assert.deepEqual(o.links, [LINK]);
  assert.equal(parseStartArgs(['--listen', '192.168.1.20:4100'], linux).listen.loopback, false, 'a LAN address');
});

test('bad arguments are USAGE errors (strict); Electron\'s lenient parse ignores foreign switches', () => {
  for (const argv of [['--bogus'], ['stray'], ['--listen', '0.0.0.0:1'], ['--listen', 'nope'], ['--invite-ttl', '0'], ['--invite-ttl', '1e3'], ['--invite-ttl', String(2 * 86400)], ['--name', ''], ['--name', 'a\u202eb'], ['--home', '']]) {
    assert.throws(() => parseStartArgs(argv, linux), (err) => hasCode(err, 'USAGE'), argv.join(' '));
  }
  const o = parseStartArgs(['--inspect=0', '--remote-debugging-port=0', '--no-sandbox', '--home', '/h', 'not-a-link', LINK], linux, { lenient: true });
  assert.equal(o.home, '/h');
  assert.deepEqual(o.links, [LINK]);
});

test('only kith://pair/v1 links of bounded length are passed on as links', () => {
  assert.equal(isOpenableLink(LINK), true);
  assert.equal(isOpenableLink('kith://pair/v2#AAAA'), false);
  assert.equal(isOpenableLink('https://evil.example/#kith://pair/v1#A'), false);
  assert.equal(isOpenableLink(`${LINK}${'A'.repeat(2000)}`), false);
  for (const { name, value } of hostileValues()) {
    assert.equal(isOpenableLink(value), false, name);
  }
});

test('the app origin and URL: the invitation travels percent-encoded in the fragment', () => {
  assert.equal(appOrigin('127.0.0.2', 4100), 'http://127.0.0.2:4100');
  assert.equal(appOrigin('::1', 4100), 'http://[::1]:4100');
  assert.equal(appOrigin('localhost', 80), 'http://localhost');
  const url = appUrl('http://127.0.0.2:4100', 'kith://pair/v1#AbC-_');
  assert.equal(url, 'http://127.0.0.2:4100/#invite=kith%3A%2F%2Fpair%2Fv1%23AbC-_');
  assert.equal(decodeURIComponent(new URL(url).hash.slice('#invite='.length)), 'kith://pair/v1#AbC-_');
});
