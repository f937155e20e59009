/**
 * How a command reaches its home's node: the owner's control socket when it answers, the home
 * opened in-process when nobody owns it, a bounded wait while an owner is starting, and a
 * refusal when the socket answers for another identity.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { makeTempHome } from '../support/cli.js';
import { acquireHomeLock, createHome, homePaths, wipeLocalIdentity } from '../../cli/home.js';
import { openNode, type NodeContext } from '../../cli/nodeHome.js';
import { ControlServer } from '../../cli/control/ControlServer.js';
import { controlSocketAddress } from '../../cli/control/socketAddress.js';
import type { NodeService } from '../../cli/control/NodeService.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { KithError } from '../../shared/errors.js';

const crypto = new NativeCrypto();
const exists = (p: string) => access(p).then(() => true, () => false);

async function home(t: { after(fn: () => Promise<void>): void }) {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const local = await createHome(tmp.home, { name: 'Alice', instanceName: 'desk', insecurePlaintext: true, crypto, now: Date.now() });
  const instanceId = local.instanceId;
  wipeLocalIdentity(local);
  const ctx: NodeContext = { home: tmp.home, crypto, passphrase: () => Promise.reject(new KithError('PASSPHRASE_REQUIRED')) };
  return { ctx, dir: tmp.home, instanceId };
}

/** Answers hello only (as some instance); enough for a client to decide it reached the owner. */
function helloOnly(instanceId: string): NodeService {
  const unused = () => Promise.reject(new KithError('INTERNAL', 'not in this test'));
  return {
    hello: async () => ({ protocol: 1, instanceId, pid: process.pid }),
    invite: unused, invites: unused, revokeInvite: unused, accept: unused, contacts: unused, revoke: unused, put: unused, get: unused, status: unused,
    ls: async function* () {},
    close: async () => {},
  };
}

test('nobody owns the home: the command opens it itself (dial-only) and releases the lock when done', async (t) => {
  const { ctx, dir } = await home(t);
  const { node, served } = await openNode(ctx);
  assert.equal(served, false);
  assert.ok(await exists(homePaths(dir).lock), 'holds the lock while working');
  const status = await node.status();
  assert.equal(status.running, false);
  assert.equal(status.listening, undefined, 'a self-opened node does not listen');
  await node.close();
  assert.equal(await exists(homePaths(dir).lock), false);
  const again = await acquireHomeLock(dir);
  await again.release();
});

test('an owner that is still starting is waited for; one that never answers ends in HOME_LOCKED', async (t) => {
  const { ctx, dir, instanceId } = await home(t);
  const lock = await acquireHomeLock(dir);
  t.after(() => lock.release());

  const started = Date.now();
  await assert.rejects(openNode(ctx, { ownerWaitMs: 300 }), (err: KithError) => err.code === 'HOME_LOCKED' && /control socket does not answer/.test(err.message));
  assert.ok(Date.now() - started >= 300);

  // The owner's socket comes up while the command waits.
  let server: ControlServer | undefined;
  t.after(() => server?.close() ?? Promise.resolve());
  setTimeout(() => void ControlServer.listen({ address: controlSocketAddress(dir), service: helloOnly(instanceId) }).then((s) => (server = s)), 150);
  const { node, served } = await openNode(ctx, { ownerWaitMs: 5_000 });
  assert.equal(served, true);
  assert.equal((await node.hello()).instanceId, instanceId);
  await node.close();
});

test('a socket answering for another identity is refused; a missing home fails before any lock', async (t) => {
  const { ctx, dir } = await home(t);
  const lock = await acquireHomeLock(dir);
  t.after(() => lock.release());
  const server = await ControlServer.listen({ address: controlSocketAddress(dir), service: helloOnly('0'.repeat(64)) });
  t.after(() => server.close());
  await assert.rejects(openNode(ctx), (err: KithError) => err.code === 'INTERNAL' && /another identity/.test(err.message));

  const empty = await makeTempHome();
  t.after(empty.cleanup);
  await assert.rejects(openNode({ ...ctx, home: empty.home }), { code: 'HOME_NOT_FOUND' });
  assert.equal(await exists(empty.home), false);
});
