/**
 * Hostile input at the secure channel, property-based (fast-check):
 * - Noise: `HandshakeState.readMessage` with arbitrary and mutated bytes at each step of
 *   Noise_IK and Noise_IKpsk2 (the responder reading message 1, the initiator reading
 *   message 2) refuses with HANDSHAKE_FAILED and stays dead;
 * - the listener's router: arbitrary first frames (either route, random invite ids, forged
 *   mac1) are refused with a code, never open a session, never throw;
 * - transport frames: a live SecureSession fed arbitrary ciphertexts and arbitrary
 *   *authentic* frames (every type byte, chunk sizes past the limit, pings) behaves like a
 *   reference model — delivers the same messages (a prefix of them when it must close: what
 *   is still queued behind the handler goes down with the session), closes with the same code;
 * all time-bounded, with nothing escaping to the process and memory bounded.
 * Bounded runs in `npm test`, ×100 with KITH_STRESS.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HandshakeState } from '../../connections/noise/HandshakeState.js';
import type { CipherState } from '../../connections/noise/CipherState.js';
import { SecureSession, type SessionClose } from '../../connections/SecureSession.js';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { PROTOCOL_PAIRING, PROTOCOL_SESSION, ROUTE_PAIRING, ROUTE_SESSION, prologueFor, MSG1_MIN_BYTES } from '../../connections/frames.js';
import { deriveInviteSecrets, computeMac1 } from '../../connections/handshake.js';
import type { PairingGate } from '../../connections/Router.js';
import type { InviteId } from '../../shared/ids.js';
import { concatBytes, toHex } from '../../shared/bytes.js';
import { crypto, makeIdentity, memoryNode, staticKeyPair, waitFor } from '../support/peers.js';
import { atBoundaryAsync, bytesAround, fuzzRuns, fuzzTimeout, OutcomeTally, trapUncaught } from '../support/arbitraries.js';
import { retainedHeap, mib } from '../support/memory.js';

const trap = trapUncaught();
after(() => {
  trap.check();
  trap.dispose();
});

const EMPTY = new Uint8Array(0);
const ann = await makeIdentity('ann');
const bob = await makeIdentity('bob');
const TOKEN = crypto.randomBytes(32);
const invite = deriveInviteSecrets(crypto, TOKEN);

type Kind = 'session' | 'pairing';

async function handshakes(kind: Kind): Promise<{ initiator: HandshakeState; responder: HandshakeState }> {
  const prologue = kind === 'pairing' ? prologueFor(ROUTE_PAIRING, invite.inviteId) : prologueFor(ROUTE_SESSION);
  const protocolName = kind === 'pairing' ? PROTOCOL_PAIRING : PROTOCOL_SESSION;
  const psks = kind === 'pairing' ? [invite.psk] : undefined;
  const initiator = await HandshakeState.initialize({ crypto, protocolName, initiator: true, prologue, s: staticKeyPair(ann), rs: staticKeyPair(bob).publicKey, psks });
  const responder = await HandshakeState.initialize({ crypto, protocolName, initiator: false, prologue, s: staticKeyPair(bob), psks });
  return { initiator, responder };
}

/** Real messages of a handshake (seeds for mutation). */
async function realMessages(kind: Kind): Promise<{ msg1: Uint8Array; msg2: Uint8Array }> {
  const { initiator, responder } = await handshakes(kind);
  const msg1 = await initiator.writeMessage(crypto.randomBytes(7));
  await responder.readMessage(msg1);
  const msg2 = await responder.writeMessage(EMPTY);
  initiator.destroy();
  responder.destroy();
  return { msg1, msg2 };
}

