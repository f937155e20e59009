/**
 * Child process of bench/channel.bench.ts: many concurrent clients dialing one listener over
 * real `ws` on loopback, so the listener's process has a core of its own.
 *
 *   kith  dial → Noise_IK (msg1, msg2) → key confirmation → close   (a production client:
 *         dialWebSocket + initiateSession, one static key per worker)
 *   raw   dial → one 97-byte binary message (the size of a Kith first frame) → close
 *
 * Workers dial from 127.0.0.2 … 127.0.0.251 in turn, as separate devices would, so the
 * listener's per-address attempt limit (600/min) is never what is measured.
 */
import { WebSocket } from 'ws';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import type { KeyPair } from '../../shared/crypto/CryptoProvider.js';
import { dialWebSocket } from '../../connections/transports/wsTransport.js';
import { initiateSession } from '../../connections/handshake.js';
import { toKithError } from '../../shared/errors.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD } from '../../shared/limits.js';
import { serveRpc } from './rpc.js';

const crypto = new NativeCrypto();
const FIRST_ADDRESS = 2;
const ADDRESSES = 250;
const RAW_FIRST_MESSAGE = new Uint8Array(97).fill(1);

let keys: KeyPair[] = [];
let nextAddress = 0;

function localAddress(): string {
  const host = FIRST_ADDRESS + (nextAddress++ % ADDRESSES);
  return `127.0.0.${host}`;
}

export interface RunArgs {
  readonly url: string;
  readonly mode: 'kith' | 'raw';
  readonly concurrency: number;
  readonly durationMs: number;
  /** The listener's static key (kith mode). */
  readonly serverStatic?: Uint8Array;
}

export interface RunResult {
  readonly completed: number;
  readonly failed: number;
  /** Failures by error code. */
  readonly errors: Record<string, number>;
  /** CPU time this client process spent, ms. */
  readonly cpuMs: number;
}

async function kithOnce(url: string, key: KeyPair, serverStatic: Uint8Array): Promise<void> {
  const transport = await dialWebSocket(url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS, localAddress: localAddress() });
  const session = await initiateSession(transport, { crypto, localStatic: key, remoteStatic: serverStatic, timeoutMs: HANDSHAKE_DEADLINE_MS });
  session.close('NORMAL');
}

function rawOnce(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { localAddress: localAddress(), perMessageDeflate: false, maxPayload: MAX_WS_PAYLOAD });
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('raw dial timed out'));
    }, HANDSHAKE_DEADLINE_MS);
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.once('open', () => {
      ws.send(RAW_FIRST_MESSAGE);
      ws.close(1000);
      clearTimeout(timer);
      resolve();
    });
  });
}

async function run(args: RunArgs): Promise<RunResult> {
  const until = performance.now() + args.durationMs;
  const cpu0 = process.cpuUsage();
  let completed = 0;
  let failed = 0;
  const errors: Record<string, number> = {};
  const worker = async (i: number) => {
    const key = keys[i % keys.length]!;
    while (performance.now() < until) {
      try {
        if (args.mode === 'kith') await kithOnce(args.url, key, args.serverStatic!);
        else await rawOnce(args.url);
        completed++;
      } catch (err) {
        failed++;
        const code = toKithError(err).code;
        errors[code] = (errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: args.concurrency }, (_, i) => worker(i)));
  const cpu = process.cpuUsage(cpu0);
  return { completed, failed, errors, cpuMs: (cpu.user + cpu.system) / 1000 };
}

serveRpc({
  /** Generates `count` client static keys; returns their public halves for the listener's directory. */
  async keys({ count }: { count: number }): Promise<Uint8Array[]> {
    keys = [];
    for (let i = 0; i < count; i++) keys.push(await crypto.x25519Generate());
    return keys.map((k) => k.publicKey);
  },
  run: (args: RunArgs) => run(args),
});
