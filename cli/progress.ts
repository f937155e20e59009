/**
 * Progress of a long `kith put` or `kith get` for a person watching the terminal: passes a
 * byte stream through unchanged and, once it is past CLI_PROGRESS_MIN_BYTES, notes how far
 * it got on stderr at most once per CLI_PROGRESS_INTERVAL_MS (human mode only: `out.info`).
 */
import type { Output } from './output.js';
import { CLI_PROGRESS_INTERVAL_MS, CLI_PROGRESS_MIN_BYTES } from '../shared/limits.js';

/** Bytes as MiB with one decimal, for people. */
export const formatMiB = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

export interface ProgressOptions {
  /** What is moving, e.g. "stored" or "written". */
  readonly verb: string;
  /** Total bytes when known (a file), for "x of y". */
  readonly total?: number;
  /** Clock (ms). */
  readonly now: () => number;
}

/** `source`, reporting progress to `out` as it is consumed. */
export async function* withProgress(source: AsyncIterable<Uint8Array>, out: Output, options: ProgressOptions): AsyncGenerator<Uint8Array> {
  let done = 0;
  let last = options.now();
  let reported = false;
  for await (const piece of source) {
    yield piece;
    done += piece.length;
    const t = options.now();
    if (done >= CLI_PROGRESS_MIN_BYTES && t - last >= CLI_PROGRESS_INTERVAL_MS) {
      last = t;
      reported = true;
      const total = options.total;
      out.info(`${options.verb} ${formatMiB(done)}${total ? ` of ${formatMiB(total)} (${Math.floor((100 * done) / total)}%)` : ''}`);
    }
  }
  if (reported) out.info(`${options.verb} ${formatMiB(done)}, done`);
}
