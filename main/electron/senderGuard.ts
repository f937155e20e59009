/**
 * The check every IPC message passes before main looks at it (STYLE, "Electron"; Electron's
 * security checklist #17): it must come from our one window, from its top frame (not an
 * iframe), while that frame shows our origin — and carry exactly the arguments its channel
 * takes. Kept free of electron imports so it is tested under plain Node.
 */
import { KithError } from '../../shared/errors.js';

/** What main knows about the sender of one IPC message. */
export interface SenderFacts {
  /** `BrowserWindow.fromWebContents(event.sender)` is our window (and it is not destroyed). */
  readonly fromOurWindow: boolean;
  /** `event.senderFrame` is its main frame. */
  readonly fromMainFrame: boolean;
  /** `event.senderFrame.url`, if the frame still exists. */
  readonly frameUrl: string | undefined;
}

/** True when `url` is a page of `origin` (http://HOST:PORT); false for anything unparsable. */
export function isAppUrl(url: string | undefined, origin: string): boolean {
  if (typeof url !== 'string') return false;
  try {
    return new URL(url).origin === origin;
  } catch {
    return false;
  }
}

/** Throws ACCESS_DENIED unless the sender is our window's top frame on our origin. */
export function assertTrustedSender(facts: SenderFacts, origin: string): void {
  if (!facts.fromOurWindow || !facts.fromMainFrame || !isAppUrl(facts.frameUrl, origin)) {
    throw new KithError('ACCESS_DENIED', 'IPC from an unexpected sender');
  }
}

/** Throws INVALID_INPUT unless the message carries no arguments (every channel of shared/ipcChannels.ts takes none). */
export function assertNoArguments(args: readonly unknown[]): void {
  if (args.length !== 0) throw new KithError('INVALID_INPUT', 'this IPC channel takes no arguments');
}
