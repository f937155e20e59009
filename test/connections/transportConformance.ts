/**
 * The one conformance suite for `Transport` (DESIGN §5, STYLE "Seams"). A new transport is
 * tested with
 *
 *   runTransportTests('my transport', async () => [a, b], { ...options });
 *
 * `makePair` returns two fresh transports connected to each other. The second one must honour
 * `pause()` with real backpressure (the sender's `bufferedAmount` grows); the first must too
 * unless `firstPausePushesBack` is false (the browser transport only buffers, so put it first).
 * Every test closes both transports it made.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Transport, TransportEvents } from '../../connections/Transport.js';
import { closeCodeFor, errorCodeFromClose } from '../../connections/closeCodes.js';
import { MAX_CLOSE_REASON_BYTES, SEND_HIGH_WATER_BYTES } from '../../shared/limits.js';

export interface TransportTestOptions {
  /** Largest message the receiving side accepts; the suite sends exactly this, then one byte more. */
  maxMessageBytes: number;
  /** Bytes the suite may push at a paused receiver before the sender's `bufferedAmount` must have grown (kernel buffers absorb some). */
  backpressureWithinBytes: number;
  /** Whether pausing the first transport pushes back on the second's sends (false: the first only buffers). */
  firstPausePushesBack: boolean;
  /** Bound on every wait in the suite (default 10 s). */
  waitMs?: number;
}

type CloseEvent = TransportEvents['close'];
type Pair = [Transport, Transport];

/** Everything one transport emitted, in order. */
export class Recorder {
  readonly messages: Uint8Array[] = [];
  readonly closes: CloseEvent[] = [];
  /** 'm' per message, 'c' per close, in emission order. */
  readonly log: string[] = [];
  count = 0;
  private readonly offs: Array<() => void>;

  constructor(
    readonly transport: Transport,
    private readonly keep = true,
    onMessage?: (message: Uint8Array, index: number) => void,
  ) {
    this.offs = [
      transport.events.on('message', (message) => {
        if (this.keep) this.messages.push(message);
        this.log.push('m');
        onMessage?.(message, this.count);
        this.count++;
      }),
      transport.events.on('close', (event) => {
        this.closes.push(event);
        this.log.push('c');
      }),
    ];
  }

  stop(): void {
    for (const off of this.offs) off();
  }
}

/** Resolves once `predicate` holds; fails after `ms` naming `what`. Polls: tests only. */
export async function until(predicate: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects if `promise` does not settle within `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A small seeded PRNG (mulberry32), so a failing size sequence can be replayed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = (() => {
  const random = seededRandom(0x4b697468);
  const pool = new Uint8Array(256 * 1024);
  for (let i = 0; i < pool.length; i++) pool[i] = Math.floor(random() * 256);
  return pool;
})();

/** Message `index` of a stream (`stream` tells directions apart): distinct bytes, its index in front. */
export function patternMessage(stream: number, index: number, size: number): Uint8Array {
  const offset = (index * 7919 + stream * 104_729) % (POOL.length - size);
  const message = POOL.slice(offset, offset + size);
  for (let i = 0; i < Math.min(4, size); i++) message[i] = (index >>> (8 * i)) & 0xff;
  return message;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Sends `sizes.length` pattern messages, waiting for `drained` above the high-water mark as a real sender does. */
async function sendStream(from: Transport, stream: number, sizes: readonly number[], waitMs: number): Promise<void> {
  for (let i = 0; i < sizes.length; i++) {
    from.send(patternMessage(stream, i, sizes[i]!));
    if (from.bufferedAmount > SEND_HIGH_WATER_BYTES) await within(from.drained(SEND_HIGH_WATER_BYTES / 2), waitMs, 'drained()');
  }
}

/** Records what `to` receives and checks each message against the stream as it arrives. */
function expectStream(to: Transport, stream: number, sizes: readonly number[]): { recorder: Recorder; errors: string[] } {
  const errors: string[] = [];
  const recorder = new Recorder(to, false, (message, index) => {
    if (errors.length > 0) return;
    if (index >= sizes.length) errors.push(`unexpected message #${index}`);
    else if (message.byteLength !== sizes[index]) errors.push(`message #${index} has ${message.byteLength} bytes, expected ${sizes[index]}`);
    else if (!sameBytes(message, patternMessage(stream, index, sizes[index]!))) errors.push(`message #${index} has other bytes (order or boundaries broken)`);
  });
  return { recorder, errors };
}

