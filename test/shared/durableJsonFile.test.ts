import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';

const asDoc = (v: unknown) => {
  if (typeof v !== 'object' || v === null || typeof (v as { n?: unknown }).n !== 'number') throw new Error('not a doc');
  return v as { n: number };
};

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-durable-'));
  try {
    await run(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The pid of a process that has exited (its number is not reused this quickly on Linux). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

test('a write replaces the file whole, readable only by its owner; a missing file reads as null', () =>
  withDir(async (dir) => {
    const file = new DurableJsonFile(join(dir, 'state', 'doc.json'), asDoc);
    assert.equal(await file.read(), null);
    await file.write({ n: 1 });
    await file.write({ n: 2 });
    assert.deepEqual(await file.read(), { n: 2 });
    if (process.platform !== 'win32') assert.equal((await stat(join(dir, 'state', 'doc.json'))).mode & 0o777, 0o600);
    assert.deepEqual((await readdir(join(dir, 'state'))).sort(), ['doc.json'], 'no temporary file is left after a write');
  }));

test('temporary files of a killed writer are removed at the next read; a live writer\'s stay', () =>
  withDir(async (dir) => {
    const file = new DurableJsonFile(join(dir, 'doc.json'), asDoc);
    await file.write({ n: 7 });
    const dead = `.doc.json.${deadPid()}.3.tmp`;
    const live = `.doc.json.${process.ppid}.1.tmp`;
    const other = `.other.json.${deadPid()}.1.tmp`;
    for (const name of [dead, live, other]) await writeFile(join(dir, name), '{"n":');
    assert.deepEqual(await new DurableJsonFile(join(dir, 'doc.json'), asDoc).read(), { n: 7 });
    const left = await readdir(dir);
    assert.ok(!left.includes(dead), 'the dead writer\'s temporary file is gone');
    assert.ok(left.includes(live), 'a running process\'s temporary file is kept');
    assert.ok(left.includes(other), 'another file\'s temporary files are not touched');
  }));

test('a damaged file is refused with INVALID_INPUT, not half-trusted', () =>
  withDir(async (dir) => {
    await writeFile(join(dir, 'doc.json'), '{"n": 1');
    await assert.rejects(new DurableJsonFile(join(dir, 'doc.json'), asDoc).read(), (err: { code?: string }) => err.code === 'INVALID_INPUT');
  }));
