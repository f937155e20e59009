/** Test helpers: identities, peer directories and in-memory instances of the connection layer. */
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { createLocalIdentity, type LocalIdentity } from '../../shared/identity.js';
import { ConnectionsModel } from '../../connections/ConnectionsModel.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import type { Accepted, PairingGate, PeerDecision, PeerDirectory, PeerRef } from '../../connections/Router.js';
import type { Transport } from '../../connections/Transport.js';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import type { SessionOptions } from '../../connections/SecureSession.js';
import { fromBase64url, toHex } from '../../shared/bytes.js';
import type { KeyPair } from '../../shared/crypto/CryptoProvider.js';
import type { EventMap, TypedEmitter } from '../../shared/events.js';

export const crypto = new NativeCrypto();

export async function makeIdentity(name: string): Promise<LocalIdentity> {
  return createLocalIdentity(crypto, { personName: name, instanceName: `${name}-node`, now: Date.now() });
}

export function staticKeyPair(id: LocalIdentity): KeyPair {
  return { publicKey: fromBase64url(id.public.instance.staticKey), secretKey: id.instanceSecrets.staticSecret };
}

export function peerRef(id: LocalIdentity): PeerRef {
  return { instanceId: id.instanceId, personId: id.personId, name: id.public.profile.name, staticKey: fromBase64url(id.public.instance.staticKey) };
}

/** A mutable directory: add, revoke, forget. */
export class TestDirectory implements PeerDirectory {
  private readonly known = new Map<string, PeerRef>();
  private readonly revoked = new Set<string>();
  add(peer: PeerRef): void {
    this.known.set(toHex(peer.staticKey), peer);
  }
  revoke(peer: PeerRef): void {
    this.revoked.add(toHex(peer.staticKey));
  }
  lookup(staticKey: Uint8Array): PeerDecision {
    const key = toHex(staticKey);
    if (this.revoked.has(key)) return { kind: 'revoked' };
    const peer = this.known.get(key);
    return peer ? { kind: 'known', peer } : { kind: 'unknown' };
  }
}

export interface MemoryNode {
  readonly id: LocalIdentity;
  readonly url: string;
  readonly model: ConnectionsModel;
  readonly directory: TestDirectory;
  readonly ref: PeerRef;
  stopListening(): void;
}

export async function memoryNode(
  network: MemoryNetwork,
  name: string,
  opts: { pairing?: PairingGate; session?: SessionOptions; handshakeDeadlineMs?: number; fromAddress?: string } = {},
): Promise<MemoryNode> {
  const id = await makeIdentity(name);
  const directory = new TestDirectory();
  const url = `mem://${name}`;
  const model = new ConnectionsModel({
    crypto,
    staticKeyPair: staticKeyPair(id),
    peers: directory,
    pairing: opts.pairing,
    dial: (u) => network.dial(u, opts.fromAddress),
    session: opts.session,
    handshakeDeadlineMs: opts.handshakeDeadlineMs,
  });
  const stopListening = network.listen(url, (accepted) => void model.accept(accepted));
  return { id, url, model, directory, ref: peerRef(id), stopListening };
}

/** Resolves with the first event `name` of `emitter` matching `filter`, or rejects after `ms`. */
export function nextEvent<E extends EventMap, K extends keyof E & string>(
  emitter: TypedEmitter<E>,
  name: K,
  ms = 5000,
  filter: (p: E[K]) => boolean = () => true,
): Promise<E[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${name}`));
    }, ms);
    const off = emitter.on(name, (p) => {
      if (!filter(p)) return;
      clearTimeout(timer);
      off();
      resolve(p);
    });
  });
}

/** Polls `condition` until true or `ms` elapse (bounded wait for asynchronous effects). */
export async function waitFor(condition: () => boolean | Promise<boolean>, ms = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * An in-memory connection to a listener (`accept`) through a relay that records every message
 * the client sends (copied, in order): for capturing real handshakes to replay or mutate.
 */
export function recordingRelay(accept: (accepted: Accepted) => unknown): { client: Transport; frames: Uint8Array[]; closeServerSide(): void } {
  const [client, relay] = createConnectedPair();
  const [toServer, serverSide] = createConnectedPair();
  const frames: Uint8Array[] = [];
  relay.events.on('message', (m) => {
    frames.push(m.slice());
    toServer.send(m);
  });
  toServer.events.on('message', (m) => relay.send(m));
  void accept({ transport: serverSide, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
  return { client, frames, closeServerSide: () => toServer.close() };
}
