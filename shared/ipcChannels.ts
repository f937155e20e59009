/**
 * The IPC channels between the Electron main process and the preload (DESIGN §8). This is
 * the only place their names are written: main/electron/ipc.ts registers them, the preload
 * calls them, and nothing else in the app speaks IPC. The renderer never sees these names;
 * it only uses `window.kith` (the `KithBridge` below).
 *
 * Few channels with typed payloads (STYLE, "Electron"): every channel carries no argument
 * from the renderer at all, so main has nothing to parse but still refuses extra arguments.
 */

export const IPC_CHANNELS = {
  /** invoke, renderer → main, no arguments → `string | null`: the `renderer` invitation of this run while it is open. */
  getRendererInvite: 'kith:get-renderer-invite',
  /** invoke, renderer → main, no arguments → `string[]`: `kith://` links the OS opened before the renderer listened (drained). */
  takeOpenedLinks: 'kith:take-opened-links',
  /** send, main → renderer, one `string`: a `kith://` link the OS just opened (to fill the Accept screen, never redeemed by main). */
  openLink: 'kith:open-link',
} as const;

export type IpcChannel = (typeof IPC_CHANNELS)[keyof typeof IPC_CHANNELS];

/** What the preload exposes as `window.kith` (contract 2 of the app brief). */
export interface KithBridge {
  /** The `kith://pair/v1#…` link of this run's renderer invitation, or null once it was used or when there is none. */
  getRendererInvite(): Promise<string | null>;
  /**
   * Calls `cb` with every `kith://` link the OS hands the app (from now on, plus those that
   * arrived before). Returns a function that stops the calls.
   */
  onOpenLink(cb: (link: string) => void): () => void;
}
