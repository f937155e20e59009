import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readInviteFragment, takeStartLink, bridgeOf, type HandoffWindow } from '../../renderer/handoff.js';
import { hostileStrings } from '../support/hostile.js';

const LINK = 'kith://pair/v1#AQGFm9GV1tz3s6ZYxJuOR9bpyvoLrTlYEhDF0d0xyuzc';

function fakeWindow(hash: string, kith?: unknown): HandoffWindow & { replaced: string[] } {
  const replaced: string[] = [];
  return {
    replaced,
    location: { hash, pathname: '/', search: '' },
    history: { replaceState: (_d: unknown, _u: string, url?: string) => void replaced.push(url ?? '') },
    ...(kith !== undefined ? { kith } : {}),
  };
}

test('reads the link from #invite= (percent-encoded, its own # intact)', () => {
  assert.equal(readInviteFragment(`#invite=${encodeURIComponent(LINK)}`), LINK);
  assert.equal(readInviteFragment(`#x=1&invite=${encodeURIComponent(LINK)}`), LINK);
  assert.equal(readInviteFragment(''), null);
  assert.equal(readInviteFragment('#invite='), null);
  assert.equal(readInviteFragment('#invite=%E0%A4%A'), null, 'broken percent-encoding');
  assert.equal(readInviteFragment(`#invite=${'A'.repeat(10_000)}`), null, 'implausibly long');
  for (const h of hostileStrings()) {
    const got = readInviteFragment(`#invite=${h.value}`);
    assert.ok(got === null || (typeof got === 'string' && got.length <= 1024), h.name);
  }
});

test('the fragment is removed from the address bar, whoever supplies the link', async () => {
  const plain = fakeWindow(`#invite=${encodeURIComponent(LINK)}`);
  assert.equal(await takeStartLink(plain), LINK);
  assert.deepEqual(plain.replaced, ['/']);

  const bridge = { getRendererInvite: async () => 'kith://pair/v1#FROMPRELOAD', onOpenLink: () => () => {} };
  const electron = fakeWindow(`#invite=${encodeURIComponent(LINK)}`, bridge);
  assert.equal(await takeStartLink(electron), 'kith://pair/v1#FROMPRELOAD', 'the preload wins');
  assert.deepEqual(electron.replaced, ['/']);

  const none = fakeWindow('');
  assert.equal(await takeStartLink(none), null);
  assert.deepEqual(none.replaced, [], 'nothing to clear');
});

test('a broken or hostile preload gives no link instead of failing', async () => {
  const failing = fakeWindow('', { getRendererInvite: async () => { throw new Error('ipc down'); }, onOpenLink: () => () => {} });
  assert.equal(await takeStartLink(failing), null);
  for (const value of [42, {}, 'x'.repeat(5000), '']) {
    const odd = fakeWindow('', { getRendererInvite: async () => value, onOpenLink: () => () => {} });
    assert.equal(await takeStartLink(odd), null, String(value).slice(0, 10));
  }
  assert.equal(bridgeOf(fakeWindow('', { getRendererInvite: 'nope' })), undefined);
});
