/** Runs test/cli/pair-two-nodes.sh, the shell example of pairing two nodes, and checks it did what it says. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempHome, REPO_ROOT } from '../support/cli.js';
import { homePaths } from '../../cli/home.js';

const SCRIPT = join(REPO_ROOT, 'test', 'cli', 'pair-two-nodes.sh');
const exists = (p: string) => access(p).then(() => true, () => false);

function runScript(workdir: string, timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('KITH_')) env[k] = v;
  const child = spawn('bash', [SCRIPT, workdir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pair-two-nodes.sh did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('pair-two-nodes.sh pairs two nodes and moves a file between them, then stops both cleanly', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const r = await runScript(tmp.dir, 115_000);
  assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stdout, /^OK [0-9a-f]{64}\n$/);
  for (const node of ['a', 'b']) {
    const home = homePaths(join(tmp.dir, node));
    assert.equal(await exists(home.lock), false, `${node}: the serve process released its lock`);
    assert.equal(await exists(home.controlSocket), false, `${node}: and removed its socket`);
  }
});
