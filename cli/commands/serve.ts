/**
 * `kith serve [--listen HOST:PORT]`: runs this home's node until SIGINT/SIGTERM. It owns the
 * home (the lock), listens for peers (loopback unless told otherwise), keeps its contacts
 * connected and in sync, and answers the other `kith` commands on the control socket.
 * Prints `{ "listening": "ws://…" }` once everything is up, then one line per notable event.
 * On a signal it closes the control socket (removing its file), the node and the lock, and exits 0.
 */
import { isIP } from 'node:net';
import { defineCommand, parseIntegerArg, UsageError } from '../args.js';
import { acquireHomeLock, loadPublicIdentity, readKeyProtection, unlockHome, wipeLocalIdentity, PLAINTEXT_KEYS_WARNING } from '../home.js';
import { formatFields } from '../output.js';
import { controlSocketAddress } from '../control/socketAddress.js';

/** Where to listen. */
export interface ListenAddress {
  readonly host: string;
  readonly port: number;
  /** True for 127.0.0.0/8, ::1 and localhost: nothing outside this machine can connect. */
  readonly loopback: boolean;
}

/**
 * `HOST:PORT` with an IPv4 address, `[IPv6]:PORT`, or `localhost:PORT`. Wildcards (0.0.0.0,
 * ::) are refused: an invitation must name an address peers can dial, and a wildcard is none.
 */
export function parseListenArg(value: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(value);
  if (!m) throw new UsageError('--listen: expected HOST:PORT (IPv6 as [ADDRESS]:PORT)', 'serve');
  const host = (m[1] ?? m[2])!;
  const port = parseIntegerArg(m[3]!, '--listen port', { min: 0, max: 65_535 });
  const family = isIP(host);
  if (host !== 'localhost' && family === 0) throw new UsageError('--listen: the host must be an IP address or localhost', 'serve');
  if (m[1] !== undefined && family !== 6) throw new UsageError('--listen: brackets are for IPv6 addresses', 'serve');
  if (host === '0.0.0.0' || /^[0:]+$/.test(host)) {
    throw new UsageError('--listen: bind one address, not every interface (invitations must name an address other devices can reach)', 'serve');
  }
  const loopback = host === 'localhost' || (family === 4 && host.startsWith('127.')) || (family === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(host));
  return { host, port, loopback };
}

export const serve = defineCommand({
  summary: 'run this node until stopped: listen for peers, sync, answer other kith commands',
  usage: 'kith serve [--listen HOST:PORT]',
  details: [
    'Options:',
    '  --listen HOST:PORT  where peers connect (default 127.0.0.1:0: this machine only, any free port);',
    '                      another address makes the node reachable from the network',
    '',
    'Prints {"listening":"ws://…"} when ready, then one line per event (pairing, connections,',
    'sync progress). Stop with Ctrl-C or SIGTERM. The passphrase comes from KITH_PASSPHRASE or a prompt.',
  ].join('\n'),
  options: { listen: { type: 'string' } },
  longRunning: true,
  async run(ctx) {
    const listen = parseListenArg(ctx.values.listen ?? '127.0.0.1:0');
    const address = controlSocketAddress(ctx.home);
    const warnings: string[] = [];
    await loadPublicIdentity(ctx.home, ctx.crypto);
    const lock = await acquireHomeLock(ctx.home);
    // A crash must not leave the lock behind (a stale lock is taken over, but cleanly is better).
    const onExit = () => lock.releaseSync();
    process.once('exit', onExit);
    try {
      if ((await readKeyProtection(ctx.home)) === 'insecure-plaintext') {
        ctx.out.warn(PLAINTEXT_KEYS_WARNING);
        warnings.push(PLAINTEXT_KEYS_WARNING);
      }
      if (!listen.loopback) {
        const warning = `listening on ${listen.host}, which other machines can reach: anyone on that network can try to connect (pairing and sync still need an invitation or a known key)`;
        ctx.out.warn(warning);
        warnings.push(warning);
      }
      await runNode(ctx, listen, address, warnings);
    } finally {
      await lock.release();
      process.off('exit', onExit);
    }
  },
});

type ServeContext = Parameters<typeof serve.run>[0];

async function runNode(ctx: ServeContext, listen: ListenAddress, address: ReturnType<typeof controlSocketAddress>, warnings: string[]): Promise<void> {
  // Loaded here so that `kith --help` and the small commands do not pay for the whole node.
  const [{ openNodeInstance }, { ControlServer }, { LocalNodeService }, { printServeEvents }, { writeServeRecord }] = await Promise.all([
    import('../../instance/node/openNodeInstance.js'),
    import('../control/ControlServer.js'),
    import('../control/LocalNodeService.js'),
    import('../serveEvents.js'),
    import('../serveRecord.js'),
  ]);
  const identity = await unlockHome(ctx.home, { crypto: ctx.crypto, passphrase: () => ctx.passphrase({ confirm: false }) });
  try {
    if (ctx.signal.aborted) return;
    const { instance } = await openNodeInstance({ home: ctx.home, identity, crypto: ctx.crypto, listen: { host: listen.host, port: listen.port } });
    let stopEvents: (() => void) | undefined;
    let control: Awaited<ReturnType<typeof ControlServer.listen>> | undefined;
    try {
      const url = instance.url!;
      const service = new LocalNodeService({ instance, serving: true, pid: process.pid });
      control = await ControlServer.listen({ address, service });
      await writeServeRecord(ctx.home, { url, pid: process.pid, startedAt: new Date(ctx.now()).toISOString() });
      const me = instance.whoami();
      ctx.out.result(
        { listening: url, personId: me.personId, instanceId: me.instanceId, name: me.name, controlSocket: address.path, ...(warnings.length ? { warning: warnings.join('; ') } : {}) },
        [
          `Listening on ${url}`,
          formatFields([
            ['name', me.name],
            ['person', me.personId],
            ['instance', me.instanceId],
            ['control socket', address.path],
          ]),
          'Other kith commands on this home now go through this process. Stop it with Ctrl-C.',
        ].join('\n'),
      );
      stopEvents = printServeEvents(instance.events, ctx.out, { now: ctx.now });
      await new Promise<void>((resolve) => {
        if (ctx.signal.aborted) return resolve();
        ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      });
    } finally {
      stopEvents?.();
      await control?.close();
      await instance.close();
    }
    const reason = ctx.signal.reason;
    ctx.out.result({ event: 'stopped', ...(typeof reason === 'string' ? { signal: reason } : {}) }, `stopped${typeof reason === 'string' ? ` (${reason})` : ''}`);
  } finally {
    wipeLocalIdentity(identity);
  }
}
