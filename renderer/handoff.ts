/**
 * How the host hands this window its start link (app brief, contract 2): the desktop app's
 * preload offers `window.kith.getRendererInvite()`; the Node host puts the link into the URL
 * fragment (`#invite=<encodeURIComponent(link)>`). The preload is preferred when present.
 * Either way the fragment is removed from the address bar at once (the link is a secret
 * until it is used), and nothing here redeems anything: the controller decides.
 */
import type { KithBridge } from '../shared/ipcChannels.js';
import { MAX_INVITE_LINK_INPUT_LENGTH } from '../shared/limits.js';

/** The parts of `window` the handoff touches (tests pass a fake). */
export interface HandoffWindow {
  readonly location: { readonly hash: string; readonly pathname: string; readonly search: string };
  readonly history: { replaceState(data: unknown, unused: string, url?: string): void };
  readonly kith?: unknown;
}

/** `window.kith` when the preload exposed a usable bridge. */
export function bridgeOf(win: HandoffWindow): KithBridge | undefined {
  const k = win.kith as Partial<KithBridge> | undefined;
  return k && typeof k.getRendererInvite === 'function' && typeof k.onOpenLink === 'function' ? (k as KithBridge) : undefined;
}

/** The link in a `#invite=…` fragment, or null (absent, undecodable, or implausibly long). */
export function readInviteFragment(hash: string): string | null {
  if (typeof hash !== 'string' || !hash.startsWith('#')) return null;
  // Percent-encoding at most triples the length of a link we would accept.
  if (hash.length > 3 * MAX_INVITE_LINK_INPUT_LENGTH + 16) return null;
  for (const part of hash.slice(1).split('&')) {
    if (!part.startsWith('invite=')) continue;
    try {
      const link = decodeURIComponent(part.slice('invite='.length)).trim();
      return link.length > 0 && link.length <= MAX_INVITE_LINK_INPUT_LENGTH ? link : null;
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * Takes the start link: from the preload when there is one, else from the fragment. The
 * fragment is cleared in both cases (a second tab must not keep it in its history either).
 */
export async function takeStartLink(win: HandoffWindow): Promise<string | null> {
  const fromFragment = readInviteFragment(win.location.hash);
  if (win.location.hash) win.history.replaceState(null, '', win.location.pathname + win.location.search);
  const bridge = bridgeOf(win);
  if (!bridge) return fromFragment;
  try {
    const link = await bridge.getRendererInvite();
    return typeof link === 'string' && link.length > 0 && link.length <= MAX_INVITE_LINK_INPUT_LENGTH ? link : null;
  } catch {
    return null;
  }
}

/** Clears the fragment without reading it (the second tab, which never pairs). */
export function clearFragment(win: HandoffWindow): void {
  if (win.location.hash) win.history.replaceState(null, '', win.location.pathname + win.location.search);
}
