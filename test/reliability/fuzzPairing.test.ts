/**
 * Hostile input at pairing, property-based (fast-check). The invitation link and payload
 * parsers have their own fuzzers (test/pairing/invitationFuzz.test.ts); this adds:
 * - QR payloads end to end: images of arbitrary and near-valid text (any scale, quiet zone,
 *   polarity, noise) through `decodeQrFromRgba` and then `parseInvitationLink`, and images
 *   with hostile dimensions — a string, undefined, or a coded refusal;
 * - the pairing protocol messages: `decodePairingMessage` and identity verification on
 *   mutated real messages;
 * - a live inviter fed arbitrary pair-hello messages inside a real IKpsk2 session, and a
 *   live invitee fed arbitrary answers: each attempt pairs (only when the message is the
 *   valid one) or fails with a code on both the event and the promise, a contact is stored
 *   exactly when it paired, nothing escapes, and the heap stays bounded over the runs;
 * - the pairing state document (invitation registry + contacts) from arbitrary JSON and
 *   from arbitrary file bytes through the durable file adapter.
 * Bounded runs in `npm test`, ×100 with KITH_STRESS.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import QRCode from 'qrcode';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeQrFromRgba } from '../../pairing/qr.js';
import { INVITE_LINK_PREFIX, invitationToLink, parseInvitationLink } from '../../pairing/invitation.js';
import { decodePairingMessage, encodePairingMessage, signBinding, type PairHello, type PairWelcome } from '../../pairing/protocol.js';
import { parsePairingDocument, type PairingDocument } from '../../pairing/records.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { ConnectionsModel } from '../../connections/ConnectionsModel.js';
import { deriveInviteSecrets } from '../../connections/handshake.js';
import type { PairingGate } from '../../connections/Router.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import { DurableJsonFile } from '../../shared/node/DurableJsonFile.js';
import { verifyIdentity } from '../../shared/identity.js';
import { fromBase64url, toHex, utf8 } from '../../shared/bytes.js';
import { ERROR_CODES } from '../../shared/errors.js';
import { memoryInstance } from '../support/instances.js';
import { crypto, makeIdentity, memoryNode, staticKeyPair } from '../support/peers.js';
import { anyJson, atBoundary, atBoundaryAsync, B64URL_CHARS, bytesAround, fuzzRuns, fuzzTimeout, jsonBytes, mutatedJson, OutcomeTally, trapUncaught, tweakedJson, type Outcome } from '../support/arbitraries.js';
import { retainedHeap, mib } from '../support/memory.js';

/** Heap a live pairing fuzz loop may keep after a full collection, whatever its number of runs: invitation records and contacts are capped (MAX_INVITE_RECORDS, one contact per fuzzer), sessions are closed. */
const HEAP_GROWTH_BOUND = 16 * 1024 * 1024;

const trap = trapUncaught();
after(() => {
  trap.check();
  trap.dispose();
});

const NOW_S = Math.floor(Date.now() / 1000);
const LINK_CODES = ['INVITE_MALFORMED', 'INVITE_EXPIRED'];

// ---- QR images ---------------------------------------------------------------------------

const sampleLink = invitationToLink({
  version: 1,
  purpose: 'contact',
  token: crypto.randomBytes(32),
  inviterKey: staticKeyPair(await makeIdentity('qr')).publicKey,
  expiresAt: NOW_S + 600,
  name: 'Zoë’s laptop',
  endpoints: ['ws://127.0.0.1:45123/kith/v1'],
});

/** Renders `text` as a QR code into RGBA pixels. */
function render(text: string, opts: { scale: number; quiet: number; invert: boolean; noise: number; seed: number }): { rgba: Uint8ClampedArray; side: number } | undefined {
  let symbol: QRCode.QRCode;
  try {
    symbol = QRCode.create(text, { errorCorrectionLevel: 'M' });
  } catch {
    return undefined;
  }
  const n = symbol.modules.size;
  const side = (n + 2 * opts.quiet) * opts.scale;
  const rgba = new Uint8ClampedArray(side * side * 4);
  let state = opts.seed | 1;
  const random = () => ((state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const mx = Math.floor(x / opts.scale) - opts.quiet;
      const my = Math.floor(y / opts.scale) - opts.quiet;
      let dark = mx >= 0 && my >= 0 && mx < n && my < n && symbol.modules.get(my, mx) === 1;
      if (opts.invert) dark = !dark;
      if (random() < opts.noise) dark = !dark;
      const v = dark ? 0 : 255;
      const i = (y * side + x) * 4;
      rgba[i] = rgba[i + 1] = rgba[i + 2] = v;
      rgba[i + 3] = 255;
    }
  }
  return { rgba, side };
}

