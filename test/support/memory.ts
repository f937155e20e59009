/**
 * Memory measurements for the resource-bound suites: the heap after a full garbage
 * collection (what is really retained) and the resident set size. Tests run without
 * `--expose-gc`, so the collector is reached through V8's flag API once, here.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined;

/** Runs a full garbage collection (twice: finalizers free more on the second pass). */
export async function collectGarbage(): Promise<void> {
  if (!gcFn) {
    setFlagsFromString('--expose_gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  await new Promise((resolve) => setImmediate(resolve));
  gcFn();
}

/** Heap bytes still in use after a full collection. */
export async function retainedHeap(): Promise<number> {
  await collectGarbage();
  return process.memoryUsage().heapUsed;
}

/** Heap plus array buffers (socket and crypto buffers live outside the JS heap) after a full collection. */
export async function retainedBytes(): Promise<number> {
  await collectGarbage();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** Resident set size of this process after a full collection. */
export async function residentBytes(): Promise<number> {
  await collectGarbage();
  return process.memoryUsage().rss;
}

export const mib = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
