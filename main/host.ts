/**
 * The app host (DESIGN §8): everything the desktop app's main process does, in plain Node,
 * so `npm start` (Node) and Electron run the same code. It owns the home (the lock), creates
 * main's identity on first start (person `node-<name>`), unlocks its keys, opens the main
 * instance with its one listener, serves the built renderer from that listener's origin,
 * allows exactly that origin to open Kith sockets, creates this run's `renderer` invitation,
 * and answers `kith --home DIR …` commands on the control socket, as `kith serve` does.
 *
 * Listening port: with port 0 the host first tries the port it had last time (state/serve.json).
 * The renderer's identity lives in the browser's storage *for the app's origin*, and paired
 * devices dial main's address: a new port every start would orphan both.
 */
import * as os from 'node:os';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { NativeCrypto } from '../shared/crypto/nativeCrypto.js';
import type { LocalIdentity } from '../shared/identity.js';
import type { Instance } from '../instance/Instance.js';
import type { CreatedInvite } from '../pairing/InvitationRegistry.js';
import type { InviteId } from '../shared/ids.js';
import { KithError, hasCode } from '../shared/errors.js';
import { MAX_NAME_LENGTH, RENDERER_INVITE_TTL_SECONDS } from '../shared/limits.js';
import {
  acquireHomeLock, createHome, homeExists, homePaths, loadPublicIdentity, readKeyProtection, unlockHome, wipeLocalIdentity,
  PLAINTEXT_KEYS_WARNING, type HomeLock,
} from '../cli/home.js';
import type { KeyProtection } from '../shared/keyfile.js';
import { parseNameArg } from '../cli/args.js';
import type { ListenAddress } from '../cli/commands/serve.js';
import { controlSocketAddress } from '../cli/control/socketAddress.js';
import { ControlServer } from '../cli/control/ControlServer.js';
import { LocalNodeService } from '../cli/control/LocalNodeService.js';
import { readServeRecord, writeServeRecord } from '../cli/serveRecord.js';
import { openNodeInstance, type NodeInstance } from '../instance/node/openNodeInstance.js';
import type { KeyProtector } from './keyProtector.js';
import { loadRendererFiles, rendererHandler, type RendererFiles } from './rendererServer.js';
import { appOrigin, appUrl } from './appUrl.js';

/** Where the renderer's files come from: a finished build (packaged app), or a build made now (development). */
export type RendererSource = { readonly dir: string } | { readonly build: (outDir: string) => Promise<void> };

export interface HostOptions {
  /** The home directory (absolute). Created on first start. */
  readonly home: string;
  /** Where the listener binds; a non-loopback address is the explicit LAN choice. */
  readonly listen: ListenAddress;
  /** The person's name for a new home (main becomes `node-<name>`); default the OS user name. Ignored for an existing home. */
  readonly name?: string;
  /** Supplies the secret that protects the keys. */
  readonly keys: KeyProtector;
  readonly renderer: RendererSource;
  /** Lifetime of this run's renderer invitation (tests shorten it); default RENDERER_INVITE_TTL_SECONDS. */
  readonly rendererInviteTtlSeconds?: number;
  readonly crypto?: CryptoProvider;
  /** Wall clock in ms (certificates, invitation expiry). */
  readonly now?: () => number;
  /** The OS user name, for the default person name (injected in tests). */
  readonly osUserName?: () => string;
  /** The pid recorded in the lock and reported on the control socket. */
  readonly pid?: number;
}

