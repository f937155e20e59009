/**
 * Many peers: one `kith serve` node (the hub) with 50 paired peers, each a separate device
 * on its own loopback address (127.0.1.x) with real WebSockets. The hub restarts and all 50
 * stream their backlog to it at once; meanwhile the hub must stay responsive: a control
 * command (`status`) and a new pairing (a fresh device redeeming an invitation of the hub)
 * are each answered within a second, every time. Creating an invitation during the sync
 * is measured too and reported: it is a durable write, so its time follows the disk (which
 * the sync keeps busy with its own fsyncs).
 *
 * The probes run in a separate small process (test/support/controlProber.ts), so what is
 * measured is the hub's answer time, not the test process's own load (it hosts the 50 peers).
 * The bound applies once the 50 are connected and syncing; the reconnection storm right after
 * the restart (100 dials and handshakes, 50 hellos at once) is measured and reported too.
 *
 * The hub's home is on tmpfs where there is one (/dev/shm): the bound is about the node, and
 * a pairing ends with a durable write (fsync) of the pairing document, which on a shared CI
 * disk that the sync itself keeps busy with fsyncs takes 0.3–1 s by itself (measured here;
 * see docs/RELIABILITY.md). KITH_RELIABILITY_DISK=1 puts the home on the ordinary temp dir.
 * `npm run test:stress` runs both: the tmpfs run with its bounds, then the same run with the
 * home on disk, which asserts everything but the pairing bound and reports the pairing times.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { wsInstance, type WsInstance } from '../support/wsInstance.js';
import { makeTempHome, runCli, REPO_ROOT } from '../support/cli.js';
import { startServe, type ServeProcess } from '../support/serveProcess.js';
import { STRESS } from '../support/arbitraries.js';
import { controlSocketAddress } from '../../cli/control/socketAddress.js';
import { ControlClient } from '../../cli/control/ControlClient.js';
import type { PersonId } from '../../shared/ids.js';
import type { SyncProgress } from '../../chum/sync/context.js';

const PEERS = 50;
/** Signed entries each peer streams to the hub after the restart. */
const ENTRIES = STRESS ? 1000 : 400;
/** Pairings tried while the peers sync (each with a fresh device). */
const PAIRING_PROBES = STRESS ? 10 : 3;
/** The promise under test. */
const ANSWER_WITHIN_MS = 1000;

async function tempHomeIn(parent: string): Promise<{ home: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(parent, 'kith-peers-'));
  return { home: join(dir, 'home'), cleanup: () => rm(dir, { recursive: true, force: true }) };
}

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

/** The prober process: one request at a time, each answered by one JSON line. */
function startProber(home: string) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test', 'support', 'controlProber.ts'), home], { cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const read = async (ms: number): Promise<{ ms: number; url?: string; connected?: number; ready?: boolean }> => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const next = await Promise.race([lines.next(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`prober silent; ${stderr}`)), ms)))]);
    clearTimeout(timer);
    if (next.done) throw new Error(`prober exited; ${stderr}`);
    const answer = JSON.parse(next.value) as { ms: number; url?: string; connected?: number; ready?: boolean; error?: string };
    if (answer.error !== undefined) throw new Error(`prober: ${answer.error}`);
    return answer;
  };
  return {
    ready: () => read(30_000),
    ask(command: Record<string, unknown>, ms = 30_000): Promise<{ ms: number; url?: string; connected?: number }> {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      return read(ms);
    },
    async stop() {
      child.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
      await new Promise((resolve) => {
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.on('exit', () => resolve(clearTimeout(timer)));
      });
    },
  };
}

interface HubRun {
  /** The hub's home on /dev/shm rather than the ordinary temp dir. */
  readonly onTmpfs: boolean;
  /** Assert the pairing bound (on disk it is reported: the durable write follows the disk). */
  readonly boundPairing: boolean;
}

