import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { hasCode } from '../../../shared/errors.js';
import { RECONCILE_BRANCHING, RECONCILE_MAX_MESSAGE_BYTES } from '../../../shared/limits.js';
import { ReconcileSet } from '../../../chum/reconcile/ReconcileSet.js';
import { Reconciler, type ReconcilerOptions } from '../../../chum/reconcile/Reconciler.js';
import { reconcileLocally, type LocalReconciliation } from '../../../chum/reconcile/reconcileLocally.js';
import { FLAG_MORE, RECONCILE_WIRE_VERSION } from '../../../chum/reconcile/wire.js';

/** Deterministic ids (splitmix32); `prefix` leading bytes are shared by all, as mined ids would be. */
function seededIds(seed: number, count: number, prefix = 0): Uint8Array[] {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  return Array.from({ length: count }, () => {
    const id = new Uint8Array(32);
    for (let k = 0; k < 32; k++) id[k] = k < prefix ? 0x5a : next() & 0xff;
    return id;
  });
}

/** Hex via Buffer: shared/bytes toHex is ~5× slower, which adds seconds at 100k ids. */
const toHex = (id: Uint8Array): string => Buffer.from(id.buffer, id.byteOffset, id.length).toString('hex');

interface Sides {
  a: Uint8Array[];
  b: Uint8Array[];
}

/** Two sides sharing `common` ids, each with its own extra ids. */
function sides(seed: number, common: number, onlyA: number, onlyB: number, prefix = 0): Sides {
  const pool = seededIds(seed, common + onlyA + onlyB, prefix);
  return { a: pool.slice(0, common + onlyA), b: [...pool.slice(0, common), ...pool.slice(common + onlyA)] };
}

/** The brute-force answer: what the initiator has that the responder lacks, and the reverse. */
function expected(initiator: Uint8Array[], responder: Uint8Array[]): { have: string[]; need: string[] } {
  const i = new Set(initiator.map(toHex));
  const r = new Set(responder.map(toHex));
  return { have: [...i].filter((x) => !r.has(x)).sort(), need: [...r].filter((x) => !i.has(x)).sort() };
}

function run(initiator: Uint8Array[], responder: Uint8Array[], options: ReconcilerOptions = {}, maxMessages = 10_000): LocalReconciliation {
  return reconcileLocally(new Reconciler(ReconcileSet.fromIds(initiator), options), new Reconciler(ReconcileSet.fromIds(responder), options), maxMessages);
}

function assertCorrect(result: LocalReconciliation, initiator: Uint8Array[], responder: Uint8Array[], what: string): void {
  const want = expected(initiator, responder);
  const have = result.have.map(toHex);
  const need = result.need.map(toHex);
  assert.equal(new Set(have).size, have.length, `${what}: have reported once each`);
  assert.equal(new Set(need).size, need.length, `${what}: need reported once each`);
  assert.deepEqual(have.sort(), want.have, `${what}: have`);
  assert.deepEqual(need.sort(), want.need, `${what}: need`);
}

/** The loose bound proved in Reconciler.ts: 2D(n_A + n_B + 1) messages, D = 2⌈log_B(max n)⌉ + 4. */
function provenBound(nA: number, nB: number, branching: number): number {
  const d = 2 * Math.ceil(Math.log(Math.max(nA, nB, 2)) / Math.log(branching)) + 4;
  return 2 * d * (nA + nB + 1);
}

const OPTION_SETS: ReadonlyArray<Required<Pick<ReconcilerOptions, 'branching' | 'idListThreshold' | 'maxMessageBytes'>>> = [
  { branching: 16, idListThreshold: 32, maxMessageBytes: RECONCILE_MAX_MESSAGE_BYTES },
  { branching: 16, idListThreshold: 32, maxMessageBytes: 4096 }, // forces deferral and cut lists
  { branching: 2, idListThreshold: 2, maxMessageBytes: 4096 }, // deepest trees
  { branching: 5, idListThreshold: 9, maxMessageBytes: 6000 },
];

