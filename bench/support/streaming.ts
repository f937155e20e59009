/**
 * Throughput of one-way message streams (a secure session, a raw `ws` socket …), measured
 * as closed bursts: one window sends `n` messages as fast as backpressure allows and ends
 * when the receiver has all of them, so the figure is messages delivered per second with
 * the pipeline's fill and drain included (a window lasts ~`windowMs`, so they are small).
 *
 * Why bursts rather than counting at the receiver over a timer window: with sender and
 * receiver in one process, the receiver (and every timer) runs only when the producer
 * yields, which it does only on backpressure. Timer windows then sample a counter that
 * moves in large steps at irregular times, and two streams measured in turn came out up to
 * 5× apart in either direction depending on order (measured while writing this file).
 *
 * Windows are interleaved across streams (A B, A B, …) so load from other processes on this
 * shared machine falls on all of them alike; results are harness Measurements (messages/s
 * per window), so `pairedRatio` applies.
 */
import type { Measurement } from '../harness.js';

export interface Stream {
  readonly name: string;
  /** Bytes per message, for MB/s. */
  readonly messageBytes: number;
  /** Sends `n` messages honouring backpressure; resolves once the receiver has received all of them. */
  burst(n: number): Promise<void>;
}

export interface StreamOptions {
  readonly windows: number;
  /** Target length of one window; the message count is calibrated from the warm-up burst. */
  readonly windowMs: number;
  /** Messages in the warm-up burst of each stream (not counted). */
  readonly warmupMessages: number;
}

export async function measureStreams(streams: readonly Stream[], options: StreamOptions): Promise<Measurement[]> {
  const counts: number[] = [];
  for (const stream of streams) {
    const t0 = performance.now();
    await stream.burst(options.warmupMessages);
    const rate = options.warmupMessages / Math.max(1e-3, performance.now() - t0);
    counts.push(Math.max(16, Math.round(rate * options.windowMs)));
  }
  // One count for all, so each window moves the same bytes whichever stream it measures.
  const n = Math.round(counts.reduce((a, b) => a + b, 0) / counts.length);
  const samples = streams.map(() => [] as number[]);
  for (let w = 0; w < options.windows; w++) {
    for (let i = 0; i < streams.length; i++) {
      const t0 = performance.now();
      await streams[i]!.burst(n);
      samples[i]!.push((n * 1000) / (performance.now() - t0));
    }
  }
  return streams.map((s, i) => ({ name: s.name, opsPerSecond: medianOf(samples[i]!), samples: samples[i]! }));
}

function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * A burst driver shared by the stream adapters: `sendOne` is called `n` times (awaiting it
 * when it returns a promise: that is the backpressure), then the returned promise waits for
 * the receiver's count to reach what was sent. `onReceived` is what the receiver calls per
 * message.
 */
export function burstDriver(sendOne: () => void | Promise<void>, timeoutMs = 60_000): { burst(n: number): Promise<void>; onReceived(): void } {
  let sent = 0;
  let received = 0;
  let waiter: { target: number; resolve: () => void } | undefined;
  return {
    onReceived() {
      received++;
      if (waiter && received >= waiter.target) {
        const w = waiter;
        waiter = undefined;
        w.resolve();
      }
    },
    async burst(n: number): Promise<void> {
      for (let i = 0; i < n; i++) {
        sent++;
        const r = sendOne();
        if (r) await r;
      }
      if (received >= sent) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${sent - received} messages never arrived`)), timeoutMs);
        waiter = {
          target: sent,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
      });
    },
  };
}
