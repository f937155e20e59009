import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { crypto, waitFor, staticKeyPair, makeIdentity, nextEvent } from '../support/peers.js';
import { parseInvitationLink, invitationToLink } from '../../pairing/invitation.js';
import { encodePairingMessage, decodePairingMessage, signBinding, verifyBinding, type PairHello, type PairError, type PairWelcome } from '../../pairing/protocol.js';
import { ConnectionsModel } from '../../connections/ConnectionsModel.js';
import { deriveInviteSecrets } from '../../connections/handshake.js';
import type { PairingGate } from '../../connections/Router.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import type { KithError } from '../../shared/errors.js';
import type { Adapter } from 'lowdb';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';
import { parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { verifyIdentity } from '../../shared/identity.js';
import { fromBase64url, toHex } from '../../shared/bytes.js';
import { MAX_OPEN_INVITES } from '../../shared/limits.js';

const now = () => Date.now();

test('pairing in-process: both contacts stored, session kept open, SAS equal on both sides', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  let askedSas = '';
  const annAsked = await memoryInstance(net, 'ann2', {
    confirmPairing: async (req) => {
      askedSas = req.sas;
      assert.equal(req.name, 'bob');
      return true;
    },
  });
  const invite = await annAsked.instance.invite();
  assert.match(invite.link, /^kith:\/\/pair\/v1#/);
  const paired = nextEvent(annAsked.instance.events, 'pairing:paired');
  const result = await bob.instance.acceptInvite(invite.link);
  const inviterSide = await paired;
  assert.equal(result.contact.personId, annAsked.identity.personId);
  assert.equal(result.contact.relation, 'contact');
  assert.equal(inviterSide.contact.personId, bob.identity.personId);
  assert.equal(result.sas, inviterSide.sas);
  assert.equal(askedSas, result.sas);
  assert.match(result.sas, /^\d{6}$/);
  assert.equal(annAsked.instance.contacts().length, 1);
  assert.equal(bob.instance.contacts().length, 1);
  assert.equal(annAsked.instance.invites()[0]!.status, 'used');
  // The pairing session stays open as the regular session.
  await waitFor(() => !!annAsked.instance.connections.sessionFor(fromBase64url(bob.identity.public.instance.staticKey)));
  assert.equal(annAsked.instance.connections.connectedPeers().length, 1);
  for (const i of [ann, bob, annAsked]) await i.instance.close();
});

test('the same invitation redeemed twice: the second gets INVITE_USED', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const carl = await memoryInstance(net, 'carl');
  const { link } = await ann.instance.invite();
  await bob.instance.acceptInvite(link);
  await assert.rejects(carl.instance.acceptInvite(link), { code: 'INVITE_USED' });
  assert.equal(ann.instance.contacts().length, 1);
  assert.equal(carl.instance.contacts().length, 0);
  for (const i of [ann, bob, carl]) await i.instance.close();
});

test('50 concurrent redemptions of one invitation: exactly one contact results', async () => {
  const net = new MemoryNetwork({ latencyMs: 1 });
  const ann = await memoryInstance(net, 'ann');
  const { link } = await ann.instance.invite();
  const invitees = await Promise.all(Array.from({ length: 50 }, (_, i) => memoryInstance(net, `p${i}`, { listen: false })));
  const results = await Promise.allSettled(invitees.map((p) => p.instance.acceptInvite(link)));
  const ok = results.filter((r) => r.status === 'fulfilled');
  const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason.code);
  assert.equal(ok.length, 1, `codes: ${[...new Set(codes)].join(',')}`);
  assert.ok(codes.every((c) => c === 'INVITE_USED'), [...new Set(codes)].join(','));
  assert.equal(ann.instance.contacts().length, 1);
  assert.equal(invitees.filter((p) => p.instance.contacts().length > 0).length, 1);
  await ann.instance.close();
  await Promise.all(invitees.map((p) => p.instance.close()));
});

