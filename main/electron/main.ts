/**
 * The Electron main process (DESIGN §8), kept thin: it starts the same host as `npm start`
 * (main/host.ts) with the keys sealed by safeStorage, opens one hardened window on the host's
 * origin, hands the renderer its invitation over IPC, and routes `kith://` links to the
 * renderer's Accept screen. Bundled by scripts/build.mjs to dist/main/electron.cjs.
 *
 * One Electron profile per home (userData inside the home), so the single-instance lock, the
 * renderer's IndexedDB and its Web Lock all belong to that home.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { app, dialog, safeStorage, session, type BrowserWindow } from 'electron';
import { startHost, type AppHost } from '../host.js';
import { passphraseProtector, processPassphraseIO } from '../keyProtector.js';
import { parseStartArgs, type StartOptions } from '../startOptions.js';
import { safeStorageProtector } from './safeStorageProtector.js';
import { OpenedLinks } from './OpenedLinks.js';
import { registerIpc } from './ipc.js';
import { createAppWindow, hardenSession, hardenWebContents } from './window.js';
import { createOutput } from '../../cli/output.js';
import { printServeEvents } from '../../cli/serveEvents.js';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { toKithError } from '../../shared/errors.js';
import { APP_SHUTDOWN_TIMEOUT_MS } from '../../shared/limits.js';

/**
 * Our arguments. Everything after the executable: in development the script's path comes first,
 * and test harnesses put Chromium switches anywhere; the lenient parse ignores what is not ours.
 */
function ourArgv(): string[] {
  return process.argv.slice(1);
}

function fail(message: string): void {
  process.stderr.write(`kith: ${message}\n`);
  if (app.isReady()) dialog.showErrorBox('Kith cannot start', message);
  app.exit(1);
}

function run(): void {
  let options: StartOptions;
  try {
    options = parseStartArgs(ourArgv(), { env: process.env, platform: process.platform, homedir: os.homedir(), cwd: process.cwd() }, { lenient: true });
  } catch (err) {
    return fail(toKithError(err).message);
  }
  app.setPath('userData', path.join(options.home, 'electron'));
  if (!app.requestSingleInstanceLock()) {
    // The running app received our arguments (and any kith:// link) through `second-instance`.
    app.quit();
    return;
  }

  const links = new OpenedLinks();
  links.pushFromArgv(options.links);
  let win: BrowserWindow | undefined;
  let host: AppHost | undefined;
  const out = createOutput({ stdout: process.stdout, stderr: process.stderr }, { json: options.json });

  // Registering the scheme in development would point the system's kith:// at a dev build (and tests would do it on every run).
  if (app.isPackaged || process.env.KITH_REGISTER_PROTOCOL === '1') {
    if (app.isPackaged) app.setAsDefaultProtocolClient('kith');
    else app.setAsDefaultProtocolClient('kith', process.execPath, [path.resolve(process.argv[1] ?? '')]);
  }
  app.on('open-url', (event, url) => {
    event.preventDefault();
    links.push(url);
  });
  app.on('second-instance', (_event, argv) => {
    links.pushFromArgv(argv);
    if (win && !win.isDestroyed()) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents));
  app.on('window-all-closed', () => app.quit());

  let closed = false;
  app.on('before-quit', (event) => {
    if (closed || !host) return;
    event.preventDefault();
    const h = host;
    host = undefined;
    const timer = setTimeout(() => app.exit(0), APP_SHUTDOWN_TIMEOUT_MS);
    void h.close().finally(() => {
      clearTimeout(timer);
      closed = true;
      out.result({ event: 'stopped' }, 'stopped');
      app.quit();
    });
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit());

  void app.whenReady().then(async () => {
    try {
      const crypto = new NativeCrypto();
      const fallback = passphraseProtector(processPassphraseIO(), { insecurePlaintext: options.insecurePlaintextKeys });
      host = await startHost({
        home: options.home,
        listen: options.listen,
        name: options.name,
        keys: options.insecurePlaintextKeys ? fallback : safeStorageProtector({ safeStorage, platform: process.platform, fallback, randomBytes: (n) => crypto.randomBytes(n) }),
        renderer: { dir: path.join(__dirname, '..', 'renderer') },
        rendererInviteTtlSeconds: options.inviteTtlSeconds,
        crypto,
      });
      const h = host;
      for (const warning of h.warnings) out.warn(warning);
      hardenSession(session.defaultSession, h.origin, () => win);
      registerIpc({ origin: h.origin, window: () => win, rendererInvite: () => h.pendingRendererInvite(), links });
      const me = h.instance.whoami();
      out.result(
        { app: `${h.origin}/`, home: h.home, listening: h.listening, lan: h.lan, personId: me.personId, instanceId: me.instanceId, name: me.name, controlSocket: h.controlSocket },
        `Kith is running: main instance ${me.name}, home ${h.home}`,
      );
      printServeEvents(h.instance.events, out);
      win = await createAppWindow(h.origin, __dirname);
      win.webContents.on('did-start-navigation', (details) => {
        if (details.isMainFrame && !details.isSameDocument) links.pause();
      });
      win.on('closed', () => {
        win = undefined;
      });
    } catch (err) {
      fail(toKithError(err).message);
    }
  });
}

run();