for (const kind of ['session', 'pairing'] as const) {
  const seeds = await Promise.all([realMessages(kind), realMessages(kind)]);
  const runs = fuzzRuns(300);

  test(`Noise ${kind}: the responder reading arbitrary message 1 refuses with HANDSHAKE_FAILED and stays dead (${runs} runs)`, { timeout: fuzzTimeout() }, async () => {
    const tally = new OutcomeTally();
    await fc.assert(
      fc.asyncProperty(bytesAround(seeds.map((s) => s.msg1), 200), async (bytes) => {
        const { initiator, responder } = await handshakes(kind);
        initiator.destroy();
        const outcome = await atBoundaryAsync(() => responder.readMessage(bytes));
        tally.add(outcome);
        if (outcome.ok) {
          // Only an exact replay of a real message can be read (key confirmation catches it later).
          assert.ok(seeds.some((s) => toHex(s.msg1) === toHex(bytes)), 'a forged message 1 was accepted');
        } else {
          assert.equal(outcome.code, 'HANDSHAKE_FAILED');
          const again = await atBoundaryAsync(() => responder.writeMessage(EMPTY));
          assert.ok(!again.ok && again.code === 'HANDSHAKE_FAILED', 'a failed handshake state stays dead');
        }
        responder.destroy();
      }),
      { numRuns: runs },
    );
    assert.ok(tally.get('HANDSHAKE_FAILED') > runs * 0.8, tally.toString());
  });

  test(`Noise ${kind}: the initiator reading arbitrary message 2 refuses with HANDSHAKE_FAILED (${runs} runs)`, { timeout: fuzzTimeout() }, async () => {
    const tally = new OutcomeTally();
    await fc.assert(
      fc.asyncProperty(bytesAround(seeds.map((s) => s.msg2), 120), async (bytes) => {
        const { initiator, responder } = await handshakes(kind);
        await responder.readMessage(await initiator.writeMessage(EMPTY));
        responder.destroy();
        // The seeds answered other handshakes: even a well-formed message 2 cannot complete this one.
        const outcome = await atBoundaryAsync(() => initiator.readMessage(bytes), { allowed: ['HANDSHAKE_FAILED'] });
        tally.add(outcome);
        assert.equal(outcome.ok, false, 'an arbitrary message 2 completed the handshake');
        assert.equal(initiator.isComplete, false);
        initiator.destroy();
      }),
      { numRuns: runs },
    );
    assert.equal(tally.get('HANDSHAKE_FAILED'), runs, tally.toString());
  });
}

test(`the router: arbitrary first frames on either route are refused with a code, never a session (${fuzzRuns(200)} runs)`, { timeout: fuzzTimeout() }, async () => {
  const net = new MemoryNetwork();
  let failures = 0;
  const pairing: PairingGate = {
    lookup: (id) => (id === toHex(invite.inviteId) ? { ok: true, psk: invite.psk, macKey: invite.macKey } : { ok: false, code: 'INVITE_UNKNOWN' }),
    recordFailure: () => void failures++,
    accept: () => assert.fail('no pairing may complete'),
  };
  const b = await memoryNode(net, 'b', { pairing, handshakeDeadlineMs: 500 });
  const seeds = [
    ...(await Promise.all([realMessages('session'), realMessages('session')])).map((m) => concatBytes(Uint8Array.of(ROUTE_SESSION), m.msg1)),
    ...(await Promise.all([realMessages('pairing')])).map((m) => {
      const head = concatBytes(Uint8Array.of(ROUTE_PAIRING), invite.inviteId);
      return concatBytes(head, computeMac1(crypto, invite.macKey, concatBytes(head, m.msg1)), m.msg1);
    }),
  ];
  const codes = new OutcomeTally();
  b.model.events.on('failed', (f) => codes.add({ ok: false, code: f.code, message: f.message }));
  const heapBefore = await retainedHeap();
  const runs = fuzzRuns(200);
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        bytesAround(seeds, 300),
        // A structurally valid pairing frame: a real invite id with a wrong mac1, or an unknown id.
        fc.tuple(fc.boolean(), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: MSG1_MIN_BYTES, maxLength: MSG1_MIN_BYTES + 40 })).map(([known, mac, msg]) =>
          concatBytes(Uint8Array.of(ROUTE_PAIRING), known ? invite.inviteId : crypto.randomBytes(16), mac, msg),
        ),
      ),
      async (frame) => {
        const [client, server] = createConnectedPair();
        const outcome = await atBoundaryAsync(async () => {
          const routed = b.model.accept({ transport: server, remoteAddress: '127.0.0.9', acceptedAt: Date.now() });
          client.send(frame);
          await routed;
        });
        assert.ok(outcome.ok, 'accept never throws');
        // Whatever happened, that connection is closed and no session exists.
        await waitFor(() => !client.isOpen, 1000, 'the hostile connection is closed');
        assert.equal(b.model.connectedPeers().length, 0);
      },
    ),
    { numRuns: runs },
  );
  const heapAfter = await retainedHeap();
  for (const code of ['FRAME_INVALID', 'HANDSHAKE_FAILED', 'INVITE_UNKNOWN']) assert.ok(codes.get(code) > 0, `reached ${code}: ${codes}`);
  assert.ok(failures > 0, 'forged proofs for a real invitation count against it');
  assert.ok(heapAfter - heapBefore < 16 * 1024 * 1024, `memory bounded: ${mib(heapBefore)} → ${mib(heapAfter)}`);
  await b.model.close();
});

