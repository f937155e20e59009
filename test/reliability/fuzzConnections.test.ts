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
 * - SessionMux on a live session: arbitrary message sequences (types nobody claimed, empty
 *   messages, bursts past MUX_QUEUE_MESSAGES for a protocol not started yet, handlers that
 *   refuse, crash or reject, protocols that start late) against a reference model — only that
 *   session closes, with the model's code; a bystander session is untouched;
 * all time-bounded, with nothing escaping to the process and memory bounded.
 * Bounded runs in `npm test`, ×100 with KITH_STRESS.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HandshakeState } from '../../connections/noise/HandshakeState.js';
import type { CipherState } from '../../connections/noise/CipherState.js';
import { SecureSession, type SessionClose } from '../../connections/SecureSession.js';
import { SessionMux, type MessageChannel } from '../../connections/SessionMux.js';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { PROTOCOL_PAIRING, PROTOCOL_SESSION, ROUTE_PAIRING, ROUTE_SESSION, prologueFor, MSG1_MIN_BYTES } from '../../connections/frames.js';
import { deriveInviteSecrets, computeMac1 } from '../../connections/handshake.js';
import type { PairingGate } from '../../connections/Router.js';
import type { InviteId } from '../../shared/ids.js';
import { concatBytes, toHex } from '../../shared/bytes.js';
import { KithError } from '../../shared/errors.js';
import { MUX_QUEUE_MESSAGES } from '../../shared/limits.js';
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

/** A finished Noise_IK handshake between ann and bob: both sides' cipher pairs and the handshake hash. */
async function completedHandshake() {
  const { initiator, responder } = await handshakes('session');
  await responder.readMessage(await initiator.writeMessage(EMPTY));
  await initiator.readMessage(await responder.writeMessage(EMPTY));
  const i = initiator.split();
  const r = responder.split();
  const handshakeHash = initiator.handshakeHash();
  initiator.destroy();
  responder.destroy();
  return { i, r, handshakeHash };
}

