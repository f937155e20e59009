/**
 * Starts the renderer in a browser (or the desktop app's window): one renderer per profile
 * (a Web Lock, contract 4), the start link (contract 2), and the browser adapters of this
 * window's instance — WebCrypto, the IndexedDB object store, IndexedDB small-state documents,
 * the browser WebSocket to main on this page's own origin (contract 3), and no listener.
 */
import { Instance } from '../instance/Instance.js';
import { WebCryptoProvider } from '../shared/crypto/webCrypto.js';
import { openIndexedDbStore } from '../chum/stores/indexedDbStore.js';
import { dialBrowserWebSocket } from '../connections/transports/browserWebSocketTransport.js';
import { parsePairingDocument } from '../pairing/records.js';
import { parseMarksDocument } from '../chum/sync/marks.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD, RENDERER_DIAL_BACKOFF_MAX_MS, RENDERER_DIAL_BACKOFF_MIN_MS } from '../shared/limits.js';
import { toKithError, type ErrorCode } from '../shared/errors.js';
import type { KithBridge } from '../shared/ipcChannels.js';
import { IdbStateAdapter, openStateDatabase } from './idbStateAdapter.js';
import { IdentityStore } from './identityStore.js';
import { AppController, type RendererEnvironment } from './AppController.js';
import { bridgeOf, clearFragment, readInviteFragment, takeStartLink } from './handoff.js';

/** The Web Lock only one renderer of a profile holds (contract 4). */
export const RENDERER_LOCK = 'kith-renderer';
/** IndexedDB databases of this window: small state + identity, and the object store. */
export const STATE_DB = 'kith-renderer-state';
export const OBJECTS_DB = 'kith-renderer-objects';
/** The path of main's listener (contract 3). */
const ENDPOINT_PATH = '/kith/v1';

export type BootOutcome =
  | { readonly kind: 'already-open' }
  | { readonly kind: 'unsupported'; readonly missing: string }
  | { readonly kind: 'failed'; readonly code: ErrorCode }
  | { readonly kind: 'app'; readonly controller: AppController; readonly startLink: string | null; readonly bridge: KithBridge | undefined };

/** main's endpoint: the same origin as this page (the only place CSP lets this page connect to). */
export function mainEndpoint(location: { protocol: string; host: string }): string {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${ENDPOINT_PATH}`;
}

function missingFeature(win: Window): string | undefined {
  if (!win.isSecureContext || !win.crypto?.subtle) return 'WebCrypto (open Kith at http://127.0.0.1:…, not through another address)';
  if (!win.indexedDB) return 'IndexedDB (private browsing may turn it off)';
  if (typeof (win as unknown as { WebSocket?: unknown }).WebSocket !== 'function') return 'WebSocket';
  return undefined;
}

/**
 * Boots the window and reports the outcome once: `already-open` when another tab of this
 * profile holds the renderer, else the controller to render and start. The Web Lock is held
 * for the page's lifetime.
 */
export function boot(win: Window, report: (outcome: BootOutcome) => void): void {
  const missing = missingFeature(win);
  if (missing) {
    clearFragment(win);
    report({ kind: 'unsupported', missing });
    return;
  }
  const run = async (): Promise<void> => {
    try {
      report({ kind: 'app', ...(await prepare(win)) });
    } catch (err) {
      report({ kind: 'failed', code: toKithError(err).code });
    }
  };
  const locks = win.navigator.locks;
  if (!locks) {
    // Without Web Locks (very old engines) there is no way to detect a second tab; run anyway.
    void run();
    return;
  }
  void locks
    .request(RENDERER_LOCK, { ifAvailable: true }, async (lock) => {
      if (!lock) {
        clearFragment(win);
        report({ kind: 'already-open' });
        return;
      }
      await run();
      // Hold the lock until the page goes away.
      await new Promise<never>(() => {});
    })
    .catch(() => report({ kind: 'failed', code: 'INTERNAL' }));
}

async function prepare(win: Window): Promise<{ controller: AppController; startLink: string | null; bridge: KithBridge | undefined }> {
  const handoff = win as unknown as Parameters<typeof takeStartLink>[0];
  const bridge = bridgeOf(handoff);
  const startLink = await takeStartLink(handoff);
  const crypto = new WebCryptoProvider({ subtle: win.crypto.subtle });
  const db = await openStateDatabase(win.indexedDB, STATE_DB);
  const identities = new IdentityStore(db, crypto);
  const endpoint = mainEndpoint(win.location);
  const env: RendererEnvironment = {
    crypto,
    host: bridge ? 'electron' : 'browser',
    loadIdentity: () => identities.load(),
    createIdentity: (name) => identities.create(name, Date.now()),
    openInstance: async (identity) => {
      const store = await openIndexedDbStore({ crypto, name: OBJECTS_DB, indexedDB: win.indexedDB });
      try {
        return await Instance.open({
          identity,
          backoff: { minMs: RENDERER_DIAL_BACKOFF_MIN_MS, maxMs: RENDERER_DIAL_BACKOFF_MAX_MS },
          adapters: {
            crypto,
            store,
            pairingState: new IdbStateAdapter(db, 'pairing', parsePairingDocument),
            marksState: new IdbStateAdapter(db, 'marks', parseMarksDocument),
            // This window only ever talks to its main, which serves this page: whatever address
            // main advertises, the socket goes to this page's origin (the only one CSP allows).
            dial: () => dialBrowserWebSocket(endpoint, { timeoutMs: HANDSHAKE_DEADLINE_MS, maxPayload: MAX_WS_PAYLOAD }),
          },
        });
      } catch (err) {
        await store.close().catch(() => {});
        throw err;
      }
    },
    now: () => Date.now(),
    reload: () => win.location.reload(),
  };
  const controller = new AppController(env);
  // The URL with a start link opened again in this tab is a same-document navigation: no
  // reload, so the fragment is read (and removed) here too.
  const onHashChange = () => {
    const link = readInviteFragment(win.location.hash);
    clearFragment(handoff);
    controller.provideStartLink(link);
  };
  win.addEventListener('hashchange', onHashChange);
  return { controller, startLink, bridge };
}
