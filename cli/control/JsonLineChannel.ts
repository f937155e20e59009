/**
 * Newline-delimited JSON over one stream socket, read by pulling: `next()` returns the next
 * line parsed, and while nobody asks for one the socket is paused, so a fast sender is held
 * back by the kernel instead of by our memory. Lines are bounded (a longer one fails the
 * channel before it is buffered whole), and every wait has a deadline: `next()` for a
 * complete line, `send()` for the peer to take what we wrote.
 *
 * Failures never throw out of socket callbacks: they are stored and surface from the next
 * `next()` or `send()` as a KithError.
 */
import type { Socket } from 'node:net';
import { KithError } from '../../shared/errors.js';

export interface JsonLineChannelOptions {
  /** Longest line accepted, newline excluded; a longer one fails the channel with FRAME_TOO_LARGE. */
  readonly maxLineBytes: number;
  /** How long `next()` waits for a complete line, and `send()` for the peer to drain, before TIMEOUT. */
  readonly timeoutMs: number;
}

const NEWLINE = 0x0a;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class JsonLineChannel {
  private readonly lines: Buffer[] = [];
  private partial: Buffer[] = [];
  private partialBytes = 0;
  private ended = false;
  private failure: KithError | undefined;
  private wake: (() => void) | undefined;

  constructor(
    readonly socket: Socket,
    private readonly opts: JsonLineChannelOptions,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.finish());
    socket.on('close', () => this.finish());
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failure ??= new KithError('CLOSED', `the control connection failed (${err.code ?? 'error'})`);
      this.finish();
    });
  }

  /** True once the socket is closed or failed. */
  get closed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  /** The next line, parsed as JSON (not yet validated: pass it to a schema); undefined when the peer closed cleanly between lines. */
  async next(): Promise<unknown> {
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) {
        if (this.lines.length === 0 && !this.ended && !this.failure) this.socket.resume();
        // Plain JSON.parse (it makes "__proto__" an own key, never a prototype): callers put every value
        // through validateSchema, whose JSON gate (depth, keys, surrogates) would otherwise run twice.
        try {
          return JSON.parse(strictUtf8.decode(line)) as unknown;
        } catch (err) {
          throw new KithError('PROTOCOL_ERROR', `a control line is not JSON: ${(err as Error).message.slice(0, 200)}`);
        }
      }
      if (this.failure) throw this.failure;
      if (this.ended) {
        if (this.partialBytes > 0) throw new KithError('PROTOCOL_ERROR', 'the control connection ended in the middle of a line');
        return undefined;
      }
      this.socket.resume();
      await this.waitForLine();
    }
  }

  /** Writes one value as a line; resolves once the socket accepted it (waits for drain under backpressure). */
  send(value: unknown): Promise<void> {
    return this.sendLine(JSON.stringify(value));
  }

  /** Writes one line of JSON text the caller built itself (it must hold no newline). */
  async sendLine(text: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.socket.destroyed || this.socket.writableEnded) throw new KithError('CLOSED', 'the control connection is closed');
    if (this.socket.write(`${text}\n`)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => done(new KithError('TIMEOUT', 'the other side of the control connection stopped reading')), this.opts.timeoutMs);
      const onDrain = () => done();
      const onClose = () => done(new KithError('CLOSED', 'the control connection closed'));
      const done = (err?: KithError) => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        if (err) reject(err);
        else resolve();
      };
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** Sends a last line (if any), then closes our side once it is flushed; the socket is destroyed shortly after in any case. */
  end(last?: unknown): void {
    if (this.socket.destroyed) return;
    const done = () => this.socket.destroy();
    if (last === undefined) this.socket.end(done);
    else this.socket.end(`${JSON.stringify(last)}\n`, done);
    // A peer that never reads would keep the flush (and the socket) pending forever.
    setTimeout(() => this.socket.destroy(), this.opts.timeoutMs).unref();
  }

  /** Closes at once. */
  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.failure) return;
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      const length = this.partialBytes + piece.length;
      if (length > this.opts.maxLineBytes) return this.fail(new KithError('FRAME_TOO_LARGE', `a control line is longer than ${this.opts.maxLineBytes} bytes`));
      this.lines.push(this.partialBytes === 0 ? piece : Buffer.concat([...this.partial, piece], length));
      this.partial = [];
      this.partialBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partialBytes += rest.length;
      if (this.partialBytes > this.opts.maxLineBytes) return this.fail(new KithError('FRAME_TOO_LARGE', `a control line is longer than ${this.opts.maxLineBytes} bytes`));
      this.partial.push(rest);
    }
    // Complete lines wait here until asked for: stop reading meanwhile (backpressure).
    if (this.lines.length > 0) this.socket.pause();
    this.notify();
  }

  private fail(err: KithError): void {
    this.failure = err;
    this.partial = [];
    this.partialBytes = 0;
    this.socket.pause();
    this.notify();
  }

  private finish(): void {
    this.ended = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private waitForLine(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        reject(new KithError('TIMEOUT', `no complete control line within ${Math.round(this.opts.timeoutMs / 1000)} s`));
      }, this.opts.timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
