/**
 * The app's one window and the rules around it (DESIGN §8, Electron's security checklist):
 * context isolation, sandbox, no Node in the page, web security on; no navigation, no new
 * windows, no <webview>; no request leaves for anything but our origin; every permission
 * denied except the camera for our page. The page itself comes from the host's listener with
 * its strict CSP header (main/rendererServer.ts).
 */
import * as path from 'node:path';
import { BrowserWindow, type Session, type WebContents } from 'electron';
import { isAllowedPermission, isAllowedPermissionCheck, isAllowedRequest } from './contentPolicy.js';
import { secureWebPreferences } from './webPreferences.js';

/** Navigation, redirects, new windows and webviews are refused for every web contents the app ever creates. */
export function hardenWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => {
    if (!event.isMainFrame) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

/** Request filtering and permissions of the session the window uses. `window()` is our window once it exists. */
export function hardenSession(session: Session, origin: string, window: () => BrowserWindow | undefined): void {
  session.webRequest.onBeforeRequest({ urls: ['<all_urls>'] }, (details, callback) => callback({ cancel: !isAllowedRequest(details.url, origin) }));
  session.setPermissionRequestHandler((contents, permission, callback, details) => {
    const win = window();
    const mediaTypes = 'mediaTypes' in details ? details.mediaTypes : undefined;
    callback(isAllowedPermission({ permission, requestingUrl: details.requestingUrl, mediaTypes, fromOurWindow: !!win && !win.isDestroyed() && contents === win.webContents }, origin));
  });
  session.setPermissionCheckHandler((_contents, permission, requestingOrigin) => isAllowedPermissionCheck(permission, requestingOrigin, origin));
  session.setDevicePermissionHandler(() => false);
}

/** Creates the window and loads the app's origin — without the invitation fragment: Electron hands the invitation over IPC. */
export async function createAppWindow(origin: string, preloadDir: string): Promise<BrowserWindow> {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 480,
    minHeight: 480,
    show: false,
    title: 'Kith',
    autoHideMenuBar: true,
    webPreferences: secureWebPreferences(path.join(preloadDir, 'preload.cjs')),
  });
  win.once('ready-to-show', () => win.show());
  await win.loadURL(`${origin}/`);
  return win;
}
