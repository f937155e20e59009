/**
 * Crash consistency of a whole node: `kith serve` (B) receives a large sync (signed objects
 * and multi-megabyte blobs) from an in-process node (A) and is killed with SIGKILL at random
 * points — during startup, mid-batch, mid-blob, while its control socket creates and
 * revokes invitations (each a durable write of the pairing document). After every kill:
 *
 * - the store reopens, and a full audit passes: every entry re-hashes to its name, every
 *   object describes and verifies (signatures, certificates, rights), no reference dangles;
 * - the pairing document (invitation registry + contacts) and the sync marks parse with
 *   their validators: never half-written;
 * - the sync mark never runs ahead of the store: every object of A at or below B's mark
 *   that B may receive is stored (an acknowledged batch is never lost).
 *
 * Then B restarts and the sync goes on; after the last round it completes with every
 * object and chunk A shared. 5 rounds in `npm test`, 50 with KITH_STRESS.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wsInstance, type WsInstance } from '../support/wsInstance.js';
import { makeTempHome, runCli } from '../support/cli.js';
import { startServe, type ServeProcess } from '../support/serveProcess.js';
import { auditStore } from '../support/storeAudit.js';
import { crypto } from '../support/peers.js';
import { STRESS } from '../support/arbitraries.js';
import { homePaths } from '../../cli/home.js';
import { controlSocketAddress } from '../../cli/control/socketAddress.js';
import { ControlClient } from '../../cli/control/ControlClient.js';
import { openFileStore } from '../../chum/stores/fileStore.js';
import { parsePairingDocument } from '../../pairing/records.js';
import { parseMarksDocument } from '../../chum/sync/marks.js';
import type { InviteId, ObjectHash, PersonId } from '../../shared/ids.js';
import type { SyncProgress } from '../../chum/sync/context.js';

const ROUNDS = STRESS ? 50 : 5;
/** A's backlog before the first start, and what it adds before each restart. */
const INITIAL = { entries: STRESS ? 3000 : 1500, blobs: 2 };
const PER_ROUND = { entries: STRESS ? 600 : 400, blobs: 1 };
const BLOB_BYTES = [1_500_000, 4_500_000] as const;

interface Expected {
  readonly objects: Set<ObjectHash>;
  readonly chunks: Set<ObjectHash>;
}

/** Adds entries and blobs to A's channel shared with B; records what B must end up with. */
async function grow(a: WsInstance, channel: ObjectHash, amount: { entries: number; blobs: number }, expected: Expected, round: number): Promise<void> {
  const chum = a.instance.chum;
  for (let i = 0; i < amount.blobs; i++) {
    const size = BLOB_BYTES[0] + Math.floor(Math.random() * (BLOB_BYTES[1] - BLOB_BYTES[0]));
    const { manifest } = await chum.putBlob(randomBytes(size));
    expected.objects.add(manifest);
    const m = (await chum.getObject(manifest)) as unknown as { chunks: ObjectHash[] };
    for (const c of m.chunks) expected.chunks.add(c);
    expected.objects.add(await chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), file: { manifest, name: `r${round}-${i}.bin`, size } }));
  }
  for (let i = 0; i < amount.entries; i++) {
    expected.objects.add(await chum.putSigned({ $type: 'ChannelEntry', channel, hlc: chum.clock.now(), text: `round ${round} entry ${i} ${'x'.repeat(i % 200)}` }));
  }
}

/** Creates and revokes invitations on B's control socket until stopped: durable pairing-document writes for the kill to land in. */
function churnInvites(home: string): { stop(): Promise<number> } {
  let running = true;
  let writes = 0;
  const done = (async () => {
    const client = await ControlClient.connect(controlSocketAddress(home), { timeoutMs: 5_000 }).catch(() => undefined);
    if (!client) return;
    try {
      while (running) {
        const inv = await client.invite({ ttlSeconds: 60 });
        writes++;
        await client.revokeInvite(inv.inviteId as InviteId);
        writes++;
      }
    } catch {
      // The process was killed under the request: expected.
    } finally {
      await client.close().catch(() => {});
    }
  })();
  return {
    async stop() {
      running = false;
      await done;
      return writes;
    },
  };
}

