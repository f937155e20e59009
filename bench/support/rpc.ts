/**
 * Benchmarks that need both cores run their peers in child processes (`node --import tsx`),
 * driven over Node's IPC channel with request/response messages. `serveRpc` is the child
 * side: a table of async handlers. Values cross with the `advanced` serialization, so
 * Uint8Arrays and Maps survive the trip.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

interface Request {
  readonly id: number;
  readonly method: string;
  readonly args: unknown;
}

interface Response {
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
}

export type Handlers = Record<string, (args: never) => unknown>;

export interface PeerProcess {
  readonly name: string;
  readonly pid: number;
  /** Calls a handler in the child; rejects with the child's error message, or after `timeoutMs`. */
  call<T = unknown>(method: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Asks the child to exit and waits for it (killed after a grace period). */
  stop(): Promise<void>;
}

const DEFAULT_CALL_TIMEOUT_MS = 600_000;
const STOP_GRACE_MS = 10_000;

/**
 * Starts `file` as a child process (TypeScript through tsx) and returns its RPC handle. With
 * KITH_BENCH_CPU_PROF=DIR in the environment, every child writes a V8 CPU profile into DIR
 * (`node --cpu-prof`) under DIR/NAME, for finding where a benchmark's time goes. With
 * KITH_BENCH_NODE_FLAGS="--flag …", every child runs with those Node/V8 flags, baseline and Kith
 * alike (for example `--initial-old-space-size=128`, which shows how much of a bulk transfer's
 * CPU is V8's marking: see DESIGN-NOTES §7).
 */
export function spawnPeer(file: string, name: string, options: { execArgv?: readonly string[]; env?: NodeJS.ProcessEnv } = {}): PeerProcess {
  const profileDir = process.env.KITH_BENCH_CPU_PROF;
  // One directory per child: tsx's loader thread writes a profile of its own next to the main thread's.
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : [];
  const child: ChildProcess = fork(file, [name], {
    execArgv: ['--import', 'tsx', ...profile, ...(options.execArgv ?? []), ...extraNodeFlags()],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
    env: options.env ?? process.env,
  });
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      for (const p of pending.values()) {
        clearTimeout(p.timer);
        p.reject(new Error(`${name} exited (${signal ?? code}) during a call`));
      }
      pending.clear();
      resolve();
    });
  });
  child.on('message', (raw) => {
    const msg = raw as Response;
    const p = pending.get(msg.id);
    if (!p) return;
    pending.delete(msg.id);
    clearTimeout(p.timer);
    if (msg.ok) p.resolve(msg.value);
    else p.reject(new Error(`${name}: ${msg.error}`));
  });
  return {
    name,
    pid: child.pid ?? -1,
    call<T>(method: string, args?: unknown, timeoutMs = DEFAULT_CALL_TIMEOUT_MS): Promise<T> {
      if (exited) return Promise.reject(new Error(`${name} has exited`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}.${method}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
        child.send({ id, method, args } satisfies Request);
      });
    },
    async stop(): Promise<void> {
      if (exited) return;
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

/**
 * The child side: answers requests with `handlers[method](args)`. The process exits when the
 * parent disconnects, after `onExit` (close instances, remove temp dirs).
 */
export function serveRpc(handlers: Handlers, onExit: () => Promise<void> = async () => {}): void {
  if (!process.send) throw new Error('serveRpc: this process was not started with an IPC channel');
  const send = process.send.bind(process);
  process.on('message', (raw) => {
    const req = raw as Request;
    const handler = handlers[req.method];
    void (async () => {
      try {
        if (!handler) throw new Error(`no handler "${req.method}"`);
        const value = await handler(req.args as never);
        send({ id: req.id, ok: true, value } satisfies Response);
      } catch (err) {
        const message = err instanceof Error ? `${err.message}${err.stack ? `\n${err.stack}` : ''}` : String(err);
        send({ id: req.id, ok: false, error: message } satisfies Response);
      }
    })();
  });
  process.once('disconnect', () => {
    void onExit().finally(() => process.exit(0));
  });
}

/** KITH_BENCH_NODE_FLAGS, split on whitespace; anything that is not a `--flag` is refused. */
function extraNodeFlags(): string[] {
  const flags = (process.env.KITH_BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const bad = flags.find((f) => !/^--[a-z0-9][a-z0-9_-]*(=\S+)?$/i.test(f));
  if (bad !== undefined) throw new Error(`KITH_BENCH_NODE_FLAGS: ${JSON.stringify(bad)} is not a --flag or --flag=value`);
  return flags;
}
