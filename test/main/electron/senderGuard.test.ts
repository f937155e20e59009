import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoArguments, assertTrustedSender, isAppUrl } from '../../../main/electron/senderGuard.js';
import { hasCode } from '../../../shared/errors.js';
import { hostileValues } from '../../support/hostile.js';

const ORIGIN = 'http://127.0.0.1:4100';
const good = { fromOurWindow: true, fromMainFrame: true, frameUrl: `${ORIGIN}/` };

test('only our window\'s top frame on our origin passes', () => {
  assert.doesNotThrow(() => assertTrustedSender(good, ORIGIN));
  assert.doesNotThrow(() => assertTrustedSender({ ...good, frameUrl: `${ORIGIN}/index.html?x#y` }, ORIGIN));
  const refused = [
    { ...good, fromOurWindow: false },
    { ...good, fromMainFrame: false },
    { ...good, frameUrl: undefined },
    { ...good, frameUrl: 'http://127.0.0.1:4101/' },
    { ...good, frameUrl: 'http://localhost:4100/' },
    { ...good, frameUrl: 'https://127.0.0.1:4100/' },
    { ...good, frameUrl: 'file:///etc/passwd' },
    { ...good, frameUrl: 'data:text/html,x' },
    { ...good, frameUrl: 'about:blank' },
    { ...good, frameUrl: 'http://127.0.0.1:4100.evil.example/' },
    { ...good, frameUrl: 'http://user@127.0.0.1:4100@evil.example/' },
  ];
  for (const facts of refused) assert.throws(() => assertTrustedSender(facts, ORIGIN), (err) => hasCode(err, 'ACCESS_DENIED'), JSON.stringify(facts));
});

test('isAppUrl refuses anything that is not a URL of the origin', () => {
  for (const { name, value } of hostileValues()) assert.equal(isAppUrl(value as string, ORIGIN), false, name);
});

test('channels take no arguments: any argument is refused', () => {
  assert.doesNotThrow(() => assertNoArguments([]));
  for (const { name, value } of hostileValues()) assert.throws(() => assertNoArguments([value]), (err) => hasCode(err, 'INVALID_INPUT'), name);
});
