import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDBFactory } from 'fake-indexeddb';
import { AppController, type AppState, type RendererEnvironment } from '../../renderer/AppController.js';
import { IdentityStore } from '../../renderer/identityStore.js';
import { IdbStateAdapter, openStateDatabase } from '../../renderer/idbStateAdapter.js';
import { Instance } from '../../instance/Instance.js';
import { WebCryptoProvider } from '../../shared/crypto/webCrypto.js';
import { openIndexedDbStore } from '../../chum/stores/indexedDbStore.js';
import { parsePairingDocument } from '../../pairing/records.js';
import { parseMarksDocument } from '../../chum/sync/marks.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { waitFor } from '../support/peers.js';

/** The renderer's browser adapters (WebCrypto, IndexedDB store and state), run under Node with fake-indexeddb. */
const webCrypto = new WebCryptoProvider({ subtle: globalThis.crypto.subtle });

interface Window {
  readonly controller: AppController;
  readonly factory: IDBFactory;
  /** Shifts this window's clock (expiry tests). */
  skewMs: number;
}

async function openWindow(net: MemoryNetwork, startLink: string | null, factory = new IDBFactory()): Promise<Window> {
  const db = await openStateDatabase(factory, 'kith-renderer-state');
  const identities = new IdentityStore(db, webCrypto);
  const w: { skewMs: number } = { skewMs: 0 };
  const env: RendererEnvironment = {
    crypto: webCrypto,
    host: 'browser',
    loadIdentity: () => identities.load(),
    createIdentity: (name) => identities.create(name, Date.now()),
    openInstance: async (identity) => {
      const store = await openIndexedDbStore({ crypto: webCrypto, name: 'kith-renderer-objects', indexedDB: factory });
      return Instance.open({
        identity,
        backoff: { minMs: 20, maxMs: 200 },
        adapters: {
          crypto: webCrypto,
          store,
          pairingState: new IdbStateAdapter(db, 'pairing', parsePairingDocument),
          marksState: new IdbStateAdapter(db, 'marks', parseMarksDocument),
          dial: (url) => net.dial(url),
        },
      });
    },
    now: () => Date.now() + w.skewMs,
  };
  const controller = new AppController(env);
  await controller.start(startLink);
  return Object.assign(w, { controller, factory });
}

/** The banner's error (a call, so assertions do not narrow it for the rest of a test). */
function err(c: AppController): AppState['error'] {
  return c.state.error;
}

function until(c: AppController, what: string, pred: (s: AppState) => boolean, ms = 8000): Promise<void> {
  return waitFor(() => pred(c.state), ms, what);
}

/** A device: main (listening) and its window, paired through a renderer invitation. */
async function device(net: MemoryNetwork, name: string): Promise<{ main: MemoryInstance; win: Window }> {
  const main = await memoryInstance(net, `node-${name}`);
  const { link } = await main.instance.invite({ purpose: 'renderer' });
  const win = await openWindow(net, link);
  assert.equal(win.controller.state.phase, 'first-run');
  assert.equal(win.controller.state.suggestedName, name, "main's name without node-");
  await win.controller.submitName(name);
  await until(win.controller, `${name} connected`, (s) => s.phase === 'ready' && s.connection.state === 'connected' && s.companion);
  return { main, win };
}