export interface AppHost {
  readonly home: string;
  /** `http://HOST:PORT`: where the renderer is served and the only origin allowed to open Kith sockets. */
  readonly origin: string;
  /** `origin/#invite=…`: opening it pairs a browser profile with this main (Node host handoff, contract 2). */
  readonly appUrl: string;
  /** The listener's WebSocket URL. */
  readonly listening: string;
  /** True when bound to an address other machines can reach (the explicit LAN choice). */
  readonly lan: boolean;
  /** The control socket `kith --home DIR …` reaches. */
  readonly controlSocket: string;
  /** True when this start created the home's identity. */
  readonly created: boolean;
  /** How the key file is protected. */
  readonly keyProtection: KeyProtection;
  /** Things a person should be told on start (plaintext keys, LAN binding, a moved port). */
  readonly warnings: readonly string[];
  readonly instance: Instance;
  /** The renderer invitation's link while it can still be redeemed, else null (Electron hands it over IPC on request). */
  pendingRendererInvite(): string | null;
  /** A `contact` invitation for pairing another device (the terminal QR code). Revoked again on close if still open. */
  createContactInvite(ttlSeconds?: number): Promise<CreatedInvite>;
  /** Closes the control socket, the instance and the lock; revokes this run's invitations still open. Idempotent. */
  close(): Promise<void>;
}

/** A name as the OS knows the user; the caller validates it. */
function defaultOsUserName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? '';
  }
}

/** The host name when it is a valid instance name, else "app". */
function instanceNameFor(): string {
  try {
    return parseNameArg(`app on ${os.hostname()}`.slice(0, MAX_NAME_LENGTH).trim(), 'hostname');
  } catch {
    return 'app';
  }
}

/** main's person name: `node-<name>`, validated as a display name. */
export function mainPersonName(name: string | undefined, osUserName: () => string): string {
  const given = name ?? osUserName();
  const option = name === undefined ? 'OS user name (pass --name NAME)' : '--name';
  if (given === '') throw new KithError('USAGE', `${option}: empty; pass --name NAME`);
  return parseNameArg(`node-${parseNameArg(given, option)}`, option);
}

