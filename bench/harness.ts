/**
 * The benchmark harness. This machine is shared, so absolute figures drift from run to run
 * (2× between two-process runs, measured): every figure is printed next to a baseline
 * measured in the same run, and the ratio between them is what to read.
 *
 *   const m = await measure('sha256 300 B', () => c.sha256(data), { minTimeMs: 200, windows: 5 });
 *   report([{ name: 'sha256 300 B  noble', value: m.opsPerSecond, unit: 'ops/s', baseline: { name: 'native', value: n.opsPerSecond } }]);
 */

export interface MeasureOptions {
  /** Length of one measurement window, in milliseconds (default 200). */
  readonly minTimeMs?: number;
  /** Windows measured after the warm-up; the median is reported (default 5). */
  readonly windows?: number;
  /** Length of the warm-up window that is run and thrown away (default: minTimeMs). */
  readonly warmupMs?: number;
  /** Operations one call of `fn` performs, e.g. 64 for a batch of 64 in flight (default 1). */
  readonly opsPerCall?: number;
  /**
   * `wall` (default): elapsed time, the throughput a caller sees, including what the
   * threadpool adds. `cpu`: this process's CPU time (all its threads), so other processes
   * on a busy machine do not count — ops per CPU-second, for work that is not about
   * parallelism. Windows last `minTimeMs` on the chosen clock.
   */
  readonly clock?: 'wall' | 'cpu';
}

export interface Measurement {
  readonly name: string;
  /** Median over the windows. */
  readonly opsPerSecond: number;
  /** Each window's figure, in the order measured. */
  readonly samples: readonly number[];
}

export interface ReportRow {
  /** What was measured, including which implementation. */
  readonly name: string;
  readonly value: number;
  /** `ops/s`, `MB/s`, … */
  readonly unit: string;
  /** The figure this one is compared with, measured in the same run (same unit). */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** The ratio to print, when it was measured pairwise (`pairedRatio`); default value ÷ baseline. */
  readonly ratio?: number;
}

/** Results are folded in here so the engine cannot drop a call whose result is unused. */
let sink = 0;

/**
 * Ops/s of `fn` (sync, or async: awaited one call at a time), as the median over `windows`
 * windows of `minTimeMs` each, after a warm-up window that lets the JIT settle. Calls are
 * timed in batches that grow until a batch lasts ~1 ms, so the clock is not what is measured.
 */
export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const minTimeMs = options.minTimeMs ?? 200;
  const windows = options.windows ?? 5;
  const opsPerCall = options.opsPerCall ?? 1;
  const clock = clockOf(options);
  const first = fn();
  const isAsync = typeof (first as { then?: unknown } | null)?.then === 'function';
  if (isAsync) await first;
  await runWindow(fn, isAsync, options.warmupMs ?? minTimeMs, clock);
  const samples: number[] = [];
  for (let i = 0; i < windows; i++) {
    const { calls, ms } = await runWindow(fn, isAsync, minTimeMs, clock);
    samples.push((calls * opsPerCall) / (ms / 1000));
  }
  return { name, opsPerSecond: median(samples), samples };
}

/** One function to measure with `measureEach`. */
export interface MeasureEntry {
  readonly name: string;
  readonly fn: () => unknown;
  /** Operations one call performs (default 1). */
  readonly opsPerCall?: number;
}

/**
 * Measures several functions with their windows interleaved (A B C, A B C, …) rather than
 * one after the other, so that load from other processes on this shared machine falls on
 * all of them alike. Pair the results with `pairedRatio`.
 */
export async function measureEach(entries: readonly MeasureEntry[], options: MeasureOptions = {}): Promise<Measurement[]> {
  const minTimeMs = options.minTimeMs ?? 200;
  const windows = options.windows ?? 5;
  const clock = clockOf(options);
  const prepared: Array<{ entry: MeasureEntry; isAsync: boolean; samples: number[] }> = [];
  for (const entry of entries) {
    const first = entry.fn();
    const isAsync = typeof (first as { then?: unknown } | null)?.then === 'function';
    if (isAsync) await first;
    await runWindow(entry.fn, isAsync, options.warmupMs ?? minTimeMs, clock);
    prepared.push({ entry, isAsync, samples: [] });
  }
  for (let i = 0; i < windows; i++) {
    for (const p of prepared) {
      const { calls, ms } = await runWindow(p.entry.fn, p.isAsync, minTimeMs, clock);
      p.samples.push((calls * (p.entry.opsPerCall ?? 1)) / (ms / 1000));
    }
  }
  return prepared.map((p) => ({ name: p.entry.name, opsPerSecond: median(p.samples), samples: p.samples }));
}

/** The median of the window-by-window ratios a/b of two interleaved measurements (robust to drift). */
export function pairedRatio(a: Measurement, b: Measurement): number {
  const n = Math.min(a.samples.length, b.samples.length);
  return median(Array.from({ length: n }, (_, i) => a.samples[i]! / b.samples[i]!));
}

/** Milliseconds on the chosen clock. */
type Clock = () => number;

function clockOf(options: MeasureOptions): Clock {
  if (options.clock !== 'cpu') return () => performance.now();
  return () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
}

async function runWindow(fn: () => unknown, isAsync: boolean, minTimeMs: number, clock: Clock): Promise<{ calls: number; ms: number }> {
  let calls = 0;
  let batch = 1;
  const start = clock();
  let now = start;
  while (now - start < minTimeMs) {
    const batchStart = now;
    if (isAsync) {
      for (let i = 0; i < batch; i++) sink ^= resultBit(await fn());
    } else {
      for (let i = 0; i < batch; i++) sink ^= resultBit(fn());
    }
    calls += batch;
    now = clock();
    if (now - batchStart < 1 && batch < 1 << 20) batch *= 2;
  }
  return { calls, ms: now - start };
}

function resultBit(value: unknown): number {
  return value instanceof Uint8Array ? value.length & 1 : value ? 1 : 0;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** MB/s (10^6 bytes per second) of a measurement whose every operation handles `bytesPerOp` bytes. */
export function megabytesPerSecond(m: Measurement, bytesPerOp: number): number {
  return (m.opsPerSecond * bytesPerOp) / 1e6;
}

/** A figure for people: thousands separators from 100 up, three significant digits below. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  return value.toPrecision(3);
}

/** The lines `report` prints, aligned: `name  value unit  baseline value unit  ratio×`. */
export function formatReport(rows: readonly ReportRow[]): string[] {
  const cells = rows.map((r) => [
    r.name,
    formatValue(r.value),
    r.unit,
    r.baseline ? r.baseline.name : '',
    r.baseline ? formatValue(r.baseline.value) : '',
    r.baseline ? r.unit : '',
    r.baseline ? `${formatRatio(r.ratio ?? r.value / r.baseline.value)}×` : '',
  ]);
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((c) => c[i]!.length))) ?? [];
  const numeric = new Set([1, 4, 6]);
  return cells.map((c) =>
    c
      .map((cell, i) => (numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Prints rows aligned (see formatReport). */
export function report(rows: readonly ReportRow[]): void {
  for (const line of formatReport(rows)) console.log(line);
}

function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return String(ratio);
  return ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2);
}

