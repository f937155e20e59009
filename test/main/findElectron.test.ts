import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findElectron } from '../../main/findElectron.js';
import { REPO_ROOT } from '../support/cli.js';

test('ELECTRON_PATH wins when it names a file, and is reported when it does not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-electron-'));
  try {
    const bin = join(dir, 'electron');
    await writeFile(bin, '');
    assert.deepEqual(findElectron({ ELECTRON_PATH: bin }, REPO_ROOT), { found: true, path: bin, from: 'ELECTRON_PATH' });
    const missing = findElectron({ ELECTRON_PATH: join(dir, 'nope') }, REPO_ROOT);
    assert.equal(missing.found, false);
    assert.match((missing as { reason: string }).reason, /not a file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an electron package without its binary is "not found" — and looking never downloads anything', async () => {
  // A package tree of our own: node_modules/electron with package.json, with and without path.txt + binary.
  const dir = await mkdtemp(join(tmpdir(), 'kith-electron-pkg-'));
  try {
    const pkg = join(dir, 'node_modules', 'electron');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await writeFile(join(pkg, 'package.json'), JSON.stringify({ name: 'electron', version: '0.0.0', main: 'index.js' }));
    // index.js would download; findElectron must never load it.
    await writeFile(join(pkg, 'index.js'), 'throw new Error("index.js was loaded")');
    const none = findElectron({}, dir);
    assert.equal(none.found, false);
    assert.match((none as { reason: string }).reason, /no binary/);
    await writeFile(join(pkg, 'path.txt'), 'electron');
    assert.equal(findElectron({}, dir).found, false, 'path.txt without the binary');
    await writeFile(join(pkg, 'dist', 'electron'), '');
    assert.deepEqual(findElectron({}, dir), { found: true, path: join(pkg, 'dist', 'electron'), from: 'electron package' });
    assert.equal(findElectron({}, tmpdir()).found, false, 'no package at all');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
