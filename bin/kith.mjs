#!/usr/bin/env node
// The `kith` executable. Runs the build (dist/cli/kith.mjs) when there is one; otherwise
// compiles the TypeScript sources on the fly with tsx, pointing it at this package's
// tsconfig so the decorators compile the same way whatever the current directory is.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const built = new URL('dist/cli/kith.mjs', root);

let kith;
if (existsSync(fileURLToPath(built))) {
  kith = await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  kith = await import(new URL('cli/kith.ts', root).href);
}
process.exitCode = await kith.main(process.argv.slice(2));