const arbQrText = fc.oneof(
  fc.constant(sampleLink),
  // The link with a few characters changed: checksum and field checks behind the decoder.
  fc.array(fc.tuple(fc.nat(), fc.constantFrom(...B64URL_CHARS)), { minLength: 1, maxLength: 3 }).map((edits) => {
    const chars = [...sampleLink];
    for (const [at, c] of edits) chars[INVITE_LINK_PREFIX.length + (at % (chars.length - INVITE_LINK_PREFIX.length))] = c;
    return chars.join('');
  }),
  fc.string({ unit: fc.constantFrom(...B64URL_CHARS), minLength: 1, maxLength: 200 }).map((s) => INVITE_LINK_PREFIX + s),
  fc.string({ minLength: 1, maxLength: 120 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }),
);

test(`QR payloads: images of arbitrary text decode to that text or nothing, and the link parser refuses what is not an invitation (${fuzzRuns(120)} runs)`, { timeout: fuzzTimeout(180_000) }, (t) => {
  const tally = new OutcomeTally();
  let decoded = 0;
  fc.assert(
    fc.property(
      arbQrText,
      fc.record({ scale: fc.integer({ min: 1, max: 4 }), quiet: fc.integer({ min: 0, max: 4 }), invert: fc.boolean(), noise: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 0.2, noNaN: true })), seed: fc.nat() }),
      (text, opts) => {
        const image = render(text, opts);
        if (!image) return;
        const found = atBoundary(() => decodeQrFromRgba(image.rgba, image.side, image.side), { budgetMs: 5000 });
        assert.ok(found.ok, 'a well-formed image never throws');
        const value = found.value;
        if (value === undefined) return;
        decoded++;
        // Without noise a code reads as what was encoded (jsQR's own text decoding is only exact for ASCII).
        if (opts.noise === 0 && /^[\x20-\x7e]*$/.test(text)) assert.equal(value, text);
        tally.add(atBoundary(() => parseInvitationLink(value, { nowSeconds: NOW_S }), { allowed: LINK_CODES }));
      },
    ),
    { numRuns: fuzzRuns(120) },
  );
  assert.ok(decoded > 10 && tally.get('ok') > 0 && tally.get('INVITE_MALFORMED') > 0, `decoded ${decoded}; links: ${tally}`);
  t.diagnostic(`${decoded} images decoded; links: ${tally}`);
});

test(`QR images with hostile dimensions and buffers are refused with INVALID_INPUT (${fuzzRuns(1000)} runs)`, { timeout: fuzzTimeout() }, () => {
  const side = fc.oneof(fc.integer({ min: -2, max: 70 }), fc.constantFrom(0, 4096, 4097, 2 ** 31, NaN, Infinity, 1.5, -0));
  fc.assert(
    fc.property(side, side, fc.integer({ min: 0, max: 20_000 }), (w, h, length) => {
      const outcome = atBoundary(() => decodeQrFromRgba(new Uint8ClampedArray(length), w, h), { allowed: ['INVALID_INPUT'], budgetMs: 3000 });
      if (outcome.ok) assert.equal(length, w * h * 4, 'only a buffer of exactly w × h × 4 bytes is read');
    }),
    { numRuns: fuzzRuns(1000) },
  );
});

// ---- pairing protocol messages -----------------------------------------------------------

const ann = await makeIdentity('ann');
const handshakeHash = crypto.randomBytes(32);
const realHello: PairHello = { t: 'pair-hello', identity: ann.public, endpoints: ['ws://127.0.0.1:4000/kith/v1'], binding: await signBinding(crypto, ann, 'invitee', handshakeHash) };
const realWelcome: PairWelcome = { t: 'pair-welcome', identity: ann.public, endpoints: [], binding: await signBinding(crypto, ann, 'inviter', handshakeHash) };
const realError = { t: 'pair-error', code: 'INVITE_USED', message: ERROR_CODES.INVITE_USED };