test('random sets of 0..2000 ids with 0..100% overlap reconcile to the brute-force difference', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer(),
        sizeA: fc.integer({ min: 0, max: 2000 }),
        sizeB: fc.integer({ min: 0, max: 2000 }),
        overlapPercent: fc.integer({ min: 0, max: 100 }),
        // Shared prefixes leave fewer random bytes per id. Fingerprints are sums, so sets of ids
        // with only 3 random bytes collide now and then (a run found {…13401, …13960, …13bf7}
        // and {…13401, …134a8, …140af}: equal sums, equal counts) and the difference is missed,
        // which real ids (SHA-256 outputs) cannot do short of a k-sum attack on 256 bits. 26
        // leaves 6 random bytes; the deterministic test below covers 28–31 byte prefixes.
        prefix: fc.constantFrom(0, 0, 0, 3, 26),
        aInitiates: fc.boolean(),
        options: fc.constantFrom(...OPTION_SETS),
      }),
      ({ seed, sizeA, sizeB, overlapPercent, prefix, aInitiates, options }) => {
        const common = Math.floor((Math.min(sizeA, sizeB) * overlapPercent) / 100);
        const { a, b } = sides(seed, common, sizeA - common, sizeB - common, prefix);
        const [initiator, responder] = aInitiates ? [a, b] : [b, a];
        const result = run(initiator, responder, options, provenBound(a.length, b.length, options.branching));
        assertCorrect(result, initiator, responder, `seed ${seed}`);
        assert.ok(result.largestMessage <= options.maxMessageBytes, 'no message exceeds maxMessageBytes');
      },
    ),
    { numRuns: 120 },
  );
});

test('edge cases: empty sides, identical sets, one difference, all different, both as initiator', () => {
  const cases: Array<[string, Sides]> = [
    ['both empty', sides(1, 0, 0, 0)],
    ['initiator empty', sides(2, 0, 0, 1500)],
    ['responder empty', sides(3, 0, 1500, 0)],
    ['identical', sides(4, 1500, 0, 0)],
    ['one difference', sides(5, 1500, 0, 1)],
    ['one on each side', sides(6, 1500, 1, 1)],
    ['all different', sides(7, 0, 1000, 1000)],
    ['single ids', sides(8, 0, 1, 1)],
  ];
  for (const [name, { a, b }] of cases) {
    for (const options of OPTION_SETS) {
      assertCorrect(run(a, b, options), a, b, `${name} (A initiates)`);
      assertCorrect(run(b, a, options), b, a, `${name} (B initiates)`);
    }
  }
  const same = sides(9, 5000, 0, 0);
  const identical = run(same.a, same.b);
  assert.equal(identical.messages, 2, 'identical sets: the responder answers once, with nothing');
  assert.equal(identical.bytesFromResponder, 2, 'an empty answer is the 2-byte header');
});

test('mined ids (shared 28–31 byte prefixes, bounds up to 32 bytes) reconcile correctly', () => {
  for (const prefix of [28, 30, 31]) {
    // Differences hidden among close ids, and close ids hidden among random ones.
    const close = sides(prefix, 150, 40, 40, prefix);
    assertCorrect(run(close.a, close.b), close.a, close.b, `prefix ${prefix}`);
    assertCorrect(run(close.b, close.a, OPTION_SETS[1]), close.b, close.a, `prefix ${prefix}, small budget`);
    const random = sides(prefix + 100, 3000, 0, 0);
    const a = [...random.a, ...close.a];
    const b = [...random.b, ...close.b];
    assertCorrect(run(a, b), a, b, `prefix ${prefix} inside random ids`);
    assertCorrect(run(a, b, OPTION_SETS[2]), a, b, `prefix ${prefix} inside random ids, branching 2`);
  }
});

test(`small differences take at most log${RECONCILE_BRANCHING}(n) / 2 + 2 round trips`, () => {
  for (const n of [1000, 10_000, 100_000]) {
    // Each round trip descends two levels (one split each way).
    const limit = Math.ceil(Math.log(n) / Math.log(RECONCILE_BRANCHING) / 2) + 2;
    for (const [onlyA, onlyB] of [[0, 1], [1, 0], [1, 1], [3, 2]] as const) {
      const { a, b } = sides(n + onlyA * 7 + onlyB, n, onlyA, onlyB);
      const result = run(a, b);
      assertCorrect(result, a, b, `n ${n}, ${onlyA}/${onlyB}`);
      const roundTrips = Math.ceil(result.messages / 2);
      assert.ok(roundTrips <= limit, `n ${n}, ${onlyA}/${onlyB}: ${roundTrips} round trips > ${limit}`);
    }
  }
});

test('one difference costs under 1 KiB both ways together, at 10k and at 100k ids in common (default options)', () => {
  for (const n of [10_000, 100_000]) {
    for (const [onlyA, onlyB] of [[1, 0], [0, 1]] as const) {
      for (const seed of [1, 2, 3]) {
        const { a, b } = sides(seed * 1000 + n, n, onlyA, onlyB);
        const result = run(a, b);
        assertCorrect(result, a, b, `n ${n}, ${onlyA}/${onlyB}`);
        const bytes = result.bytesFromInitiator + result.bytesFromResponder;
        assert.ok(bytes <= 1024, `n ${n}, ${onlyA}/${onlyB}, seed ${seed}: ${bytes} bytes`);
        assert.ok(result.messages <= 6, `n ${n}: ${result.messages} messages`);
      }
    }
  }
});

