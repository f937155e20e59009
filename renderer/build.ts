/**
 * Builds the renderer (app brief, contract 1): esbuild bundles `renderer/main.tsx` for the
 * browser as one ES module, `app.js`, with its stylesheet `app.css`, next to a static
 * `index.html` that loads both by URL (no inline script or style: the CSP forbids them).
 *
 * The renderer is a browser instance: it must never reach Node or Electron. The build fails
 * when anything in the bundle imports a Node built-in or `electron`, or pulls in Kith's
 * Node-only code (`main/`, `cli/`, any `node/` folder) — so a stray import is a build error,
 * not a blank window.
 *
 * This file itself runs in Node (the host calls it at start); it is not part of the bundle.
 */
import { builtinModules } from 'node:module';
import { copyFile, mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import * as path from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import { KithError } from '../shared/errors.js';

export interface BuildRendererOptions {
  /** Where index.html, app.js and app.css are written (created when missing). */
  readonly outDir: string;
  /** Minify the bundle (packaged builds). */
  readonly minify?: boolean;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
/** Browsers the bundle targets: Electron 45 is Chromium 140; Debian's Chromium is newer. */
const TARGET = ['chrome120', 'firefox128', 'safari17'];

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** True for an import of Node or Electron. */
export function isForbiddenImport(specifier: string): boolean {
  if (specifier.startsWith('node:')) return true;
  if (specifier === 'electron' || specifier.startsWith('electron/')) return true;
  return BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0]!);
}

/** Kith source folders that hold Node-only code (relative to the repository, forward slashes). */
const NODE_ONLY_SOURCE = /(^|\/)(main|cli|scripts|test)\/|(^|\/)node\/[^/]+\.ts$/;

/** Refuses Node built-ins and electron at resolve time, naming the importer. */
export const browserOnlyPlugin: Plugin = {
  name: 'kith-browser-only',
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      if (!isForbiddenImport(args.path)) return undefined;
      const from = args.importer ? path.relative(ROOT, args.importer) : '(entry)';
      return { errors: [{ text: `the renderer must not import "${args.path}" (imported by ${from})` }] };
    });
  },
};

/** Problems with a bundle's inputs: Kith's Node-only folders must never be part of it. */
export function forbiddenInputs(metafile: Metafile): string[] {
  return Object.keys(metafile.inputs).filter((input) => !input.startsWith('node_modules/') && NODE_ONLY_SOURCE.test(input));
}

/** Builds the renderer into `outDir` (index.html, app.js, app.css). INTERNAL when the build fails. */
export async function buildRenderer(options: BuildRendererOptions): Promise<void> {
  if (!options || typeof options.outDir !== 'string' || options.outDir.length === 0) throw new KithError('INVALID_INPUT', 'buildRenderer needs an outDir');
  const outDir = path.resolve(options.outDir);
  await mkdir(outDir, { recursive: true });
  let metafile: Metafile;
  try {
    const result = await build({
      absWorkingDir: ROOT,
      entryPoints: { app: path.join(HERE, 'main.tsx') },
      outdir: outDir,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: TARGET,
      minify: options.minify === true,
      sourcemap: false,
      legalComments: 'none',
      charset: 'utf8',
      jsx: 'automatic',
      jsxImportSource: 'preact',
      tsconfig: path.join(ROOT, 'tsconfig.json'),
      // Only the CSS entry may be an asset: no images or fonts are fetched from anywhere.
      loader: { '.css': 'css' },
      metafile: true,
      write: true,
      logLevel: 'silent',
      plugins: [browserOnlyPlugin],
    });
    metafile = result.metafile;
  } catch (err) {
    const errors = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    const detail = errors?.length
      ? errors.slice(0, 5).map((e) => (e.location ? `${e.location.file}:${e.location.line}: ${e.text}` : e.text)).join('; ')
      : (err as Error).message;
    throw new KithError('INTERNAL', `the renderer build failed: ${detail}`);
  }
  const bad = forbiddenInputs(metafile);
  if (bad.length > 0) throw new KithError('INTERNAL', `the renderer bundle pulls in Node-only code: ${bad.slice(0, 5).join(', ')}`);
  await copyFile(path.join(HERE, 'index.html'), path.join(outDir, 'index.html'));
}
