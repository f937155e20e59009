/**
 * Per-thread CPU time of this process, for benchmarks that must say which thread spends a
 * sync's CPU: the main thread, V8's helper threads (background compilation, parallel and
 * concurrent GC), libuv's threadpool (file writes, fsync) or worker threads (the verification
 * pool). Process totals cannot tell them apart, and sampling profiles on a busy 2-core machine
 * count time a thread waited for a core as if it ran.
 *
 * Linux only (/proc/self/task); elsewhere `threadCpu()` returns undefined and callers print why.
 * Node names nearly every thread "node", so threads are told apart by id; the main thread's id
 * is the process id.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** CPU milliseconds per thread id: user and system. */
export type ThreadCpu = Record<string, { readonly main: boolean; readonly userMs: number; readonly sysMs: number }>;

/** Clock ticks per second of /proc's utime and stime (USER_HZ: 100 on every Linux build in use). */
const TICKS_PER_SECOND = 100;

export function threadCpu(): ThreadCpu | undefined {
  if (process.platform !== 'linux') return undefined;
  const out: ThreadCpu = {};
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15 (man 5 proc).
    const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    const ms = (ticks: string | undefined) => (Number(ticks) * 1000) / TICKS_PER_SECOND;
    out[tid] = { main: tid === String(process.pid), userMs: ms(fields[11]), sysMs: ms(fields[12]) };
  }
  return out;
}

/**
 * Lines describing what each thread spent between two snapshots, in `time` per `unit` of work
 * (µs per object, ms per MB): the main thread first, then the others by CPU, those under 1% of
 * the total left out.
 */
export function describeThreadCpu(label: string, before: ThreadCpu | undefined, after: ThreadCpu | undefined, units: number, unit: string, time: 'µs' | 'ms'): string[] {
  if (!before || !after) return [`  ${label}: per-thread CPU needs Linux's /proc, not available here`];
  const rows = Object.entries(after).map(([tid, t]) => {
    const b = before[tid];
    return { tid, main: t.main, user: t.userMs - (b?.userMs ?? 0), sys: t.sysMs - (b?.sysMs ?? 0) };
  });
  const total = rows.reduce((s, r) => s + r.user + r.sys, 0);
  const per = (ms: number) => (((time === 'µs' ? 1000 : 1) * ms) / units).toFixed(time === 'µs' ? 1 : 2);
  const what = `${time} per ${unit}`;
  return rows
    .filter((r) => r.main || r.user + r.sys >= total / 100)
    .sort((a, b) => Number(b.main) - Number(a.main) || b.user + b.sys - (a.user + a.sys))
    .map((r) => `  ${label} thread ${r.main ? 'main' : r.tid}: user ${per(r.user)}, system ${per(r.sys)} ${what}`);
}