/** Pushes 64 KiB messages from `from` at the paused `to` until `from.bufferedAmount` grows; returns how many. */
async function fillUntilBackpressure(from: Transport, maxBytes: number, maxMessageBytes: number): Promise<number> {
  const chunk = Math.min(64 * 1024, maxMessageBytes);
  let sent = 0;
  for (;;) {
    if (sent * chunk > maxBytes) throw new Error(`bufferedAmount still ${from.bufferedAmount} after ${sent * chunk} bytes to a paused peer`);
    from.send(patternMessage(9, sent, chunk));
    sent++;
    // Let the socket write what the kernel takes, as time passes between real sends. Only then
    // does bufferedAmount say the peer pushes back: within one turn a transport may hold its
    // writes to send them together (the ws transport corks its socket until the next tick).
    if (sent % 16 === 0) {
      await sleep(1);
      if (from.bufferedAmount >= 4 * chunk) return sent;
    }
  }
}

export function runTransportTests(name: string, makePair: () => Promise<Pair>, opts: TransportTestOptions): void {
  const waitMs = opts.waitMs ?? 10_000;
  const testTimeout = { timeout: 6 * waitMs };

  /** Runs `body` on a fresh pair and closes both ends whatever happens. */
  const withPair = async (body: (a: Transport, b: Transport) => Promise<void>): Promise<void> => {
    const [a, b] = await makePair();
    try {
      await body(a, b);
    } finally {
      a.close();
      b.close();
    }
  };

  describe(`Transport conformance: ${name}`, () => {
    it('delivers 1,000 messages of random sizes (0 to the maximum) with boundaries and order kept', testTimeout, () =>
      withPair(async (a, b) => {
        const random = seededRandom(1);
        const sizes = Array.from({ length: 1000 }, () => Math.floor(random() * (opts.maxMessageBytes + 1)));
        sizes[10] = 0;
        sizes[20] = opts.maxMessageBytes;
        const { recorder, errors } = expectStream(b, 1, sizes);
        await sendStream(a, 1, sizes, waitMs);
        await until(() => recorder.count >= sizes.length || errors.length > 0, 'all messages', waitMs);
        assert.deepEqual(errors, []);
        assert.equal(recorder.count, sizes.length);
        assert.deepEqual(recorder.closes, []);
      }));

    it('carries both directions at once', testTimeout, () =>
      withPair(async (a, b) => {
        const random = seededRandom(2);
        const sizesAB = Array.from({ length: 300 }, () => Math.floor(random() * (opts.maxMessageBytes + 1)));
        const sizesBA = Array.from({ length: 300 }, () => Math.floor(random() * (opts.maxMessageBytes + 1)));
        const atB = expectStream(b, 2, sizesAB);
        const atA = expectStream(a, 3, sizesBA);
        await Promise.all([sendStream(a, 2, sizesAB, waitMs), sendStream(b, 3, sizesBA, waitMs)]);
        await until(() => atB.recorder.count >= 300 && atA.recorder.count >= 300, 'both streams', waitMs);
        assert.deepEqual([...atB.errors, ...atA.errors], []);
      }));

    it('passes a message of exactly the maximum size, each way', testTimeout, () =>
      withPair(async (a, b) => {
        const atB = new Recorder(b);
        const atA = new Recorder(a);
        const big = patternMessage(4, 0, opts.maxMessageBytes);
        a.send(big);
        b.send(big);
        await until(() => atB.count === 1 && atA.count === 1, 'the two messages', waitMs);
        assert.ok(sameBytes(atB.messages[0]!, big));
        assert.ok(sameBytes(atA.messages[0]!, big));
        assert.ok(a.isOpen && b.isOpen);
      }));

    for (const direction of ['first → second', 'second → first'] as const) {
      it(`refuses a message one byte over the maximum (${direction}): both sides close with FRAME_TOO_LARGE`, testTimeout, () =>
        withPair(async (a, b) => {
          const [from, to] = direction === 'first → second' ? [a, b] : [b, a];
          const atFrom = new Recorder(from);
          const atTo = new Recorder(to);
          from.send(new Uint8Array(opts.maxMessageBytes + 1));
          await until(() => atFrom.closes.length === 1 && atTo.closes.length === 1, 'both closes', waitMs);
          assert.equal(atTo.count, 0, 'the oversized message is never delivered');
          const [receiverClose, senderClose] = [atTo.closes[0]!, atFrom.closes[0]!];
          assert.equal(receiverClose.byPeer, false);
          assert.equal(senderClose.byPeer, true);
          assert.equal(errorCodeFromClose(receiverClose.code, receiverClose.reason), 'FRAME_TOO_LARGE');
          assert.equal(errorCodeFromClose(senderClose.code, senderClose.reason), 'FRAME_TOO_LARGE');
          assert.ok(!from.isOpen && !to.isOpen);
        }));
    }

    it('emits close exactly once per side, before close() returns locally, with the code and reason the peer sees', testTimeout, () =>
      withPair(async (a, b) => {
        const atA = new Recorder(a);
        const atB = new Recorder(b);
        const code = closeCodeFor('UNKNOWN_PEER');
        a.close(code, 'UNKNOWN_PEER');
        assert.deepEqual(atA.closes, [{ code, reason: 'UNKNOWN_PEER', byPeer: false }]);
        assert.equal(a.isOpen, false);
        a.close(1000, 'again');
        await until(() => atB.closes.length === 1, "the peer's close", waitMs);
        assert.deepEqual(atB.closes, [{ code, reason: 'UNKNOWN_PEER', byPeer: true }]);
        assert.equal(b.isOpen, false);
        b.close(4000, 'late');
        await sleep(50);
        assert.equal(atA.closes.length, 1);
        assert.equal(atB.closes.length, 1);
      }));

    it('reports a plain close() as 1000 with an empty reason', testTimeout, () =>
      withPair(async (a, b) => {
        const atB = new Recorder(b);
        b.send(new Uint8Array(1)); // the peer may have written something too
        a.close();
        await until(() => atB.closes.length === 1, "the peer's close", waitMs);
        assert.deepEqual(atB.closes[0], { code: 1000, reason: '', byPeer: true });
        assert.equal(errorCodeFromClose(1000, ''), undefined);
      }));

    it('never throws from close() and sends only what every transport can carry', testTimeout, () =>
      withPair(async (a, b) => {
        const atB = new Recorder(b);
        assert.doesNotThrow(() => a.close(1005, 'reserved code'));
        await until(() => atB.closes.length === 1, "the peer's close", waitMs);
        assert.deepEqual(atB.closes[0], { code: closeCodeFor('INTERNAL'), reason: 'INTERNAL', byPeer: true });
        const [c, d] = await makePair();
        const atD = new Recorder(d);
        c.close(4000, 'é\u0000\n\u001b[31m' + 'x'.repeat(500));
        await until(() => atD.closes.length === 1, "the peer's close", waitMs);
        const reason = atD.closes[0]!.reason;
        assert.equal(atD.closes[0]!.code, 4000);
        assert.match(reason, /^[\x20-\x7e]*$/);
        assert.ok(reason.length <= MAX_CLOSE_REASON_BYTES && reason.endsWith('x'));
        d.close();
      }));

    it("delivers the messages sent before close, then the peer's close", testTimeout, () =>
      withPair(async (a, b) => {
        const atB = new Recorder(b);
        for (let i = 0; i < 20; i++) a.send(patternMessage(5, i, 100 + i));
        a.close(closeCodeFor('PROTOCOL_ERROR'), 'PROTOCOL_ERROR');
        await until(() => atB.closes.length === 1, "the peer's close", waitMs);
        assert.equal(atB.log.join(''), 'm'.repeat(20) + 'c');
        atB.messages.forEach((m, i) => assert.ok(sameBytes(m, patternMessage(5, i, 100 + i))));
      }));

    it('makes send() after close a silent no-op on both sides', testTimeout, () =>
      withPair(async (a, b) => {
        const atA = new Recorder(a);
        const atB = new Recorder(b);
        a.close(closeCodeFor('TIMEOUT'), 'TIMEOUT');
        assert.doesNotThrow(() => a.send(new Uint8Array(10)));
        await until(() => atB.closes.length === 1, "the peer's close", waitMs);
        assert.doesNotThrow(() => b.send(new Uint8Array(10)));
        await within(a.drained(), waitMs, 'drained() after close');
        await within(b.drained(), waitMs, 'drained() after close');
        await sleep(30);
        assert.equal(atA.count + atB.count, 0);
        assert.deepEqual([atA.log.join(''), atB.log.join('')], ['c', 'c']);
      }));

    const pausers = opts.firstPausePushesBack ? (['second', 'first'] as const) : (['second'] as const);
    for (const paused of pausers) {
      it(`pausing the ${paused} pushes back: the sender's bufferedAmount grows and drained() resolves only after resume`, testTimeout, () =>
        withPair(async (a, b) => {
          const [sender, receiver] = paused === 'second' ? [a, b] : [b, a];
          const atReceiver = new Recorder(receiver, false);
          receiver.pause();
          const sent = await fillUntilBackpressure(sender, opts.backpressureWithinBytes, opts.maxMessageBytes);
          assert.ok(sender.bufferedAmount > 0);
          let drained = false;
          const done = sender.drained().then(() => {
            drained = true;
          });
          await sleep(100);
          assert.equal(drained, false, 'drained() waits while the receiver is paused');
          assert.equal(atReceiver.count, 0, 'nothing is delivered while paused');
          assert.ok(sender.bufferedAmount > 0);
          receiver.resume();
          await within(done, waitMs, 'drained() after resume');
          assert.equal(sender.bufferedAmount, 0);
          await until(() => atReceiver.count === sent, 'every message after resume', waitMs);
          assert.equal(sender.isOpen && receiver.isOpen, true);
        }));
    }

    it('keeps order across repeated pause and resume, delivering nothing while paused', testTimeout, () =>
      withPair(async (a, b) => {
        const random = seededRandom(3);
        const sizes = Array.from({ length: 500 }, () => Math.floor(random() * Math.min(3000, opts.maxMessageBytes + 1)));
        const violations: string[] = [];
        const wire = (to: Transport, stream: number) => {
          let paused = false;
          const check = expectStream(to, stream, sizes);
          to.events.on('message', () => {
            if (paused) violations.push(`message while paused (stream ${stream})`);
            if (check.recorder.count % 37 === 0) {
              paused = true;
              to.pause();
              setTimeout(() => {
                paused = false;
                to.resume();
              }, 3);
            }
          });
          return check;
        };
        const atB = wire(b, 6);
        const atA = wire(a, 7);
        for (let i = 0; i < sizes.length; i++) {
          a.send(patternMessage(6, i, sizes[i]!));
          b.send(patternMessage(7, i, sizes[i]!));
          if (i % 50 === 0) await sleep(1);
        }
        await until(() => atB.recorder.count === sizes.length && atA.recorder.count === sizes.length, 'both streams', waitMs);
        assert.deepEqual([...violations, ...atB.errors, ...atA.errors], []);
      }));

    it('lets a paused transport close itself: queued messages are dropped, the peer sees the code', testTimeout, () =>
      withPair(async (a, b) => {
        const atA = new Recorder(a);
        const atB = new Recorder(b);
        b.pause();
        for (let i = 0; i < 10; i++) a.send(patternMessage(8, i, 1000));
        await sleep(30);
        b.close(closeCodeFor('BUSY'), 'BUSY');
        assert.deepEqual(atB.closes, [{ code: closeCodeFor('BUSY'), reason: 'BUSY', byPeer: false }]);
        b.resume();
        await until(() => atA.closes.length === 1, "the peer's close", waitMs);
        assert.deepEqual(atA.closes[0], { code: closeCodeFor('BUSY'), reason: 'BUSY', byPeer: true });
        await sleep(30);
        assert.equal(atB.count, 0, 'nothing is delivered after close');
        assert.equal(atB.closes.length, 1);
      }));

    it("holds the peer's messages and close while paused and delivers them in order on resume", testTimeout, () =>
      withPair(async (a, b) => {
        const atB = new Recorder(b);
        b.pause();
        for (let i = 0; i < 10; i++) a.send(patternMessage(10, i, 500));
        a.close(closeCodeFor('DUPLICATE_CONNECTION'), 'DUPLICATE_CONNECTION');
        assert.equal(a.isOpen, false);
        await sleep(50);
        assert.equal(atB.log.length, 0, 'nothing while paused, not even the close');
        assert.equal(b.isOpen, true, 'open until its close is emitted');
        b.resume();
        await until(() => atB.closes.length === 1, 'the held close', waitMs);
        assert.equal(atB.log.join(''), 'm'.repeat(10) + 'c');
        assert.deepEqual(atB.closes[0], { code: closeCodeFor('DUPLICATE_CONNECTION'), reason: 'DUPLICATE_CONNECTION', byPeer: true });
        atB.messages.forEach((m, i) => assert.ok(sameBytes(m, patternMessage(10, i, 500))));
      }));

    it('resolves a pending drained() when the sender closes', testTimeout, () =>
      withPair(async (a, b) => {
        b.pause();
        await fillUntilBackpressure(a, opts.backpressureWithinBytes, opts.maxMessageBytes);
        const done = a.drained();
        a.close();
        await within(done, waitMs, 'drained() after close');
      }));
  });
}
