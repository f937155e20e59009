/**
 * Finds an Electron binary for `npm start` without ever downloading one.
 *
 * `require('electron')` is not usable for the question "is there a binary?": the package's
 * index.js *downloads* Electron when its binary is missing (electron ≥ 36), which on a machine
 * without network access blocks and then throws. So this reads what index.js would read —
 * `path.txt` next to it, naming the executable under `dist/` — and checks that file exists.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

export type ElectronLookup =
  | { readonly found: true; readonly path: string; readonly from: 'ELECTRON_PATH' | 'electron package' }
  | { readonly found: false; readonly reason: string };

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * `ELECTRON_PATH` when it names an existing file; else the binary of the installed `electron`
 * package when it was downloaded; else why there is none (printed by `npm start` and the tests).
 */
export function findElectron(env: Readonly<Record<string, string | undefined>>, fromDir: string): ElectronLookup {
  const explicit = env.ELECTRON_PATH;
  if (explicit) {
    return isFile(explicit)
      ? { found: true, path: explicit, from: 'ELECTRON_PATH' }
      : { found: false, reason: `ELECTRON_PATH names ${explicit}, which is not a file` };
  }
  let packageDir: string;
  try {
    packageDir = path.dirname(createRequire(path.join(fromDir, 'noop.js')).resolve('electron/package.json'));
  } catch {
    return { found: false, reason: 'the electron package is not installed' };
  }
  const pathFile = path.join(packageDir, 'path.txt');
  if (!existsSync(pathFile)) return { found: false, reason: 'the electron package has no binary (its download did not run or failed); set ELECTRON_PATH to use one' };
  let relative: string;
  try {
    relative = readFileSync(pathFile, 'utf8').trim();
  } catch {
    return { found: false, reason: `cannot read ${pathFile}` };
  }
  const binary = path.join(env.ELECTRON_OVERRIDE_DIST_PATH ?? path.join(packageDir, 'dist'), relative);
  return isFile(binary) ? { found: true, path: binary, from: 'electron package' } : { found: false, reason: `the electron binary ${binary} is missing; set ELECTRON_PATH to use one` };
}
