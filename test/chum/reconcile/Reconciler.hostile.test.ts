/**
 * A hostile peer against the Reconciler: arbitrary bytes, mutated honest messages, the shared
 * hostile values, and targeted attacks. The only acceptable outcomes are SYNC_PROTOCOL_ERROR or
 * a well-formed result, in bounded time, and an error poisons the Reconciler for good.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasCode } from '../../../shared/errors.js';
import { hostileValues } from '../../support/hostile.js';
import { ReconcileSet } from '../../../chum/reconcile/ReconcileSet.js';
import { Reconciler, type ReconcileResult, type ReconcilerOptions } from '../../../chum/reconcile/Reconciler.js';
import { MODE_FINGERPRINT, MODE_ID_LIST, MODE_SKIP, RECONCILE_WIRE_VERSION as V } from '../../../chum/reconcile/wire.js';

/** A range's head byte: its mode and the length of its upper bound. */
const head = (mode: number, len: number): number => (mode << 6) | len;

function seededIds(seed: number, count: number): Uint8Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return Array.from({ length: count }, () => Uint8Array.from({ length: 32 }, () => next() & 0xff));
}

const isProtocolError = (err: unknown): boolean => hasCode(err, 'SYNC_PROTOCOL_ERROR');
const SMALL: ReconcilerOptions = { maxMessageBytes: 4096 };
const pool = seededIds(99, 1200);
const setA = ReconcileSet.fromIds(pool.slice(0, 700));
const setB = ReconcileSet.fromIds(pool.slice(300, 1200));

/** An honest exchange A (initiator) ↔ B, recorded: transcript[k] is the k-th message sent. */
function transcript(options: ReconcilerOptions): Uint8Array[] {
  const a = new Reconciler(setA, options);
  const b = new Reconciler(setB, options);
  const out: Uint8Array[] = [];
  let message: Uint8Array | undefined = a.initiate();
  while (message !== undefined && out.length < 500) {
    out.push(message);
    const receiver = out.length % 2 === 1 ? b : a;
    message = receiver.reconcile(message).reply;
  }
  return out;
}

/** Fresh reconcilers replayed to the point where message k is about to be received; returns its receiver. */
function receiverOf(messages: Uint8Array[], k: number, options: ReconcilerOptions): { receiver: Reconciler; set: ReconcileSet } {
  const a = new Reconciler(setA, options);
  const b = new Reconciler(setB, options);
  a.initiate();
  for (let i = 0; i < k; i++) (i % 2 === 0 ? b : a).reconcile(messages[i]!);
  return k % 2 === 0 ? { receiver: b, set: setB } : { receiver: a, set: setA };
}

/** A result must be well-formed: a bounded reply, `have` from our set, `need` not in it. */
function assertWellFormed(result: ReconcileResult, set: ReconcileSet, maxBytes: number): void {
  if (result.reply !== undefined) {
    assert.ok(result.reply instanceof Uint8Array && result.reply.length <= maxBytes);
  }
  for (const id of result.have) assert.ok(id.length === 32 && set.has(id));
  for (const id of result.need) assert.ok(id.length === 32 && !set.has(id));
}

/** Feeds `bytes`; returns 'error' or 'ok' after checking the outcome; asserts the time it took. */
function feed(receiver: Reconciler, set: ReconcileSet, bytes: unknown, maxBytes: number): 'error' | 'ok' {
  const started = performance.now();
  try {
    assertWellFormed(receiver.reconcile(bytes as Uint8Array), set, maxBytes);
    return 'ok';
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(isProtocolError(err), `unexpected error: ${String(err)}`);
    // Poisoned: nothing more is accepted after a protocol error.
    assert.throws(() => receiver.reconcile(bytes as Uint8Array), (e: unknown) => isProtocolError(e) && /already failed/.test((e as Error).message));
    return 'error';
  } finally {
    assert.ok(performance.now() - started < 2_000, 'one message is processed in bounded time');
  }
}

