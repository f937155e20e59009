#!/usr/bin/env node
// The `kith` executable. In a checkout it runs the TypeScript sources through tsx (pointed at
// this package's tsconfig so decorators compile the same way from any directory): a build left
// in dist/ from an older checkout must never answer for the current code. A copy without the
// sources (a package made from the build) runs dist/cli/kith.mjs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const source = new URL('cli/kith.ts', root);

let kith;
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: fileURLToPath(new URL('tsconfig.json', root)) });
  kith = await import(source.href);
} else {
  kith = await import(new URL('dist/cli/kith.mjs', root).href);
}
process.exitCode = await kith.main(process.argv.slice(2));
