/**
 * A loopback TCP proxy that stands for an unreliable network between two nodes: it
 * forwards bytes both ways, and on command cuts connections, stalls them (stops reading,
 * so TCP backpressure builds up on both ends), delays them, refuses new ones (accept and
 * close at once, so the dialer sees a failed attempt) or black-holes them (accept and never
 * answer, so the dialer hits its deadline). `chaos()` runs a bounded random schedule of
 * those faults (a refusing or black-holing step also cuts what is open: the link went
 * down) and heals the network at the end.
 *
 * The endpoints never see the proxy's port in their Host check: with `rewriteHost` the
 * first HTTP request head of each connection gets the target's `host:port` as its Host
 * header (a Kith listener refuses any other — DNS-rebinding defence).
 *
 * Every connection attempt is recorded with its time, so a test can read the dialer's
 * backoff off the wire.
 */
import * as net from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface FaultProxyOptions {
  /** Where to forward; may be set later with `setTarget` (until then connections are refused). */
  readonly target?: { readonly host: string; readonly port: number };
  /** Address to listen on (default 127.0.0.1); the port is picked by the OS. */
  readonly host?: string;
  /** Rewrite the Host header of each connection's first request head to the target's. */
  readonly rewriteHost?: boolean;
  /** Randomness for `chaos` (default Math.random); pass a seeded one to replay a schedule. */
  readonly random?: () => number;
}

export interface ChaosOptions {
  /** How long the random schedule runs before the network is healed. */
  readonly durationMs: number;
  /** Bounds of one fault's duration. */
  readonly stepMs?: readonly [number, number];
  /** Largest delay a `delay` step adds per chunk. */
  readonly maxDelayMs?: number;
  /** Called with each step, for the test's log. */
  readonly onStep?: (step: { action: string; ms: number; at: number }) => void;
}

export interface ProxyStats {
  /** Connection attempts accepted by the proxy (refused and black-holed ones included). */
  connections: number;
  /** Attempts refused at once while in `refuse` mode. */
  refused: number;
  /** Connections cut by `cut()`. */
  cuts: number;
  /** Bytes forwarded client → target and target → client. */
  bytesUp: number;
  bytesDown: number;
}

/** Bytes a direction may hold (delayed or stalled) before it stops reading from its source. */
const HOLD_HIGH_WATER = 1024 * 1024;
/** Longest HTTP request head read while looking for the Host header; longer heads are passed on untouched. */
const MAX_HEAD_BYTES = 16 * 1024;

/** One direction of one connection: ordered, optionally delayed, backpressured. */
class Pipe {
  private readonly held: Array<{ at: number; data: Buffer }> = [];
  private heldBytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRelease = 0;

  constructor(
    private readonly proxy: FaultProxy,
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly count: (n: number) => void,
  ) {
    to.on('drain', () => this.flowControl());
  }

  push(data: Buffer): void {
    // Releases never overtake each other, even when the delay shrinks between chunks.
    const at = Math.max(Date.now() + this.proxy.delayMs, this.lastRelease);
    this.lastRelease = at;
    this.held.push({ at, data });
    this.heldBytes += data.length;
    this.flowControl();
    this.pump();
  }

  pump(): void {
    if (this.timer !== undefined) return;
    while (this.held.length > 0 && !this.proxy.stalled) {
      const next = this.held[0]!;
      const wait = next.at - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.held.shift();
      this.heldBytes -= next.data.length;
      if (this.to.destroyed) continue;
      this.count(next.data.length);
      this.to.write(next.data);
    }
    this.flowControl();
  }

  /** Reads from the source only while the stall is off and neither we nor the destination hold too much. */
  flowControl(): void {
    const full = this.proxy.stalled || this.heldBytes > HOLD_HIGH_WATER || this.to.writableNeedDrain;
    if (full && !this.from.isPaused()) this.from.pause();
    else if (!full && this.from.isPaused() && !this.from.destroyed) this.from.resume();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held.length = 0;
    this.heldBytes = 0;
  }
}

interface Pair {
  readonly client: net.Socket;
  target: net.Socket | undefined;
  up: Pipe | undefined;
  down: Pipe | undefined;
}

