/**
 * A hybrid logical clock folded into one safe integer: milliseconds of physical time, but
 * never less than one more than any timestamp seen (ours or a peer's). Versions ordered by
 * it respect causality (a version is always later than what its writer had seen) and stay
 * close to wall-clock time.
 */
export class HybridClock {
  private last = 0;

  constructor(private readonly physicalNow: () => number = Date.now) {}

  /** A timestamp for a new local event. */
  now(): number {
    const t = Math.max(this.physicalNow(), this.last + 1);
    this.last = t;
    return t;
  }

  /** Takes a remote timestamp into account (bounded: a peer cannot push us past the safe range). */
  observe(remote: number): void {
    if (Number.isSafeInteger(remote) && remote > this.last && remote < Number.MAX_SAFE_INTEGER - 1) this.last = remote;
  }
}
