import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withProgress } from '../../cli/progress.js';
import { createOutput } from '../../cli/output.js';
import { CLI_PROGRESS_INTERVAL_MS, CLI_PROGRESS_MIN_BYTES } from '../../shared/limits.js';

function sink(json: boolean) {
  let stderr = '';
  const out = createOutput({ stdout: { write: () => {} }, stderr: { write: (s: string) => (stderr += s) } }, { json });
  return { out, stderr: () => stderr };
}

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const piece of source) n += piece.length;
  return n;
}

async function* pieces(count: number, size: number, clock: { t: number }, step: number) {
  for (let i = 0; i < count; i++) {
    clock.t += step;
    yield new Uint8Array(size);
  }
}

test('progress passes every byte through and reports large transfers at most once per interval (human mode only)', async () => {
  const mib = 1024 * 1024;
  const count = (2 * CLI_PROGRESS_MIN_BYTES) / mib;
  const clock = { t: 0 };
  const human = sink(false);
  // One piece per 100 ms: about one note per CLI_PROGRESS_INTERVAL_MS once past the threshold.
  const total = await drain(withProgress(pieces(count, mib, clock, 100), human.out, { verb: 'stored', total: count * mib, now: () => clock.t }));
  assert.equal(total, count * mib);
  const notes = human.stderr().trim().split('\n');
  const elapsedAfterThreshold = (count * 100) / 2;
  assert.ok(notes.length >= 2 && notes.length <= elapsedAfterThreshold / CLI_PROGRESS_INTERVAL_MS + 2, notes.join('|'));
  assert.match(notes[0]!, new RegExp(`^stored \\d+\\.\\d MiB of ${count.toFixed(1)} MiB \\(\\d+%\\)$`));
  assert.equal(notes.at(-1), `stored ${count.toFixed(1)} MiB, done`);

  const small = sink(false);
  await drain(withProgress(pieces(4, mib, clock, 5_000), small.out, { verb: 'stored', now: () => clock.t }));
  assert.equal(small.stderr(), '', 'small transfers stay quiet');
  const json = sink(true);
  await drain(withProgress(pieces(count, mib, clock, 5_000), json.out, { verb: 'stored', now: () => clock.t }));
  assert.equal(json.stderr(), '', 'JSON mode stays quiet');
});
