/**
 * Runs every `bench/*.bench.ts` in sequence, each in its own process (`node --import tsx
 * FILE`), so one benchmark's heap and JIT state cannot colour the next. An optional
 * argument keeps only the files whose name contains it: `npm run bench -- crypto`.
 * Exits non-zero when any benchmark fails, or when the filter matches nothing.
 */
import { readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(benchDir);
const filter = process.argv[2];

const files = readdirSync(benchDir)
  .filter((name) => name.endsWith('.bench.ts'))
  .filter((name) => filter === undefined || name.includes(filter))
  .sort();

if (files.length === 0) {
  console.error(`bench: no bench/*.bench.ts file${filter === undefined ? '' : ` matching "${filter}"`}`);
  process.exit(1);
}

const failed: string[] = [];
for (const name of files) {
  const file = join(benchDir, name);
  console.log(`\n== ${relative(root, file)}`);
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, stdio: 'inherit' });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status === 0) {
    console.log(`== ${name}: done in ${seconds} s`);
  } else {
    const why = result.error ? result.error.message : result.signal ? `signal ${result.signal}` : `exit code ${result.status}`;
    console.error(`== ${name}: FAILED (${why}) after ${seconds} s`);
    failed.push(name);
  }
}

if (failed.length > 0) {
  console.error(`\nbench: ${failed.length} of ${files.length} failed: ${failed.join(', ')}`);
  process.exit(1);
}