interface Damage {
  /** Bytes cut from torn log tails when the store reopened. */
  droppedIndexBytes: number;
  droppedDataBytes: number;
  /** Temporary files a killed write left in state/. */
  strayTempFiles: number;
}

/** Checks B's home after a kill; returns what was repaired. */
async function checkHome(home: string, a: WsInstance, bPerson: PersonId, bInstance: string): Promise<Damage & { stored: number }> {
  const paths = homePaths(home);
  const stateFiles = await readdir(paths.state);
  const pairingText = await readFile(join(paths.state, 'pairing.json'), 'utf8');
  const pairing = parsePairingDocument(JSON.parse(pairingText));
  assert.equal(pairing.contacts.length, 1, 'the contact survived');
  assert.equal(pairing.contacts[0]!.instances[0]!.instanceId, a.identity.instanceId);
  let markSeq = 0;
  if (stateFiles.includes('marks.json')) {
    const marks = parseMarksDocument(JSON.parse(await readFile(join(paths.state, 'marks.json'), 'utf8')));
    const mine = marks.marks.find((m) => m.peer === a.identity.instanceId);
    if (mine && mine.epoch === a.store.epoch) markSeq = mine.seq;
  }
  const store = await openFileStore({ crypto, dir: paths.store });
  try {
    const audit = await auditStore(crypto, store);
    // The mark never runs ahead of what is stored: everything of A at or below it that B may see is here.
    const access = a.instance.chum.access;
    for (let after = 0; after < markSeq; ) {
      const page = a.store.since(after, 1000);
      if (page.length === 0) break;
      for (const meta of page) {
        if (meta.seq > markSeq) break;
        if (meta.kind === 'object' && meta.author !== bInstance && access.mayReceive(bPerson, meta.hash)) {
          assert.ok(store.has(meta.hash), `B's mark is at ${markSeq}, but A's seq ${meta.seq} (${meta.type}) is not stored`);
        }
      }
      after = page.at(-1)!.seq;
    }
    return {
      stored: audit.objects,
      droppedIndexBytes: store.recovery.droppedIndexBytes,
      droppedDataBytes: store.recovery.droppedDataBytes,
      strayTempFiles: stateFiles.filter((f) => f.endsWith('.tmp')).length,
    };
  } finally {
    await store.close();
  }
}