async function hubWithPeers(t: TestContext, run: HubRun): Promise<void> {
  const { onTmpfs } = run;
  const tmp = onTmpfs ? await tempHomeIn('/dev/shm') : await makeTempHome();
  const peers: WsInstance[] = [];
  let hub: ServeProcess | undefined;
  let prober: ReturnType<typeof startProber> | undefined;
  t.after(async () => {
    await prober?.stop();
    await hub?.stop('SIGKILL').catch(() => {});
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    await tmp.cleanup();
  });
  const init = await runCli(['init', '--name', 'Hub', '--insecure-plaintext-keys', '--json'], { home: tmp.home });
  assert.equal(init.code, 0, init.stderr);
  const hubPerson = (init.lines[0] as { personId: PersonId }).personId;
  const hubInstance = (init.lines[0] as { instanceId: string }).instanceId;
  const serveArgs = { args: ['--listen', '127.0.0.50:0'] };

  hub = await startServe(tmp.home, serveArgs);
  // The restart keeps the port: the invitations made now name this address.
  const port = new URL(hub.url).port;
  const control = (await ControlClient.connect(controlSocketAddress(tmp.home), { timeoutMs: 30_000 }))!;
  const fast = { backoff: { minMs: 100, maxMs: 2000 } };
  for (let i = 0; i < PEERS; i++) peers.push(await wsInstance(`peer${i}`, { host: `127.0.1.${i + 1}`, ...fast }));
  for (let i = 0; i < PEERS; i += 10) {
    const group = peers.slice(i, i + 10);
    const groupLinks: string[] = [];
    for (let k = 0; k < group.length; k++) groupLinks.push((await control.invite({ ttlSeconds: 600 })).url);
    await Promise.all(group.map((p, k) => p.instance.acceptInvite(groupLinks[k]!)));
  }
  // Invitations for the pairings tried during the sync (creating one is measured separately).
  const links: string[] = [];
  for (let i = 0; i < PAIRING_PROBES; i++) links.push((await control.invite({ ttlSeconds: 3600 })).url);
  await control.close();
  assert.deepEqual(await hub.stop('SIGTERM'), { code: 0, signal: null });

  // While the hub is down every peer writes its backlog, shared with the hub.
  await Promise.all(
    peers.map(async (p) => {
      const chum = p.instance.chum;
      const channel = await chum.createId('Channel', `${p.name} to hub`);
      await chum.grant({ ids: [channel], persons: [hubPerson] });
      for (let k = 0; k < ENTRIES; k++) await chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), text: `${p.name} ${k} ${'·'.repeat(k % 100)}` });
    }),
  );
  const caughtUp = new Set<string>();
  const lastSent = new Map<string, SyncProgress>();
  for (const p of peers) {
    p.instance.events.on('sync:progress', (s: SyncProgress) => {
      if (s.direction !== 'send' || s.peer.instanceId !== hubInstance) return;
      lastSent.set(p.name, s);
      // Counts are per session (a replaced session starts again from its mark); caught up means
      // the hub acknowledged everything this peer holds for it.
      if (s.caughtUp) caughtUp.add(p.name);
    });
  }
  const stuck = () =>
    peers
      .filter((p) => !caughtUp.has(p.name))
      .map((p) => `${p.name}: ${JSON.stringify(p.instance.connectionStates())} sent ${JSON.stringify(lastSent.get(p.name) ?? null)}`)
      .join('\n');

  prober = startProber(tmp.home);
  await prober.ready();
  const restartedAt = Date.now();
  hub = await startServe(tmp.home, { args: ['--listen', `127.0.0.50:${port}`] });
  const statusMs: number[] = [];
  const stormMs: number[] = [];
  const inviteMs: number[] = [];
  const pairingMs: number[] = [];
  let probesDuringSync = 0;
  let pairingsDuringSync = 0;
  const deadline = Date.now() + (STRESS ? 600_000 : 150_000);
  let allConnected = false;
  for (let round = 0; caughtUp.size < PEERS || pairingMs.length < PAIRING_PROBES; ) {
    assert.ok(Date.now() < deadline, `sync did not finish: ${caughtUp.size}/${PEERS} caught up; ${stuck()}; hub: ${hub.stderr()}`);
    const during = caughtUp.size < PEERS;
    const status = await prober.ask({ op: 'status' });
    if (!allConnected) {
      // Until every peer is back, this is the reconnection storm: reported, not bounded.
      stormMs.push(status.ms);
      allConnected = status.connected! >= PEERS;
      continue;
    }
    round++;
    statusMs.push(status.ms);
    if (during) probesDuringSync++;
    if (round % 3 === 1 && pairingMs.length < PAIRING_PROBES) {
      const pairingDuring = caughtUp.size < PEERS;
      pairingMs.push((await prober.ask({ op: 'pair', host: `127.0.1.${200 + pairingMs.length}`, link: links[pairingMs.length] })).ms);
      if (pairingDuring) pairingsDuringSync++;
      if (caughtUp.size < PEERS) inviteMs.push((await prober.ask({ op: 'invite' })).ms);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const syncMs = Date.now() - restartedAt;

  const check = (await ControlClient.connect(controlSocketAddress(tmp.home), { timeoutMs: 30_000 }))!;
  const finalStatus = await check.status();
  await check.close();
  t.diagnostic(
    `${PEERS} peers × ${ENTRIES + 2} objects synced in ${syncMs} ms after the restart; reconnection storm: status ${stormMs.map((m) => m.toFixed(0)).join(', ')} ms; ` +
      `then status ${statusMs.length}× (${probesDuringSync} during sync): ` +
      `p50 ${percentile(statusMs, 0.5).toFixed(0)} ms, p95 ${percentile(statusMs, 0.95).toFixed(0)} ms, max ${Math.max(...statusMs).toFixed(0)} ms; ` +
      `hub home on ${onTmpfs ? 'tmpfs' : 'disk'}; pairing ${pairingMs.map((m) => m.toFixed(0)).join(', ')} ms (${pairingsDuringSync} during sync); creating an invitation during the sync (durable write, not bounded here) ${inviteMs.map((m) => m.toFixed(0)).join(', ')} ms`,
  );
  assert.ok(finalStatus.store.objects >= PEERS * (ENTRIES + 2), `the hub stored every backlog (${finalStatus.store.objects} objects)`);
  assert.ok(finalStatus.connections.filter((c) => c.state === 'connected').length >= PEERS, 'all peers (and the probe devices) are connected');
  assert.ok(probesDuringSync >= 3, `status was asked while the peers synced (${probesDuringSync} times)`);
  assert.ok(pairingsDuringSync >= 1, `at least one pairing ran while the peers synced (${pairingsDuringSync})`);
  assert.ok(Math.max(...statusMs) <= ANSWER_WITHIN_MS, `status answered within ${ANSWER_WITHIN_MS} ms: ${statusMs.map((m) => m.toFixed(0)).join(',')}`);
  if (run.boundPairing) assert.ok(Math.max(...pairingMs) <= ANSWER_WITHIN_MS, `pairing completed within ${ANSWER_WITHIN_MS} ms: ${pairingMs.map((m) => m.toFixed(0)).join(',')}`);
}

const tmpfsAvailable = process.platform === 'linux' && existsSync('/dev/shm');
const defaultOnTmpfs = process.env.KITH_RELIABILITY_DISK !== '1' && tmpfsAvailable;

test(`a node with ${PEERS} peers syncing at once answers status and a new pairing within ${ANSWER_WITHIN_MS} ms`, { timeout: STRESS ? 900_000 : 240_000 }, (t) => hubWithPeers(t, { onTmpfs: defaultOnTmpfs, boundPairing: true }));

// Under test:stress the on-disk run too, unless the run above already was on disk.
if (STRESS && defaultOnTmpfs) {
  test(`the same with the hub's home on disk: status within ${ANSWER_WITHIN_MS} ms, pairing times reported (stress only)`, { timeout: 900_000 }, (t) => hubWithPeers(t, { onTmpfs: false, boundPairing: false }));
}
