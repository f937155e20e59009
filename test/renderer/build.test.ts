import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { browserOnlyPlugin, buildRenderer, forbiddenInputs, isForbiddenImport } from '../../renderer/build.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

test('builds index.html, app.js and app.css with nothing inline and nothing from elsewhere', async () => {
  const out = await mkdtemp(path.join(tmpdir(), 'kith-renderer-'));
  try {
    await buildRenderer({ outDir: out });
    assert.deepEqual((await readdir(out)).sort(), ['app.css', 'app.js', 'index.html']);
    const html = await readFile(path.join(out, 'index.html'), 'utf8');
    assert.match(html, /<script type="module" src="app\.js"><\/script>/);
    assert.match(html, /<link rel="stylesheet" href="app\.css">/);
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
    assert.doesNotMatch(html, /https?:\/\//, 'no remote resource');
    const js = await readFile(path.join(out, 'app.js'), 'utf8');
    const css = await readFile(path.join(out, 'app.css'), 'utf8');
    assert.doesNotMatch(css, /@import|url\(\s*['"]?(https?:)?\/\//, 'no remote CSS');
    assert.doesNotMatch(js, /\brequire\(\s*["'](node:|electron|fs|path|os|child_process|crypto|net|http)/, 'no Node or Electron require');
    assert.doesNotMatch(js, /from\s*["'](node:|electron)/, 'no Node or Electron import');
    // The data-testid contract (app brief, contract 6) is in the bundle.
    for (const id of [
      'connection-status', 'error-banner', 'error-action', 'already-open', 'name-input', 'name-submit', 'person-id', 'instance-id', 'fingerprint',
      'main-person-id', 'contact-row', 'revoke-contact', 'invite-qr', 'invite-link', 'invite-expiry', 'invite-refresh', 'invite-revoke',
      'accept-link-input', 'accept-submit', 'accept-file-input', 'accept-scan', 'accept-video', 'accept-result', 'channel-create-name', 'channel-member',
      'channel-create', 'channel-item', 'message-input', 'message-send', 'file-input', 'message', 'message-text', 'message-file', 'transfer-progress', 'sync-row',
    ]) {
      assert.ok(js.includes(`"${id}"`), id);
    }
    for (const screen of ['first-run', 'identity', 'devices', 'invite', 'accept', 'channels', 'activity']) assert.ok(js.includes(screen), screen);
    assert.ok(js.includes('screen-${') && js.includes('nav-${'), 'screen and nav ids are derived from the screen names');
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('an import of Node or Electron anywhere in the renderer fails the build', async () => {
  for (const s of ['node:fs', 'fs', 'fs/promises', 'path', 'electron', 'electron/renderer', 'child_process', 'worker_threads']) assert.ok(isForbiddenImport(s), s);
  for (const s of ['preact', 'preact/hooks', '../shared/bytes.js', '@noble/hashes/sha2.js', 'lowdb', 'pathe']) assert.equal(isForbiddenImport(s), false, s);
  // The same plugin on a throwaway entry inside renderer/ (so the repo's tsconfig applies).
  const dir = await mkdtemp(path.join(ROOT, 'renderer', '.tmp-build-test-'));
  try {
    for (const [name, body] of [
      ['node.ts', "import { readFileSync } from 'node:fs'; console.log(readFileSync);"],
      ['electron.ts', "import { ipcRenderer } from 'electron'; console.log(ipcRenderer);"],
      ['host.ts', "import { openNodeInstance } from '../../instance/node/openNodeInstance.js'; console.log(openNodeInstance);"],
    ] as const) {
      await writeFile(path.join(dir, name), body);
      const result = build({ entryPoints: [path.join(dir, name)], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent', plugins: [browserOnlyPlugin] });
      await assert.rejects(result, (err: { errors?: Array<{ text: string }> }) => !!err.errors?.some((e) => /must not import/.test(e.text)), name);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Kith's Node-only folders are refused as bundle inputs", () => {
  const meta = (paths: string[]) => ({ inputs: Object.fromEntries(paths.map((p) => [p, { bytes: 1, imports: [] }])), outputs: {} });
  assert.deepEqual(forbiddenInputs(meta(['renderer/boot.ts', 'shared/bytes.ts', 'node_modules/preact/dist/preact.module.js'])), []);
  assert.deepEqual(
    forbiddenInputs(meta(['main/host.ts', 'cli/home.ts', 'instance/node/openNodeInstance.ts', 'shared/node/DurableJsonFile.ts', 'connections/node/WsListener.ts'])),
    ['main/host.ts', 'cli/home.ts', 'instance/node/openNodeInstance.ts', 'shared/node/DurableJsonFile.ts', 'connections/node/WsListener.ts'],
  );
});

test('no renderer source (other than the build script) imports Node or Electron', async () => {
  const dir = path.join(ROOT, 'renderer');
  const files: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.startsWith('.') || e.name === 'dist') continue;
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else if (/\.(ts|tsx)$/.test(e.name)) files.push(path.join(d, e.name));
    }
  };
  await walk(dir);
  assert.ok(files.length > 10);
  for (const f of files) {
    if (path.basename(f) === 'build.ts' && path.dirname(f) === dir) continue;
    const text = await readFile(f, 'utf8');
    for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const spec = m[1] ?? m[2]!;
      assert.equal(isForbiddenImport(spec), false, `${path.relative(ROOT, f)} imports ${spec}`);
      assert.doesNotMatch(spec, /(^|\/)(main|cli)\/|\/node\//, `${path.relative(ROOT, f)} imports Node-only ${spec}`);
    }
  }
});