/** A confirmed session (the receiver) and the sender's cipher that talks to it. */
async function liveSession(): Promise<{ session: SecureSession; sender: CipherState; wire: ReturnType<typeof createConnectedPair>[0] }> {
  const { i, r, handshakeHash: hash } = await completedHandshake();
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

// ---- SessionMux dispatch on a live session ---------------------------------------------

/**
 * The victim's protocols: CHUM's and the companion's ranges (each started at once or only
 * after the peer's messages arrived, so they wait in the mux's queue; the companion range
 * sometimes not claimed at all) and a sentinel type that tells when the peer's messages were
 * all dispatched. A handler's reaction is chosen by the message's second byte.
 */
const MUX = { chum: [0x10, 0x1f], companion: [0x30, 0x3f], sentinel: [0xff, 0xff] } as const;
type Start = 'early' | 'late' | 'none';
interface MuxSetup {
  readonly chum: Exclude<Start, 'none'>;
  readonly companion: Start;
}
const REFUSE = 0xe0;
const BUG = 0xe1;
const REJECT = 0xe2;
const SLOW = 0xe3;

/** What a protocol handler does with a message: take it, refuse it with a code, crash on it, or reject later. */
function reaction(m: Uint8Array): { code?: string } {
  if (m[1] === REFUSE) return { code: 'SYNC_PROTOCOL_ERROR' };
  if (m[1] === BUG) return { code: 'PROTOCOL_ERROR' };
  if (m[1] === REJECT) return { code: 'ACCESS_DENIED' };
  return {};
}

function muxHandler(delivered: string[]): (m: Uint8Array) => void | Promise<void> {
  return (m) => {
    switch (m[1]) {
      case REFUSE:
        throw new KithError('SYNC_PROTOCOL_ERROR', 'the protocol refused this message');
      case BUG:
        throw new TypeError('a bug in a protocol handler');
      case REJECT:
        return Promise.reject(new KithError('ACCESS_DENIED', 'refused after a while'));
      case SLOW:
        return new Promise<void>((resolve) => setImmediate(resolve)).then(() => void delivered.push(toHex(m)));
      default:
        delivered.push(toHex(m));
    }
  };
}

/**
 * The reference: messages are dispatched in order; an empty one or one of a type nobody
 * claimed closes the session with PROTOCOL_ERROR; a started protocol gets its message (and a
 * throw or rejection closes the session with the handler's code, PROTOCOL_ERROR for a plain
 * error); a claimed but not yet started protocol queues up to MUX_QUEUE_MESSAGES (one more
 * closes with PROTOCOL_ERROR). Late protocols then start one after the other and get their
 * queue in order — unless the session closed, which drops it.
 * Returns the delivered messages at each checkpoint (after dispatch, after each late start).
 */
function muxModel(setup: MuxSetup, messages: readonly Uint8Array[]): { checkpoints: string[][]; close: string | undefined } {
  const routes = [
    { range: MUX.chum, start: setup.chum, queue: [] as Uint8Array[] },
    { range: MUX.companion, start: setup.companion, queue: [] as Uint8Array[] },
    { range: MUX.sentinel, start: 'early' as Start, queue: [] as Uint8Array[] },
  ].filter((r) => r.start !== 'none');
  const delivered: string[] = [];
  const checkpoints: string[][] = [];
  const deliver = (m: Uint8Array): string | undefined => {
    const { code } = reaction(m);
    if (code) return code;
    delivered.push(toHex(m));
    return undefined;
  };
  for (const m of messages) {
    const type = m[0];
    const route = type === undefined ? undefined : routes.find((r) => type >= r.range[0] && type <= r.range[1]);
    if (!route) return { checkpoints: [...checkpoints, [...delivered]], close: 'PROTOCOL_ERROR' };
    if (route.start === 'early') {
      const code = deliver(m);
      if (code) return { checkpoints: [...checkpoints, [...delivered]], close: code };
    } else {
      if (route.queue.length >= MUX_QUEUE_MESSAGES) return { checkpoints: [...checkpoints, [...delivered]], close: 'PROTOCOL_ERROR' };
      route.queue.push(m);
    }
  }
  checkpoints.push([...delivered]);
  for (const route of routes.filter((r) => r.start === 'late')) {
    for (const m of route.queue) {
      const code = deliver(m);
      if (code) return { checkpoints: [...checkpoints, [...delivered]], close: code };
    }
    checkpoints.push([...delivered]);
  }
  return { checkpoints, close: undefined };
}

/** Two ends of a confirmed session over an in-memory transport: `victim` (outbound) and `peer` (inbound). */
async function sessionPair(): Promise<{ victim: SecureSession; peer: SecureSession }> {
  const { i, r, handshakeHash } = await completedHandshake();
  const [a, b] = createConnectedPair();
  const options = { keepaliveMs: 60_000, idleTimeoutMs: 120_000 };
  const peer = new SecureSession(b, r.send, r.receive, { id: 'mux-peer', kind: 'session', direction: 'inbound', remoteStatic: staticKeyPair(ann).publicKey, handshakeHash, remoteAddress: undefined }, options);
  const victim = new SecureSession(a, i.send, i.receive, { id: 'mux-victim', kind: 'session', direction: 'outbound', remoteStatic: staticKeyPair(bob).publicKey, handshakeHash, remoteAddress: undefined }, options);
  return { victim, peer };
}

const arbMuxType = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: MUX.chum[0], max: MUX.chum[1] }) },
  { weight: 3, arbitrary: fc.integer({ min: MUX.companion[0], max: MUX.companion[1] }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const arbMuxSteps: fc.Arbitrary<Uint8Array[]> = fc
  .array(
    fc.oneof(
      {
        weight: 20,
        arbitrary: fc
          .tuple(arbMuxType, fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(REFUSE, BUG, REJECT, SLOW) }), fc.uint8Array({ maxLength: 24 }))
          .map(([type, how, rest]) => [concatBytes(Uint8Array.of(type, how), rest)]),
      },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }).map((m) => [m]) },
      { weight: 1, arbitrary: fc.constant([EMPTY]) },
      // A burst around the queue limit, for a protocol that may not have started yet.
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(MUX.chum[0], MUX.companion[0]), fc.integer({ min: MUX_QUEUE_MESSAGES - 4, max: MUX_QUEUE_MESSAGES + 4 }))
          .map(([type, n]) => Array.from({ length: n }, (_, k) => Uint8Array.of(type, 0, k & 0xff, k >> 8))),
      },
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map((steps) => steps.flat());

