/**
 * Hostile input at CHUM, property-based (fast-check):
 * - `decodeMessage` on noise, mutated real messages and well-framed messages with hostile
 *   fields returns a decoded message or throws SYNC_PROTOCOL_ERROR, nothing else;
 * - objects: `describeBytes` on noise, arbitrary JSON and mutated real objects (every
 *   built-in type) describes or refuses with an object code; what it accepts is canonical
 *   and re-encodes to the same bytes; the verifier refuses forged ones with a code;
 * - a live sync session (Importer and Exporter of a real Chum, through the MessageChannel
 *   seam) fed sequences of arbitrary and near-valid messages: every message is handled
 *   without throwing, a violation closes the channel with a Kith code (never a wrapped
 *   crash), and the victim's store stays consistent — every entry verifies, nothing dangles;
 * - a peer that ignores flow control (batches past the window, offers, requests) loses its session;
 * - the sync marks document parses or is refused with INVALID_INPUT.
 * Bounded runs in `npm test`, ×100 with KITH_STRESS; memory stays bounded.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { Chum } from '../../chum/Chum.js';
import { MarkStore, parseMarksDocument } from '../../chum/sync/marks.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { describeBytes } from '../../chum/model/describe.js';
import { ObjectVerifier } from '../../chum/model/verify.js';
import { Msg, decodeMessage, encodeAck, encodeBatch, encodeChunk, encodeHashes, encodeHello, encodePlan, encodeRecon, SYNC_PROTOCOL_VERSION } from '../../chum/sync/wire.js';
import { Reconciler } from '../../chum/reconcile/Reconciler.js';
import { ReconcileSet } from '../../chum/reconcile/ReconcileSet.js';
import type { MessageChannel } from '../../connections/SessionMux.js';
import type { CloseCode } from '../../connections/SecureSession.js';
import { MemoryAdapter } from '../../shared/StateDocument.js';
import { ERROR_CODES, isErrorCode } from '../../shared/errors.js';
import { objectBytes, type KithObject } from '../../shared/objects.js';
import { fromHex, toHex, utf8 } from '../../shared/bytes.js';
import type { ObjectHash } from '../../shared/ids.js';
import type { MarksDocument } from '../../chum/sync/marks.js';
import { crypto, makeIdentity, waitFor } from '../support/peers.js';
import { anyJson, atBoundary, atBoundaryAsync, bytesAround, fuzzRuns, fuzzTimeout, jsonBytes, mutated, mutatedJson, OutcomeTally, trapUncaught } from '../support/arbitraries.js';
import { auditStore } from '../support/storeAudit.js';
import { retainedHeap, mib } from '../support/memory.js';
import { MAX_QUEUED_OFFERS, MAX_SYNC_PENDING_TASKS, SYNC_WINDOW_BATCHES } from '../../shared/limits.js';

const trap = trapUncaught();
after(() => {
  trap.check();
  trap.dispose();
});

// ---- a victim with data, and a second instance whose real objects seed the fuzzer ---------

const victimId = await makeIdentity('victim');
const fuzzerId = await makeIdentity('fuzzer');
const victimStore = await openMemoryStore({ crypto });
const victim = await Chum.open({ crypto, store: victimStore, marks: await MarkStore.open(new MemoryAdapter<MarksDocument>()), identity: victimId, isCompanion: () => false });
const sharedChannel = await victim.createId('Channel', 'for the fuzzer');
await victim.grant({ ids: [sharedChannel], persons: [fuzzerId.personId] });
for (let i = 0; i < 30; i++) await victim.putSigned({ $type: 'ChannelEntry', channel: sharedChannel, hlc: victim.clock.now(), text: `victim ${i}` });
const victimBlob = await victim.putBlob(randomBytes(2_500_000));
await victim.grant({ objects: [victimBlob.manifest], persons: [fuzzerId.personId] });
await victim.access.settled();

const source = await Chum.open({ crypto, store: await openMemoryStore({ crypto }), marks: await MarkStore.open(new MemoryAdapter<MarksDocument>()), identity: fuzzerId, isCompanion: () => false });
const fuzzChannel = await source.createId('Channel', 'fuzzer channel');
await source.grant({ ids: [fuzzChannel], persons: [victimId.personId] });
for (let i = 0; i < 8; i++) await source.putSigned({ $type: 'ChannelEntry', channel: fuzzChannel, hlc: source.clock.now(), text: `fuzzer ${i}` });
const group = await source.createId('Group', 'friends');
await source.writeVersion(group, { members: [victimId.personId] });
await source.put({ $type: 'Note', text: 'an application object', $refs: [fuzzChannel] } as KithObject);
const smallBlob = await source.putBlob(crypto.randomBytes(3000));
/** The fuzzer's real objects, in store order (closure first): what a well-behaved peer would send. */
const seedObjects: Uint8Array[] = [];
const seedChunks = new Map<string, Uint8Array>();
for (const meta of source.store.since(0, 10_000)) {
  const bytes = (await source.store.get(meta.hash))!;
  if (meta.kind === 'object') seedObjects.push(bytes);
  else seedChunks.set(meta.hash, bytes);
}
const victimHashes = victimStore.since(0, 10_000).map((m) => m.hash);
const seedHashes = seedObjects.map((b) => toHex(crypto.sha256(b)));

