/**
 * The closing table of a benchmark file: every figure with the baseline measured in the same
 * run, their ratio, the target the issue sets, and whether it was met. Figures without a
 * target (context rows) print "—" in the last two columns.
 *
 *   printSummary('issue 3 — secure channel', [
 *     { name: 'handshakes/s', value: 1840, unit: '/s', baseline: { name: 'raw ws', value: 3900 }, target: atLeast(1000) },
 *   ]);
 */
import { formatValue } from '../harness.js';

export interface Target {
  /** How the target reads in the table ("≥ 1,000 /s", "≥ 50% of baseline"). */
  readonly text: string;
  /** Whether the row meets it. */
  readonly met: (row: SummaryRow) => boolean;
}

export interface SummaryRow {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The figure this one is compared with, measured in the same run; `unit` defaults to the row's. */
  readonly baseline?: { readonly name: string; readonly value: number; readonly unit?: string };
  /** The ratio to print (e.g. a paired median of ratios); default value ÷ baseline. */
  readonly ratio?: number;
  readonly target?: Target;
}

export function ratioOf(row: SummaryRow): number | undefined {
  if (row.ratio !== undefined) return row.ratio;
  return row.baseline ? row.value / row.baseline.value : undefined;
}

/** value ≥ n (in the row's unit). */
export function atLeast(n: number, unit = ''): Target {
  return { text: `≥ ${formatValue(n)}${unit ? ` ${unit}` : ''}`, met: (r) => r.value >= n };
}

/** value ≤ n (in the row's unit). */
export function atMost(n: number, unit = ''): Target {
  return { text: `≤ ${formatValue(n)}${unit ? ` ${unit}` : ''}`, met: (r) => r.value <= n };
}

/** value < n (in the row's unit). */
export function below(n: number, unit = ''): Target {
  return { text: `< ${formatValue(n)}${unit ? ` ${unit}` : ''}`, met: (r) => r.value < n };
}

/** ratio to the baseline ≥ fraction. */
export function ratioAtLeast(fraction: number): Target {
  return { text: `≥ ${Math.round(fraction * 100)}% of baseline`, met: (r) => (ratioOf(r) ?? 0) >= fraction };
}

/** value within [lo, hi]. */
export function between(lo: number, hi: number, unit = ''): Target {
  return { text: `${formatValue(lo)}–${formatValue(hi)}${unit ? ` ${unit}` : ''}`, met: (r) => r.value >= lo && r.value <= hi };
}

function formatRatio(ratio: number | undefined): string {
  if (ratio === undefined) return '';
  if (!Number.isFinite(ratio)) return String(ratio);
  return `${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}×`;
}

/** Prints the table and returns how many targets were missed. */
export function printSummary(title: string, rows: readonly SummaryRow[]): number {
  const header = ['benchmark', 'figure', 'baseline (same run)', 'ratio', 'target', 'result'];
  const cells = rows.map((r) => {
    const figure = `${formatValue(r.value)} ${r.unit}`;
    const base = r.baseline ? `${r.baseline.name}: ${formatValue(r.baseline.value)} ${r.baseline.unit ?? r.unit}` : '';
    const result = r.target ? (r.target.met(r) ? 'PASS' : 'MISS') : '—';
    return [r.name, figure, base, formatRatio(ratioOf(r)), r.target?.text ?? '—', result];
  });
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) =>
    c.map((cell, i) => (i === 1 || i === 3 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(`\n==== summary: ${title}`);
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  const missed = rows.filter((r) => r.target && !r.target.met(r)).length;
  const targeted = rows.filter((r) => r.target).length;
  console.log(`${targeted - missed} of ${targeted} targets met${missed ? `, ${missed} missed` : ''}`);
  return missed;
}