test('expired before the handshake: INVITE_EXPIRED, no contact', async () => {
  const net = new MemoryNetwork();
  let clock = 1_800_000_000_000;
  const tick = () => clock;
  const ann = await memoryInstance(net, 'ann', { now: tick });
  const bob = await memoryInstance(net, 'bob', { now: tick });
  const { link, inviteId } = await ann.instance.invite({ ttlSeconds: 60 });
  clock += 61_000;
  // Still within the invitee's ±5 min skew allowance, so the inviter's clock decides.
  await assert.rejects(bob.instance.acceptInvite(link), { code: 'INVITE_EXPIRED' });
  assert.equal(ann.instance.contacts().length, 0);
  assert.equal(bob.instance.contacts().length, 0);
  assert.equal(ann.instance.invites().find((i) => i.inviteId === inviteId)!.failedAttempts, 0);
  for (const i of [ann, bob]) await i.instance.close();
});

/**
 * The invitation expires on the inviter's clock while the invitee's pairing is under way:
 * `stage` says when ann's clock jumps 11 minutes (past the 10-minute default). bob's clock
 * stands still, so only the inviter can notice.
 */
async function expiresDuring(stage: 'first message sent' | 'pair-hello sent' | 'inviter asks its user') {
  const net = new MemoryNetwork();
  let annClock = 1_800_000_000_000;
  const bobClock = annClock;
  const expire = () => void (annClock += 11 * 60 * 1000);
  let asked = 0;
  const ann = await memoryInstance(net, 'ann', {
    now: () => annClock,
    confirmPairing: async () => {
      asked++;
      if (stage === 'inviter asks its user') expire();
      return true;
    },
  });
  // bob's frames on the pairing connection: 1 = handshake message 1, 2 = key confirmation, 3 = pair-hello.
  const expireOnFrame = stage === 'first message sent' ? 1 : stage === 'pair-hello sent' ? 3 : 0;
  let frames = 0;
  const bob = await memoryInstance(net, 'bob', {
    now: () => bobClock,
    tapDial: (transport) => {
      const send = transport.send.bind(transport);
      transport.send = (data) => {
        if (++frames === expireOnFrame) expire();
        send(data);
      };
      return transport;
    },
  });
  const { link, inviteId } = await ann.instance.invite();
  // Once the handshake is through, the pairing service refuses (and says so); before it the router does.
  const annFailed = stage === 'first message sent' ? undefined : nextEvent(ann.instance.events, 'pairing:failed');
  await assert.rejects(bob.instance.acceptInvite(link), { code: 'INVITE_EXPIRED' });
  assert.equal(ann.instance.contacts().length, 0);
  assert.equal(bob.instance.contacts().length, 0);
  const invite = ann.instance.invites().find((i) => i.inviteId === inviteId)!;
  assert.equal(invite.status, 'expired');
  assert.equal(invite.failedAttempts, 0, 'expiry is not a failed attempt');
  if (annFailed) assert.equal((await annFailed).code, 'INVITE_EXPIRED');
  // Refused at the first message: the handshake never completed (bob never confirmed keys).
  else assert.equal(frames, 1);
  // Nobody is asked to confirm a pairing that can no longer complete.
  assert.equal(asked, stage === 'inviter asks its user' ? 1 : 0);
  for (const i of [ann, bob]) await i.instance.close();
}

test('expired after the invitee sent its first handshake message, before the inviter read it: INVITE_EXPIRED, no contact', () =>
  expiresDuring('first message sent'));

test('expired after the handshake, before the inviter read pair-hello: INVITE_EXPIRED, no contact', () => expiresDuring('pair-hello sent'));

test('expired while the inviter asks its user, before consuming: INVITE_EXPIRED, no contact', () => expiresDuring('inviter asks its user'));

test('a revoked invitation is refused with INVITE_REVOKED', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link, inviteId } = await ann.instance.invite();
  await ann.instance.revokeInvite(inviteId);
  await assert.rejects(bob.instance.acceptInvite(link), { code: 'INVITE_REVOKED' });
  for (const i of [ann, bob]) await i.instance.close();
});

test('a wrong token is refused before any Diffie-Hellman work', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link } = await ann.instance.invite();
  const inv = parseInvitationLink(link, { nowSeconds: Math.floor(now() / 1000) });
  const forged = invitationToLink({ ...inv, token: crypto.randomBytes(32) });
  const x25519 = crypto.x25519.bind(crypto);
  let dhCalls = 0;
  (crypto as { x25519: typeof x25519 }).x25519 = async (s, p) => {
    dhCalls++;
    return x25519(s, p);
  };
  try {
    const before = dhCalls;
    await assert.rejects(bob.instance.acceptInvite(forged), { code: 'INVITE_UNKNOWN' });
    // Only the invitee's own DH (es, ss while writing msg1) ran; the inviter did none.
    assert.equal(dhCalls - before, 2);
  } finally {
    (crypto as { x25519: typeof x25519 }).x25519 = x25519;
  }
  for (const i of [ann, bob]) await i.instance.close();
});