test(`SessionMux on a live session fed arbitrary messages (unclaimed types, empty, bursts past the queue limit, failing handlers): closes only that session, with the model's code; nothing escapes (${fuzzRuns(300)} runs)`, { timeout: fuzzTimeout(120_000) }, async (t) => {
  // A bystander session, open all along: another peer's bad messages never reach it.
  const bystander = await sessionPair();
  const bystanderGot: string[] = [];
  new SessionMux(bystander.victim).channel(MUX.chum[0], MUX.chum[1]).setHandler((m) => void bystanderGot.push(toHex(m)));
  const tally = new OutcomeTally();
  const heapBefore = await retainedHeap();
  await fc.assert(
    fc.asyncProperty(fc.record({ chum: fc.constantFrom<'early' | 'late'>('early', 'late'), companion: fc.constantFrom<Start>('early', 'late', 'none') }), arbMuxSteps, async (setup, steps) => {
      const { victim, peer } = await sessionPair();
      let closed: SessionClose | undefined;
      victim.events.on('close', (c) => (closed = c));
      const mux = new SessionMux(victim);
      const delivered: string[] = [];
      const handler = muxHandler(delivered);
      const late: MessageChannel[] = [];
      for (const [name, range] of [['chum', MUX.chum], ['companion', MUX.companion], ['sentinel', MUX.sentinel]] as const) {
        const start = name === 'sentinel' ? 'early' : setup[name];
        if (start === 'none') continue;
        const channel = mux.channel(range[0], range[1]);
        if (start === 'early') channel.setHandler(handler);
        else late.push(channel);
      }
      const sentinel = concatBytes(Uint8Array.of(MUX.sentinel[0], 0), crypto.randomBytes(8));
      const expected = muxModel(setup, [...steps, sentinel]);
      for (const m of [...steps, sentinel]) await peer.send(m).catch(() => {});
      const reached = async (k: number) => waitFor(() => closed !== undefined || delivered.length >= expected.checkpoints[k]!.length, 3000, `checkpoint ${k}`);
      // Everything was dispatched once the sentinel arrived (or the session closed on the way).
      await waitFor(() => closed !== undefined || delivered.includes(toHex(sentinel)), 3000, 'the sentinel');
      for (let k = 0; k < late.length; k++) {
        const outcome = await atBoundaryAsync(async () => late[k]!.setHandler(handler));
        assert.ok(outcome.ok, 'starting a protocol never throws, whatever waited in its queue');
        if (expected.checkpoints[k + 1]) await reached(k + 1);
      }
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(delivered, expected.checkpoints.at(-1), 'delivered exactly the model\'s messages, in order');
      if (expected.close) {
        await waitFor(() => closed !== undefined, 3000, 'the session closed');
        assert.equal(closed!.code, expected.close, `closed with ${closed!.code}; the model says ${expected.close}`);
        assert.equal(closed!.byPeer, false);
      } else {
        assert.equal(closed, undefined, 'the session stayed open');
      }
      tally.add(expected.close ? { ok: false, code: expected.close, message: '' } : { ok: true, value: undefined });
      victim.close();
      peer.close();
    }),
    { numRuns: fuzzRuns(300) },
  );
  const heapAfter = await retainedHeap();
  await bystander.peer.send(Uint8Array.of(MUX.chum[0], 1, 2, 3));
  await waitFor(() => bystanderGot.length === 1, 2000, 'the bystander still delivers');
  assert.ok(bystander.victim.isOpen, 'the bystander session is open');
  for (const code of ['ok', 'PROTOCOL_ERROR', 'SYNC_PROTOCOL_ERROR', 'ACCESS_DENIED']) assert.ok(tally.get(code) > 0, `the fuzzer reached "${code}": ${tally}`);
  assert.ok(heapAfter - heapBefore < 16 * 1024 * 1024, `memory bounded: ${mib(heapBefore)} → ${mib(heapAfter)}`);
  t.diagnostic(`closes: ${tally}; heap ${mib(heapBefore)} → ${mib(heapAfter)}`);
  bystander.victim.close();
  bystander.peer.close();
});
