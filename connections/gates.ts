/**
 * HTTP-level gates of the listener, checked on every upgrade before any cryptography
 * (STYLE: accepted → Host/Origin ok → handshake ok → identity known).
 *
 * - Host: an allowlist of `name:port` (the bound address, localhost, 127.0.0.1, [::1], plus
 *   configured LAN names). Comparing Origin to Host does not stop DNS rebinding; an
 *   allowlist does (notes: pairing-security, "Local listener").
 * - Origin: absent (non-browser clients) or exactly one of the configured origins. A web page
 *   on another origin cannot open a socket to us.
 * - Attempts per remote address per minute, and a cap on handshakes in progress.
 */
import { KithError } from '../shared/errors.js';

export interface HostPolicyOptions {
  /** The address the listener is bound to. */
  readonly boundHost: string;
  readonly port: number;
  /** Extra host names for LAN use ("laptop.local", "192.168.1.20"). */
  readonly extraHosts?: readonly string[];
  /** Exact origins allowed to connect from a browser ("http://127.0.0.1:4100"). */
  readonly allowedOrigins?: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export class HostOriginPolicy {
  private readonly hosts: Set<string>;
  private readonly origins: Set<string>;

  constructor(opts: HostPolicyOptions) {
    const bound = opts.boundHost.includes(':') && !opts.boundHost.startsWith('[') ? `[${opts.boundHost}]` : opts.boundHost;
    const names = [bound, ...LOOPBACK_NAMES, ...(opts.extraHosts ?? [])];
    this.hosts = new Set(names.map((n) => `${n.toLowerCase()}:${opts.port}`));
    this.origins = new Set(opts.allowedOrigins ?? []);
  }

  /** Throws HOST_REJECTED unless the Host header names us. */
  checkHost(host: string | undefined): void {
    if (typeof host !== 'string' || !this.hosts.has(host.toLowerCase())) {
      throw new KithError('HOST_REJECTED');
    }
  }

  /** Throws ORIGIN_REJECTED for a browser origin that is not on the list ("null" included). */
  checkOrigin(origin: string | undefined): void {
    if (origin === undefined) return;
    if (!this.origins.has(origin)) throw new KithError('ORIGIN_REJECTED');
  }

  /** Adds an origin at run time (the app learns its own origin once it listens). */
  allowOrigin(origin: string): void {
    this.origins.add(origin);
  }
}

/** Fixed-window attempt counter per address, with a bounded table. */
export class AttemptLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
    private readonly maxAddresses = 10_000,
  ) {}

  /** Counts one attempt; throws RATE_LIMITED when the address is over its budget. */
  hit(address: string): void {
    const now = this.now();
    let w = this.windows.get(address);
    if (!w || now - w.start >= 60_000) {
      if (!w && this.windows.size >= this.maxAddresses) this.evict(now);
      w = { start: now, count: 0 };
      this.windows.set(address, w);
    }
    w.count++;
    if (w.count > this.perMinute) throw new KithError('RATE_LIMITED');
  }

  private evict(now: number): void {
    for (const [key, w] of this.windows) if (now - w.start >= 60_000) this.windows.delete(key);
    // Still full: drop the oldest entries (Map iterates in insertion order).
    for (const key of this.windows.keys()) {
      if (this.windows.size < this.maxAddresses) break;
      this.windows.delete(key);
    }
  }
}