// ---- arbitraries -------------------------------------------------------------------------

const arbHash = fc.oneof(
  fc.constantFrom(...victimHashes),
  fc.constantFrom(...seedHashes),
  fc.constantFrom(...seedChunks.keys()),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex),
);
const arbEpoch = fc.oneof(fc.constant(victimStore.epoch), fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.string({ maxLength: 70 }));
const helloValue = fc.record({ v: fc.constant(SYNC_PROTOCOL_VERSION), epoch: arbEpoch, count: fc.nat(), mark: fc.option(fc.record({ epoch: arbEpoch, seq: fc.nat() }), { nil: undefined }) });
const arbObjects: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  // The real objects, in order from a random start (references may then be missing: WANT path).
  fc.tuple(fc.nat(seedObjects.length), fc.nat(seedObjects.length)).map(([from, n]) => seedObjects.slice(from, from + n)),
  // Shuffled, with mutated or foreign entries mixed in.
  fc.array(fc.oneof(fc.constantFrom(...seedObjects), mutated(seedObjects), fc.uint8Array({ maxLength: 64 })), { maxLength: 8 }),
);

/** One CHUM message from the peer: well-framed with hostile content, mutated, or noise. */
const arbMessage: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: helloValue.map((h) => encodeHello(h as never)) },
  { weight: 1, arbitrary: fc.oneof(mutatedJson({ v: 1, epoch: victimStore.epoch, count: 3, mark: { epoch: victimStore.epoch, seq: 2 } }), anyJson).map((v) => concat(Msg.Hello, jsonBytes(v))) },
  { weight: 1, arbitrary: fc.record({ from: fc.nat(), to: fc.nat(), objects: fc.nat(), bytes: fc.nat() }).map((p) => encodePlan(p)) },
  { weight: 2, arbitrary: fc.oneof(fc.nat(), fc.constant(-1), fc.constant(2 ** 60)).map((seq) => (seq < 0 || seq > Number.MAX_SAFE_INTEGER ? concat(Msg.Ack, utf8(`{"seq":${seq}}`)) : encodeAck({ seq }))) },
  {
    weight: 6,
    arbitrary: fc
      .record({ flags: fc.constantFrom(0, 1, 2, 6, 4, 3, 8), seq: fc.oneof(fc.nat(100), fc.constant(2 ** 53 - 1)), objects: arbObjects })
      .map(({ flags, seq, objects }) => {
        const frame = encodeBatch({ advancesMark: (flags & 1) !== 0, wanted: (flags & 2) !== 0, last: (flags & 4) !== 0, seq, objects });
        frame[1] = flags;
        return frame;
      }),
  },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(Msg.Offer, Msg.Want, Msg.ChunkReq, Msg.Missing), fc.array(arbHash, { maxLength: 20 })).map(([type, hashes]) => encodeHashes(type, hashes)) },
  { weight: 2, arbitrary: fc.tuple(arbHash, fc.oneof(fc.constantFrom(...seedChunks.values()), fc.uint8Array({ maxLength: 100 }))).map(([hash, bytes]) => encodeChunk(hash, bytes)) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(Msg.ReconExp, Msg.ReconImp), bytesAround([reconSeed()], 200)).map(([type, body]) => encodeRecon(type, body)) },
  { weight: 2, arbitrary: fc.tuple(fc.integer({ min: 0x10, max: 0x1f }), fc.uint8Array({ maxLength: 300 })).map(([type, body]) => concat(type, body)) },
);