test('a link whose key was swapped is refused by the invitee with KEY_MISMATCH', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link } = await ann.instance.invite();
  const inv = parseInvitationLink(link, { nowSeconds: Math.floor(now() / 1000) });
  const mallory = await makeIdentity('mallory');
  const swapped = invitationToLink({ ...inv, inviterKey: staticKeyPair(mallory).publicKey });
  await assert.rejects(bob.instance.acceptInvite(swapped), { code: 'KEY_MISMATCH' });
  assert.equal(bob.instance.contacts().length, 0);
  assert.equal(ann.instance.contacts().length, 0);
  for (const i of [ann, bob]) await i.instance.close();
});

/**
 * Runs the invitee's side by hand so the hello can be forged, then has bob redeem the same
 * link honestly: a refused attempt must leave the invitation usable (it only counts as a
 * failed attempt) and must not be what made the honest pairing fail.
 */
async function forgedHello(mutate: (hello: PairHello, h: Uint8Array, ctx: { ann: MemoryInstance; bob: MemoryInstance }) => Promise<PairHello>) {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link, inviteId } = await ann.instance.invite();
  const inv = parseInvitationLink(link, { nowSeconds: Math.floor(now() / 1000) });
  const session = await bob.instance.connections.connectForPairing(inv.endpoints[0]!, inv.inviterKey, inv.token);
  const h = session.info.handshakeHash;
  const hello: PairHello = { t: 'pair-hello', identity: bob.identity.public, endpoints: [], binding: await signBinding(crypto, bob.identity, 'invitee', h) };
  const answer = new Promise<Uint8Array>((resolve) => session.setHandler((m) => resolve(m)));
  await session.send(encodePairingMessage(await mutate(hello, h, { ann, bob })));
  const reply = decodePairingMessage<PairError>(await answer, ['pair-error', 'pair-welcome']);
  const close = await session.closed;
  const annContacts = ann.instance.contacts().length;
  const inviteAfter = ann.instance.invites().find((i) => i.inviteId === inviteId)!;
  const honest = await bob.instance.acceptInvite(link).then(() => 'paired', (e: KithError) => e.code);
  for (const i of [ann, bob]) await i.instance.close();
  return { reply, close, annContacts, inviteAfter, honest };
}

test('an identity signed by its own person key over a different handshake hash is refused with IDENTITY_INVALID', async () => {
  let otherHash: Uint8Array | undefined;
  const { reply, close, annContacts, inviteAfter, honest } = await forgedHello(async (hello, h, { ann, bob }) => {
    // The hash of another real session between the same two instances (a relayed binding):
    // bob's own person key, role and instance key are right; only the session differs.
    const other = (await ann.instance.invite()).invitation;
    const otherSession = await bob.instance.connections.connectForPairing(other.endpoints[0]!, other.inviterKey, other.token);
    otherHash = otherSession.info.handshakeHash;
    otherSession.close();
    assert.notDeepEqual(otherHash, h);
    const binding = await signBinding(crypto, bob.identity, 'invitee', otherHash);
    // The binding itself is sound: it verifies for the session it was made for.
    const bobPerson = await verifyIdentity(crypto, bob.identity.public);
    await verifyBinding(crypto, bobPerson.personSignKey, 'invitee', otherHash, bobPerson.staticKey, binding);
    return { ...hello, binding };
  });
  assert.ok(otherHash);
  assert.equal(reply.t, 'pair-error');
  assert.equal(reply.code, 'IDENTITY_INVALID');
  assert.equal(close.code, 'IDENTITY_INVALID');
  assert.equal(annContacts, 0);
  // Not consumed, counted as one failed attempt (DESIGN §4: burned after 5).
  assert.equal(inviteAfter.status, 'open');
  assert.equal(inviteAfter.failedAttempts, 1);
  // The same identity bound to the right session pairs on the same invitation.
  assert.equal(honest, 'paired');
});

