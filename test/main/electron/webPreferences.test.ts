import { test } from 'node:test';
import assert from 'node:assert/strict';
import { secureWebPreferences } from '../../../main/electron/webPreferences.js';

test('the window: isolated, sandboxed, no Node anywhere, web security on, no webviews', () => {
  assert.deepEqual(secureWebPreferences('/app/dist/main/preload.cjs'), {
    preload: '/app/dist/main/preload.cjs',
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
  });
});