export class FaultProxy {
  /** Times (ms since the epoch) of every connection attempt, in order. */
  readonly attempts: number[] = [];
  readonly stats: ProxyStats = { connections: 0, refused: 0, cuts: 0, bytesUp: 0, bytesDown: 0 };
  /** Added latency per chunk, each way. */
  delayMs = 0;
  private modeValue: ProxyMode = 'pass';
  private target: { readonly host: string; readonly port: number } | undefined;
  private stalledValue = false;
  private readonly pairs = new Set<Pair>();
  private readonly random: () => number;
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    private readonly opts: FaultProxyOptions,
    readonly host: string,
    readonly port: number,
  ) {
    this.random = opts.random ?? Math.random;
    this.target = opts.target;
    server.on('connection', (socket) => this.onConnection(socket));
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const host = opts.host ?? '127.0.0.1';
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, host, () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return new FaultProxy(server, opts, host, address.port);
  }

  /** `ws://host:port/kith/v1` of the proxy. */
  get url(): string {
    return `ws://${this.host}:${this.port}/kith/v1`;
  }

  get mode(): ProxyMode {
    return this.modeValue;
  }

  /** Connections currently forwarded (or held). */
  get openConnections(): number {
    return this.pairs.size;
  }

  get stalled(): boolean {
    return this.stalledValue;
  }

  /** Where new connections are forwarded from now on (a node's listener port is known only once it listens). */
  setTarget(target: { readonly host: string; readonly port: number }): void {
    this.target = target;
  }

  /** How new connections are treated from now on (open ones are not affected). */
  setMode(mode: ProxyMode): void {
    this.modeValue = mode;
  }

  /** Stops (true) or resumes (false) every byte in both directions, for open and new connections. */
  stall(on: boolean): void {
    this.stalledValue = on;
    for (const pair of this.pairs) {
      pair.up?.flowControl();
      pair.down?.flowControl();
      if (!on) {
        pair.up?.pump();
        pair.down?.pump();
      }
    }
  }

  /** Destroys every open connection (both sockets, as a network failure would). */
  cut(): void {
    for (const pair of [...this.pairs]) {
      this.stats.cuts++;
      this.drop(pair);
    }
  }

  /** Back to a perfect network: pass mode, no delay, no stall. Open connections stay. */
  heal(): void {
    this.setMode('pass');
    this.delayMs = 0;
    this.stall(false);
  }

  /**
   * Runs random faults for `durationMs` (each lasting a random time within `stepMs`), then
   * heals. Returns the schedule it ran.
   */
  async chaos(options: ChaosOptions): Promise<Array<{ action: string; ms: number; at: number }>> {
    const [minStep, maxStep] = options.stepMs ?? [200, 1500];
    const maxDelay = options.maxDelayMs ?? 200;
    const end = Date.now() + options.durationMs;
    const schedule: Array<{ action: string; ms: number; at: number }> = [];
    const actions = ['pass', 'cut', 'stall', 'delay', 'refuse', 'blackhole'] as const;
    while (!this.closed && Date.now() < end) {
      const action = actions[Math.floor(this.random() * actions.length)]!;
      const ms = Math.min(end - Date.now(), Math.round(minStep + this.random() * (maxStep - minStep)));
      if (ms <= 0) break;
      this.heal();
      switch (action) {
        case 'cut':
          this.cut();
          break;
        case 'stall':
          this.stall(true);
          break;
        case 'delay':
          this.delayMs = Math.round(this.random() * maxDelay);
          break;
        case 'refuse':
        case 'blackhole':
          // The link goes down: what was open breaks, and new attempts fail their own way.
          this.cut();
          this.setMode(action);
          break;
        case 'pass':
          break;
      }
      const step = { action, ms, at: Date.now() };
      schedule.push(step);
      options.onStep?.(step);
      await new Promise((resolve) => setTimeout(resolve, ms));
    }
    this.heal();
    return schedule;
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: net.Socket): void {
    this.attempts.push(Date.now());
    this.stats.connections++;
    client.on('error', () => {});
    const target = this.target;
    if (this.closed || this.modeValue === 'refuse' || !target) {
      this.stats.refused++;
      client.destroy();
      return;
    }
    const pair: Pair = { client, target: undefined, up: undefined, down: undefined };
    this.pairs.add(pair);
    client.once('close', () => this.drop(pair));
    // A black hole accepts and then never answers: the peer's own deadline has to end it.
    if (this.modeValue === 'blackhole') return;
    const upstream = net.connect({ host: target.host, port: target.port });
    pair.target = upstream;
    upstream.on('error', () => {});
    upstream.once('close', () => this.drop(pair));
    upstream.once('connect', () => {
      if (!this.pairs.has(pair)) return;
      pair.up = new Pipe(this, client, upstream, (n) => (this.stats.bytesUp += n));
      pair.down = new Pipe(this, upstream, client, (n) => (this.stats.bytesDown += n));
      upstream.on('data', (d: Buffer) => pair.down!.push(d));
      if (this.opts.rewriteHost) this.forwardWithHost(pair, `Host: ${target.host}:${target.port}`);
      else client.on('data', (d: Buffer) => pair.up!.push(d));
      pair.up.flowControl();
      pair.down.flowControl();
    });
  }

  /** Buffers the request head, swaps its Host header for the target's, then forwards everything as is. */
  private forwardWithHost(pair: Pair, hostLine: string): void {
    let head = Buffer.alloc(0);
    let done = false;
    pair.client.on('data', (d: Buffer) => {
      if (done) return pair.up!.push(d);
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1 && head.length < MAX_HEAD_BYTES) return;
      done = true;
      if (end === -1) return pair.up!.push(head);
      const text = head.subarray(0, end).toString('latin1').replace(/^host:[^\r\n]*$/im, hostLine);
      pair.up!.push(Buffer.concat([Buffer.from(text, 'latin1'), head.subarray(end)]));
    });
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.up?.stop();
    pair.down?.stop();
    pair.client.destroy();
    pair.target?.destroy();
  }
}