test('an identity whose instance key differs from the proven one is refused with KEY_MISMATCH', async () => {
  const carl = await makeIdentity('carl');
  const { reply, annContacts, inviteAfter, honest } = await forgedHello(async (_hello, h) => ({
    t: 'pair-hello',
    identity: carl.public,
    endpoints: [],
    binding: await signBinding(crypto, carl, 'invitee', h),
  }));
  assert.equal(reply.code, 'KEY_MISMATCH');
  assert.equal(annContacts, 0);
  assert.equal(inviteAfter.status, 'open');
  assert.equal(inviteAfter.failedAttempts, 1);
  assert.equal(honest, 'paired');
});

test("the invitee refuses an inviter identity signed by the inviter's own person key over a different handshake hash", async () => {
  const net = new MemoryNetwork();
  const dave = await memoryInstance(net, 'dave', { listen: false });
  const carl = await memoryInstance(net, 'carl', { listen: false });
  // A fake inviter (the right key pair and identity, a real listener and IKpsk2 handshake)
  // that answers every pair-hello with a welcome bound to `bindTo(session)`.
  const ann = await makeIdentity('ann');
  const url = 'ws://ann.test/kith/v1';
  const tokens = new Map<string, ReturnType<typeof deriveInviteSecrets>>();
  const hashes: Uint8Array[] = [];
  let bindTo: (session: SecureSession) => Uint8Array = (s) => s.info.handshakeHash;
  const gate: PairingGate = {
    lookup: (id) => {
      const found = tokens.get(id);
      return found ? { ok: true, psk: found.psk, macKey: found.macKey } : { ok: false, code: 'INVITE_UNKNOWN' };
    },
    recordFailure: () => {},
    accept: (_id, session) => {
      hashes.push(session.info.handshakeHash);
      session.setHandler(async () => {
        session.setHandler(undefined);
        const welcome: PairWelcome = { t: 'pair-welcome', identity: ann.public, endpoints: [url], binding: await signBinding(crypto, ann, 'inviter', bindTo(session)) };
        await session.send(encodePairingMessage(welcome)).catch(() => {});
      });
    },
  };
  const model = new ConnectionsModel({ crypto, staticKeyPair: staticKeyPair(ann), peers: { lookup: () => ({ kind: 'unknown' as const }) }, pairing: gate, dial: (u) => net.dial(u) });
  const stop = net.listen(url, (accepted) => void model.accept(accepted));
  const linkFor = () => {
    const token = crypto.randomBytes(32);
    const secrets = deriveInviteSecrets(crypto, token);
    tokens.set(toHex(secrets.inviteId), secrets);
    return invitationToLink({ version: 1, purpose: 'contact', token, inviterKey: staticKeyPair(ann).publicKey, expiresAt: Math.floor(now() / 1000) + 600, name: 'ann', endpoints: [url] });
  };
  // Control: bound to its own session, this welcome is accepted.
  const ok = await dave.instance.acceptInvite(linkFor());
  assert.equal(ok.contact.personId, ann.personId);
  // The same inviter, same keys, bound to dave's session instead of carl's: refused.
  bindTo = () => hashes[0]!;
  const failed = nextEvent(carl.instance.events, 'pairing:failed');
  await assert.rejects(carl.instance.acceptInvite(linkFor()), { code: 'IDENTITY_INVALID' });
  assert.equal((await failed).code, 'IDENTITY_INVALID');
  assert.equal(hashes.length, 2);
  assert.notDeepEqual(hashes[0], hashes[1]);
  assert.equal(carl.instance.contacts().length, 0);
  stop();
  await model.close();
  for (const i of [dave, carl]) await i.instance.close();
});

test('re-pairing a known person updates the contact instead of duplicating it', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  await bob.instance.acceptInvite((await ann.instance.invite()).link);
  const firstPairedAt = ann.instance.contacts()[0]!.instances[0]!.pairedAt;
  await new Promise((r) => setTimeout(r, 5));
  await bob.instance.acceptInvite((await ann.instance.invite()).link);
  assert.equal(ann.instance.contacts().length, 1);
  assert.equal(ann.instance.contacts()[0]!.instances.length, 1);
  assert.ok(ann.instance.contacts()[0]!.instances[0]!.pairedAt > firstPairedAt);
  assert.equal(bob.instance.contacts().length, 1);
  for (const i of [ann, bob]) await i.instance.close();
});

