/**
 * What the app's window may load and ask for (DESIGN §8: "no remote content"; Electron's
 * security checklist #5 and #13). Decisions only — main/electron/window.ts wires them to the
 * session — so they are tested under plain Node.
 */
import { isAppUrl } from './senderGuard.js';

/**
 * Requests the window may make: our origin over http, its Kith socket over ws, and the
 * in-memory schemes the renderer creates itself (data: QR codes, blob: downloads and the
 * camera preview). Everything else — other hosts, file:, https: anywhere — is cancelled.
 */
export function isAllowedRequest(url: string, origin: string): boolean {
  if (url.startsWith('data:') || url.startsWith('blob:')) return true;
  // DevTools, when a developer opens them, load their own front end.
  if (url.startsWith('devtools://')) return true;
  if (isAppUrl(url, origin)) return true;
  try {
    const u = new URL(url);
    return u.protocol === 'ws:' && `http://${u.host}` === origin;
  } catch {
    return false;
  }
}

/** A permission request as main sees it. */
export interface PermissionAsk {
  /** Electron's permission name ('media', 'notifications', 'geolocation', …). */
  readonly permission: string;
  /** The URL of the page asking. */
  readonly requestingUrl: string | undefined;
  /** For 'media': which devices ('video', 'audio'); undefined when unknown. */
  readonly mediaTypes: readonly string[] | undefined;
  /** It comes from our window. */
  readonly fromOurWindow: boolean;
}

/** Only the camera (video without audio), only for our page in our window: the Accept screen scans QR codes. Everything else is denied. */
export function isAllowedPermission(ask: PermissionAsk, origin: string): boolean {
  if (ask.permission !== 'media' || !ask.fromOurWindow || !isAppUrl(ask.requestingUrl, origin)) return false;
  const types = ask.mediaTypes ?? [];
  return types.length > 0 && types.every((t) => t === 'video');
}

/** The synchronous permission check (Electron asks it before requests, e.g. for enumerateDevices): the camera for our origin only. */
export function isAllowedPermissionCheck(permission: string, requestingOrigin: string, origin: string): boolean {
  return permission === 'media' && requestingOrigin === origin;
}