// ---- transport frames into a live SecureSession ---------------------------------------

const FRAME_FINAL = 0x00;
const FRAME_MORE = 0x01;
const FRAME_PING = 0x02;
const FRAME_PONG = 0x03;
/** A small message limit so reassembly limits are reached by short inputs. */
const MAX_MESSAGE = 300;

/** What the fuzzer sends: garbage, an authentic frame of any type, or a replay of an earlier frame. */
type Step = { readonly kind: 'garbage'; readonly bytes: Uint8Array } | { readonly kind: 'frame'; readonly type: number; readonly body: Uint8Array } | { readonly kind: 'replay'; readonly back: number };

const arbType = fc.oneof(
  { weight: 8, arbitrary: fc.constant(FRAME_MORE) },
  { weight: 4, arbitrary: fc.constant(FRAME_FINAL) },
  { weight: 2, arbitrary: fc.constantFrom(FRAME_PING, FRAME_PONG) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const arbStep: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 80 }).map((bytes) => ({ kind: 'garbage' as const, bytes })) },
  { weight: 30, arbitrary: fc.tuple(arbType, fc.uint8Array({ maxLength: 200, size: 'max' })).map(([type, body]) => ({ kind: 'frame' as const, type, body })) },
  { weight: 1, arbitrary: fc.nat(5).map((back) => ({ kind: 'replay' as const, back })) },
  // A frame that is authentic but carries nothing at all (not even a type byte).
  { weight: 1, arbitrary: fc.constant({ kind: 'frame' as const, type: -1, body: EMPTY }) },
);

/** The reference: what a session must deliver and how it must close, frame by frame. */
function model(steps: readonly Step[]): { delivered: string[]; close: string | undefined } {
  const delivered: string[] = [];
  let parts: Uint8Array[] = [];
  let partsBytes = 0;
  for (const step of steps) {
    if (step.kind !== 'frame') return { delivered, close: 'FRAME_INVALID' };
    if (step.type === -1) return { delivered, close: 'FRAME_INVALID' };
    switch (step.type) {
      case FRAME_PING:
      case FRAME_PONG:
        continue;
      case FRAME_MORE:
      case FRAME_FINAL:
        partsBytes += step.body.length;
        if (partsBytes > MAX_MESSAGE) return { delivered, close: 'FRAME_TOO_LARGE' };
        if (step.type === FRAME_MORE) {
          if (step.body.length === 0) return { delivered, close: 'FRAME_INVALID' };
          parts.push(step.body);
          continue;
        }
        delivered.push(toHex(concatBytes(...parts, step.body)));
        parts = [];
        partsBytes = 0;
        continue;
      default:
        return { delivered, close: 'FRAME_INVALID' };
    }
  }
  return { delivered, close: undefined };
}

