/**
 * Two `kith serve` processes on 127.0.0.2 and 127.0.0.3, driven only through the `kith`
 * command: pair (invite on A, accept on B through B's control socket), list contacts, share a
 * multi-megabyte blob and a JSON object, read them back on B byte for byte, watch status,
 * revoke, and stop both cleanly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempHome, runCli, type CliResult } from '../support/cli.js';
import { startServe, type ServeProcess } from '../support/serveProcess.js';
import { homePaths } from '../../cli/home.js';
import { canonicalize } from '../../shared/canonical.js';

const exists = (p: string) => access(p).then(() => true, () => false);

function only(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stdout} ${r.stderr}`);
  assert.equal(r.lines.length, 1, r.stdout);
  return r.lines[0]!;
}

/** Retries `kith get` until the object has synced (each attempt is a process; bounded). */
async function getWhenSynced(home: string, hash: string, file: string, deadlineMs: number): Promise<CliResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const r = await runCli(['get', hash, '-o', file, '--json'], { home });
    if (r.code === 0 || Date.now() > deadline) return r;
    assert.equal((r.lines[0] as { error: { code: string } }).error.code, 'NOT_FOUND', r.stdout);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

test('two serve processes pair, share a blob and an object, show status, and revoke — all from the command line', { timeout: 150_000 }, async (t) => {
  const tmpA = await makeTempHome();
  const tmpB = await makeTempHome();
  t.after(tmpA.cleanup);
  t.after(tmpB.cleanup);
  const a = tmpA.home;
  const b = tmpB.home;
  const [initA, initB] = await Promise.all([
    runCli(['init', '--name', 'Alice', '--insecure-plaintext-keys', '--json'], { home: a }),
    runCli(['init', '--name', 'Bob', '--insecure-plaintext-keys', '--json'], { home: b }),
  ]);
  const alice = only(initA);
  const bob = only(initB);

  const servers: ServeProcess[] = [];
  t.after(async () => {
    for (const s of servers) await s.stop('SIGKILL').catch(() => {});
  });
  const [serveA, serveB] = await Promise.all([startServe(a, { args: ['--listen', '127.0.0.2:0'] }), startServe(b, { args: ['--listen', '127.0.0.3:0'] })]);
  servers.push(serveA, serveB);
  assert.match(serveA.url, /^ws:\/\/127\.0\.0\.2:[1-9][0-9]*\/kith\/v1$/);
  assert.match(serveB.url, /^ws:\/\/127\.0\.0\.3:[1-9][0-9]*\/kith\/v1$/);
  assert.match(String(serveA.lines[0]!.warning), /UNENCRYPTED/, 'plaintext keys are announced on start');
  assert.match(serveA.stderr(), /^warning: .*UNENCRYPTED/m);
  assert.equal((await stat(homePaths(a).controlSocket)).mode & 0o777, 0o600, 'control socket is 0600');

  // ---- pairing ---------------------------------------------------------------------------
  const invite = only(await runCli(['invite', '--json', '--ttl', '300'], { home: a }));
  assert.deepEqual(Object.keys(invite).sort(), ['expiresAt', 'inviteId', 'url']);
  assert.match(String(invite.url), /^kith:\/\/pair\/v1#[A-Za-z0-9_-]+$/);
  assert.match(String(invite.inviteId), /^[0-9a-f]{32}$/);
  const expires = Date.parse(String(invite.expiresAt));
  assert.ok(Math.abs(expires - (Date.now() + 300_000)) < 30_000, `expiresAt ${invite.expiresAt}`);

  const accepted = only(await runCli(['accept', String(invite.url), '--json'], { home: b }));
  assert.deepEqual(accepted.contact, { personId: alice.personId, instanceId: alice.instanceId, name: 'Alice' });
  assert.match(String(accepted.sas), /^[0-9]{6}$/);
  // B's serve process did the pairing (the accept command only talked to its control socket).
  const pairedOnB = await serveB.waitFor((l) => l.event === 'pairing:paired');
  assert.equal(pairedOnB.role, 'invitee');
  const pairedOnA = await serveA.waitFor((l) => l.event === 'pairing:paired');
  assert.equal(pairedOnA.role, 'inviter');
  assert.equal(pairedOnA.sas, accepted.sas, 'both sides show the same security code');
  assert.deepEqual(pairedOnA.peer, { personId: bob.personId, instanceId: bob.instanceId, name: 'Bob' });
  for (const s of [serveA, serveB]) {
    for (const line of s.lines) assert.ok(!JSON.stringify(line).includes(String(invite.url).split('#')[1]!), 'the invitation secret never appears in events');
  }

  const [contactsA, contactsB, invites] = await Promise.all([
    runCli(['contacts', '--json'], { home: a }),
    runCli(['contacts', '--json'], { home: b }),
    runCli(['invites', '--json'], { home: a }),
  ]);
  const cA = only(contactsA) as { personId: string; name: string; revoked: boolean; instances: Array<{ instanceId: string; state?: string }> };
  const cB = only(contactsB) as typeof cA;
  assert.equal(cA.personId, bob.personId);
  assert.equal(cA.name, 'Bob');
  assert.equal(cA.instances[0]!.instanceId, bob.instanceId);
  assert.equal(cB.personId, alice.personId);
  assert.equal(cB.revoked, false);
  assert.ok(cB.instances[0]!.state !== undefined, 'a serving node reports connection state');
  assert.equal(only(invites).status, 'used');

  // ---- sharing -----------------------------------------------------------------------------
  const blob = randomBytes(3 * 1024 * 1024 + 12_345);
  const blobFile = join(tmpA.dir, 'photo.bin');
  await writeFile(blobFile, blob);
  const note = { $type: 'Note', text: 'grüße aus dem Test', n: 42, tags: ['a', 'b'] };
  const noteFile = join(tmpA.dir, 'note.json');
  await writeFile(noteFile, `${JSON.stringify(note, null, 2)}\n`);
  const [putBlob, putNote] = await Promise.all([
    runCli(['put', blobFile, '--share', String(bob.personId), '--json'], { home: a }),
    runCli(['put', noteFile, '--json-object', '--share', String(bob.personId), '--json'], { home: a }),
  ]);
  const storedBlob = only(putBlob);
  const storedNote = only(putNote);
  assert.equal(storedBlob.kind, 'blob');
  assert.equal(storedBlob.size, blob.length);
  assert.deepEqual(storedBlob.shared, [bob.personId]);
  assert.match(String(storedBlob.grant), /^[0-9a-f]{64}$/);
  assert.equal(storedNote.type, 'Note');

  const gotBlobFile = join(tmpB.dir, 'photo.bin');
  const gotBlob = await getWhenSynced(b, String(storedBlob.hash), gotBlobFile, 30_000);
  assert.equal(only(gotBlob).size, blob.length);
  assert.ok((await readFile(gotBlobFile)).equals(blob), 'B reads exactly the bytes A stored');
  const gotNoteFile = join(tmpB.dir, 'note.json');
  only(await getWhenSynced(b, String(storedNote.hash), gotNoteFile, 30_000));
  assert.equal(await readFile(gotNoteFile, 'utf8'), canonicalize(note), 'the object arrives as its canonical JSON');

  const [again, toStdout, objectJson, ls, status] = await Promise.all([
    runCli(['get', String(storedBlob.hash), '-o', gotBlobFile, '--json'], { home: b }),
    runCli(['get', String(storedNote.hash)], { home: b }),
    runCli(['get', String(storedNote.hash), '--json'], { home: b }),
    runCli(['ls', '--json'], { home: b }),
    runCli(['status', '--json'], { home: b }),
  ]);
  assert.equal(again.code, 1);
  assert.equal((again.lines[0] as { error: { code: string } }).error.code, 'ALREADY_EXISTS', '-o never overwrites without --force');
  assert.equal(toStdout.stdout, `${canonicalize(note)}\n`);
  assert.deepEqual(only(objectJson), { hash: storedNote.hash, type: 'Note', object: note });
  assert.equal(ls.code, 0);
  const listed = new Map(ls.lines.map((l) => [l.hash, l]));
  assert.equal(listed.get(storedBlob.hash)?.type, 'BlobManifest');
  assert.equal(listed.get(storedNote.hash)?.type, 'Note');
  const grant = listed.get(storedBlob.grant);
  assert.equal(grant?.type, 'Access');
  assert.equal(grant?.authorName, 'Alice', 'ls names authors it knows');

  const report = only(status) as {
    running: boolean;
    listening: string;
    connections: Array<{ personId: string; state: string }>;
    sync: Array<{ peer: { personId: string }; direction: string; bytesDone: number }>;
    store: { chunks: number; bytes: number };
  };
  assert.equal(report.running, true);
  assert.equal(report.listening, serveB.url);
  assert.deepEqual(report.connections.map((c) => [c.personId, c.state]), [[alice.personId, 'connected']]);
  const received = report.sync.find((p) => p.direction === 'receive' && p.peer.personId === alice.personId);
  assert.ok(received && received.bytesDone >= blob.length, `sync progress shows the blob received: ${JSON.stringify(report.sync)}`);
  assert.ok(report.store.chunks >= 4 && report.store.bytes >= blob.length);
  assert.ok(serveB.lines.some((l) => l.event === 'sync:progress'), 'serve prints sync progress');

  // ---- revocation ----------------------------------------------------------------------------
  const revoked = only(await runCli(['revoke', String(bob.personId), '--json'], { home: a }));
  assert.deepEqual(revoked, { revoked: { personId: bob.personId, name: 'Bob' } });
  const refused = await serveB.waitFor((l) => l.event === 'connection:failed' && l.code === 'CONTACT_REVOKED', 20_000);
  assert.equal(refused.direction, 'outbound');
  const afterB = only(await runCli(['contacts', '--json'], { home: b })) as typeof cA & { instances: Array<{ state?: string; lastError?: string }> };
  assert.notEqual(afterB.instances[0]!.state, 'connected');
  assert.equal(afterB.instances[0]!.lastError, 'CONTACT_REVOKED');
  const afterA = only(await runCli(['contacts', '--json'], { home: a }));
  assert.equal(afterA.revoked, true);

  // ---- clean stop ------------------------------------------------------------------------------
  const [stopA, stopB] = await Promise.all([serveA.stop('SIGTERM'), serveB.stop('SIGINT')]);
  assert.deepEqual(stopA, { code: 0, signal: null });
  assert.deepEqual(stopB, { code: 0, signal: null });
  assert.deepEqual(serveA.lines.at(-1), { event: 'stopped', signal: 'SIGTERM' });
  assert.deepEqual(serveB.lines.at(-1), { event: 'stopped', signal: 'SIGINT' });
  for (const home of [a, b]) {
    assert.equal(await exists(homePaths(home).controlSocket), false, 'socket file removed');
    assert.equal(await exists(homePaths(home).lock), false, 'lock released');
  }
});