test('every hostile value is refused with SYNC_PROTOCOL_ERROR, by a fresh responder and mid-session', () => {
  for (const { name, value } of hostileValues()) {
    assert.throws(() => new Reconciler(setB).reconcile(value as Uint8Array), isProtocolError, `fresh: ${name}`);
    const initiator = new Reconciler(setA);
    initiator.initiate();
    assert.throws(() => initiator.reconcile(value as Uint8Array), isProtocolError, `initiator: ${name}`);
  }
});

test('fuzz: arbitrary bytes give SYNC_PROTOCOL_ERROR or a well-formed result', () => {
  const body = fc.uint8Array({ maxLength: 3000 });
  const withHeader = fc.tuple(fc.integer({ min: 0, max: 3 }), body).map(([flags, rest]) => Uint8Array.from([V, flags, ...rest]));
  const outcomes = { ok: 0, error: 0 };
  fc.assert(
    fc.property(fc.oneof(body, withHeader), fc.boolean(), (bytes, asInitiator) => {
      const receiver = new Reconciler(asInitiator ? setA : setB, SMALL);
      if (asInitiator) receiver.initiate();
      outcomes[feed(receiver, asInitiator ? setA : setB, bytes, 4096)]++;
    }),
    { numRuns: 1500 },
  );
  assert.ok(outcomes.error > 0);
});

test('fuzz: mutated honest messages give SYNC_PROTOCOL_ERROR or a well-formed result', () => {
  for (const options of [{}, SMALL]) {
    const maxBytes = options.maxMessageBytes ?? 256 * 1024;
    const messages = transcript(options);
    assert.ok(messages.length >= 4);
    const outcomes = { ok: 0, error: 0 };
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 80 }) }),
      fc.record({ kind: fc.constant('replay' as const) }),
    );
    fc.assert(
      fc.property(fc.nat(), mutation, (pick, m) => {
        const k = pick % messages.length;
        const original = messages[k]!;
        const at = 'at' in m ? m.at % (original.length + 1) : 0;
        let mutated: Uint8Array;
        if (m.kind === 'flip') {
          mutated = Uint8Array.from(original);
          if (mutated.length > 0) mutated[at % mutated.length]! ^= m.bits;
        } else if (m.kind === 'truncate') {
          mutated = original.slice(0, at);
        } else if (m.kind === 'insert') {
          mutated = Uint8Array.from([...original.subarray(0, at), ...m.bytes, ...original.subarray(at)]);
        } else if (m.kind === 'duplicate') {
          mutated = Uint8Array.from([...original.subarray(0, at), ...original.subarray(at, at + m.length), ...original.subarray(at)]);
        } else {
          // The previous message of the same direction, delivered again.
          mutated = messages[Math.max(k - 2, 0)]!;
        }
        const { receiver, set } = receiverOf(messages, k, options);
        outcomes[feed(receiver, set, mutated, maxBytes)]++;
      }),
      { numRuns: 400 },
    );
    assert.ok(outcomes.error > 0 && outcomes.ok > 0, JSON.stringify(outcomes));
  }
});

const fp = (fill: number): number[] => new Array(16).fill(fill);

test('both sides initiating, two responders, and a responder speaking first are refused', () => {
  const a = new Reconciler(setA);
  const b = new Reconciler(setB);
  const fromA = a.initiate();
  const fromB = b.initiate();
  assert.throws(() => a.reconcile(fromB), (e: unknown) => isProtocolError(e) && /both sides initiated/.test((e as Error).message));
  const responder = new Reconciler(setB);
  const answer = responder.reconcile(fromA).reply!;
  assert.throws(() => new Reconciler(setA).reconcile(answer), (e: unknown) => isProtocolError(e) && /first message must come from the initiator/.test((e as Error).message));
  assert.throws(() => responder.reconcile(answer), (e: unknown) => isProtocolError(e) && /another responder/.test((e as Error).message));
});

