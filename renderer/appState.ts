/**
 * The shape of the renderer's application state (what the screens read) and of the
 * environment a host gives the controller. Snapshots are immutable: the controller makes a
 * new one on every change.
 */
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { LocalIdentity } from '../shared/identity.js';
import type { Instance } from '../instance/Instance.js';
import type { PersonId } from '../shared/ids.js';
import type { ErrorAdvice, HostKind } from './errorText.js';
import type { LinkState, MainContact } from './mainState.js';
import type { ChannelSnapshot } from './ChannelBook.js';
import type { SyncRow } from './SyncActivity.js';

export const SCREENS = ['channels', 'devices', 'invite', 'accept', 'activity', 'identity'] as const;
export type ScreenName = (typeof SCREENS)[number];
export type Phase = 'starting' | 'first-run' | 'pairing' | 'ready' | 'fatal';

/** What the controller needs from its host. */
export interface RendererEnvironment {
  /** For re-checking signatures shown in channels. */
  readonly crypto: CryptoProvider;
  /** Worded restart hints differ between `npm start` and the desktop app. */
  readonly host: HostKind;
  /** The stored identity of this renderer, or undefined on first run. */
  loadIdentity(): Promise<LocalIdentity | undefined>;
  /** Creates and stores the renderer's identity for the person `name`. */
  createIdentity(name: string): Promise<LocalIdentity>;
  /** Opens the renderer's instance (dial-only: it reaches main, never listens). */
  openInstance(identity: LocalIdentity): Promise<Instance>;
  /** Wall clock in milliseconds. */
  now(): number;
  /** Reloads the window (the "Reload" next step); absent in tests. */
  reload?(): void;
}

/** An error as the banner shows it, and the screen it belongs to. */
export interface ShownError extends ErrorAdvice {
  /** The screen it belongs to (leaving that screen clears it); `global` stays. */
  readonly screen: ScreenName | 'first-run' | 'global';
}

export interface InviteView {
  /** Main's id for the invitation (to revoke it; not a secret). */
  readonly inviteId: string;
  /** kith://pair/v1#… (a secret until used: shown, never logged). */
  readonly link: string;
  /** PNG data URL of the link's QR code. */
  readonly qr: string;
  /** Seconds since the epoch (main's clock). */
  readonly expiresAt: number;
  /** Open until used, withdrawn, blocked (burned) or past its expiry. */
  readonly status: 'open' | 'used' | 'revoked' | 'burned' | 'expired';
  /** Who paired through it, once used. */
  readonly pairedName?: string;
  /** The 6-digit code both screens show after pairing. */
  readonly sas?: string;
}

export interface AcceptView {
  /** The text in the link field (an OS-opened kith:// link fills it, never redeems it). */
  readonly draft: string;
  /** Main is pairing with the other device. */
  readonly busy: boolean;
  /** The contact main paired with (`accept-result`), with the 6-digit code both screens show. */
  readonly result?: { readonly name: string; readonly personId: string; readonly sas?: string };
}

export interface ConnectionView {
  /** `unpaired` until the window has paired with main. */
  readonly state: LinkState | 'unpaired' | 'pairing';
  /** Main's display name ("node-ann"). */
  readonly mainName?: string;
}

export interface ContactView extends MainContact {
  /** The best connection state of the contact's instances (revoked contacts read as idle). */
  readonly state: LinkState;
  /** This window's own entry in main's contacts. */
  readonly self: boolean;
}

export interface AppState {
  /** Where the window is in its life: starting, first run (no main yet), pairing, ready, or unable to start. */
  readonly phase: Phase;
  /** The screen shown once ready. */
  readonly screen: ScreenName;
  /** The first run is creating the identity or pairing (its button shows progress). */
  readonly busy: boolean;
  /** A name to offer on the first-run screen (from the start link: main's name without "node-"). */
  readonly suggestedName: string;
  /** The window holds a start link it has not tried yet (first run can proceed). */
  readonly hasStartLink: boolean;
  /** This window's identity, once created or loaded. */
  readonly me?: { readonly personId: PersonId; readonly instanceId: string; readonly name: string };
  /** The main instance this window belongs to, once paired. */
  readonly main?: { readonly personId: PersonId; readonly instanceId: string; readonly name: string };
  /** The connection to main (`connection-status`). */
  readonly connection: ConnectionView;
  /** Main answers companion requests (the session to main is open). */
  readonly companion: boolean;
  /** Main's contacts with their connection state (Devices). */
  readonly contacts: readonly ContactView[];
  /** The invitation shown on the Invite screen. */
  readonly invite?: InviteView;
  /** An invitation is being made. */
  readonly inviteBusy: boolean;
  /** The lifetime chosen on the Invite screen for the next invitation (kept while the person visits other screens). */
  readonly inviteTtlSeconds: number;
  /** The Accept screen. */
  readonly accept: AcceptView;
  /** Channels, the selected channel's messages and uploads. */
  readonly channels: ChannelSnapshot;
  /** Sync progress rows (Sync activity). */
  readonly activity: readonly SyncRow[];
  /** The error the banner shows, if any. */
  readonly error?: ShownError;
  /** The controller's clock at the last tick (countdowns). */
  readonly now: number;
}

export const EMPTY_CHANNELS: ChannelSnapshot = { channels: [], selected: undefined, messages: [], hiddenOlder: 0, uploads: [] };