/** Resolves once A has sent B at least `objects` objects in the current session, or after `ms`. */
function sentAtLeast(a: WsInstance, bInstance: string, objects: number, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    const off = a.instance.events.on('sync:progress', (p: SyncProgress) => {
      if (p.direction === 'send' && p.peer.instanceId === bInstance && p.objectsDone >= objects) finish();
    });
    function finish() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

test(`kith serve killed with SIGKILL ${ROUNDS} times during a large sync: every restart finds a verified store and whole state files, and the sync completes`, { timeout: (STRESS ? 40 : 25) * 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-crash-'));
  const tmpB = await makeTempHome();
  const a = await wsInstance('a', { host: '127.0.0.40', storeDir: join(dir, 'a-store'), stateDir: join(dir, 'a-state') });
  let serve: ServeProcess | undefined;
  t.after(async () => {
    await serve?.stop('SIGKILL').catch(() => {});
    await a.close();
    await tmpB.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  const init = await runCli(['init', '--name', 'Bob', '--insecure-plaintext-keys', '--json'], { home: tmpB.home });
  assert.equal(init.code, 0, init.stderr);
  const bob = init.lines[0] as { personId: PersonId; instanceId: string };
  const serveArgs = { args: ['--listen', '127.0.0.41:0'] };

  // Pair while serving, through B's control socket, then stop B cleanly.
  serve = await startServe(tmpB.home, serveArgs);
  const control = await ControlClient.connect(controlSocketAddress(tmpB.home), { timeoutMs: 10_000 });
  assert.ok(control);
  await control.accept((await a.instance.invite()).link);
  await control.close();
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });

  const channel = await a.instance.chum.createId('Channel', 'to bob');
  const expected: Expected = { objects: new Set([channel]), chunks: new Set() };
  expected.objects.add(await a.instance.chum.grant({ ids: [channel], persons: [bob.personId] }));
  await grow(a, channel, INITIAL, expected, 0);

  const damage: Damage = { droppedIndexBytes: 0, droppedDataBytes: 0, strayTempFiles: 0 };
  const kills: string[] = [];
  let pairingWrites = 0;
  let tornTails = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    serve = await startServe(tmpB.home, serveArgs);
    const churn = churnInvites(tmpB.home);
    // Half the kills land at a random moment after start (handshake, first batches, state
    // writes), half once A has streamed a random share of the backlog (mid-sync).
    if (Math.random() < 0.5) {
      const ms = Math.floor(Math.random() * 1200);
      await new Promise((resolve) => setTimeout(resolve, ms));
      kills.push(`t+${ms}ms`);
    } else {
      const objects = Math.floor(Math.random() * (round === 1 ? INITIAL.entries : PER_ROUND.entries));
      await sentAtLeast(a, bob.instanceId, objects, 5_000);
      kills.push(`sent≥${objects}`);
    }
    const exit = await serve.stop('SIGKILL');
    assert.equal(exit.signal, 'SIGKILL', `round ${round}: killed, not exited (${JSON.stringify(exit)}): ${serve.stderr()}`);
    pairingWrites += await churn.stop();
    const found = await checkHome(tmpB.home, a, bob.personId, bob.instanceId);
    if (found.droppedIndexBytes + found.droppedDataBytes > 0) tornTails++;
    damage.droppedIndexBytes += found.droppedIndexBytes;
    damage.droppedDataBytes += found.droppedDataBytes;
    damage.strayTempFiles = Math.max(damage.strayTempFiles, found.strayTempFiles);
    await grow(a, channel, PER_ROUND, expected, round);
  }

  // The last start runs until A has streamed everything and B has acknowledged it.
  serve = await startServe(tmpB.home, serveArgs);
  const caughtUp = new Promise<void>((resolve) => {
    const off = a.instance.events.on('sync:progress', (p: SyncProgress) => {
      if (p.direction === 'send' && p.peer.instanceId === bob.instanceId && p.caughtUp) {
        off();
        resolve();
      }
    });
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([caughtUp, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`sync did not complete; ${serve?.stderr()}`)), 120_000)))]);
  clearTimeout(timer);
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
  const paths = homePaths(tmpB.home);
  // Writes cut off by a kill leave temporary files; the next start removes them (DurableJsonFile).
  assert.deepEqual((await readdir(paths.state)).filter((f) => f.endsWith('.tmp')), [], 'no temporary state file is left after a clean run');
  const store = await openFileStore({ crypto, dir: paths.store });
  try {
    const audit = await auditStore(crypto, store);
    const missing = [...expected.objects, ...expected.chunks].filter((h) => !store.has(h));
    assert.deepEqual(missing, [], 'B holds every object and chunk A shared');
    t.diagnostic(
      `${ROUNDS} kills (${kills.join(', ')}); ${pairingWrites} pairing-document writes under way across the rounds; ` +
        `torn store tails repaired on ${tornTails} reopen(s) (${damage.droppedIndexBytes} index + ${damage.droppedDataBytes} data bytes cut); ` +
        `up to ${damage.strayTempFiles} stray temp file(s) in state/ right after a kill (removed by the next start); final store: ${audit.objects} objects, ${audit.chunks} chunks, ${(audit.bytes / 1048576).toFixed(1)} MiB`,
    );
  } finally {
    await store.close();
  }
});