async function buildFiles(source: RendererSource): Promise<RendererFiles> {
  if ('dir' in source) return loadRendererFiles(source.dir);
  // A fresh directory per start: two hosts (two homes) may build at the same moment. The files are served from memory, so it goes right away.
  const dir = await mkdtemp(`${os.tmpdir()}/kith-renderer-`);
  try {
    await source.build(dir);
    return await loadRendererFiles(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The port used last time on this host address, if any (state/serve.json). */
async function previousPort(home: string, listen: ListenAddress): Promise<number | undefined> {
  const record = await readServeRecord(home).catch(() => undefined);
  if (!record) return undefined;
  try {
    const url = new URL(record.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port);
    return host === listen.host && Number.isSafeInteger(port) && port > 0 ? port : undefined;
  } catch {
    return undefined;
  }
}

export async function startHost(opts: HostOptions): Promise<AppHost> {
  const crypto = opts.crypto ?? new NativeCrypto();
  const now = opts.now ?? Date.now;
  const pid = opts.pid ?? process.pid;
  const home = homePaths(opts.home).root;
  const address = controlSocketAddress(home); // fails early for a home too deep for a socket path
  const warnings: string[] = [];
  const files = await buildFiles(opts.renderer);

  let identity: LocalIdentity | undefined;
  let created = false;
  if (!(await homeExists(home))) {
    const personName = mainPersonName(opts.name, opts.osUserName ?? defaultOsUserName);
    const secret = await opts.keys.newHome(home);
    try {
      identity = await createHome(home, { name: personName, instanceName: instanceNameFor(), crypto, now: now(), ...secret });
      created = true;
    } catch (err) {
      // Another process created it a moment ago: then it is an existing home like any other.
      if (!hasCode(err, 'HOME_EXISTS')) throw err;
    }
  }

  let lock: HomeLock | undefined;
  let node: NodeInstance | undefined;
  let control: ControlServer | undefined;
  const onExit = () => lock?.releaseSync();
  try {
    const publicIdentity = await loadPublicIdentity(home, crypto);
    lock = await acquireHomeLock(home, { pid });
    process.once('exit', onExit);
    if (!created && opts.name !== undefined && publicIdentity.identity.profile.name !== `node-${opts.name}`) {
      warnings.push(`--name is used only when the home is created; this home's main instance is ${publicIdentity.identity.profile.name}`);
    }
    identity ??= await unlockHome(home, { crypto, passphrase: () => opts.keys.unlock(home) });
    const keyProtection = await readKeyProtection(home);
    if (keyProtection === 'insecure-plaintext') warnings.push(PLAINTEXT_KEYS_WARNING);
    if (!opts.listen.loopback) {
      warnings.push(`listening on ${opts.listen.host} as you asked (--listen): other machines on that network can reach the app and try to pair; pairing still needs an invitation`);
    }

    // The handler needs the origin, which needs the port: requests that arrive in between get 503.
    let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => void res.writeHead(503).end();
    const open = (port: number) =>
      openNodeInstance({
        home,
        identity: identity!,
        crypto,
        now,
        // In LAN mode the app's page is still served on loopback, the only secure context it can get.
        listen: { host: opts.listen.host, port, alsoLoopback: !opts.listen.loopback },
        httpHandler: (req, res) => handle(req, res),
      });
    const wanted = opts.listen.port || (await previousPort(home, opts.listen));
    try {
      node = await open(wanted ?? 0);
    } catch (err) {
      if (opts.listen.port !== 0 || wanted === undefined || !hasCode(err, 'UNREACHABLE')) throw err;
      node = await open(0);
      warnings.push(`port ${wanted} is taken, so the app moved to another port: open the new link; the browser will pair again as a new device`);
    }
    const { instance, listener } = node;
    if (!listener) throw new KithError('INTERNAL', 'the main instance did not start its listener');
    const origin = appOrigin(opts.listen.loopback ? listener.host : '127.0.0.1', listener.port);
    listener.policy.allowOrigin(origin);
    handle = rendererHandler(files, origin);
    await writeServeRecord(home, { url: listener.url, pid, startedAt: new Date(now()).toISOString() });

    // Renderer invitations of earlier runs that nobody redeemed point at a page that is gone.
    for (const inv of instance.invites()) {
      if (inv.purpose === 'renderer' && inv.status === 'open') await instance.revokeInvite(inv.inviteId);
    }
    const rendererInvite = await instance.invite({ purpose: 'renderer', ttlSeconds: opts.rendererInviteTtlSeconds ?? RENDERER_INVITE_TTL_SECONDS });
    const ours = new Set<InviteId>([rendererInvite.inviteId]);
    control = await ControlServer.listen({ address, service: new LocalNodeService({ instance, serving: true, pid }) });

    const isOpen = (id: InviteId) => instance.invites().some((i) => i.inviteId === id && i.status === 'open');
    const heldLock = lock;
    const heldControl = control;
    const heldIdentity = identity;
    let closing: Promise<void> | undefined;
    return {
      home,
      origin,
      appUrl: appUrl(origin, rendererInvite.link),
      listening: listener.url,
      lan: !opts.listen.loopback,
      controlSocket: address.path,
      created,
      keyProtection,
      warnings,
      instance,
      pendingRendererInvite: () => (isOpen(rendererInvite.inviteId) ? rendererInvite.link : null),
      async createContactInvite(ttlSeconds) {
        const invite = await instance.invite({ purpose: 'contact', ttlSeconds });
        ours.add(invite.inviteId);
        return invite;
      },
      close() {
        closing ??= (async () => {
          try {
            // An invitation of this run is useless once the app is gone (nobody listens there): take it back.
            for (const id of ours) if (isOpen(id)) await instance.revokeInvite(id).catch(() => {});
            await heldControl.close();
            await instance.close();
          } finally {
            wipeLocalIdentity(heldIdentity);
            await heldLock.release();
            process.off('exit', onExit);
          }
        })();
        return closing;
      },
    };
  } catch (err) {
    await control?.close().catch(() => {});
    await node?.instance.close().catch(() => {});
    if (identity) wipeLocalIdentity(identity);
    await lock?.release();
    process.off('exit', onExit);
    throw err;
  }
}
