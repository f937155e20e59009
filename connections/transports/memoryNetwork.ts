/**
 * An in-memory "network" of listeners for integration tests and single-process demos:
 * `listen(url, accept)` registers a listener, and `dial(url)` creates a connected memory
 * pair, hands one end to the listener and returns the other. Unknown URLs fail like an
 * unreachable host.
 */
import type { Transport } from '../Transport.js';
import type { Accepted } from '../Router.js';
import { createConnectedPair, type ConnectedPairOptions } from './memoryTransport.js';
import { KithError } from '../../shared/errors.js';

export class MemoryNetwork {
  private readonly listeners = new Map<string, (accepted: Accepted) => void>();

  constructor(private readonly pairOptions: ConnectedPairOptions = {}) {}

  /** Registers a listener at `url`; returns the function that removes it. */
  listen(url: string, accept: (accepted: Accepted) => void): () => void {
    if (this.listeners.has(url)) throw new KithError('ALREADY_EXISTS', `something already listens at ${url}`);
    this.listeners.set(url, accept);
    return () => this.listeners.delete(url);
  }

  /** Connects to the listener at `url`, as if from `fromAddress`. */
  async dial(url: string, fromAddress = '127.0.0.1'): Promise<Transport> {
    const accept = this.listeners.get(url);
    if (!accept) throw new KithError('UNREACHABLE', `nothing listens at ${url}`);
    const [client, server] = createConnectedPair(this.pairOptions);
    accept({ transport: server, remoteAddress: fromAddress, acceptedAt: Date.now() });
    return client;
  }
}
