/**
 * How a `kith` command reaches the node of its home (DESIGN §9): if a process owns the home
 * (`kith serve`), through its control socket; if nobody does, by taking the home lock,
 * unlocking the keys and opening the instance itself — dial-only, for the length of the
 * command — then closing everything and releasing the lock.
 *
 * A home can be locked while its socket does not answer yet (the owner is still unlocking
 * its keys or opening its store): commands then retry for CONTROL_OWNER_WAIT_MS before they
 * give up with HOME_LOCKED.
 */
import type { CommandContext } from './args.js';
import { acquireHomeLock, loadPublicIdentity, unlockHome, wipeLocalIdentity, type HomeLock } from './home.js';
import { readServeRecord } from './serveRecord.js';
import { ControlClient } from './control/ControlClient.js';
import { LocalNodeService } from './control/LocalNodeService.js';
import { controlSocketAddress, type ControlSocketAddress } from './control/socketAddress.js';
import type { NodeService } from './control/NodeService.js';
import { KithError, hasCode } from '../shared/errors.js';
import { CONTROL_OWNER_RETRY_MS, CONTROL_OWNER_WAIT_MS } from '../shared/limits.js';

/** What of the command context reaching a node needs. */
export type NodeContext = Pick<CommandContext, 'home' | 'crypto' | 'passphrase'>;

export interface OpenNodeOptions {
  /** Advertise where `kith serve` last listened (invite). Otherwise a self-opened node advertises nothing (it is dial-only). */
  readonly advertiseLastListen?: boolean;
  /** Overrides CONTROL_OWNER_WAIT_MS (tests). */
  readonly ownerWaitMs?: number;
}

/** The node and how it was reached. */
export interface ReachedNode {
  readonly node: NodeService;
  /** True when a serving process answered; false when this command opened the home itself. */
  readonly served: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reaches the home's node: its owner if there is one, else the home opened here. The caller must `node.close()`. */
export async function openNode(ctx: NodeContext, options: OpenNodeOptions = {}): Promise<ReachedNode> {
  // First, and without a passphrase: a home that does not exist is the most likely mistake.
  const identity = await loadPublicIdentity(ctx.home, ctx.crypto);
  let address: ControlSocketAddress | undefined;
  try {
    address = controlSocketAddress(ctx.home);
  } catch {
    address = undefined; // a home too deep for a socket path can have no owner listening either
  }
  const deadline = Date.now() + (options.ownerWaitMs ?? CONTROL_OWNER_WAIT_MS);
  for (;;) {
    const client = address ? await ControlClient.connect(address) : undefined;
    if (client) {
      const hello = await client.hello();
      if (hello.instanceId !== identity.instanceId) {
        await client.close();
        throw new KithError('INTERNAL', `the process answering on ${address!.path} runs another identity than this home`);
      }
      return { node: client, served: true };
    }
    let lock: HomeLock;
    try {
      lock = await acquireHomeLock(ctx.home);
    } catch (err) {
      if (!hasCode(err, 'HOME_LOCKED')) throw err;
      if (Date.now() >= deadline) throw new KithError('HOME_LOCKED', `${(err as Error).message}, and its control socket does not answer`);
      await sleep(CONTROL_OWNER_RETRY_MS);
      continue;
    }
    return { node: await openHere(ctx, lock, options), served: false };
  }
}

/** Runs `fn` with the home's node and closes it afterwards, whatever happens. */
export async function withNode<T>(ctx: NodeContext, fn: (reached: ReachedNode) => Promise<T>, options: OpenNodeOptions = {}): Promise<T> {
  const reached = await openNode(ctx, options);
  try {
    return await fn(reached);
  } finally {
    await reached.node.close();
  }
}

async function openHere(ctx: NodeContext, lock: HomeLock, options: OpenNodeOptions): Promise<NodeService> {
  // Should the process die mid-command, the lock must not outlive it (a stale lock is taken over, but a clean exit is better).
  const onExit = () => lock.releaseSync();
  process.once('exit', onExit);
  let identity: Awaited<ReturnType<typeof unlockHome>> | undefined;
  try {
    identity = await unlockHome(ctx.home, { crypto: ctx.crypto, passphrase: () => ctx.passphrase({ confirm: false }) });
    const last = options.advertiseLastListen ? await readServeRecord(ctx.home) : undefined;
    // Imported here: commands that reach a serving node never load the instance code.
    const { openNodeInstance } = await import('../instance/node/openNodeInstance.js');
    const { instance } = await openNodeInstance({ home: ctx.home, identity, crypto: ctx.crypto, endpoints: last ? [last.url] : undefined, dial: false });
    const opened = identity;
    return new LocalNodeService({
      instance,
      serving: false,
      pid: process.pid,
      inviteWarning: last
        ? `this node is not running: the invitation names ${last.url}, where \`kith serve\` last listened; it works only while \`kith serve --listen\` runs on that address`
        : undefined,
      onClose: async () => {
        try {
          await instance.close();
        } finally {
          wipeLocalIdentity(opened);
          await lock.release();
          process.off('exit', onExit);
        }
      },
    });
  } catch (err) {
    if (identity) wipeLocalIdentity(identity);
    await lock.release();
    process.off('exit', onExit);
    throw err;
  }
}