test('maxMessageBytes spreads large differences over more rounds instead of larger messages', () => {
  const { a, b } = sides(11, 500, 1500, 1500);
  const roomy = run(a, b);
  const tight = run(a, b, { maxMessageBytes: 4096 });
  assertCorrect(tight, a, b, 'tight budget');
  assert.ok(roomy.largestMessage > 4096, 'without a tight budget the answer is one large message');
  assert.ok(tight.largestMessage <= 4096);
  assert.ok(tight.messages > roomy.messages);
});

test('deferred work is announced with FLAG_MORE and answered later, on both sides', () => {
  // Drive the loop by hand to look at the flags and at what the responder reports.
  const { a, b } = sides(12, 300, 2000, 2000);
  const options = { maxMessageBytes: 4096 };
  const initiator = new Reconciler(ReconcileSet.fromIds(a), options);
  const responder = new Reconciler(ReconcileSet.fromIds(b), options);
  const have: Uint8Array[] = [];
  const need: Uint8Array[] = [];
  const moreFrom = { initiator: 0, responder: 0 };
  let message: Uint8Array | undefined = initiator.initiate();
  for (let i = 0; message !== undefined; i++) {
    assert.ok(i < 2000, 'bounded');
    if ((message[1]! & FLAG_MORE) !== 0) moreFrom.initiator++;
    const answer = responder.reconcile(message);
    assert.deepEqual([answer.have.length, answer.need.length], [0, 0], 'the responder never reports');
    assert.ok(answer.reply !== undefined);
    if ((answer.reply[1]! & FLAG_MORE) !== 0) moreFrom.responder++;
    const result = initiator.reconcile(answer.reply);
    have.push(...result.have);
    need.push(...result.need);
    message = result.reply;
  }
  assert.ok(moreFrom.initiator > 0 && moreFrom.responder > 0, `FLAG_MORE used: ${JSON.stringify(moreFrom)}`);
  assert.equal(initiator.complete, true);
  assert.equal(responder.complete, false, 'the responder learns the end from the sync layer');
  assertCorrect({ have, need, messages: 0, bytesFromInitiator: 0, bytesFromResponder: 0, largestMessage: 0 }, a, b, 'by hand');
});

test('roles and completion: either side may initiate, each Reconciler plays one role', () => {
  const { a, b } = sides(13, 100, 5, 5);
  const first = new Reconciler(ReconcileSet.fromIds(a));
  const second = new Reconciler(ReconcileSet.fromIds(b));
  assert.equal(first.role, 'idle');
  const opening = first.initiate();
  assert.equal(first.role, 'initiator');
  assert.throws(() => first.initiate(), (err: unknown) => hasCode(err, 'INVALID_INPUT'));
  const reply = second.reconcile(opening).reply!;
  assert.equal(second.role, 'responder');
  assert.throws(() => second.initiate(), (err: unknown) => hasCode(err, 'INVALID_INPUT'));
  let message: Uint8Array | undefined = reply;
  while (message !== undefined) {
    const r = first.reconcile(message);
    message = r.reply === undefined ? undefined : second.reconcile(r.reply).reply;
  }
  assert.equal(first.complete, true);
  assert.ok(first.messagesProcessed >= 1);
  assert.throws(() => first.reconcile(reply), (err: unknown) => hasCode(err, 'SYNC_PROTOCOL_ERROR') && /completed/.test((err as Error).message));
  // A responder told "nothing left" (an empty initiator message) completes too.
  const idle = new Reconciler(ReconcileSet.fromIds(b));
  assert.equal(idle.reconcile(Uint8Array.from([RECONCILE_WIRE_VERSION, 1])).reply, undefined);
  assert.equal(idle.complete, true);
});

test('options are validated', () => {
  const set = ReconcileSet.fromIds([]);
  const bad: ReconcilerOptions[] = [
    { branching: 1 },
    { branching: 257 },
    { branching: 2.5 },
    { idListThreshold: 1 },
    { idListThreshold: 1025 },
    { maxMessageBytes: 4095 },
    { maxMessageBytes: 5 * 1024 * 1024 },
    { maxMessageBytes: Number.NaN },
    { idListThreshold: 1024, maxMessageBytes: 8192 }, // one answer could not fit
    { maxRounds: 0 },
  ];
  for (const options of bad) {
    assert.throws(() => new Reconciler(set, options), (err: unknown) => hasCode(err, 'INVALID_INPUT'), JSON.stringify(options));
  }
  assert.throws(() => new Reconciler({} as ReconcileSet), (err: unknown) => hasCode(err, 'INVALID_INPUT'));
  assert.doesNotThrow(() => new Reconciler(set, { branching: 256, idListThreshold: 1024, maxMessageBytes: 64 * 1024 }));
});