test('revocation is durable across restarts and not undone by a new invitation', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  await bob.instance.acceptInvite((await ann.instance.invite()).link);
  await waitFor(() => ann.instance.connections.connectedPeers().length === 1);
  await ann.instance.revokeContact(bob.identity.personId);
  await waitFor(() => ann.instance.connections.connectedPeers().length === 0, 3000, 'revoked session closed');
  // Restart ann with the same state.
  await ann.instance.close();
  const ann2 = await memoryInstance(net, 'ann', { identity: ann.identity, pairingState: ann.pairingState, marksState: ann.marksState, store: undefined });
  assert.equal(ann2.instance.contacts()[0]!.revoked, true);
  // bob's dialer keeps trying: each attempt is refused.
  const refused = await nextEvent(ann2.instance.events, 'connection:failed', 5000, (f) => f.code === 'CONTACT_REVOKED');
  assert.equal(refused.code, 'CONTACT_REVOKED');
  // A fresh invitation does not silently re-admit bob.
  await assert.rejects(bob.instance.acceptInvite((await ann2.instance.invite()).link), { code: 'CONTACT_REVOKED' });
  assert.equal(ann2.instance.contacts()[0]!.revoked, true);
  // Lifting the revocation explicitly lets bob pair again.
  await ann2.instance.unrevokeContact(bob.identity.personId);
  await bob.instance.acceptInvite((await ann2.instance.invite()).link);
  assert.equal(ann2.instance.contacts()[0]!.revoked, false);
  for (const i of [ann2, bob]) await i.instance.close();
});

test('an invitation is burned after 5 failed attempts (TOO_MANY_ATTEMPTS)', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link, inviteId } = await ann.instance.invite();
  const inv = parseInvitationLink(link, { nowSeconds: Math.floor(now() / 1000) });
  const mallory = await makeIdentity('m');
  // Five attempts that know the token but present a bad identity binding.
  for (let i = 0; i < 5; i++) {
    const s = await bob.instance.connections.connectForPairing(inv.endpoints[0]!, inv.inviterKey, inv.token);
    await s.send(encodePairingMessage({ t: 'pair-hello', identity: mallory.public, endpoints: [], binding: await signBinding(crypto, mallory, 'invitee', crypto.randomBytes(32)) }));
    await s.closed;
  }
  await waitFor(() => ann.instance.invites().find((x) => x.inviteId === inviteId)!.status === 'burned', 3000, 'burned');
  await assert.rejects(bob.instance.acceptInvite(link), { code: 'TOO_MANY_ATTEMPTS' });
  for (const i of [ann, bob]) await i.instance.close();
});

test('the inviter can decline: the invitee sees PAIRING_DECLINED', async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann', { confirmPairing: async () => false });
  const bob = await memoryInstance(net, 'bob');
  await assert.rejects(bob.instance.acceptInvite((await ann.instance.invite()).link), { code: 'PAIRING_DECLINED' });
  assert.equal(ann.instance.contacts().length, 0);
  assert.equal(ann.instance.invites()[0]!.status, 'open');
  for (const i of [ann, bob]) await i.instance.close();
});

/**
 * The inviter's pairing state on disk (DurableJsonFile), with a process that "dies" at the
 * `crashAt`-th write after `arm()`: either after the new file is written and fsynced but
 * before it is renamed into place, or right after the rename. A dead process writes nothing
 * more, so every later write fails too.
 */
class CrashingStateFile implements Adapter<PairingDocument> {
  private readonly file: DurableJsonFile<PairingDocument>;
  private armed = false;
  private writes = 0;
  dead = false;

  constructor(path: string, private readonly crashAt: number, private readonly when: 'before rename' | 'after rename') {
    this.file = new DurableJsonFile(path, parsePairingDocument, () => {
      if (this.atCrashPoint() && this.when === 'before rename') this.die();
    });
  }

  arm(): void {
    this.armed = true;
  }

  read(): Promise<PairingDocument | null> {
    return this.file.read();
  }

  async write(data: PairingDocument): Promise<void> {
    if (this.dead) throw new Error('the process is gone');
    if (this.armed) this.writes++;
    await this.file.write(data);
    if (this.atCrashPoint() && this.when === 'after rename') this.die();
  }

