import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OpenedLinks } from '../../../main/electron/OpenedLinks.js';
import { MAX_PENDING_OPENED_LINKS } from '../../../shared/limits.js';
import { hostileValues } from '../../support/hostile.js';

const link = (n: number) => `kith://pair/v1#L${n}`;

test('links wait until the renderer listens, then flow straight through; non-links are dropped', () => {
  const links = new OpenedLinks();
  links.pushFromArgv(['/usr/bin/kith', '--home', '/h', link(1)]);
  assert.equal(links.push('https://example.com'), false);
  for (const { value } of hostileValues()) assert.equal(links.push(value), false);
  assert.equal(links.push(link(2)), true);
  const delivered: string[] = [];
  assert.deepEqual(links.listen((l) => delivered.push(l)), [link(1), link(2)]);
  links.push(link(3));
  assert.deepEqual(delivered, [link(3)]);
  links.pause();
  links.push(link(4));
  assert.deepEqual(delivered, [link(3)], 'nothing is sent while the page is away');
  assert.deepEqual(links.listen(() => {}), [link(4)]);
});

test('at most a few links wait; the newest are kept', () => {
  const links = new OpenedLinks();
  for (let i = 0; i < MAX_PENDING_OPENED_LINKS + 5; i++) links.push(link(i));
  const waiting = links.listen(() => {});
  assert.equal(waiting.length, MAX_PENDING_OPENED_LINKS);
  assert.equal(waiting.at(-1), link(MAX_PENDING_OPENED_LINKS + 4));
});
