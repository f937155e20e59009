import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import { memoryInstance, type MemoryInstance } from '../support/instances.js';
import { crypto, waitFor } from '../support/peers.js';
import { Msg, encodeBatch, decodeMessage, encodeChunk, encodeHashes } from '../../chum/sync/wire.js';
import { BLOB_WINDOW_CHUNKS } from '../../shared/limits.js';
import { objectBytes, signObject, hashObject, type KithObject } from '../../shared/objects.js';
import { utf8 } from '../../shared/bytes.js';
import type { SecureSession, SessionClose } from '../../connections/SecureSession.js';
import type { ObjectHash } from '../../shared/ids.js';

interface Hostile {
  victim: MemoryInstance;
  hostile: MemoryInstance;
  honest: MemoryInstance;
  /** The hostile side's raw session to the victim (its own sync stopped). */
  session: SecureSession;
  /** Messages the victim sends to the hostile peer, decoded. */
  inbox: ReturnType<typeof decodeMessage>[];
  closedAtVictim: Promise<SessionClose>;
  sign(obj: KithObject): Promise<KithObject>;
  close(): Promise<void>;
}

async function hostilePair(): Promise<Hostile> {
  const net = new MemoryNetwork();
  const victim = await memoryInstance(net, 'victim');
  const hostile = await memoryInstance(net, 'hostile');
  const honest = await memoryInstance(net, 'honest');
  await hostile.instance.acceptInvite((await victim.instance.invite()).link);
  await honest.instance.acceptInvite((await victim.instance.invite()).link);
  const vKey = Buffer.from(victim.identity.public.instance.staticKey, 'base64url');
  const hKey = Buffer.from(hostile.identity.public.instance.staticKey, 'base64url');
  await waitFor(() => !!hostile.instance.connections.sessionFor(vKey) && !!victim.instance.connections.sessionFor(hKey));
  // Let the honest first exchange finish, then take over the hostile side's session.
  await waitFor(() => victim.instance.chum.progress().some((p) => p.peer.name === 'hostile' && p.direction === 'receive' && p.caughtUp), 5000, 'first sync');
  (hostile.instance.chum as unknown as { sessions: Map<string, { stop(): void }> }).sessions.get(victim.identity.instanceId)!.stop();
  const session = hostile.instance.connections.sessionFor(vKey)!;
  const inbox: ReturnType<typeof decodeMessage>[] = [];
  session.setHandler((m) => void inbox.push(decodeMessage(m)));
  const closedAtVictim = victim.instance.connections.sessionFor(hKey)!.closed;
  const certHash = hashObject(crypto, hostile.identity.public.certificate as unknown as KithObject);
  return {
    victim, hostile, honest, session, inbox, closedAtVictim,
    sign: (obj) => signObject(crypto, { ...obj, author: hostile.identity.instanceId, cert: certHash }, hostile.identity.instanceSecrets.signSecret),
    close: async () => {
      for (const i of [victim, hostile, honest]) await i.instance.close();
    },
  };
}

async function expectRejected(h: Hostile, objects: Uint8Array[], code: string): Promise<void> {
  const before = h.victim.store.lastSeq;
  await h.session.send(encodeBatch({ advancesMark: true, seq: 1_000_000, objects }));
  const closed = await Promise.race([h.closedAtVictim, new Promise<never>((_, r) => setTimeout(() => r(new Error('not closed')), 10_000))]);
  assert.equal(closed.code, code);
  assert.equal(h.victim.store.lastSeq, before, 'nothing from the bad batch was stored');
  // The honest peer keeps its session.
  assert.ok(h.victim.instance.connections.sessionFor(Buffer.from(h.honest.identity.public.instance.staticKey, 'base64url'))?.isOpen);
}

/** The hostile instance's Person, Instance and certificate: the closure its signed objects need. */
function identityBytes(h: Hostile): Uint8Array[] {
  const { person, instance, certificate } = h.hostile.identity.public;
  return [person, instance, certificate].map((r) => objectBytes(r as unknown as KithObject));
}

async function channelOf(h: Hostile): Promise<ObjectHash> {
  return h.hostile.instance.chum.createId('Channel', 'x');
}

test('a forged signature: SIGNATURE_INVALID, nothing stored, other peers unaffected', async () => {
  const h = await hostilePair();
  const channel = await channelOf(h);
  const good = await h.sign({ $type: 'ChannelEntry', channel, hlc: 1, text: 'hi' });
  const forged = { ...good, text: 'changed after signing' };
  const idBytes = objectBytes((await h.hostile.instance.chum.getObject(channel))!);
  await expectRejected(h, [...identityBytes(h), idBytes, objectBytes(forged)], 'SIGNATURE_INVALID');
  await h.close();
});

test('bytes that are not the canonical form (a wrong hash): HASH_MISMATCH', async () => {
  const h = await hostilePair();
  const spaced = utf8('{ "$type": "Note", "text": "x" }');
  await expectRejected(h, [spaced], 'HASH_MISMATCH');
  await h.close();
});