test(`pairing messages: mutated real messages decode or fail with PROTOCOL_ERROR; decoded identities verify or fail with a code (${fuzzRuns(1500)} runs)`, { timeout: fuzzTimeout() }, async (t) => {
  const decoded = new OutcomeTally();
  const identities = new OutcomeTally();
  const seeds = [realHello, realWelcome, realError].map((m) => JSON.parse(JSON.stringify(m)) as unknown);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(fc.constantFrom(...seeds).chain((s) => mutatedJson(s)).map(jsonBytes), fc.constantFrom(...seeds).chain((s) => tweakedJson(s)).map(jsonBytes), bytesAround(seeds.map((s) => encodePairingMessage(s as PairHello)), 300), anyJson.map(jsonBytes)),
      fc.subarray(['pair-hello', 'pair-welcome', 'pair-error'] as const, { minLength: 1 }),
      async (bytes, expected) => {
        const outcome = atBoundary(() => decodePairingMessage<PairHello | PairWelcome>(bytes, [...expected]), { allowed: ['PROTOCOL_ERROR'] });
        decoded.add(outcome);
        if (!outcome.ok || !('identity' in outcome.value)) return;
        const staticKey = fromBase64url(ann.public.instance.staticKey);
        identities.add(await atBoundaryAsync(() => verifyIdentity(crypto, outcome.value.identity, staticKey)));
      },
    ),
    { numRuns: fuzzRuns(1500) },
  );
  assert.ok(decoded.get('ok') > 0 && decoded.get('PROTOCOL_ERROR') > 0, decoded.toString());
  t.diagnostic(`decode: ${decoded}; identities: ${identities}`);
});

// ---- a live inviter and a live invitee ---------------------------------------------------

/** What the fuzzer sends in place of the honest message: it, a JSON mutation, a byte mutation, or noise. */
const arbTamper = fc.oneof(
  { weight: 1, arbitrary: fc.constant({ kind: 'exact' as const }) },
  { weight: 3, arbitrary: fc.nat().map((seed) => ({ kind: 'json' as const, seed })) },
  { weight: 3, arbitrary: fc.nat().map((seed) => ({ kind: 'tweak' as const, seed })) },
  { weight: 3, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => ({ kind: 'bytes' as const, edits })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ kind: 'noise' as const, bytes })) },
);
type Tamper = typeof arbTamper extends fc.Arbitrary<infer T> ? T : never;

function tamper(honest: object, how: Tamper): Uint8Array {
  switch (how.kind) {
    case 'exact':
      return encodePairingMessage(honest as PairHello);
    case 'json':
      return jsonBytes(fc.sample(mutatedJson(JSON.parse(JSON.stringify(honest))), { numRuns: 1, seed: how.seed })[0]);
    case 'tweak':
      return jsonBytes(fc.sample(tweakedJson(JSON.parse(JSON.stringify(honest))), { numRuns: 1, seed: how.seed })[0]);
    case 'bytes': {
      const bytes = encodePairingMessage(honest as PairHello).slice();
      for (const [at, value] of how.edits) bytes[at % bytes.length] = value;
      return bytes;
    }
    case 'noise':
      return how.bytes;
  }
}

/** The first pairing outcome an instance reports (paired or failed), within `ms`. */
function firstPairingEvent(events: InstanceEvents_, ms: number): Promise<Outcome<unknown>> {
  return new Promise((resolve, reject) => {
    const done = (outcome: Outcome<unknown>) => {
      clearTimeout(timer);
      offPaired();
      offFailed();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      offPaired();
      offFailed();
      reject(new Error('the inviter neither paired nor failed'));
    }, ms);
    const offPaired = events.on('pairing:paired', (p) => done({ ok: true, value: p }));
    const offFailed = events.on('pairing:failed', (f) => done({ ok: false, code: f.code, message: f.message }));
  });
}
type InstanceEvents_ = Awaited<ReturnType<typeof memoryInstance>>['instance']['events'];

