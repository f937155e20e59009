/**
 * `kith://` links the OS hands the app (argv on Windows and Linux, `open-url` on macOS,
 * `second-instance` when the app already runs), on their way to the renderer's Accept screen.
 * Main never redeems them: it only checks that they look like invitation links and passes
 * them on. Links that arrive before the renderer listens wait here (a few at most).
 */
import { isOpenableLink } from '../startOptions.js';
import { MAX_PENDING_OPENED_LINKS } from '../../shared/limits.js';

export class OpenedLinks {
  private pending: string[] = [];
  private deliver: ((link: string) => void) | undefined;

  /** Takes a link from the OS; anything that is not a `kith://pair/v1#…` link is dropped. True when taken. */
  push(link: unknown): boolean {
    if (!isOpenableLink(link)) return false;
    const text = link as string;
    if (this.deliver) {
      this.deliver(text);
      return true;
    }
    // The newest links matter (the one the person just clicked): drop the oldest beyond the cap.
    this.pending.push(text);
    if (this.pending.length > MAX_PENDING_OPENED_LINKS) this.pending.shift();
    return true;
  }

  /** The links of the command line that started the app (the link is an argument there). */
  pushFromArgv(argv: readonly string[]): void {
    for (const arg of argv) this.push(arg);
  }

  /** The renderer listens now: hands over what waited, and sends later links through `deliver`. */
  listen(deliver: (link: string) => void): string[] {
    this.deliver = deliver;
    const waiting = this.pending;
    this.pending = [];
    return waiting;
  }

  /** The renderer's page went away (reload, crash): keep links until it listens again. */
  pause(): void {
    this.deliver = undefined;
  }
}