test('a dangling reference the peer cannot fill: DANGLING_REFERENCE', async () => {
  const h = await hostilePair();
  const missing = 'ab'.repeat(32) as ObjectHash;
  const entry = await h.sign({ $type: 'ChannelEntry', channel: missing, hlc: 1, text: 'orphan' });
  const answered = (async () => {
    await waitFor(() => h.inbox.some((m) => m.type === Msg.Want), 5000, 'want');
    // The hostile peer answers the WANT with nothing.
    await h.session.send(encodeBatch({ advancesMark: false, wanted: true, last: true, seq: 0, objects: [] }));
  })();
  await expectRejected(h, [...identityBytes(h), objectBytes(entry)], 'DANGLING_REFERENCE');
  await answered;
  await h.close();
});

test('an oversized object and a huge batch: SYNC_PROTOCOL_ERROR before anything is parsed', async () => {
  const h = await hostilePair();
  await expectRejected(h, [new Uint8Array(1024 * 1024 + 1)], 'SYNC_PROTOCOL_ERROR');
  await h.close();
  const h2 = await hostilePair();
  await expectRejected(h2, Array.from({ length: 500 }, () => utf8('{"$type":"Note"}')), 'SYNC_PROTOCOL_ERROR');
  await h2.close();
});

test('a grant from someone without rights: ACCESS_DENIED', async () => {
  const h = await hostilePair();
  // The victim's own channel id, "granted" by the hostile person to itself.
  const victimChannel = await h.victim.instance.chum.createId('Channel', 'mine');
  const idBytes = objectBytes((await h.victim.instance.chum.getObject(victimChannel))!);
  const grant = await h.sign({ $type: 'Access', objects: [], ids: [victimChannel], persons: [h.hostile.identity.personId], groups: [], hlc: 1 });
  const before = h.victim.store.lastSeq;
  await h.session.send(encodeBatch({ advancesMark: true, seq: 1_000_000, objects: [...identityBytes(h), idBytes, objectBytes(grant)] }));
  const closed = await h.closedAtVictim;
  assert.equal(closed.code, 'ACCESS_DENIED');
  assert.equal(h.victim.store.lastSeq, before);
  await h.close();
});

test('a blob chunk whose bytes do not match its hash: the session closes, nothing stored', async () => {
  const h = await hostilePair();
  const chunk = crypto.randomBytes(1000);
  const chunkHash = Buffer.from(crypto.sha256(chunk)).toString('hex');
  const manifest = { $type: 'BlobManifest', size: 1000, chunkSize: 1024 * 1024, chunks: [chunkHash] };
  const before = h.victim.store.lastSeq;
  const answered = (async () => {
    await waitFor(() => h.inbox.some((m) => m.type === Msg.ChunkReq), 5000, 'chunk request');
    await h.session.send(encodeChunk(chunkHash, crypto.randomBytes(1000)));
  })();
  await h.session.send(encodeBatch({ advancesMark: true, seq: 1_000_000, objects: [objectBytes(manifest)] }));
  const closed = await h.closedAtVictim;
  await answered;
  assert.equal(closed.code, 'SYNC_PROTOCOL_ERROR');
  assert.equal(h.victim.store.lastSeq, before);
  assert.equal(h.victim.store.has(chunkHash as ObjectHash), false);
  await h.close();
});

test('garbage messages of every type close the session with a protocol error', async () => {
  for (const garbage of [new Uint8Array([0x99]), new Uint8Array([Msg.Hello, 0x7b]), new Uint8Array([Msg.Batch, 1, 2]), new Uint8Array([Msg.Want, 1, 2, 3]), new Uint8Array([Msg.Ack]), new Uint8Array([Msg.Chunk])]) {
    const h = await hostilePair();
    await h.session.send(garbage);
    const closed = await h.closedAtVictim;
    // A type no protocol claims is refused by the session multiplexer; CHUM's own types by CHUM.
    assert.equal(closed.code, garbage[0] === 0x99 ? 'PROTOCOL_ERROR' : 'SYNC_PROTOCOL_ERROR', `type ${garbage[0]}`);
    await h.close();
  }
});

test('chunk requests beyond the window close the session', async () => {
  const h = await hostilePair();
  const hashes = Array.from({ length: BLOB_WINDOW_CHUNKS * 4 + 1 }, (_, i) => Buffer.from(crypto.sha256(new Uint8Array([i]))).toString('hex'));
  // Counted as they arrive (before any is answered or read), so they are refused before any disk read.
  await h.session.send(encodeHashes(Msg.ChunkReq, hashes));
  const closed = await h.closedAtVictim;
  assert.equal(closed.code, 'SYNC_PROTOCOL_ERROR');
  assert.equal(h.inbox.filter((m) => m.type === Msg.Missing).length, 0, 'nothing was answered');
  await h.close();
  // One fewer is within the bound: answered (these chunks do not exist: MISSING), the session stays.
  const ok = await hostilePair();
  await ok.session.send(encodeHashes(Msg.ChunkReq, hashes.slice(1)));
  await waitFor(() => ok.inbox.some((m) => m.type === Msg.Missing), 5000, 'the answer');
  assert.equal(ok.session.isOpen, true);
  await ok.close();
});