test(`a live inviter fed arbitrary pair-hello messages inside real IKpsk2 sessions: pairs only on the valid one, otherwise fails with a code and stores nothing (${fuzzRuns(80)} runs)`, { timeout: fuzzTimeout(120_000) }, async (t) => {
  const net = new MemoryNetwork();
  const victim = await memoryInstance(net, 'victim');
  const fuzzer = await memoryNode(net, 'fuzzer');
  const fuzzerIdentity = fuzzer.id;
  const tally = new OutcomeTally();
  const heapBefore = await retainedHeap();
  await fc.assert(
    fc.asyncProperty(arbTamper, async (how) => {
      const created = await victim.instance.invite();
      const answered = firstPairingEvent(victim.instance.events, 3000);
      const { invitation } = created;
      const session = await fuzzer.model.connectForPairing(invitation.endpoints[0]!, invitation.inviterKey, invitation.token);
      const honest: PairHello = {
        t: 'pair-hello',
        identity: fuzzerIdentity.public,
        endpoints: [],
        binding: await signBinding(crypto, fuzzerIdentity, 'invitee', session.info.handshakeHash),
      };
      await session.send(tamper(honest, how));
      const result = await answered;
      tally.add(result);
      const contact = victim.instance.contacts().find((c) => c.personId === fuzzerIdentity.personId);
      if (result.ok) {
        assert.ok(contact, 'a pairing stores the contact');
        // Whatever was changed on the way, only the fuzzer's own, proven identity can pair.
        const peer = (result.value as { peer: { personId: string; instanceId: string } }).peer;
        assert.deepEqual([peer.personId, peer.instanceId], [fuzzerIdentity.personId, fuzzerIdentity.instanceId]);
      } else {
        assert.ok(Object.hasOwn(ERROR_CODES, result.code), `failed with a Kith code (${result.code})`);
        assert.notEqual(result.message, ERROR_CODES.PROTOCOL_ERROR, 'not a wrapped crash');
        assert.notEqual(result.code, 'INTERNAL', 'not a crash');
        if (how.kind !== 'exact') assert.equal(victim.instance.invites().find((i) => i.inviteId === created.inviteId)?.status === 'used', false, 'a failed attempt does not use up the invitation');
      }
      session.close();
      await victim.instance.revokeInvite(created.inviteId).catch(() => {});
    }),
    { numRuns: fuzzRuns(80) },
  );
  const heapAfter = await retainedHeap();
  assert.ok(tally.get('ok') > 0 && tally.counts.size > 1, tally.toString());
  assert.ok(heapAfter - heapBefore < HEAP_GROWTH_BOUND, `memory bounded: ${mib(heapBefore)} → ${mib(heapAfter)}`);
  t.diagnostic(`inviter outcomes: ${tally}; heap ${mib(heapBefore)} → ${mib(heapAfter)}`);
  await victim.instance.close();
  await fuzzer.model.close();
});

