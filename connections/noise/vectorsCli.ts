/**
 * `npm run -s noise-vectors -- FILE`: runs every Noise test vector of FILE (see
 * vectorRunner.ts for the format) with the native crypto provider.
 *
 * Prints one line per vector, a skipped count when some were skipped, and ends with
 * `N passed, M failed`. Exit 0 when nothing failed, 1 when something did, 2 when the
 * file cannot be read or is not a vector file.
 */
import { readFile, stat } from 'node:fs/promises';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { MAX_NOISE_VECTOR_FILE_BYTES } from '../../shared/limits.js';
import { parseVectorFile, runVectors, type VectorOutcome } from './vectorRunner.js';

async function main(args: string[]): Promise<number> {
  if (args.length !== 1 || args[0]!.startsWith('-')) {
    process.stderr.write('usage: npm run -s noise-vectors -- FILE.json\n');
    return 2;
  }
  const file = args[0]!;
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
    if (info.size > MAX_NOISE_VECTOR_FILE_BYTES) {
      process.stderr.write(`noise-vectors: ${file} is larger than ${MAX_NOISE_VECTOR_FILE_BYTES} bytes\n`);
      return 2;
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    process.stderr.write(`noise-vectors: cannot read ${file} (${(err as { code?: string }).code ?? (err as Error).message})\n`);
    return 2;
  }
  let vectors;
  try {
    vectors = parseVectorFile(text);
  } catch (err) {
    process.stderr.write(`noise-vectors: ${file} is not a Noise vector file: ${(err as Error).message}\n`);
    return 2;
  }
  const print = (o: VectorOutcome): void => {
    const tag = o.status === 'passed' ? 'ok  ' : o.status === 'failed' ? 'FAIL' : 'skip';
    process.stdout.write(`${tag} ${o.name}${o.reason ? ` — ${o.reason}` : ''}\n`);
  };
  const report = await runVectors(new NativeCrypto(), vectors, print);
  if (report.skipped > 0) process.stdout.write(`${report.skipped} skipped (other suites or unsupported modifiers)\n`);
  process.stdout.write(`${report.passed} passed, ${report.failed} failed\n`);
  return report.failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`noise-vectors: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 2;
  },
);