/**
 * What an honest exporter would send (HELLO, then the real objects in store order in
 * mark-advancing batches), with one message replaced, inserted, mutated or dropped: the
 * victim gets deep into a valid exchange before it meets the fault.
 */
const arbScript: fc.Arbitrary<Uint8Array[]> = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.constantFrom('replace', 'insert', 'mutate', 'drop', 'none'), arbMessage, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
  .map(([sizes, at, kind, extra, edits]) => {
    const script: Uint8Array[] = [encodeHello({ v: 1, epoch: 'honest-epoch-01', count: seedObjects.length } as never)];
    let from = 0;
    for (const size of sizes) {
      if (from >= seedObjects.length) break;
      const objects = seedObjects.slice(from, from + size);
      from += objects.length;
      script.push(encodeBatch({ advancesMark: true, seq: from, objects }));
    }
    const i = at % script.length;
    if (kind === 'replace') script[i] = extra;
    else if (kind === 'insert') script.splice(i, 0, extra);
    else if (kind === 'drop') script.splice(i, 1);
    else if (kind === 'mutate') {
      const copy = script[i]!.slice();
      for (const [pos, value] of edits) copy[pos % copy.length] = value;
      script[i] = copy;
    }
    return script;
  });

function concat(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length);
  out[0] = type;
  out.set(body, 1);
  return out;
}

function reconSeed(): Uint8Array {
  return new Reconciler(ReconcileSet.fromIds(seedHashes.map((h) => fromHex(h)))).initiate();
}

// ---- decodeMessage -----------------------------------------------------------------------

