import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const VECTOR_FILE = fileURLToPath(new URL('../../../../shared/vectors/noise-25519-chachapoly-sha256.json', import.meta.url));
const CLI_TIMEOUT_MS = 60_000;
const dir = mkdtempSync(join(tmpdir(), 'kith-noise-vectors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command from the repository root with a hard deadline. */
function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], timeout: CLI_TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI exactly as package.json's script runs it, without npm's start-up cost. */
function cli(...args: string[]): Promise<Run> {
  const script = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts['noise-vectors'];
  assert.equal(script, 'node --import tsx connections/noise/vectorsCli.ts');
  return run(process.execPath, ['--import', 'tsx', 'connections/noise/vectorsCli.ts', ...args]);
}

function lastLines(out: string, n: number): string[] {
  return out.trimEnd().split('\n').slice(-n);
}

test('npm run -s noise-vectors on the published file: every vector passes, exit 0', async () => {
  const r = await run('npm', ['run', '-s', 'noise-vectors', '--', VECTOR_FILE]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lastLines(r.stdout, 1), ['59 passed, 0 failed']);
  assert.equal(r.stdout.match(/^ok {3}Noise_/gm)?.length, 59);
});

test('a deliberately corrupted copy: failures are listed, skipped vectors counted, exit non-zero', async () => {
  const data = JSON.parse(readFileSync(VECTOR_FILE, 'utf8')) as { vectors: Array<Record<string, unknown>> };
  const flip = (hex: string): string => hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
  const messages = data.vectors[0]!.messages as Array<Record<string, string>>;
  messages[3]!.ciphertext = flip(messages[3]!.ciphertext!);
  data.vectors[9]!.handshake_hash = flip(data.vectors[9]!.handshake_hash as string);
  data.vectors.push({ ...data.vectors[1]!, protocol_name: 'Noise_KN_25519_AESGCM_SHA256' });
  const file = join(dir, 'corrupted.json');
  writeFileSync(file, JSON.stringify(data));

  const r = await cli(file);
  assert.equal(r.code, 1);
  assert.deepEqual(lastLines(r.stdout, 2), ['1 skipped (other suites or unsupported modifiers)', '57 passed, 2 failed']);
  assert.match(r.stdout, /^FAIL Noise_NN_25519_ChaChaPoly_SHA256 — message 3 \(transport\): ciphertext differs$/m);
  assert.match(r.stdout, /^FAIL Noise_IK_25519_ChaChaPoly_SHA256 — handshake hash differs$/m);
  assert.match(r.stdout, /^skip Noise_KN_25519_AESGCM_SHA256/m);
});

test('a bare array of vectors works too', async () => {
  const data = JSON.parse(readFileSync(VECTOR_FILE, 'utf8')) as { vectors: unknown[] };
  const file = join(dir, 'bare.json');
  writeFileSync(file, JSON.stringify(data.vectors.slice(0, 3)));
  const r = await cli(file);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(lastLines(r.stdout, 1), ['3 passed, 0 failed']);
});

test('malformed files, missing files and bad usage: a clear error on stderr and exit 2', async () => {
  const notJson = join(dir, 'not.json');
  writeFileSync(notJson, '{ "vectors": [');
  const noVectors = join(dir, 'empty.json');
  writeFileSync(noVectors, '{ "vectors": [] }');
  const wrongShape = join(dir, 'shape.json');
  writeFileSync(wrongShape, '{ "tests": [1, 2] }');
  for (const [args, message] of [
    [[notJson], /not a Noise vector file: not JSON/],
    [[noVectors], /holds no vectors/],
    [[wrongShape], /expected \{ "vectors": \[\.\.\.\] \}/],
    [[join(dir, 'missing.json')], /cannot read .*ENOENT/],
    [[dir], /cannot read/],
    [[], /usage/],
    [[notJson, noVectors], /usage/],
  ] as const) {
    const r = await cli(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}`);
    assert.match(r.stderr, message);
    assert.equal(r.stdout, '');
  }
});
