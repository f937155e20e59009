import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance } from '../support/instances.js';
import { crypto, waitFor, staticKeyPair, makeIdentity, nextEvent } from '../support/peers.js';
import { parseInvitationLink, invitationToLink } from '../../pairing/invitation.js';
import { encodePairingMessage, decodePairingMessage, signBinding, type PairHello, type PairError } from '../../pairing/protocol.js';
import { StateDocument } from '../../shared/StateDocument.js';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';
import { emptyPairingDocument, parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { InvitationRegistry } from '../../pairing/InvitationRegistry.js';
import { Contacts } from '../../pairing/Contacts.js';
import { verifyIdentity } from '../../shared/identity.js';
import { fromBase64url } from '../../shared/bytes.js';
import type { PersonId } from '../../shared/ids.js';

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

test('expired before the handshake and during it: INVITE_EXPIRED, no contact', async () => {
  const net = new MemoryNetwork();
  let clock = 1_800_000_000_000;
  const tick = () => clock;
  const ann = await memoryInstance(net, 'ann', {
    now: tick,
    confirmPairing: async () => {
      clock += 11 * 60 * 1000; // the inviter's clock passes the expiry while the user thinks
      return true;
    },
  });
  const bob = await memoryInstance(net, 'bob', { now: tick });
  const first = await ann.instance.invite({ ttlSeconds: 60 });
  clock += 61_000;
  // Still within the invitee's ±5 min skew allowance, so the inviter's clock decides.
  await assert.rejects(bob.instance.acceptInvite(first.link), { code: 'INVITE_EXPIRED' });
  const second = await ann.instance.invite();
  await assert.rejects(bob.instance.acceptInvite(second.link), { code: 'INVITE_EXPIRED' });
  assert.equal(ann.instance.contacts().length, 0);
  assert.equal(bob.instance.contacts().length, 0);
  for (const i of [ann, bob]) await i.instance.close();
});

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

/** Runs the invitee's side by hand so the hello can be forged. */
async function forgedHello(mutate: (hello: PairHello, h: Uint8Array) => Promise<PairHello>) {
  const net = new MemoryNetwork();
  const ann = await memoryInstance(net, 'ann');
  const bob = await memoryInstance(net, 'bob');
  const { link } = await ann.instance.invite();
  const inv = parseInvitationLink(link, { nowSeconds: Math.floor(now() / 1000) });
  const session = await bob.instance.connections.connectForPairing(inv.endpoints[0]!, inv.inviterKey, inv.token);
  const h = session.info.handshakeHash;
  const hello: PairHello = { t: 'pair-hello', identity: bob.identity.public, endpoints: [], binding: await signBinding(crypto, bob.identity, 'invitee', h) };
  const answer = new Promise<Uint8Array>((resolve) => session.setHandler((m) => resolve(m)));
  await session.send(encodePairingMessage(await mutate(hello, h)));
  const reply = decodePairingMessage<PairError>(await answer, ['pair-error', 'pair-welcome']);
  const close = await session.closed;
  for (const i of [ann, bob]) await i.instance.close();
  return { reply, close, annContacts: ann.instance.contacts().length };
}

test('an identity signed over a different handshake hash is refused with IDENTITY_INVALID', async () => {
  const { reply, close, annContacts } = await forgedHello(async (hello) => {
    const bob = hello;
    return { ...bob, binding: (await forgedBinding()) };
  });
  assert.equal(reply.t, 'pair-error');
  assert.equal(reply.code, 'IDENTITY_INVALID');
  assert.equal(close.code, 'IDENTITY_INVALID');
  assert.equal(annContacts, 0);
});

async function forgedBinding(): Promise<string> {
  const other = await makeIdentity('other');
  return signBinding(crypto, other, 'invitee', crypto.randomBytes(32));
}

test('an identity whose instance key differs from the proven one is refused with KEY_MISMATCH', async () => {
  const carl = await makeIdentity('carl');
  const { reply, annContacts } = await forgedHello(async (_hello, h) => ({
    t: 'pair-hello',
    identity: carl.public,
    endpoints: [],
    binding: await signBinding(crypto, carl, 'invitee', h),
  }));
  assert.equal(reply.code, 'KEY_MISMATCH');
  assert.equal(annContacts, 0);
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

test('a crash between consuming the invitation and storing the contact leaves neither half', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-crash-'));
  const ann = await makeIdentity('ann');
  const bob = await makeIdentity('bob');
  let crash = false;
  const adapter = () => new DurableJsonFile<PairingDocument>(join(dir, 'pairing.json'), parsePairingDocument, () => {
    if (crash) throw new Error('simulated crash before rename');
  });
  const open = async () => {
    const state = await StateDocument.open(adapter(), emptyPairingDocument);
    const registry = new InvitationRegistry(state, {
      crypto, staticPublicKey: staticKeyPair(ann).publicKey, staticSecret: ann.instanceSecrets.staticSecret,
      name: () => 'ann', endpoints: () => ['ws://ann.test/kith/v1'], now,
    });
    return { state, registry, contacts: new Contacts(state, now) };
  };
  const first = await open();
  const { inviteId } = await first.registry.create();
  const verified = await verifyIdentity(crypto, bob.public);
  crash = true;
  await assert.rejects(
    first.state.update((doc) => {
      first.registry.consumeIn(doc, inviteId, verified.personId);
      first.contacts.upsertIn(doc, verified, { relation: 'contact', endpoints: [], via: 'invited' });
    }),
    /simulated crash/,
  );
  // In memory nothing changed either.
  assert.equal(first.registry.list()[0]!.status, 'open');
  assert.equal(first.contacts.list().length, 0);
  crash = false;
  const reopened = await open();
  assert.equal(reopened.registry.list()[0]!.status, 'open');
  assert.equal(reopened.contacts.list().length, 0);
  assert.equal(reopened.contacts.get(verified.personId as PersonId), undefined);
  await rm(dir, { recursive: true, force: true });
});
