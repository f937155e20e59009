/**
 * The app window's web preferences (DESIGN §8; Electron's security checklist #2–#4, #6, #8):
 * the settings the issue names, plus the defaults we rely on spelled out, so an Electron
 * upgrade that changed a default cannot weaken the window. Only `import type` from electron,
 * so the exact object is unit-tested under plain Node.
 */
import type { WebPreferences } from 'electron';

export function secureWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
  };
}