  private atCrashPoint(): boolean {
    return this.armed && this.writes === this.crashAt;
  }

  private die(): never {
    this.dead = true;
    throw new Error(`simulated crash ${this.when}`);
  }
}

test('a crash between consuming the invitation and storing the contact leaves neither half', async () => {
  const annId = await makeIdentity('ann');
  const dir = await mkdtemp(join(tmpdir(), 'kith-crash-'));
  const path = (run: string) => join(dir, run, 'pairing.json');
  /** ann restarted on what the disk holds: is the invitation used, and is bob a contact? */
  const reopen = async (net: MemoryNetwork, run: string, inviteId: string) => {
    const ann = await memoryInstance(net, 'ann', { identity: annId, pairingState: new DurableJsonFile(path(run), parsePairingDocument) });
    const used = ann.instance.invites().find((i) => i.inviteId === inviteId)!.status === 'used';
    const contact = ann.instance.contacts().length > 0;
    return { ann, used, contact };
  };
  let crashes = 0;
  try {
    for (const when of ['before rename', 'after rename'] as const) {
      // Crash at the 1st, 2nd, … write ann makes while pairing, until a pairing makes fewer writes.
      for (let crashAt = 1; ; crashAt++) {
        const run = `${when.replace(' ', '-')}-${crashAt}`;
        const net = new MemoryNetwork();
        const file = new CrashingStateFile(path(run), crashAt, when);
        const ann = await memoryInstance(net, 'ann', { identity: annId, pairingState: file });
        const bob = await memoryInstance(net, 'bob');
        const { link, inviteId } = await ann.instance.invite();
        file.arm();
        const outcome = await bob.instance.acceptInvite(link).then(() => 'paired', (e: KithError) => e.code);
        await ann.instance.close();
        if (!file.dead) {
          // Pairing needed fewer writes than crashAt: it completed, and the disk holds both halves.
          assert.equal(outcome, 'paired');
          const after = await reopen(net, run, inviteId);
          assert.deepEqual([after.used, after.contact], [true, true], `${run}: completed pairing on disk`);
          await after.ann.instance.close();
          await bob.instance.close();
          assert.ok(crashAt > 1, 'the pairing reached at least one crash point');
          break;
        }
        crashes++;
        // ann failed locally: bob hears INTERNAL (not a protocol error of his) and stores nothing.
        assert.equal(outcome, 'INTERNAL', run);
        assert.equal(bob.instance.contacts().length, 0, run);
        const after = await reopen(net, run, inviteId);
        assert.equal(after.used, after.contact, `${run}: invitation used ${after.used} but contact stored ${after.contact}`);
        const invite = after.ann.instance.invites().find((i) => i.inviteId === inviteId)!;
        if (!after.used) {
          // Neither half: the invitation is as it was (not even counted as failed) and still works.
          assert.equal(invite.status, 'open', run);
          assert.equal(invite.failedAttempts, 0, run);
          await bob.instance.acceptInvite(link);
          await after.ann.instance.close();
          const again = await reopen(net, run, inviteId);
          assert.deepEqual([again.used, again.contact], [true, true], `${run}: redeemed after restart`);
          await again.ann.instance.close();
        } else {
          await after.ann.instance.close();
        }
        await bob.instance.close();
      }
    }
    assert.ok(crashes >= 2, 'crashed both before and after the rename');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(`at most ${MAX_OPEN_INVITES} invitations are open at once; revoking one makes room, and the refused one leaves nothing behind`, async () => {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const open: Array<Awaited<ReturnType<typeof ann.instance.invite>>["inviteId"]> = [];
  for (let i = 0; i < MAX_OPEN_INVITES; i++) open.push((await ann.instance.invite()).inviteId);
  const remembered = ann.instance.invites().length;
  await assert.rejects(ann.instance.invite(), (err: KithError) => err.code === 'INVALID_INPUT' && /revoke some first/.test(err.message));
  assert.equal(ann.instance.invites().length, remembered, 'the refused invitation is not recorded');
  assert.equal(ann.instance.invites().filter((i) => i.status === 'open').length, MAX_OPEN_INVITES);
  await ann.instance.revokeInvite(open[0]!);
  const again = await ann.instance.invite();
  assert.equal(ann.instance.invites().find((i) => i.inviteId === again.inviteId)?.status, 'open');
  await ann.instance.close();
});
