/**
 * Main's side of the IPC channels in shared/ipcChannels.ts. Every message is checked
 * (senderGuard.ts) before anything else: from our window's top frame on our origin, with no
 * arguments. A refused message gets an error code, never data.
 */
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import { IPC_CHANNELS } from '../../shared/ipcChannels.js';
import { assertNoArguments, assertTrustedSender, isAppUrl } from './senderGuard.js';
import type { OpenedLinks } from './OpenedLinks.js';
import { toKithError } from '../../shared/errors.js';

export interface IpcOptions {
  /** The app's origin. */
  readonly origin: string;
  /** Our window, once it exists. */
  readonly window: () => BrowserWindow | undefined;
  /** This run's renderer invitation while it is open (AppHost.pendingRendererInvite). */
  readonly rendererInvite: () => string | null;
  readonly links: OpenedLinks;
}

function check(event: IpcMainInvokeEvent, args: readonly unknown[], opts: IpcOptions): void {
  const win = opts.window();
  const fromOurWindow = !!win && !win.isDestroyed() && BrowserWindow.fromWebContents(event.sender) === win;
  const frame = event.senderFrame;
  assertTrustedSender({ fromOurWindow, fromMainFrame: !!frame && frame === event.sender.mainFrame, frameUrl: frame?.url }, opts.origin);
  assertNoArguments(args);
}

/** Wraps a handler: checks first; errors reach the page as their code only (no stack, no internals). */
function guarded<T>(opts: IpcOptions, handler: (event: IpcMainInvokeEvent) => T): (event: IpcMainInvokeEvent, ...args: unknown[]) => T {
  return (event, ...args) => {
    try {
      check(event, args, opts);
      return handler(event);
    } catch (err) {
      throw new Error(toKithError(err).code);
    }
  };
}

/** Registers the handlers; returns a function that removes them. */
export function registerIpc(opts: IpcOptions): () => void {
  ipcMain.handle(IPC_CHANNELS.getRendererInvite, guarded(opts, () => opts.rendererInvite()));
  ipcMain.handle(
    IPC_CHANNELS.takeOpenedLinks,
    guarded(opts, (event) =>
      opts.links.listen((link) => {
        const win = opts.window();
        // Sent only while our page shows in our window; otherwise it waits for the next listener.
        if (win && !win.isDestroyed() && win.webContents === event.sender && isAppUrl(event.sender.getURL(), opts.origin)) event.sender.send(IPC_CHANNELS.openLink, link);
        else {
          opts.links.pause();
          opts.links.push(link);
        }
      }),
    ),
  );
  return () => {
    ipcMain.removeHandler(IPC_CHANNELS.getRendererInvite);
    ipcMain.removeHandler(IPC_CHANNELS.takeOpenedLinks);
  };
}
