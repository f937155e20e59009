'use strict';
// A stand-in for the `electron` module, for running the bundled Electron main process
// (dist/main/electron.cjs) under plain Node in test/main/electron/main.test.ts. It implements
// the few APIs main uses, records what main configured, then plays a scripted session against
// it (IPC from good and bad senders, permissions, requests, links, navigation) and writes a
// report to $FAKE_ELECTRON_REPORT before quitting the way Electron does.
const { EventEmitter } = require('node:events');
const http = require('node:http');
const fs = require('node:fs');

const report = { errors: [], ipc: {}, permissions: {}, requests: {}, links: {}, navigation: {} };
const app = new EventEmitter();
let ready = false;
let quitting = false;
Object.assign(app, {
  isPackaged: false,
  setPath(name, value) { report.userData = name === 'userData' ? value : report.userData; },
  requestSingleInstanceLock() { return true; },
  setAsDefaultProtocolClient(scheme) { report.protocolRegistered = scheme; return true; },
  whenReady() { ready = true; return Promise.resolve(); },
  isReady() { return ready; },
  quit() {
    if (quitting) return;
    const event = { defaultPrevented: false, preventDefault() { this.defaultPrevented = true; } };
    app.emit('before-quit', event);
    if (!event.defaultPrevented) { quitting = true; finish(0); }
  },
  exit(code) { finish(code); },
});

function finish(code) {
  report.exitCode = code;
  fs.writeFileSync(process.env.FAKE_ELECTRON_REPORT, JSON.stringify(report));
  process.exit(code);
}

const dialog = { showErrorBox(title, message) { report.errors.push(`${title}: ${message}`); } };

const machine = 9;
const safeStorage = {
  async isAsyncEncryptionAvailable() { return true; },
  getSelectedStorageBackend() { return 'gnome_libsecret'; },
  async encryptStringAsync(text) { report.sealed = true; return Buffer.from([machine, ...Buffer.from(text).map((b) => b ^ machine)]); },
  async decryptStringAsync(buf) { return { result: Buffer.from(buf.subarray(1).map((b) => b ^ machine)).toString(), shouldReEncrypt: false }; },
};

const sessionState = {};
const session = {
  defaultSession: {
    webRequest: { onBeforeRequest(filter, fn) { sessionState.onBeforeRequest = fn; } },
    setPermissionRequestHandler(fn) { sessionState.permission = fn; },
    setPermissionCheckHandler(fn) { sessionState.permissionCheck = fn; },
    setDevicePermissionHandler(fn) { sessionState.device = fn; },
  },
};

class FakeWebContents extends EventEmitter {
  constructor() {
    super();
    this.url = '';
    this.sent = [];
    this.mainFrame = { url: '' };
  }
  setWindowOpenHandler(fn) { this.windowOpenHandler = fn; }
  send(channel, ...args) { this.sent.push([channel, ...args]); }
  getURL() { return this.url; }
}

const windows = [];
class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new FakeWebContents();
    this.destroyed = false;
    windows.push(this);
    report.webPreferences = options.webPreferences;
    app.emit('web-contents-created', {}, this.webContents);
  }
  static fromWebContents(wc) { return windows.find((w) => w.webContents === wc) ?? null; }
  static getAllWindows() { return windows; }
  isDestroyed() { return this.destroyed; }
  isMinimized() { return false; }
  restore() {}
  focus() {}
  show() { report.shown = true; }
  async loadURL(url) {
    report.loadedUrl = url;
    const res = await new Promise((resolve, reject) => http.get(url, resolve).on('error', reject));
    report.page = { status: res.statusCode, csp: res.headers['content-security-policy'] };
    res.resume();
    this.webContents.url = url;
    this.webContents.mainFrame.url = url;
    this.emit('ready-to-show');
    setTimeout(() => play(this).catch((err) => { report.errors.push(`scenario: ${err.stack}`); app.quit(); }), 100);
  }
}

const handlers = new Map();
const ipcMain = {
  handle(channel, fn) { handlers.set(channel, fn); },
  removeHandler(channel) { handlers.delete(channel); },
};

async function outcome(fn) {
  try {
    return { value: await fn() };
  } catch (err) {
    return { error: err.message };
  }
}

async function play(win) {
  const wc = win.webContents;
  const origin = new URL(report.loadedUrl).origin;
  const good = { sender: wc, senderFrame: wc.mainFrame };
  const invoke = (channel, event, ...args) => outcome(() => handlers.get(channel)(event, ...args));
  report.channels = [...handlers.keys()].sort();

  const other = new FakeWebContents();
  other.mainFrame.url = `${origin}/`;
  report.ipc.good = await invoke('kith:get-renderer-invite', good);
  report.ipc.otherWindow = await invoke('kith:get-renderer-invite', { sender: other, senderFrame: other.mainFrame });
  report.ipc.subframe = await invoke('kith:get-renderer-invite', { sender: wc, senderFrame: { url: `${origin}/` } });
  wc.mainFrame.url = 'https://evil.example/';
  report.ipc.otherOrigin = await invoke('kith:get-renderer-invite', good);
  wc.mainFrame.url = report.loadedUrl;
  report.ipc.noFrame = await invoke('kith:get-renderer-invite', { sender: wc, senderFrame: null });
  report.ipc.extraArgument = await invoke('kith:get-renderer-invite', good, 'surprise');

  const link = 'kith://pair/v1#AQABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f';
  app.emit('open-url', { preventDefault() {} }, link);
  app.emit('open-url', { preventDefault() {} }, 'https://evil.example/#kith://pair/v1#x');
  report.links.waiting = await invoke('kith:take-opened-links', good);
  app.emit('second-instance', {}, ['/opt/Kith/kith', '--home', '/x', `${link}B`]);
  report.links.sent = wc.sent;

  const ask = (permission, extra) => new Promise((resolve) => sessionState.permission(extra.wc ?? wc, permission, resolve, { requestingUrl: extra.url ?? `${origin}/`, mediaTypes: extra.mediaTypes }));
  report.permissions.camera = await ask('media', { mediaTypes: ['video'] });
  report.permissions.microphone = await ask('media', { mediaTypes: ['audio'] });
  report.permissions.cameraOtherContents = await ask('media', { mediaTypes: ['video'], wc: other });
  report.permissions.notifications = await ask('notifications', {});
  report.permissions.checkCamera = sessionState.permissionCheck(wc, 'media', origin);
  report.permissions.checkGeolocation = sessionState.permissionCheck(wc, 'geolocation', origin);
  report.permissions.device = sessionState.device({});

  const request = (url) => new Promise((resolve) => sessionState.onBeforeRequest({ url }, (r) => resolve(r.cancel)));
  report.requests.app = await request(`${origin}/app.js`);
  report.requests.socket = await request(`${origin.replace('http:', 'ws:')}/kith/v1`);
  report.requests.remote = await request('https://example.com/tracker.js');

  const prevented = (event) => new Promise((resolve) => {
    const e = { isMainFrame: event !== 'will-frame-navigate', preventDefault() { resolve(true); } };
    wc.emit(event, e, 'https://evil.example/');
    setTimeout(() => resolve(false), 50);
  });
  report.navigation.windowOpen = wc.windowOpenHandler({ url: 'https://evil.example/' });
  report.navigation.willNavigate = await prevented('will-navigate');
  report.navigation.willRedirect = await prevented('will-redirect');
  report.navigation.webview = await prevented('will-attach-webview');
  app.quit();
}

module.exports = { app, BrowserWindow, dialog, ipcMain, safeStorage, session };