/** A confirmed session (the receiver) and the sender's cipher that talks to it. */
async function liveSession(): Promise<{ session: SecureSession; sender: CipherState; wire: ReturnType<typeof createConnectedPair>[0] }> {
  const { initiator, responder } = await handshakes('session');
  await responder.readMessage(await initiator.writeMessage(EMPTY));
  await initiator.readMessage(await responder.writeMessage(EMPTY));
  const i = initiator.split();
  const r = responder.split();
  const hash = initiator.handshakeHash();
  initiator.destroy();
  responder.destroy();
  const [wire, end] = createConnectedPair();
  const session = new SecureSession(end, i.send, i.receive, {
    id: 'fuzz',
    kind: 'session',
    direction: 'outbound',
    remoteStatic: staticKeyPair(bob).publicKey,
    handshakeHash: hash,
    remoteAddress: undefined,
  }, { maxMessageBytes: MAX_MESSAGE, keepaliveMs: 60_000, idleTimeoutMs: 120_000 });
  // The fuzzer plays the responder: what it encrypts with its send cipher, the session decrypts.
  r.receive.destroy();
  return { session, sender: r.send, wire };
}

test(`SecureSession fed arbitrary ciphertexts and authentic frames of every type behaves like the reference model (${fuzzRuns(400)} runs)`, { timeout: fuzzTimeout() }, async () => {
  const tally = new OutcomeTally();
  await fc.assert(
    fc.asyncProperty(fc.array(arbStep, { minLength: 1, maxLength: 12 }), async (steps) => {
      const { session, sender, wire } = await liveSession();
      const delivered: string[] = [];
      session.setHandler((m) => void delivered.push(toHex(m)));
      let closed: SessionClose | undefined;
      session.events.on('close', (c) => (closed = c));
      const sent: Uint8Array[] = [];
      for (const step of steps) {
        let frame: Uint8Array;
        if (step.kind === 'garbage') frame = step.bytes;
        else if (step.kind === 'replay') frame = sent.length ? sent[Math.max(0, sent.length - 1 - step.back)]! : crypto.randomBytes(20);
        else frame = sender.encryptWithAd(EMPTY, step.type === -1 ? EMPTY : concatBytes(Uint8Array.of(step.type), step.body));
        sent.push(frame);
        wire.send(frame);
      }
      // A sentinel frame after the steps tells when everything was processed (when nothing closed the session first).
      const sentinel: Step = { kind: 'frame', type: FRAME_FINAL, body: crypto.randomBytes(8) };
      const expected = model([...steps, sentinel]);
      wire.send(sender.encryptWithAd(EMPTY, concatBytes(Uint8Array.of(FRAME_FINAL), (sentinel as { body: Uint8Array }).body)));
      await waitFor(() => closed !== undefined || delivered.length >= expected.delivered.length, 2000, 'the session processed every frame');
      if (!expected.close) {
        assert.deepEqual(delivered, expected.delivered, 'delivered exactly the reassembled messages');
        assert.equal(closed, undefined, 'the session stayed open');
      } else {
        await waitFor(() => closed !== undefined, 2000, 'the session closed');
        // Messages still queued behind the handler when a fatal frame arrives are dropped with the
        // session; what was delivered is an in-order prefix of the model's, never anything else.
        assert.deepEqual(delivered, expected.delivered.slice(0, delivered.length), 'delivered an in-order prefix of the reassembled messages');
        assert.equal(closed?.code, expected.close, `closed with ${closed?.code}, the model says ${expected.close}`);
      }
      tally.add(expected.close ? { ok: false, code: expected.close, message: '' } : { ok: true, value: undefined });
      session.close();
      sender.destroy();
    }),
    { numRuns: fuzzRuns(400) },
  );
  for (const code of ['ok', 'FRAME_INVALID', 'FRAME_TOO_LARGE']) assert.ok(tally.get(code) > 0, `the fuzzer reached "${code}": ${tally}`);
});