test('first run pairs with main; a reused start link says so; a restart reconnects without one', async () => {
  const net = new MemoryNetwork();
  const main = await memoryInstance(net, 'node-ann');
  const { link } = await main.instance.invite({ purpose: 'renderer' });
  const win = await openWindow(net, link);
  const c = win.controller;
  assert.equal(c.state.phase, 'first-run');
  assert.equal(c.state.connection.state, 'unpaired');
  assert.equal(c.state.hasStartLink, true);

  await c.submitName('   ');
  assert.equal(err(c)?.code, 'INVALID_INPUT', 'an empty name is refused');
  await c.submitName('ann');
  await until(c, 'connected', (s) => s.connection.state === 'connected' && s.companion);
  assert.equal(c.state.main?.name, 'node-ann');
  assert.equal(c.state.main?.personId, main.identity.personId);
  assert.equal(c.state.me?.name, 'ann');
  assert.equal(main.instance.contacts()[0]?.relation, 'renderer');
  await until(c, "main's contacts", (s) => s.contacts.some((x) => x.self && x.state === 'connected'));

  // Another browser profile opening the same URL: the link is spent.
  const other = await openWindow(net, link);
  await other.controller.submitName('mallory');
  assert.equal(other.controller.state.phase, 'first-run');
  assert.equal(err(other.controller)?.code, 'INVITE_USED');
  assert.equal(other.controller.state.hasStartLink, false, 'a refused link is not offered again');
  assert.equal(`${err(other.controller)?.text} ${err(other.controller)?.next}`, 'This start link has already been used. Restart Kith (npm start) to get a new one.');
  await other.controller.close();

  // Restart the window: same profile, no link, straight back to main.
  await c.close();
  const again = await openWindow(net, null, win.factory);
  assert.equal(again.controller.state.phase, 'ready');
  assert.equal(again.controller.state.me?.personId, c.state.me?.personId, 'same identity');
  await until(again.controller, 'reconnected', (s) => s.connection.state === 'connected' && s.companion);
  // A fresh start link is ignored once paired (no second main contact).
  await again.controller.close();
  const fresh = await main.instance.invite({ purpose: 'renderer' });
  const third = await openWindow(net, fresh.link, win.factory);
  await until(third.controller, 'reconnected again', (s) => s.connection.state === 'connected');
  assert.equal(main.instance.invites().find((i) => i.inviteId === fresh.inviteId)?.status, 'open', 'not redeemed');
  await third.controller.close();
  await main.instance.close();
});

test('start-link problems: none, expired, or an invitation meant for another device', async () => {
  const net = new MemoryNetwork();
  const main = await memoryInstance(net, 'node-ann');
  const none = await openWindow(net, null);
  assert.equal(none.controller.state.phase, 'first-run');
  assert.equal(err(none.controller)?.code, 'NOT_FOUND');
  assert.match(err(none.controller)!.text, /no usable start link/);
  // The URL with the link opened in the same tab afterwards (a hashchange, no reload).
  none.controller.provideStartLink((await main.instance.invite({ purpose: 'renderer' })).link);
  assert.equal(err(none.controller), undefined);
  assert.equal(none.controller.state.suggestedName, 'ann');
  await none.controller.submitName('ann');
  await until(none.controller, 'paired late', (s) => s.phase === 'ready' && s.connection.state === 'connected');
  none.controller.provideStartLink('kith://pair/v1#ignored-once-paired');
  assert.equal(none.controller.state.phase, 'ready');
  await none.controller.close();
  const pairedBefore = main.instance.contacts().length;

  const { link } = await main.instance.invite({ purpose: 'renderer' });
  const late = await openWindow(net, link);
  late.skewMs = 3 * 3600 * 1000;
  await late.controller.submitName('ann');
  assert.equal(err(late.controller)?.code, 'INVITE_EXPIRED');
  assert.equal(`${err(late.controller)?.text} ${err(late.controller)?.next}`, 'This start link has expired. Restart Kith (npm start) to get a new one.');
  await late.controller.close();

  const contactLink = (await main.instance.invite({ purpose: 'contact' })).link;
  const wrong = await openWindow(net, contactLink);
  await wrong.controller.submitName('ann');
  assert.equal(err(wrong.controller)?.code, 'INVITE_MALFORMED');
  assert.equal(main.instance.contacts().length, pairedBefore, 'nothing paired');
  await wrong.controller.close();
  await main.instance.close();
});

