/**
 * Many peers: one `kith serve` node (the hub) with 50 paired peers, each a separate device
 * on its own loopback address (127.0.1.x) with real WebSockets. The hub restarts and all 50
 * stream their backlog to it at once; meanwhile the hub must stay responsive: a control
 * command (`status`) and a new pairing are each answered within a second, every time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wsInstance, type WsInstance } from '../support/wsInstance.js';
import { makeTempHome, runCli } from '../support/cli.js';
import { startServe, type ServeProcess } from '../support/serveProcess.js';
import { STRESS } from '../support/arbitraries.js';
import { controlSocketAddress } from '../../cli/control/socketAddress.js';
import { ControlClient } from '../../cli/control/ControlClient.js';
import type { PersonId } from '../../shared/ids.js';
import type { SyncProgress } from '../../chum/sync/context.js';

const PEERS = 50;
/** Signed entries each peer streams to the hub after the restart. */
const ENTRIES = STRESS ? 1000 : 250;
/** Pairings tried while the peers sync (each with a fresh device). */
const PAIRING_PROBES = STRESS ? 10 : 3;
/** The promise under test. */
const ANSWER_WITHIN_MS = 1000;

const percentile = (xs: number[], p: number) => [...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

test(`a node with ${PEERS} peers syncing at once answers status and a new pairing within ${ANSWER_WITHIN_MS} ms`, { timeout: STRESS ? 900_000 : 240_000 }, async (t) => {
  const tmp = await makeTempHome();
  const peers: WsInstance[] = [];
  let hub: ServeProcess | undefined;
  t.after(async () => {
    await hub?.stop('SIGKILL').catch(() => {});
    await Promise.all(peers.map((p) => p.close().catch(() => {})));
    await tmp.cleanup();
  });
  const init = await runCli(['init', '--name', 'Hub', '--insecure-plaintext-keys', '--json'], { home: tmp.home });
  assert.equal(init.code, 0, init.stderr);
  const hubPerson = (init.lines[0] as { personId: PersonId }).personId;
  const hubInstance = (init.lines[0] as { instanceId: string }).instanceId;
  const serveArgs = { args: ['--listen', '127.0.0.50:0'] };
  const address = controlSocketAddress(tmp.home);

  hub = await startServe(tmp.home, serveArgs);
  let control = (await ControlClient.connect(address, { timeoutMs: 30_000 }))!;
  const fast = { backoff: { minMs: 100, maxMs: 2000 } };
  for (let i = 0; i < PEERS + PAIRING_PROBES; i++) peers.push(await wsInstance(`peer${i}`, { host: `127.0.1.${i + 1}`, ...fast }));
  const syncing = peers.slice(0, PEERS);
  const late = peers.slice(PEERS);
  for (let i = 0; i < syncing.length; i += 10) {
    const group = syncing.slice(i, i + 10);
    const links: string[] = [];
    for (const _ of group) links.push((await control.invite({ ttlSeconds: 600 })).url);
    await Promise.all(group.map((p, k) => p.instance.acceptInvite(links[k]!)));
  }
  await control.close();
  assert.deepEqual(await hub.stop('SIGTERM'), { code: 0, signal: null });

  // While the hub is down every peer writes its backlog, shared with the hub.
  const expected = new Map<string, number>();
  await Promise.all(
    syncing.map(async (p) => {
      const chum = p.instance.chum;
      const channel = await chum.createId('Channel', `${p.name} to hub`);
      await chum.grant({ ids: [channel], persons: [hubPerson] });
      for (let k = 0; k < ENTRIES; k++) await chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), text: `${p.name} ${k} ${'·'.repeat(k % 100)}` });
      expected.set(p.identity.instanceId, ENTRIES + 2);
    }),
  );
  const caughtUp = new Set<string>();
  const sent = new Map<string, number>();
  for (const p of syncing) {
    p.instance.events.on('sync:progress', (s: SyncProgress) => {
      if (s.direction !== 'send' || s.peer.instanceId !== hubInstance) return;
      sent.set(p.name, s.objectsDone);
      if (s.caughtUp && s.objectsDone >= expected.get(p.identity.instanceId)!) caughtUp.add(p.name);
    });
  }

  const restartedAt = Date.now();
  hub = await startServe(tmp.home, { ...serveArgs, env: process.env.PROFILE_HUB ? { NODE_OPTIONS: `--import=${process.env.PROFILE_HUB}/probe.mjs` } : {} });
  control = (await ControlClient.connect(address, { timeoutMs: 30_000 }))!;
  t.after(() => control.close());
  const statusMs: number[] = [];
  const inviteMs: number[] = [];
  const pairingMs: number[] = [];
  let probesDuringSync = 0;
  let pairingsDuringSync = 0;
  let connectedSeen = 0;
  const deadline = Date.now() + (STRESS ? 600_000 : 120_000);
  for (let round = 0; caughtUp.size < PEERS || pairingMs.length < PAIRING_PROBES; round++) {
    assert.ok(Date.now() < deadline, `sync did not finish: ${caughtUp.size}/${PEERS} caught up`);
    const during = caughtUp.size < PEERS;
    let started = performance.now();
    const status = await control.status();
    statusMs.push(performance.now() - started);
    connectedSeen = Math.max(connectedSeen, status.connections.filter((c) => c.state === 'connected').length);
    if (during) probesDuringSync++;
    if (round % 3 === 2 && pairingMs.length < PAIRING_PROBES) {
      const device = late[pairingMs.length]!;
      const pairingDuring = caughtUp.size < PEERS;
      started = performance.now();
      const invite = await control.invite({ ttlSeconds: 600 });
      inviteMs.push(performance.now() - started);
      started = performance.now();
      await device.instance.acceptInvite(invite.url);
      pairingMs.push(performance.now() - started);
      if (pairingDuring) pairingsDuringSync++;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  const syncMs = Date.now() - restartedAt;

  const finalStatus = await control.status();
  const received = finalStatus.sync.filter((s) => s.direction === 'receive');
  assert.ok(received.length >= PEERS, `the hub reports receive progress for every peer (${received.length})`);
  assert.ok(finalStatus.store.objects >= PEERS * (ENTRIES + 2), `the hub stored every backlog (${finalStatus.store.objects} objects)`);
  assert.ok(connectedSeen >= PEERS, `all ${PEERS} peers were connected at once (saw ${connectedSeen})`);
  assert.ok(probesDuringSync >= 3, `status was asked while the peers synced (${probesDuringSync} times)`);
  assert.ok(pairingsDuringSync >= 1, `at least one pairing ran while the peers synced (${pairingsDuringSync})`);
  const worst = Math.max(...statusMs, ...inviteMs, ...pairingMs);
  t.diagnostic(
    `${PEERS} peers × ${ENTRIES + 2} objects synced in ${syncMs} ms after the restart; status ${statusMs.length}× (${probesDuringSync} during sync): ` +
      `p50 ${percentile(statusMs, 0.5).toFixed(0)} ms, p95 ${percentile(statusMs, 0.95).toFixed(0)} ms, max ${Math.max(...statusMs).toFixed(0)} ms; ` +
      `invite max ${Math.max(...inviteMs).toFixed(0)} ms; pairing ${pairingMs.map((m) => m.toFixed(0)).join(', ')} ms (${pairingsDuringSync} during sync)`,
  );
  assert.ok(Math.max(...statusMs) <= ANSWER_WITHIN_MS, `status answered within ${ANSWER_WITHIN_MS} ms: ${statusMs.map((m) => m.toFixed(0)).join(',')}`);
  assert.ok(Math.max(...inviteMs) <= ANSWER_WITHIN_MS, `invite answered within ${ANSWER_WITHIN_MS} ms: ${inviteMs.map((m) => m.toFixed(0)).join(',')}`);
  assert.ok(Math.max(...pairingMs) <= ANSWER_WITHIN_MS, `pairing completed within ${ANSWER_WITHIN_MS} ms: ${pairingMs.map((m) => m.toFixed(0)).join(',')}`);
  void worst;
});
