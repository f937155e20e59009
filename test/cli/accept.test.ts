/**
 * `kith accept` and `kith invite` around the edges: expired and reused invitations give the
 * inviter's code and exit 1; a home nobody serves pairs by opening itself (dial-only); the
 * link can come from stdin; invitations made while the node is down warn, or fail when the
 * node never listened; `invites revoke` makes a link useless.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { makeTempHome, runCli, type CliResult } from '../support/cli.js';
import { startServe } from '../support/serveProcess.js';
import { homePaths } from '../../cli/home.js';
import { ERROR_CODES } from '../../shared/errors.js';

const exists = (p: string) => access(p).then(() => true, () => false);

async function homes(t: { after(fn: () => Promise<void>): void }, names: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const name of names) {
    const tmp = await makeTempHome();
    t.after(tmp.cleanup);
    out.push(tmp.home);
  }
  const inits = await Promise.all(out.map((home, i) => runCli(['init', '--name', names[i]!, '--insecure-plaintext-keys', '--json'], { home })));
  for (const r of inits) assert.equal(r.code, 0, r.stderr);
  return out;
}

function failure(r: CliResult): { code: string; message: string } {
  assert.equal(r.code, 1, `expected exit 1: ${r.stdout} ${r.stderr}`);
  assert.equal(r.lines.length, 1);
  return (r.lines[0] as { error: { code: string; message: string } }).error;
}

test('accept: expired and already used invitations fail with the inviter\'s code; a home nobody serves pairs by itself', { timeout: 120_000 }, async (t) => {
  const [a, c, d, e] = await homes(t, ['Alice', 'Carol', 'Dave', 'Erin']);
  const serveA = await startServe(a!);
  t.after(() => serveA.stop('SIGKILL').then(() => {}, () => {}));

  const [short, once, revocable] = await Promise.all([
    runCli(['invite', '--ttl', '1', '--json'], { home: a }),
    runCli(['invite', '--json'], { home: a }),
    runCli(['invite', '--json'], { home: a }),
  ]);
  for (const r of [short, once, revocable]) assert.equal(r.code, 0, r.stderr);

  // Carol's home is not served: accept takes its lock, opens it, pairs as a dial-only node and closes it again.
  const carol = await runCli(['accept', String(once.lines[0]!.url), '--json'], { home: c });
  assert.equal(carol.code, 0, carol.stderr);
  assert.equal((carol.lines[0]!.contact as { name: string }).name, 'Alice');
  assert.equal(await exists(homePaths(c!).lock), false, 'lock released after the command');
  assert.equal(await exists(homePaths(c!).controlSocket), false, 'no control socket without serve');
  const carolContacts = await runCli(['contacts', '--json'], { home: c });
  assert.equal(carolContacts.lines[0]!.name, 'Alice');

  // The same link again, from someone else: used.
  const used = failure(await runCli(['accept', String(once.lines[0]!.url), '--json'], { home: d }));
  assert.equal(used.code, 'INVITE_USED');
  assert.equal(used.message, ERROR_CODES.INVITE_USED);

  // Past its lifetime on the inviter's clock: expired (the link is read from stdin this time).
  await new Promise((resolve) => setTimeout(resolve, 2_100));
  const expired = failure(await runCli(['accept', '-', '--json'], { home: d, input: `  ${String(short.lines[0]!.url)}\n` }));
  assert.equal(expired.code, 'INVITE_EXPIRED');
  assert.match(expired.message, /expired/i);

  // Revoked by its creator.
  const revoke = await runCli(['invites', 'revoke', String(revocable.lines[0]!.inviteId), '--json'], { home: a });
  assert.equal(revoke.code, 0, revoke.stderr);
  assert.equal((revoke.lines[0]!.revoked as { status: string }).status, 'revoked');
  assert.equal(failure(await runCli(['accept', String(revocable.lines[0]!.url), '--json'], { home: e })).code, 'INVITE_REVOKED');

  // Human mode: the plain-language message and the code on stderr, nothing on stdout.
  const human = await runCli(['accept', String(once.lines[0]!.url)], { home: e });
  assert.equal(human.code, 1);
  assert.equal(human.stdout, '');
  assert.match(human.stderr, /already been used.*\(INVITE_USED\)/);
  for (const r of [used, expired]) assert.ok(!r.message.includes('#'), 'errors never echo the link');

  const list = await runCli(['invites', '--json'], { home: a });
  assert.deepEqual(list.lines.map((l) => l.status).sort(), ['expired', 'revoked', 'used']);
  const contactsA = await runCli(['contacts', '--json'], { home: a });
  assert.deepEqual(contactsA.lines.map((l) => l.name), ['Carol'], 'only the successful redemption made a contact');
  assert.deepEqual(await serveA.stop('SIGTERM'), { code: 0, signal: null });
});

test('invite while nobody serves: names the last listen address with a warning, or fails when the node never listened', { timeout: 120_000 }, async (t) => {
  const [a, b] = await homes(t, ['Alice', 'Bob']);
  const never = failure(await runCli(['invite', '--json'], { home: a }));
  assert.equal(never.code, 'UNREACHABLE');
  assert.match(never.message, /kith serve/);

  const serve = await startServe(b!, { args: ['--listen', '127.0.0.1:0'] });
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
  const offline = await runCli(['invite', '--json', '--qr'], { home: b });
  assert.equal(offline.code, 0, offline.stderr);
  assert.equal(offline.lines.length, 1, 'the QR code never enters the JSON line');
  assert.match(String(offline.lines[0]!.warning), /not running/);
  assert.ok(String(offline.lines[0]!.warning).includes(serve.url));
  assert.match(offline.stderr, /^warning: this node is not running/m);
  assert.match(offline.stderr, /\u001b\[30;47m/, 'the QR code is drawn on stderr in JSON mode');
  assert.equal(await exists(homePaths(b!).lock), false);

  const bad = await Promise.all([
    runCli(['accept', 'kith://pair/v1#AAAA', '--json'], { home: a }),
    runCli(['accept', 'x'.repeat(5000), '--json'], { home: a }),
    runCli(['invite', '--ttl', '0', '--json'], { home: a }),
    runCli(['invite', '--ttl', '86401', '--json'], { home: a }),
    runCli(['invites', 'revoke', 'nope', '--json'], { home: a }),
  ]);
  assert.equal(failure(bad[0]!).code, 'INVITE_MALFORMED');
  for (const r of bad.slice(1)) {
    assert.equal(r.code, 2, r.stdout);
    assert.equal((r.lines[0] as { error: { code: string } }).error.code, 'USAGE');
  }
  assert.ok(!bad[1]!.stdout.includes('xxxxxxxxxx'), 'an over-long link is not echoed');
});