test('two devices pair through Invite/Accept; a channel carries messages and files both ways', async () => {
  const net = new MemoryNetwork();
  const ann = await device(net, 'ann');
  const bob = await device(net, 'bob');
  const a = ann.win.controller;
  const b = bob.win.controller;

  // Ann's window asks her main for an invitation (opening the Invite screen creates one).
  a.navigate('invite');
  await until(a, 'invite', (s) => s.invite?.status === 'open');
  const invite = a.state.invite!;
  assert.match(invite.link, /^kith:\/\/pair\/v1#/);
  assert.match(invite.qr, /^data:image\/png;base64,/);
  assert.ok(invite.expiresAt * 1000 > Date.now());

  // A start link pasted into Accept is refused before main is asked.
  b.navigate('accept');
  await b.acceptLink((await bob.main.instance.invite({ purpose: 'renderer' })).link);
  assert.equal(err(b)?.code, 'INVITE_MALFORMED');
  assert.match(err(b)!.text, /start link of a Kith window/);

  // A kith:// link the OS opened fills the Accept screen and redeems nothing by itself.
  b.navigate('channels');
  b.openLink(invite.link);
  assert.equal(b.state.screen, 'accept');
  assert.equal(b.state.accept.draft, invite.link);
  assert.equal(b.state.accept.busy, false);
  assert.equal(ann.main.instance.invites().find((i) => i.inviteId === invite.inviteId)?.status, 'open');

  await b.acceptLink();
  assert.equal(err(b), undefined, err(b)?.text);
  assert.equal(b.state.accept.result?.name, 'node-ann');
  assert.match(b.state.accept.result?.sas ?? '', /^\d{6}$/);
  await until(a, 'invite used', (s) => s.invite?.status === 'used' && s.invite.pairedName === 'node-bob');
  await until(a, 'bob listed and connected', (s) => s.contacts.some((c) => c.name === 'node-bob' && c.state === 'connected'));

  // The same link again: spent.
  await b.acceptLink(invite.link);
  assert.ok(['INVITE_USED', 'INVITE_UNKNOWN'].includes(err(b)?.code ?? ''), err(b)?.code);
  assert.equal(err(b)?.next, 'Ask for a new invitation.');

  // Ann creates a channel shared with Bob's main and writes to it.
  const bobMain = a.state.contacts.find((c) => c.name === 'node-bob')!;
  a.navigate('channels');
  await a.createChannel('team', [bobMain.personId, 'f'.repeat(64)]);
  assert.equal(a.state.channels.channels[0]?.name, 'team');
  assert.ok(await a.sendText('hello bob'));
  assert.equal(a.state.channels.messages[0]?.authorName, 'ann');
  assert.equal(a.state.channels.messages[0]?.verified, true);
  assert.equal(a.state.channels.messages[0]?.mine, true);

  // renderer A → main A → main B → renderer B.
  await until(b, 'channel reaches bob', (s) => s.channels.channels.some((c) => c.name === 'team'), 15000);
  const team = b.state.channels.channels.find((c) => c.name === 'team')!;
  assert.equal(team.mine, false);
  await b.selectChannel(team.hash);
  await until(b, 'message reaches bob', (s) => s.channels.messages.some((m) => m.text === 'hello bob'), 15000);
  const got = b.state.channels.messages.find((m) => m.text === 'hello bob')!;
  assert.equal(got.authorName, 'ann');
  assert.equal(got.verified, true);
  assert.equal(got.mine, false);

  // …and back.
  assert.ok(await b.sendText('hello ann'));
  await until(a, 'reply reaches ann', (s) => s.channels.messages.some((m) => m.text === 'hello ann' && m.authorName === 'bob' && m.verified), 15000);

  // Files both ways (2.5 MiB: three chunks), with upload progress reported.
  const bytes = new Uint8Array(2.5 * 1024 * 1024);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31) & 0xff;
  let sawUpload = false;
  const off = a.subscribe((s) => {
    if (s.channels.uploads.length > 0) sawUpload = true;
  });
  assert.ok(await a.sendFile({ name: 'dir/../report.bin', size: bytes.length, type: 'application/octet-stream', pieces: () => pieces(bytes, 100_000) }));
  off();
  assert.ok(sawUpload, 'an upload was shown while storing');
  assert.equal(a.state.channels.uploads.length, 0, 'and cleared after');
  await until(b, 'file ready at bob', (s) => s.channels.messages.some((m) => m.file?.name === 'report.bin' && m.file.ready), 20000);
  const fileMsg = b.state.channels.messages.find((m) => m.file?.name === 'report.bin')!;
  assert.equal(fileMsg.file?.size, bytes.length);
  const received = await b.readFile(fileMsg.file!.manifest);
  assert.deepEqual(concat(received!), bytes);

  const small = new TextEncoder().encode('a small note');
  assert.ok(await b.sendFile({ name: 'note.txt', size: small.length, type: 'text/plain', pieces: () => small }));
  await until(a, 'file ready at ann', (s) => s.channels.messages.some((m) => m.file?.name === 'note.txt' && m.file.ready && m.file.mime === 'text/plain'), 20000);
  const back = a.state.channels.messages.find((m) => m.file?.name === 'note.txt')!;
  assert.deepEqual(concat((await a.readFile(back.file!.manifest))!), small);

  // Sync activity saw both this window's and main's sessions.
  assert.ok(a.state.activity.some((r) => r.source === 'window' && r.peerName === 'node-ann'));
  await until(a, "main's progress with bob", (s) => s.activity.some((r) => r.source === 'main' && r.peerName === 'node-bob'));
  assert.ok(!a.state.activity.some((r) => r.source === 'main' && r.peerName === 'ann'), "main's mirror of this window's session is left out");

  // Revoking Bob from Ann's devices screen, then restoring him.
  a.navigate('devices');
  await a.revokeContact(bobMain.personId);
  await until(a, 'bob revoked', (s) => s.contacts.some((c) => c.name === 'node-bob' && c.revoked && c.state === 'idle'));
  await a.unrevokeContact(bobMain.personId);
  await until(a, 'bob restored', (s) => s.contacts.some((c) => c.name === 'node-bob' && !c.revoked));

  for (const d of [ann, bob]) {
    await d.win.controller.close();
    await d.main.instance.close();
  }
});