test(`a live invitee fed arbitrary answers from an inviter: accepts only the valid welcome, otherwise rejects with a code and stores nothing (${fuzzRuns(80)} runs)`, { timeout: fuzzTimeout(120_000) }, async (t) => {
  const net = new MemoryNetwork();
  const victim = await memoryInstance(net, 'victim', { listen: false });
  const inviterIdentity = await makeIdentity('inviter');
  let answer: (session: SecureSession) => Promise<void> = async () => {};
  const token = crypto.randomBytes(32);
  const secrets = deriveInviteSecrets(crypto, token);
  const gate: PairingGate = {
    lookup: (id) => (id === toHex(secrets.inviteId) ? { ok: true, psk: secrets.psk, macKey: secrets.macKey } : { ok: false, code: 'INVITE_UNKNOWN' }),
    recordFailure: () => {},
    accept: (_id, session) => void answer(session),
  };
  // The fake inviter: a real listener and handshake, then whatever the fuzzer answers.
  const directory = { lookup: () => ({ kind: 'unknown' as const }) };
  const model = new ConnectionsModel({ crypto, staticKeyPair: staticKeyPair(inviterIdentity), peers: directory, pairing: gate, dial: (u) => net.dial(u) });
  const url = 'ws://inviter.test/kith/v1';
  const stop = net.listen(url, (accepted) => void model.accept(accepted));
  const link = invitationToLink({ version: 1, purpose: 'contact', token, inviterKey: staticKeyPair(inviterIdentity).publicKey, expiresAt: NOW_S + 3600, name: 'inviter', endpoints: [url] });
  const tally = new OutcomeTally();
  const heapBefore = await retainedHeap();
  await fc.assert(
    fc.asyncProperty(arbTamper, fc.boolean(), async (how, asError) => {
      answer = async (session) => {
        const honest: object = asError
          ? { t: 'pair-error', code: 'INVITE_EXPIRED', message: 'expired' }
          : { t: 'pair-welcome', identity: inviterIdentity.public, endpoints: [url], binding: await signBinding(crypto, inviterIdentity, 'inviter', session.info.handshakeHash) };
        session.setHandler(async () => {
          session.setHandler(undefined);
          await session.send(tamper(honest, how)).catch(() => {});
        });
      };
      const before = JSON.stringify(victim.instance.contacts());
      const outcome = await atBoundaryAsync(() => victim.instance.acceptInvite(link), { budgetMs: 5000 });
      tally.add(outcome);
      if (outcome.ok) {
        assert.ok(!asError && how.kind !== 'noise', 'only a (possibly harmlessly changed) welcome pairs');
        assert.ok(victim.instance.contacts().some((c) => c.personId === inviterIdentity.personId), 'a pairing stores the contact');
      } else {
        assert.notEqual(outcome.message, ERROR_CODES.PROTOCOL_ERROR, 'not a wrapped crash');
        assert.notEqual(outcome.code, 'INTERNAL', 'not a crash');
        assert.equal(JSON.stringify(victim.instance.contacts()), before, 'a failed pairing changes no contact');
      }
    }),
    { numRuns: fuzzRuns(80) },
  );
  const heapAfter = await retainedHeap();
  assert.ok(tally.get('ok') > 0 && tally.counts.size > 2, tally.toString());
  assert.ok(heapAfter - heapBefore < HEAP_GROWTH_BOUND, `memory bounded: ${mib(heapBefore)} → ${mib(heapAfter)}`);
  t.diagnostic(`invitee outcomes: ${tally}; heap ${mib(heapBefore)} → ${mib(heapAfter)}`);
  stop();
  await model.close();
  await victim.instance.close();
});

// ---- the pairing state document ------------------------------------------------------------

test(`the pairing state document: arbitrary JSON and file bytes parse or are refused with INVALID_INPUT (${fuzzRuns(1500)} runs)`, { timeout: fuzzTimeout() }, async (t) => {
  const net = new MemoryNetwork();
  const a = await memoryInstance(net, 'a');
  const b = await memoryInstance(net, 'b');
  await b.instance.acceptInvite((await a.instance.invite()).link);
  await a.instance.invite();
  await a.instance.revokeInvite((await a.instance.invite()).inviteId);
  const real = (await a.pairingState.read()) as PairingDocument;
  assert.ok(real.contacts.length === 1 && real.invites.length >= 3);
  await a.instance.close();
  await b.instance.close();
  const dir = await mkdtemp(join(tmpdir(), 'kith-pairing-doc-'));
  const file = join(dir, 'pairing.json');
  const adapter = new DurableJsonFile<PairingDocument>(file, parsePairingDocument);
  const tally = new OutcomeTally();
  const seed = utf8(JSON.stringify(real));
  try {
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedJson(real), anyJson), fc.oneof(fc.constant(undefined), bytesAround([seed], 400)), async (value, bytes) => {
        tally.add(atBoundary(() => parsePairingDocument(value), { allowed: ['INVALID_INPUT'] }));
        if (bytes) {
          await writeFile(file, bytes);
          await atBoundaryAsync(() => adapter.read(), { allowed: ['INVALID_INPUT'] });
        }
      }),
      { numRuns: fuzzRuns(1500) },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.ok(tally.get('ok') > 0 && tally.get('INVALID_INPUT') > 0, tally.toString());
  t.diagnostic(`documents: ${tally}`);
});
