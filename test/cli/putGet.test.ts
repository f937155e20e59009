/**
 * `kith put` / `kith get` / `kith ls` on a home nobody serves (the commands open it
 * themselves): stdin and files, blobs and JSON objects, exact bytes back, `-o` that never
 * clobbers without `--force`, and the refusals — unknown share targets store nothing, bad
 * objects and hashes get their codes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempHome, runCli, type CliResult } from '../support/cli.js';
import { canonicalize } from '../../shared/canonical.js';

function ok(r: CliResult): Record<string, unknown> {
  assert.equal(r.code, 0, `${r.stdout} ${r.stderr}`);
  return r.lines[0]!;
}

function code(r: CliResult): string {
  return (r.lines[0] as { error: { code: string } }).error.code;
}

test('put and get without a serving node: stdin blob, file object, exact bytes, -o and --force, ls', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const home = tmp.home;
  ok(await runCli(['init', '--name', 'Alice', '--insecure-plaintext-keys', '--json'], { home }));

  const blob = randomBytes(1_500_000).toString('base64'); // text, so it can go through runCli's stdin
  const note = { $type: 'Note', text: 'hello', n: 7 };
  const noteFile = join(tmp.dir, 'note.json');
  await writeFile(noteFile, JSON.stringify(note, null, 4));
  const putBlob = ok(await runCli(['put', '-', '--json'], { home, input: blob }));
  const putNote = ok(await runCli(['put', noteFile, '--json-object', '--json'], { home }));
  assert.deepEqual(putBlob.shared, []);
  assert.equal(putBlob.grant, undefined);
  assert.equal(putBlob.size, blob.length);
  assert.equal(putNote.type, 'Note');

  const out = join(tmp.dir, 'out.bin');
  ok(await runCli(['get', String(putBlob.hash), '-o', out, '--json'], { home }));
  assert.equal(await readFile(out, 'utf8'), blob);
  const stdout = await runCli(['get', String(putBlob.hash)], { home });
  assert.equal(stdout.code, 0);
  assert.equal(stdout.stdout, blob, 'raw bytes on stdout without -o');

  await writeFile(out, 'keep me');
  assert.equal(code(await runCli(['get', String(putNote.hash), '-o', out, '--json'], { home })), 'ALREADY_EXISTS');
  assert.equal(await readFile(out, 'utf8'), 'keep me');
  ok(await runCli(['get', String(putNote.hash), '-o', out, '--force', '--json'], { home }));
  assert.equal(await readFile(out, 'utf8'), canonicalize(note));

  const blobAsJson = await runCli(['get', String(putBlob.hash), '--json'], { home });
  assert.equal(blobAsJson.code, 2, 'a blob is not a JSON line: --json needs -o');
  assert.equal(code(blobAsJson), 'USAGE');

  const ls = await runCli(['ls', '--json'], { home });
  assert.equal(ls.code, 0);
  const types = new Map(ls.lines.map((l) => [l.hash, l.type]));
  assert.equal(types.get(putBlob.hash), 'BlobManifest');
  assert.equal(types.get(putNote.hash), 'Note');
  assert.ok(ls.lines.every((l) => l.type !== 'chunk'), 'blob chunks are not listed');
  const human = await runCli(['ls'], { home });
  assert.match(human.stdout, new RegExp(`^${putNote.hash}  Note `, 'm'));
});

test('put and get refusals: unknown share target stores nothing; bad objects, files and hashes get their codes', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const home = tmp.home;
  ok(await runCli(['init', '--name', 'Alice', '--insecure-plaintext-keys', '--json'], { home }));
  const file = join(tmp.dir, 'data.txt');
  await writeFile(file, 'some data');
  const dir = join(tmp.dir, 'a-directory');
  await mkdir(dir);
  const objects = async (): Promise<number> => (await runCli(['ls', '--json'], { home })).lines.length;
  const before = await objects();

  const stranger = 'ab'.repeat(32);
  // One after the other: each opens the home and holds its lock for its whole run.
  const runs: Array<[string[], string?]> = [
    [['put', file, '--share', stranger, '--json']],
    [['put', file, '--share', 'not-a-person', '--json']],
    [['put', '-', '--json-object', '--json'], '{"no":"type"}'],
    [['put', '-', '--json-object', '--json'], '{"$type":"Note","x":1.5}'],
    [['put', '-', '--json-object', '--json'], 'not json'],
    [['put', join(tmp.dir, 'missing'), '--json']],
    [['put', dir, '--json']],
    [['get', 'f'.repeat(64), '--json']],
    [['get', 'F'.repeat(64), '--json']],
    [['get', '--json']],
  ];
  const results: CliResult[] = [];
  for (const [args, input] of runs) results.push(await runCli(args, { home, input }));
  const codes = results.map((r) => [r.code, code(r)]);
  assert.deepEqual(codes, [
    [1, 'NOT_FOUND'],
    [2, 'USAGE'],
    [1, 'OBJECT_INVALID'],
    [1, 'NOT_CANONICALIZABLE'],
    [1, 'INVALID_INPUT'],
    [1, 'NOT_FOUND'],
    [1, 'INVALID_INPUT'],
    [1, 'NOT_FOUND'],
    [2, 'USAGE'],
    [2, 'USAGE'],
  ]);
  assert.equal(await objects(), before, 'nothing was stored by the refused puts');
});
