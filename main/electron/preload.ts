/**
 * The preload (sandboxed, context-isolated): exposes exactly `window.kith` — the typed API of
 * shared/ipcChannels.ts — and nothing of Electron itself. Values coming back from main are
 * checked here too, so the page only ever sees strings. Bundled to dist/main/preload.cjs.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_CHANNELS, type KithBridge } from '../../shared/ipcChannels.js';

const bridge: KithBridge = {
  async getRendererInvite() {
    const link: unknown = await ipcRenderer.invoke(IPC_CHANNELS.getRendererInvite);
    return typeof link === 'string' ? link : null;
  },
  onOpenLink(cb) {
    if (typeof cb !== 'function') throw new TypeError('onOpenLink: expected a function');
    let active = true;
    const deliver = (link: unknown) => {
      if (active && typeof link === 'string') cb(link);
    };
    const listener = (_event: IpcRendererEvent, link: unknown) => deliver(link);
    ipcRenderer.on(IPC_CHANNELS.openLink, listener);
    // Links the OS opened before anyone listened (the one that launched the app, typically).
    ipcRenderer.invoke(IPC_CHANNELS.takeOpenedLinks).then(
      (waiting: unknown) => {
        if (Array.isArray(waiting)) for (const link of waiting) deliver(link);
      },
      () => {},
    );
    return () => {
      active = false;
      ipcRenderer.removeListener(IPC_CHANNELS.openLink, listener);
    };
  },
};

contextBridge.exposeInMainWorld('kith', bridge);
