/**
 * Issue 4 — pairing end to end on loopback, next to the bare IK handshake measured in the
 * same run (the two alternate, one of each per iteration, so machine load falls on both).
 *
 *   pairing    invitation created (`instance.invite()`) → invitee redeems it
 *              (`acceptInvite(link)`: dial, Noise_IKpsk2, pair-hello / pair-welcome with
 *              identities and bindings) → both contacts stored durably (each side's state
 *              document fsynced). Inviter and invitees are real Node instances on temp homes
 *              (openNodeInstance: file store, DurableJsonFile state, WsListener); each run
 *              uses a fresh invitee, opened before the clock starts and closed after it stops.
 *   IK         dial + Noise_IK + key confirmation to a listener (startNodeConnections), until
 *              the listener reports the session open.
 *
 * Both in this one process. Also printed: CPU time per operation (this process, both sides),
 * which other processes' load on this shared machine does not inflate the way it does wall time.
 *
 *   npm run bench -- pairing     (about 30–60 s; KITH_BENCH_FULL=1 for 1,000 runs)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeCrypto } from '../shared/crypto/nativeCrypto.js';
import { createHome } from '../cli/home.js';
import { openNodeInstance, type NodeInstance } from '../instance/node/openNodeInstance.js';
import { startNodeConnections } from '../connections/node/nodeConnections.js';
import type { PeerDecision, PeerRef } from '../connections/Router.js';
import { dialWebSocket } from '../connections/transports/wsTransport.js';
import { initiateSession } from '../connections/handshake.js';
import { equalBytes } from '../shared/bytes.js';
import { DurableJsonFile } from '../shared/node/DurableJsonFile.js';
import type { InstanceId, PersonId } from '../shared/ids.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD } from '../shared/limits.js';
import { report } from './harness.js';
import { printSummary, type SummaryRow } from './support/summary.js';
import { median, percentile } from './support/stats.js';

const FULL = process.env.KITH_BENCH_FULL === '1';
const RUNS = FULL ? 1000 : 200;
const WARMUP_RUNS = 10;
const crypto = new NativeCrypto();

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kith-bench-pairing-'));
  let inviter: NodeInstance | undefined;
  let ikClose: (() => Promise<void>) | undefined;
  try {
    const inviterIdentity = await createHome(join(root, 'inviter'), { name: 'Inviter', instanceName: 'inviter-node', insecurePlaintext: true, crypto, now: Date.now() });
    inviter = await openNodeInstance({ home: join(root, 'inviter'), identity: inviterIdentity, listen: { host: '127.0.0.1', port: 0 } });

    // The bare IK baseline: its own listener with one known client key.
    const ikServer = await crypto.x25519Generate();
    const ikClient = await crypto.x25519Generate();
    const ikPeer: PeerRef = { instanceId: 'client' as InstanceId, personId: 'client' as PersonId, name: 'client', staticKey: ikClient.publicKey };
    const ikConns = await startNodeConnections({
      crypto,
      staticKeyPair: ikServer,
      peers: { lookup: (key): PeerDecision => (equalBytes(key, ikClient.publicKey) ? { kind: 'known', peer: ikPeer } : { kind: 'unknown' }) },
      listen: { host: '127.0.0.1', port: 0 },
    });
    ikClose = () => ikConns.close();
    const ikOnce = async (): Promise<{ ms: number; cpu: number }> => {
      const opened = new Promise<void>((resolve) => {
        const off = ikConns.model.events.on('opened', () => {
          off();
          resolve();
        });
      });
      const c0 = cpuMs();
      const t0 = performance.now();
      const transport = await dialWebSocket(ikConns.listener!.url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: HANDSHAKE_DEADLINE_MS });
      const session = await initiateSession(transport, { crypto, localStatic: ikClient, remoteStatic: ikServer.publicKey, timeoutMs: HANDSHAKE_DEADLINE_MS });
      await opened;
      const ms = performance.now() - t0;
      const cpu = cpuMs() - c0;
      session.close();
      await session.closed;
      return { ms, cpu };
    };

    const pairMs: number[] = [];
    const pairCpu: number[] = [];
    const inviteMs: number[] = [];
    const ikMs: number[] = [];
    const ikCpu: number[] = [];
    const started = performance.now();
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      const home = join(root, `invitee-${i}`);
      const identity = await createHome(home, { name: `Invitee ${i}`, instanceName: `invitee-${i}`, insecurePlaintext: true, crypto, now: Date.now() });
      const invitee = await openNodeInstance({ home, identity });
      try {
        const c0 = cpuMs();
        const t0 = performance.now();
        const created = await inviter.instance.invite();
        const t1 = performance.now();
        const paired = await invitee.instance.acceptInvite(created.link);
        const t2 = performance.now();
        const cpu = cpuMs() - c0;
        if (!inviter.instance.contacts().some((c) => c.personId === identity.personId)) throw new Error('bench: the inviter did not store the contact');
        if (paired.contact.personId !== inviterIdentity.personId) throw new Error('bench: the invitee stored the wrong contact');
        if (i >= WARMUP_RUNS) {
          pairMs.push(t2 - t0);
          inviteMs.push(t1 - t0);
          pairCpu.push(cpu);
        }
      } finally {
        await invitee.instance.close();
      }
      const ik = await ikOnce();
      if (i >= WARMUP_RUNS) {
        ikMs.push(ik.ms);
        ikCpu.push(ik.cpu);
      }
    }
    const seconds = (performance.now() - started) / 1000;

    // A pairing makes three durable state writes (the invitation, the inviter's consume + contact,
    // the invitee's contact): time one such write of a small document on the same disk.
    const durable = new DurableJsonFile<{ n: number; pad: string }>(join(root, 'probe', 'state.json'), (v) => v as { n: number; pad: string });
    const writeMs: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await durable.write({ n: i, pad: 'x'.repeat(2000) });
      writeMs.push(performance.now() - t0);
    }

    const firstTenth = pairMs.slice(0, Math.ceil(RUNS / 10));
    const lastTenth = pairMs.slice(-Math.ceil(RUNS / 10));
    console.log(`${RUNS} pairings (+${WARMUP_RUNS} warm-up), each with a fresh invitee; ${RUNS} bare IK handshakes interleaved (${seconds.toFixed(1)} s)`);
    report([
      { name: 'pairing end to end, median', value: median(pairMs), unit: 'ms', baseline: { name: 'bare IK handshake, median', value: median(ikMs) } },
      { name: 'pairing end to end, p99', value: percentile(pairMs, 99), unit: 'ms', baseline: { name: 'bare IK handshake, p99', value: percentile(ikMs, 99) } },
      { name: '  of which invite() (registry entry stored), median', value: median(inviteMs), unit: 'ms' },
      { name: '  three durable state writes (DurableJsonFile, 2 KB), median', value: 3 * median(writeMs), unit: 'ms' },
      { name: 'CPU per pairing (both sides), median', value: median(pairCpu), unit: 'ms', baseline: { name: 'CPU per IK handshake (both sides)', value: median(ikCpu) } },
      { name: 'pairing median, first tenth of runs', value: median(firstTenth), unit: 'ms', baseline: { name: 'last tenth (inviter holds more contacts)', value: median(lastTenth) } },
    ]);
    const rows: SummaryRow[] = [
      { name: 'pairing end to end, median', value: median(pairMs), unit: 'ms', baseline: { name: 'bare IK', value: median(ikMs) } },
      { name: 'pairing end to end, p99', value: percentile(pairMs, 99), unit: 'ms', baseline: { name: 'bare IK', value: percentile(ikMs, 99) } },
      { name: 'CPU per pairing, median', value: median(pairCpu), unit: 'ms', baseline: { name: 'IK', value: median(ikCpu) } },
      { name: 'pairing minus its 3 durable writes, median', value: median(pairMs) - 3 * median(writeMs), unit: 'ms', baseline: { name: 'bare IK', value: median(ikMs) } },
    ];
    printSummary(`issue 4 — pairing over ${RUNS} runs (no numeric target: context)`, rows);
  } finally {
    await inviter?.instance.close();
    await ikClose?.();
    await rm(root, { recursive: true, force: true });
  }
}

await main();