test(`decodeMessage: arbitrary and near-valid messages decode or fail with SYNC_PROTOCOL_ERROR (${fuzzRuns(3000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  const tally = new OutcomeTally();
  const realMessages = [encodeHello({ v: 1, epoch: victimStore.epoch, count: 5 } as never), encodeBatch({ advancesMark: true, seq: 9, objects: seedObjects.slice(0, 4) }), encodeHashes(Msg.Want, seedHashes.slice(0, 3)), encodeAck({ seq: 3 })];
  fc.assert(
    fc.property(fc.oneof(arbMessage, bytesAround(realMessages, 400)), (message) => {
      const outcome = atBoundary(() => decodeMessage(message), { allowed: ['SYNC_PROTOCOL_ERROR'] });
      tally.add(outcome);
      if (!outcome.ok) assert.notEqual(outcome.message, ERROR_CODES.SYNC_PROTOCOL_ERROR, 'a refusal says what was wrong');
    }),
    { numRuns: fuzzRuns(3000) },
  );
  assert.ok(tally.get('ok') > 100 && tally.get('SYNC_PROTOCOL_ERROR') > 100, tally.toString());
  t.diagnostic(`outcomes: ${tally}`);
});

// ---- objects -------------------------------------------------------------------------------

const OBJECT_CODES = ['OBJECT_INVALID', 'NOT_CANONICALIZABLE', 'HASH_MISMATCH', 'OBJECT_TOO_LARGE', 'INVALID_INPUT'];
const seedValues = seedObjects.map((b) => JSON.parse(new TextDecoder().decode(b)) as unknown);

test(`describeBytes: noise, arbitrary JSON and mutated objects of every type describe or are refused with an object code (${fuzzRuns(3000)} runs)`, { timeout: fuzzTimeout() }, async (t) => {
  const tally = new OutcomeTally();
  const verifier = new ObjectVerifier(crypto, source.store);
  let verified = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        bytesAround(seedObjects, 300),
        anyJson.map(jsonBytes),
        fc.constantFrom(...seedValues).chain((v) => mutatedJson(v)).map((v) => {
          // Mostly canonical re-encodings, so the schema checks behind the canonical gate are reached.
          try {
            return objectBytes(v);
          } catch {
            return jsonBytes(v);
          }
        }),
      ),
      async (bytes) => {
        const outcome = atBoundary(() => describeBytes(crypto, bytes), { allowed: OBJECT_CODES });
        tally.add(outcome);
        if (!outcome.ok) return;
        const d = outcome.value;
        assert.deepEqual(objectBytes(d.object), bytes, 'an accepted object is exactly its canonical form');
        assert.equal(d.hash, toHex(crypto.sha256(bytes)));
        // The verifier (closure, certificates, signatures, rights) refuses a forgery with a code.
        const checked = await atBoundaryAsync(() => verifier.verifyBatch([d]));
        if (checked.ok) verified++;
      },
    ),
    { numRuns: fuzzRuns(3000) },
  );
  assert.ok(tally.get('ok') > 50 && tally.get('OBJECT_INVALID') > 50, tally.toString());
  assert.ok(verified > 0, 'some inputs were real objects that verify');
  t.diagnostic(`outcomes: ${tally}; ${verified} verified`);
});

// ---- a live sync session -------------------------------------------------------------------

/** The MessageChannel seam, driven by the test: what SecureSession + SessionMux give a protocol. */
class FuzzChannel implements MessageChannel {
  readonly sent: Uint8Array[] = [];
  closedWith: { code: CloseCode | undefined; message: string | undefined } | undefined;
  readonly closed: Promise<unknown>;
  private handler: ((m: Uint8Array) => void | Promise<void>) | undefined;
  private resolveClosed!: () => void;

  constructor() {
    this.closed = new Promise<void>((resolve) => (this.resolveClosed = resolve));
  }

  async send(message: Uint8Array): Promise<void> {
    if (this.closedWith) throw Object.assign(new Error('closed'), { code: 'CLOSED' });
    this.sent.push(message);
  }

  setHandler(handler: ((m: Uint8Array) => void | Promise<void>) | undefined): void {
    this.handler = handler;
  }

  close(code?: CloseCode, message?: string): void {
    if (this.closedWith) return;
    this.closedWith = { code, message };
    this.resolveClosed();
  }

  /** Delivers one message as the session would (nothing after a close). */
  deliver(message: Uint8Array): void | Promise<void> {
    if (this.closedWith) return;
    return this.handler?.(message);
  }
}

test(`a live sync session fed arbitrary message sequences: every violation closes the channel with a code, the store stays consistent (${fuzzRuns(300)} runs)`, { timeout: fuzzTimeout(120_000) }, async (t) => {
  const closes = new OutcomeTally();
  const peer = { instanceId: fuzzerId.instanceId, personId: fuzzerId.personId, name: 'fuzzer' };
  const heapBefore = await retainedHeap();
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(fc.oneof(arbScript, fc.array(arbMessage, { minLength: 1, maxLength: 8 })), async (sequence) => {
      const channel = new FuzzChannel();
      victim.attach(channel, peer);
      for (const message of sequence) {
        const outcome = await atBoundaryAsync(async () => channel.deliver(message), { budgetMs: 2000 });
        assert.ok(outcome.ok, `the handler threw (${!outcome.ok && outcome.code}); a session must close, not throw`);
      }
      // Let queued work (verification, stores, answers) run; a violation shows up as a close.
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (channel.sent.length > 1) answered++;
      if (channel.closedWith) {
        const { code, message } = channel.closedWith;
        assert.ok(code !== undefined && code !== 'NORMAL' && isErrorCode(code), `closed with a Kith code, not ${String(code)}`);
        // A wrapped crash (TypeError …) would carry the generic default text.
        assert.notEqual(message, ERROR_CODES.SYNC_PROTOCOL_ERROR, `a crash was wrapped into SYNC_PROTOCOL_ERROR`);
        closes.add({ ok: false, code, message: message ?? '' });
      } else {
        closes.add({ ok: true, value: undefined });
      }
      channel.close('NORMAL');
    }),
    { numRuns: fuzzRuns(300) },
  );
  // The session still works for an honest peer, and nothing the fuzzer sent broke the store.
  const audit = await auditStore(crypto, victimStore);
  const heapAfter = await retainedHeap();
  assert.ok(audit.objects >= victimHashes.length - 3, 'the victim kept its own objects');
  assert.ok(seedHashes.some((h) => victimStore.has(h as ObjectHash)), 'valid objects from the fuzzer were verified and stored along the way');
  assert.ok(heapAfter - heapBefore < 32 * 1024 * 1024, `memory bounded: ${mib(heapBefore)} → ${mib(heapAfter)}`);
  assert.ok(closes.get('SYNC_PROTOCOL_ERROR') > 0 && closes.get('ok') > 0, closes.toString());
  assert.ok(answered > 0, 'the victim answered some of the fuzzer\'s requests');
  t.diagnostic(`channel closes: ${closes}; ${answered} runs answered; heap ${mib(heapBefore)} → ${mib(heapAfter)}; victim store ${audit.objects} objects`);
});

test('a peer that ignores flow control (batches past the unacknowledged window, offers past the queue, WANTs past the task limit) loses its session with SYNC_PROTOCOL_ERROR', async () => {
  // What a peer can make the importer hold: at most SYNC_WINDOW_BATCHES + 1 batches (each ≤ SYNC_BATCH_BYTES plus one object),
  // MAX_QUEUED_OFFERS offers and MAX_SYNC_PENDING_TASKS queued requests per direction; one more of any closes its session.
  const peer = { instanceId: fuzzerId.instanceId, personId: fuzzerId.personId, name: 'fuzzer' };
  const hello = encodeHello({ v: SYNC_PROTOCOL_VERSION, epoch: 'flow-control-epoch-01', count: 0 } as never);
  const floods: Array<[string, number, (i: number) => Uint8Array, string]> = [
    ['batches', SYNC_WINDOW_BATCHES + 1, (i) => encodeBatch({ advancesMark: true, wanted: false, last: false, seq: i + 1, objects: [seedObjects[0]!] }), 'batch window exceeded'],
    ['offers', MAX_QUEUED_OFFERS, () => encodeHashes(Msg.Offer, [seedHashes[0]!]), 'too many offers'],
    ['wants', MAX_SYNC_PENDING_TASKS, () => encodeHashes(Msg.Want, [victimHashes[0]!]), 'too many requests in flight'],
  ];
  for (const [what, allowed, message, reason] of floods) {
    const channel = new FuzzChannel();
    victim.attach(channel, peer);
    void channel.deliver(hello);
    // Delivered back to back, as a peer that never waits for acknowledgements would send them.
    for (let i = 0; i < allowed + 1 && !channel.closedWith; i++) void channel.deliver(message(i));
    await waitFor(() => channel.closedWith !== undefined, 2000, `the ${what} flood closes the session`);
    assert.equal(channel.closedWith!.code, 'SYNC_PROTOCOL_ERROR', what);
    assert.equal(channel.closedWith!.message, reason, what);
    channel.close('NORMAL');
  }
});

test('after the fuzzing, an honest peer still syncs the shared data from the victim', { timeout: 30_000 }, async () => {
  const channel = new FuzzChannel();
  victim.attach(channel, { instanceId: fuzzerId.instanceId, personId: fuzzerId.personId, name: 'fuzzer' });
  await channel.deliver(encodeHello({ v: 1, epoch: 'fresh-epoch-0001', count: 0 } as never));
  await waitFor(() => channel.sent.some((m) => m[0] === Msg.Batch), 5000, 'the victim streams batches');
  const firstBatch = decodeMessage(channel.sent.find((m) => m[0] === Msg.Batch)!);
  assert.equal(firstBatch.type, Msg.Batch);
  channel.close('NORMAL');
});

// ---- the marks document --------------------------------------------------------------------

test(`parseMarksDocument: arbitrary and mutated documents parse or are refused with INVALID_INPUT (${fuzzRuns(2000)} runs)`, { timeout: fuzzTimeout() }, (t) => {
  const valid = { version: 1, marks: [{ peer: victimId.instanceId, epoch: victimStore.epoch, seq: 12, updatedAt: 1_700_000_000_000 }, { peer: fuzzerId.instanceId, epoch: 'abcdefgh', seq: 0, updatedAt: 0 }] };
  const tally = new OutcomeTally();
  fc.assert(
    fc.property(fc.oneof(mutatedJson(valid), anyJson), (value) => {
      tally.add(atBoundary(() => parseMarksDocument(value), { allowed: ['INVALID_INPUT'] }));
    }),
    { numRuns: fuzzRuns(2000) },
  );
  assert.ok(tally.get('ok') > 0 && tally.get('INVALID_INPUT') > 0, tally.toString());
  t.diagnostic(`outcomes: ${tally}`);
});

after(async () => {
  await victim.close();
  await source.close();
});
