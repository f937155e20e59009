import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { createConnectedPair } from '../../connections/transports/memoryTransport.js';
import { deriveInviteSecrets, initiatePairing, initiateSession } from '../../connections/handshake.js';
import { memoryNode, staticKeyPair, crypto, nextEvent, recordingRelay, waitFor } from '../support/peers.js';
import type { ConnectionFailed, ConnectionClosed } from '../../connections/ConnectionsModel.js';
import type { Transport } from '../../connections/Transport.js';
import { HandshakeState } from '../../connections/noise/HandshakeState.js';
import {
  INVITE_ID_BYTES, MAC1_BYTES, MSG1_MIN_BYTES, PROTOCOL_SESSION, ROUTE_PAIRING, ROUTE_SESSION, encodeSessionFirstFrame, prologueFor,
} from '../../connections/frames.js';
import type { PairingGate } from '../../connections/Router.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import { toHex } from '../../shared/bytes.js';

/** Captures the initiator's first message and the rest of a real handshake through a relay. */
async function capture(): Promise<{ msg1: Uint8Array; frames: Uint8Array[]; net: MemoryNetwork; b: Awaited<ReturnType<typeof memoryNode>>; a: Awaited<ReturnType<typeof memoryNode>> }> {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  const { client, frames, closeServerSide } = recordingRelay((accepted) => b.model.accept(accepted));
  const s = await initiateSession(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
  await s.send(new Uint8Array([1, 2, 3]));
  await waitFor(() => frames.length >= 3, 2000, 'frames');
  s.close();
  closeServerSide();
  await waitFor(() => b.model.connectedPeers().length === 0, 2000, 'relayed session closed');
  return { msg1: frames[0]!, frames, net, a, b };
}

async function freshFirstMessage(a: Awaited<ReturnType<typeof memoryNode>>, b: Awaited<ReturnType<typeof memoryNode>>): Promise<Uint8Array> {
  const hs = await HandshakeState.initialize({
    crypto,
    protocolName: PROTOCOL_SESSION,
    initiator: true,
    prologue: prologueFor(ROUTE_SESSION),
    s: staticKeyPair(a.id),
    rs: b.ref.staticKey,
  });
  const frame = encodeSessionFirstFrame(await hs.writeMessage(new Uint8Array(0)));
  hs.destroy();
  return frame;
}

function acceptRaw(model: Awaited<ReturnType<typeof memoryNode>>['model']): Transport {
  const [client, server] = createConnectedPair();
  void model.accept({ transport: server, remoteAddress: '127.0.0.7', acceptedAt: Date.now() });
  return client;
}

test('a first message truncated at every byte boundary is refused with a code', async () => {
  const { msg1, a, b } = await capture();
  const codes = new Set<string>();
  for (let len = 0; len < msg1.length; len++) {
    const failed = nextEvent(b.model.events, 'failed', 3000);
    acceptRaw(b.model).send(msg1.subarray(0, len));
    codes.add((await failed).code);
  }
  // msg1 of Noise_IK with an empty payload has a fixed size, so the frame parser catches every prefix before any DH.
  assert.deepEqual([...codes], ['FRAME_INVALID']);
  // A bit flipped anywhere in the first message: the route byte fails parsing, anything else the handshake.
  // Each flip uses a fresh first message: reusing one ephemeral key would hit the replay cache instead.
  for (let i = 0; i < msg1.length; i++) {
    const flipped = await freshFirstMessage(a, b);
    flipped[i]! ^= 0x04;
    const failed = nextEvent(b.model.events, 'failed', 3000);
    acceptRaw(b.model).send(flipped);
    const code = (await failed).code;
    assert.equal(code, i === 0 ? 'FRAME_INVALID' : 'HANDSHAKE_FAILED', `byte ${i}`);
  }
  assert.equal(b.model.connectedPeers().length, 0);
  await a.model.close();
  await b.model.close();
});

test('transport frames truncated at every byte boundary close the session with FRAME_INVALID', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  // The frame's length is known once the first one is encrypted: 1 type byte + 10 body + 16 tag = 27.
  let frameLength = Infinity;
  const cuts: number[] = [];
  for (let cut = 0; cut < frameLength; cut++) {
    const [client, server] = createConnectedPair();
    void b.model.accept({ transport: server, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
    const s = await initiateSession(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
    await waitFor(() => !!b.model.sessionFor(a.ref.staticKey)?.isOpen, 2000, 'open');
    const closed = nextEvent(b.model.events, 'closed', 3000);
    // Encrypt a real frame, then deliver only its first `cut` bytes.
    const frames: Uint8Array[] = [];
    const origSend = client.send.bind(client);
    (client as { send: (d: Uint8Array) => void }).send = (d) => frames.push(d);
    await s.send(new Uint8Array(10));
    (client as { send: (d: Uint8Array) => void }).send = origSend;
    assert.equal(frames.length, 1);
    frameLength = frames[0]!.length;
    origSend(frames[0]!.subarray(0, cut));
    assert.equal((await closed).code, 'FRAME_INVALID', `cut at ${cut} of ${frameLength}`);
    cuts.push(cut);
  }
  assert.equal(frameLength, 1 + 10 + 16);
  assert.deepEqual(cuts, Array.from({ length: frameLength }, (_, i) => i), 'every boundary 0 … length − 1');
  await a.model.close();
  await b.model.close();
});

test('a pairing first frame (0x02 ‖ inviteId ‖ mac1 ‖ msg1) truncated at every byte boundary is refused before the invitation is looked up', async () => {
  const token = crypto.randomBytes(32);
  const invite = deriveInviteSecrets(crypto, token);
  const calls = { lookup: 0, failures: 0, accepted: [] as SecureSession[] };
  const gate: PairingGate = {
    lookup: (id) => {
      calls.lookup++;
      return id === toHex(invite.inviteId) ? { ok: true, psk: invite.psk, macKey: invite.macKey } : { ok: false, code: 'INVITE_UNKNOWN' };
    },
    recordFailure: () => void calls.failures++,
    accept: (_id, session) => void calls.accepted.push(session),
  };
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b', { pairing: gate });
  // A real redemption through a tap records the first frame, and shows the untruncated frame is accepted.
  const [client, tap] = createConnectedPair();
  const [toB, bSide] = createConnectedPair();
  let first: Uint8Array | undefined;
  tap.events.on('message', (m) => {
    first ??= m.slice();
    toB.send(m);
  });
  toB.events.on('message', (m) => tap.send(m));
  void b.model.accept({ transport: bSide, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
  const paired = await initiatePairing(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000, token });
  await waitFor(() => calls.accepted.length === 1, 2000, 'the pairing gate got the session');
  paired.close();
  assert.ok(first);
  assert.equal(first!.length, 1 + INVITE_ID_BYTES + MAC1_BYTES + MSG1_MIN_BYTES);
  assert.equal(first![0], ROUTE_PAIRING);
  assert.equal(calls.lookup, 1);

  for (let cut = 0; cut < first!.length; cut++) {
    const failed = nextEvent(b.model.events, 'failed', 3000);
    acceptRaw(b.model).send(first!.subarray(0, cut));
    assert.equal((await failed).code, 'FRAME_INVALID', `cut at ${cut} of ${first!.length}`);
  }
  // No truncated frame reached the registry: nothing was looked up, and no failure counts against (burns) the invitation.
  assert.equal(calls.lookup, 1);
  assert.equal(calls.failures, 0);
  assert.equal(calls.accepted.length, 1);
  await a.model.close();
  await b.model.close();
});

test('replayed and reordered transport frames close the session', async () => {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  for (const scenario of ['replay', 'reorder'] as const) {
    const [client, server] = createConnectedPair();
    void b.model.accept({ transport: server, remoteAddress: '127.0.0.1', acceptedAt: Date.now() });
    const s = await initiateSession(client, { crypto, localStatic: staticKeyPair(a.id), remoteStatic: b.ref.staticKey, timeoutMs: 2000 });
    await waitFor(() => !!b.model.sessionFor(a.ref.staticKey)?.isOpen, 2000, 'open');
    const received: number[] = [];
    b.model.sessionFor(a.ref.staticKey)!.setHandler((m) => void received.push(m[0]!));
    const frames: Uint8Array[] = [];
    const origSend = client.send.bind(client);
    (client as { send: (d: Uint8Array) => void }).send = (d) => frames.push(d);
    await s.send(Uint8Array.of(1));
    await s.send(Uint8Array.of(2));
    (client as { send: (d: Uint8Array) => void }).send = origSend;
    const closed = nextEvent(b.model.events, 'closed', 3000);
    if (scenario === 'replay') {
      origSend(frames[0]!);
      origSend(frames[0]!);
    } else {
      origSend(frames[1]!);
      origSend(frames[0]!);
    }
    assert.equal((await closed).code, 'FRAME_INVALID', scenario);
    assert.deepEqual(received, scenario === 'replay' ? [1] : [], scenario);
  }
  await a.model.close();
  await b.model.close();
});

test('low-order X25519 points as the ephemeral key are refused', async () => {
  const { msg1, a, b } = await capture();
  const lowOrder = [
    new Uint8Array(32),
    Uint8Array.from([1, ...new Array(31).fill(0)]),
    Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex')),
    Uint8Array.from(Buffer.from('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', 'hex')),
    Uint8Array.from(Buffer.from('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex')),
  ];
  for (const point of lowOrder) {
    const forged = msg1.slice();
    forged.set(point, 1);
    const failed = nextEvent(b.model.events, 'failed', 3000);
    acceptRaw(b.model).send(forged);
    assert.equal((await failed).code, 'HANDSHAKE_FAILED');
  }
  await a.model.close();
  await b.model.close();
});