test('invitation lifecycle on the Invite screen: withdraw, expire, create anew', async () => {
  const net = new MemoryNetwork();
  const ann = await device(net, 'ann');
  const a = ann.win.controller;
  a.navigate('invite');
  await until(a, 'invite', (s) => s.invite?.status === 'open');
  const first = a.state.invite!;

  await a.revokeInvite();
  assert.equal(a.state.invite?.status, 'revoked');
  assert.equal(err(a)?.code, 'INVITE_REVOKED');
  assert.equal(err(a)?.action, 'new-invite');
  assert.equal(ann.main.instance.invites().find((i) => i.inviteId === first.inviteId)?.status, 'revoked');

  await a.runErrorAction();
  assert.equal(a.state.invite?.status, 'open');
  assert.notEqual(a.state.invite?.inviteId, first.inviteId);
  assert.equal(err(a), undefined);

  // Refresh withdraws the open one and shows a new one with the chosen lifetime.
  const second = a.state.invite!;
  await a.refreshInvite(60);
  const third = a.state.invite!;
  assert.notEqual(third.inviteId, second.inviteId);
  assert.ok(third.expiresAt - Date.now() / 1000 <= 61);
  assert.equal(ann.main.instance.invites().find((i) => i.inviteId === second.inviteId)?.status, 'revoked');

  // The window's clock passes the expiry: the screen says so and offers a new one.
  ann.win.skewMs = 120_000;
  await until(a, 'expired', (s) => s.invite?.status === 'expired' && s.error?.code === 'INVITE_EXPIRED', 4000);
  assert.equal(err(a)?.next, 'Create a new invitation');
  ann.win.skewMs = 0;
  await a.runErrorAction();
  assert.equal(a.state.invite?.status, 'open');

  // The lifetime chosen for the next invitation is kept across screens; values main would refuse are ignored.
  assert.equal(a.state.inviteTtlSeconds, 600, 'ten minutes by default (DESIGN §4)');
  a.setInviteTtl(3600);
  a.navigate('channels');
  a.navigate('invite');
  assert.equal(a.state.inviteTtlSeconds, 3600);
  for (const bad of [0, 5, 29, 86_401, 1.5, Number.NaN, -60]) a.setInviteTtl(bad);
  assert.equal(a.state.inviteTtlSeconds, 3600);

  // Leaving the screen clears its error; the main connection going away makes actions say so.
  a.navigate('channels');
  assert.equal(err(a), undefined);
  await ann.main.instance.close();
  await until(a, 'offline', (s) => s.connection.state !== 'connected' && !s.companion);
  await a.createInvite();
  assert.equal(err(a)?.code, 'CLOSED');
  await a.close();
});

test("a message whose signature does not verify is shown as not verified", async () => {
  const net = new MemoryNetwork();
  const ann = await device(net, 'ann');
  const a = ann.win.controller;
  await a.createChannel('solo', []);
  await a.sendText('genuine');
  // The store only holds verified objects, so tamper with what the book reads back.
  const { ChannelBook } = await import('../../renderer/ChannelBook.js');
  const instance = (a as unknown as { instance: Instance }).instance;
  const chum = new Proxy(instance.chum, {
    get(target, prop) {
      if (prop === 'getObject') {
        return async (hash: never) => {
          const o = await target.getObject(hash);
          return o?.$type === 'ChannelEntry' ? { ...o, text: 'forged' } : o;
        };
      }
      const v = Reflect.get(target, prop);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const book = new ChannelBook({ chum, crypto: webCrypto, identity: (a as unknown as { identity: never }).identity, onChange: () => {} });
  await book.start();
  await book.select(a.state.channels.selected);
  const [m] = book.snapshot().messages;
  assert.equal(m?.text, 'forged');
  assert.equal(m?.verified, false);
  book.close();
  await a.close();
  await ann.main.instance.close();
});

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
