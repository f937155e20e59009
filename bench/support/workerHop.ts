/**
 * The CPU a buffer costs to cross from one thread to another and back (postMessage to a
 * worker that posts it straight back), both threads counted. Any design that moves a
 * connection's AEAD off the thread that owns the socket pays at least one such round trip per
 * message at each end (plaintext out, ciphertext back), so this is the overhead the channel
 * bench adds to its 2-core bound.
 */
import { Worker } from 'node:worker_threads';

const ECHO_WORKER = `
'use strict';
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (bytes) => parentPort.postMessage(bytes));
`;

/** Mean CPU ms (this process, all threads) of one round trip of a `bytes`-long Uint8Array, `n` of them pipelined `depth` deep. */
export async function workerRoundTripCpuMs(bytes: number, n = 2000, depth = 16): Promise<number> {
  const worker = new Worker(ECHO_WORKER, { eval: true, name: 'bench-echo' });
  try {
    await new Promise<void>((resolve, reject) => {
      worker.once('online', () => resolve());
      worker.once('error', reject);
    });
    const payload = new Uint8Array(bytes).fill(5);
    const run = async (count: number): Promise<number> => {
      let sent = 0;
      let received = 0;
      const c0 = process.cpuUsage();
      await new Promise<void>((resolve, reject) => {
        const settle = (error?: Error): void => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          if (error) reject(error);
          else resolve();
        };
        const timer = setTimeout(() => settle(new Error(`worker echo: ${count - received} of ${count} never came back`)), 60_000);
        const onMessage = (m: unknown): void => {
          if (!(m instanceof Uint8Array) || m.length !== bytes) return settle(new Error('worker echo: wrong answer'));
          received++;
          if (sent < count) {
            worker.postMessage(payload);
            sent++;
          }
          if (received === count) settle();
        };
        worker.on('message', onMessage);
        for (; sent < Math.min(depth, count); sent++) worker.postMessage(payload);
      });
      const c = process.cpuUsage(c0);
      return (c.user + c.system) / 1000 / count;
    };
    await run(Math.min(200, n)); // warm-up
    return await run(n);
  } finally {
    await worker.terminate();
  }
}
