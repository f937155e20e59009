#!/usr/bin/env node
// `npm run build`: bundles what ships, with esbuild, into dist/:
//   cli       dist/cli/kith.mjs          the `kith` command for a copy without the sources (bin/kith.mjs runs the sources in a checkout)
//   renderer  dist/renderer/             the UI (renderer/build.ts, contract 1 of the app brief)
//   electron  dist/main/electron.cjs     the Electron main process (main/electron/main.ts)
//             dist/main/preload.cjs      its preload (main/electron/preload.ts)
// `--only=renderer,electron` builds a subset (`npm start` does that before launching Electron).
//
// Why bundles: the packaged app must not depend on tsx or on TypeScript sources, and a
// sandboxed preload can only `require('electron')`, so everything it uses has to be inlined.
// Decorators compile as in development because esbuild reads the same tsconfig.json.
import { build } from 'esbuild';
import { rm, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join, relative } from 'node:path';

const root = fileURLToPath(new URL('../', import.meta.url));
const dist = join(root, 'dist');
const TARGETS = ['cli', 'renderer', 'electron'];

const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const wanted = onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : TARGETS;
for (const w of wanted) {
  if (!TARGETS.includes(w)) {
    console.error(`build: unknown target '${w}' (known: ${TARGETS.join(', ')})`);
    process.exit(2);
  }
}

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: 'node',
  tsconfig: join(root, 'tsconfig.json'),
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
};

async function size(file) {
  const { size: bytes } = await stat(file);
  return `${relative(root, file)} (${(bytes / 1024).toFixed(0)} KiB)`;
}

const steps = {
  async cli() {
    const outfile = join(dist, 'cli', 'kith.mjs');
    await build({
      ...common,
      entryPoints: [join(root, 'cli', 'kith.ts')],
      outfile,
      format: 'esm',
      target: 'node20',
      // Installed packages stay packages: the CLI runs where `npm install` ran.
      packages: 'external',
    });
    return [await size(outfile)];
  },
  async renderer() {
    const outDir = join(dist, 'renderer');
    await rm(outDir, { recursive: true, force: true });
    // renderer/build.ts is TypeScript: load it through tsx, with this package's tsconfig.
    const { register } = await import('tsx/esm/api');
    const unregister = register({ tsconfig: join(root, 'tsconfig.json') });
    try {
      const { buildRenderer } = await import(new URL('../renderer/build.ts', import.meta.url).href);
      await buildRenderer({ outDir, minify: true });
    } finally {
      await unregister();
    }
    return [relative(root, outDir) + '/'];
  },
  async electron() {
    const outDir = join(dist, 'main');
    // Electron 45 runs Node 22 in main and Chromium's V8 in the preload.
    const electronCommon = { ...common, format: 'cjs', target: 'node22', external: ['electron'] };
    await build({
      ...electronCommon,
      entryPoints: [join(root, 'main', 'electron', 'main.ts')],
      outfile: join(outDir, 'electron.cjs'),
      // ws loads these native helpers if present and falls back to JavaScript otherwise.
      external: ['electron', 'bufferutil', 'utf-8-validate'],
    });
    await build({
      ...electronCommon,
      entryPoints: [join(root, 'main', 'electron', 'preload.ts')],
      outfile: join(outDir, 'preload.cjs'),
    });
    return [await size(join(outDir, 'electron.cjs')), await size(join(outDir, 'preload.cjs'))];
  },
};

const started = Date.now();
try {
  for (const target of TARGETS.filter((t) => wanted.includes(t))) {
    const made = await steps[target]();
    console.log(`built ${target}: ${made.join(', ')}`);
  }
} catch (err) {
  console.error(`build failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