test('a peer listing the same range or the same id twice is refused, so each id is reported once', () => {
  // Listing [0, 80) and leaving [80, ∞) open so the initiator keeps going; then listing it again.
  const listing = Uint8Array.from([V, 0, head(MODE_ID_LIST, 1), 0x80, 3, ...setA.packed.subarray(0, 96), head(MODE_FINGERPRINT, 33), ...fp(7)]);
  const firstTwo = [setA.id(0), setA.id(1), setA.id(2)];
  assert.ok(firstTwo.every((id) => id[0]! < 0x80), 'the lowest ids of A lie below 0x80');
  const initiator = new Reconciler(setA);
  initiator.initiate();
  const result = initiator.reconcile(listing);
  assert.ok(result.reply !== undefined);
  assert.throws(() => initiator.reconcile(listing), (e: unknown) => isProtocolError(e) && /listed a range twice/.test((e as Error).message));

  // Ids A lacks, in a range where A holds nothing, listed twice.
  const foreign = new Uint8Array(32).fill(0xff);
  foreign[31] = 0xfe;
  const other = new Reconciler(ReconcileSet.fromIds([new Uint8Array(32)]));
  other.initiate();
  const twice = Uint8Array.from([V, 0, head(MODE_FINGERPRINT, 1), 0x01, ...fp(1), head(MODE_ID_LIST, 33), 1, ...foreign]);
  assert.equal(other.reconcile(twice).need.length, 1);
  assert.throws(() => other.reconcile(twice), (e: unknown) => isProtocolError(e) && /listed an id twice/.test((e as Error).message));
});

test('a peer cannot force more than maxRounds messages', () => {
  const initiator = new Reconciler(setA, { maxRounds: 5 });
  initiator.initiate();
  // A fingerprint that never matches: an honest side answers it every time.
  const never = Uint8Array.from([V, 0, head(MODE_FINGERPRINT, 33), ...fp(0x42)]);
  for (let i = 0; i < 5; i++) assert.ok(initiator.reconcile(never).reply !== undefined);
  assert.throws(() => initiator.reconcile(never), (e: unknown) => isProtocolError(e) && /more than 5 messages/.test((e as Error).message));
});

test('a peer cannot open a range this side deferred', () => {
  // B answers an empty initiator's list with 4 KiB of its ids and defers the rest.
  const responder = new Reconciler(setB, SMALL);
  const answer = responder.reconcile(Uint8Array.from([V, 1, head(MODE_ID_LIST, 33), 0])).reply!;
  assert.ok((answer[1]! & 2) !== 0, 'the responder deferred work (FLAG_MORE)');
  // A hostile initiator now asks about the deferred tail.
  const reopen = Uint8Array.from([V, 1, head(MODE_SKIP, 1), 0xf0, head(MODE_FINGERPRINT, 33), ...fp(3)]);
  assert.throws(() => responder.reconcile(reopen), (e: unknown) => isProtocolError(e) && /deferred/.test((e as Error).message));
});

test('a maximal message of listed ids or of tiny ranges is processed in bounded time', () => {
  const budget = 256 * 1024;
  // 8k ids the initiator lacks, in one IdList: all reported, once.
  const count = Math.floor((budget - 8) / 32);
  const listed = seededIds(5, count).sort((x, y) => Buffer.compare(x, y));
  const header = [V, 0, head(MODE_ID_LIST, 33), 0x80 | (count & 0x7f), count >> 7];
  const big = new Uint8Array(header.length + count * 32);
  big.set(header);
  listed.forEach((id, i) => big.set(id, header.length + i * 32));
  const initiator = new Reconciler(setA);
  initiator.initiate();
  let started = performance.now();
  const result = initiator.reconcile(big);
  assert.ok(performance.now() - started < 2_000);
  assert.equal(result.need.length, count);
  assert.equal(result.have.length, setA.size);

  // ~13k fingerprint ranges with 2-byte bounds, none matching: each costs a search and a hash.
  const ranges: number[] = [V, 1];
  for (let v = 0x0101; ranges.length + 20 <= budget; v++) {
    if ((v & 0xff) === 0) continue; // canonical bounds never end in a zero byte
    ranges.push(head(MODE_FINGERPRINT, 2), v >> 8, v & 0xff, ...fp(9));
  }
  const responder = new Reconciler(setB);
  started = performance.now();
  const answer = responder.reconcile(Uint8Array.from(ranges));
  assert.ok(performance.now() - started < 2_000);
  assert.ok(answer.reply !== undefined && answer.reply.length <= budget);
});
