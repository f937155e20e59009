import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAllowedPermission, isAllowedPermissionCheck, isAllowedRequest } from '../../../main/electron/contentPolicy.js';

const ORIGIN = 'http://127.0.0.1:4100';

test('the window loads only our origin, its socket, and in-memory data', () => {
  for (const url of [`${ORIGIN}/`, `${ORIGIN}/app.js`, 'ws://127.0.0.1:4100/kith/v1', 'data:image/png;base64,AA', 'blob:http://127.0.0.1:4100/uuid', 'devtools://devtools/bundled/x.html']) {
    assert.equal(isAllowedRequest(url, ORIGIN), true, url);
  }
  for (const url of ['https://example.com/', 'http://127.0.0.1:4101/', 'ws://127.0.0.1:4101/kith/v1', 'wss://127.0.0.1:4100/kith/v1', 'http://localhost:4100/', 'file:///etc/passwd', 'ftp://x/', 'not a url', '']) {
    assert.equal(isAllowedRequest(url, ORIGIN), false, url);
  }
});

test('permissions: the camera alone, for our page in our window; nothing else', () => {
  const camera = { permission: 'media', requestingUrl: `${ORIGIN}/`, mediaTypes: ['video'], fromOurWindow: true };
  assert.equal(isAllowedPermission(camera, ORIGIN), true);
  assert.equal(isAllowedPermission({ ...camera, mediaTypes: ['video', 'audio'] }, ORIGIN), false, 'no microphone');
  assert.equal(isAllowedPermission({ ...camera, mediaTypes: ['audio'] }, ORIGIN), false);
  assert.equal(isAllowedPermission({ ...camera, mediaTypes: [] }, ORIGIN), false);
  assert.equal(isAllowedPermission({ ...camera, mediaTypes: undefined }, ORIGIN), false);
  assert.equal(isAllowedPermission({ ...camera, fromOurWindow: false }, ORIGIN), false);
  assert.equal(isAllowedPermission({ ...camera, requestingUrl: 'https://example.com/' }, ORIGIN), false);
  assert.equal(isAllowedPermission({ ...camera, requestingUrl: undefined }, ORIGIN), false);
  for (const permission of ['notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'midi', 'pointerLock', 'display-capture']) {
    assert.equal(isAllowedPermission({ ...camera, permission }, ORIGIN), false, permission);
  }
  assert.equal(isAllowedPermissionCheck('media', ORIGIN, ORIGIN), true);
  assert.equal(isAllowedPermissionCheck('media', 'https://example.com', ORIGIN), false);
  assert.equal(isAllowedPermissionCheck('notifications', ORIGIN, ORIGIN), false);
});
