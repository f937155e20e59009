/**
 * Fuzzing the invitation parsers: whatever they are given, they either return a valid
 * invitation (which re-encodes to exactly the input) or throw a KithError with
 * INVITE_MALFORMED / INVITE_EXPIRED, quickly. ~2,000 runs per target in `npm test`,
 * 100× more with KITH_STRESS set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import { INVITE_LINK_PREFIX, decodeInvitation, encodeInvitation, invitationToLink, parseInvitationLink, type Invitation } from '../../pairing/invitation.js';
import { decodeQrFromRgba } from '../../pairing/qr.js';
import { KithError } from '../../shared/errors.js';
import { concatBytes, equalBytes, toBase64url } from '../../shared/bytes.js';

const STRESS = Boolean(process.env.KITH_STRESS);
const RUNS = STRESS ? 200_000 : 2_000;
/** Generous per-call ceiling: a parse takes microseconds; this only catches hangs and blow-ups (GC pauses on a loaded CI box stay far below). */
// A hang detector, not a performance check: generous enough for a loaded 2-core CI machine.
const PER_CALL_BUDGET_MS = 5000;
/** Whole-test ceiling, so a hang fails the test instead of stalling the run. */
const TEST_TIMEOUT_MS = STRESS ? 30 * 60_000 : 60_000;
const NOW = 1_900_000_000;
const ALLOWED = new Set(['INVITE_MALFORMED', 'INVITE_EXPIRED']);
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

const seedInvitations: Invitation[] = [
  {
    version: 1,
    purpose: 'contact',
    token: new Uint8Array(32).fill(0x11),
    inviterKey: new Uint8Array(32).fill(0x22),
    expiresAt: NOW + 600,
    name: "Ann's laptop",
    endpoints: ['ws://127.0.0.1:45123/kith/v1'],
  },
  {
    version: 1,
    purpose: 'renderer',
    token: Uint8Array.from({ length: 32 }, (_, i) => i + 1),
    inviterKey: Uint8Array.from({ length: 32 }, (_, i) => 255 - i),
    expiresAt: NOW - 10_000,
    name: '😀 Zoë',
    endpoints: ['wss://kith.example/kith/v1', 'ws://[::1]:1/kith/v1'],
  },
  { version: 1, purpose: 'contact', token: new Uint8Array(32).fill(3), inviterKey: new Uint8Array(32).fill(4), expiresAt: 0, name: 'x', endpoints: [] },
];
const seedPayloads = seedInvitations.map((inv) => encodeInvitation(inv));

/** Runs `fn`, classifies the outcome, and fails on anything but a valid result or an allowed KithError. */
function outcome(fn: () => Invitation, onValid: (inv: Invitation) => void, onMessage?: (message: string) => void): string {
  const started = performance.now();
  let result: string;
  try {
    onValid(fn());
    result = 'valid';
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof KithError, `threw a non-Kith error: ${String(err)}`);
    assert.ok(ALLOWED.has(err.code), `unexpected code ${err.code}: ${err.message}`);
    assert.ok(err.message.length > 0 && err.message.length < 200, 'a short, non-empty message');
    onMessage?.(err.message);
    result = err.code;
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < PER_CALL_BUDGET_MS, `one call took ${elapsed.toFixed(0)} ms`);
  return result;
}

/** A returned invitation must be fully valid: it re-encodes (validation included) to the same bytes. */
function checkBytesResult(input: Uint8Array): (inv: Invitation) => void {
  return (inv) => assert.ok(equalBytes(encodeInvitation(inv), input), 'a decoded invitation re-encodes to its input');
}
function checkLinkResult(input: string): (inv: Invitation) => void {
  return (inv) => {
    assert.equal(invitationToLink(inv), input.trim(), 'a parsed link re-encodes to itself');
    assert.ok(inv.expiresAt + 300 >= NOW, 'an accepted link is not expired');
  };
}

const seal = (body: Uint8Array): Uint8Array => concatBytes(body, sha256(body).subarray(0, 4));

const utf8Of = (s: string): Uint8Array => new TextEncoder().encode(s);
const lengthPrefixed = (b: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(b.length & 0xff), b);
const arbField = (max: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength: max }),
    fc.string({ unit: 'grapheme', maxLength: max / 2 }).map(utf8Of),
    fc.constantFrom('ws://127.0.0.1:1/kith/v1', 'wss://a.example/kith/v1', 'javascript:alert(1)', 'ws://u@h/kith/v1', 'ws://h/kith/v1?q', 'ws://H:80/kith/v1', 'http://h/kith/v1').map(utf8Of),
  );
/** Well-framed, correctly sealed payloads with random field content: reaches every field check. */
const arbFramed = fc
  .record({
    purpose: fc.integer({ min: 0, max: 3 }),
    token: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constant(new Uint8Array(32))),
    key: fc.oneof(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.constant(new Uint8Array(32))),
    expiresAt: fc.integer({ min: 0, max: 0xffff_ffff }),
    name: arbField(70),
    endpoints: fc.array(arbField(110), { maxLength: 5 }),
  })
  .map(({ purpose, token, key, expiresAt, name, endpoints }) => {
    const expiry = new Uint8Array(4);
    new DataView(expiry.buffer).setUint32(0, expiresAt);
    return seal(
      concatBytes(Uint8Array.of(1, purpose), token, key, expiry, lengthPrefixed(name), Uint8Array.of(endpoints.length), ...endpoints.map(lengthPrefixed)),
    );
  });

/** Byte arrays from pure noise to near-valid payloads, so every stage of the parser is reached. */
const arbBytes = fc.oneof(
  arbFramed,
  fc.uint8Array({ maxLength: 600 }),
  // version 1 with a valid checksum over random content: reaches the field checks
  fc.uint8Array({ minLength: 70, maxLength: 300 }).map((b) => seal(concatBytes(Uint8Array.of(1), b))),
  // valid payloads with random edits, with and without a recomputed checksum
  fc
    .tuple(
      fc.constantFrom(...seedPayloads),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 }),
      fc.boolean(),
    )
    .map(([seed, edits, reseal]) => {
      let bytes = [...seed];
      for (const [at, value, kind] of edits) {
        const i = at % (bytes.length + 1);
        if (kind === 'set' && i < bytes.length) bytes[i] = value;
        else if (kind === 'insert') bytes.splice(i, 0, value);
        else bytes.splice(i, 1);
      }
      const out = Uint8Array.from(bytes);
      return reseal && out.length > 4 ? seal(out.subarray(0, out.length - 4)) : out;
    }),
);

const arbText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.string({ unit: fc.constantFrom(...B64URL), maxLength: 220 }).map((s) => INVITE_LINK_PREFIX + s),
  fc.string({ unit: 'binary-ascii', maxLength: 220 }).map((s) => INVITE_LINK_PREFIX + s),
  fc.tuple(fc.constantFrom('', ' ', '\n', '\t\r\n', '\u00a0'), fc.constantFrom('kith://pair/v0#', 'kith://pair/v2#', 'kith://pair/v1', 'KITH://PAIR/V1#', INVITE_LINK_PREFIX), fc.string({ maxLength: 50 })).map(
    ([space, prefix, rest]) => space + prefix + rest + space,
  ),
  arbBytes.map((b) => INVITE_LINK_PREFIX + toBase64url(b)),
);

test(`decodeInvitation: arbitrary byte arrays (${RUNS} runs)`, { timeout: TEST_TIMEOUT_MS }, () => {
  const seen = new Map<string, number>();
  const messages = new Set<string>();
  fc.assert(
    fc.property(arbBytes, (bytes) => {
      const result = outcome(() => decodeInvitation(bytes), checkBytesResult(bytes), (m) => {
        for (const stage of ['incomplete', 'checksum', 'invitation: ']) if (m.includes(stage)) messages.add(stage);
      });
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }),
    { numRuns: RUNS },
  );
  // The generators must reach deep: some inputs are accepted, most refused.
  assert.ok((seen.get('valid') ?? 0) > 0, JSON.stringify([...seen]));
  assert.ok((seen.get('INVITE_MALFORMED') ?? 0) > RUNS / 2, JSON.stringify([...seen]));
  for (const stage of ['incomplete', 'checksum', 'invitation: ']) assert.ok(messages.has(stage), `no input reached "${stage}"`);
});

test(`parseInvitationLink: arbitrary strings (${RUNS} runs)`, { timeout: TEST_TIMEOUT_MS }, () => {
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(arbText, (text) => {
      const result = outcome(() => parseInvitationLink(text, { nowSeconds: NOW }), checkLinkResult(text));
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }),
    { numRuns: RUNS },
  );
  assert.ok((seen.get('INVITE_MALFORMED') ?? 0) > RUNS / 2, JSON.stringify([...seen]));
});

test('the seeds themselves parse (so the mutation fuzzers start from valid input)', () => {
  for (const [i, payload] of seedPayloads.entries()) {
    assert.ok(equalBytes(encodeInvitation(decodeInvitation(payload)), payload));
    const link = INVITE_LINK_PREFIX + toBase64url(payload);
    const result = outcome(() => parseInvitationLink(link, { nowSeconds: NOW }), checkLinkResult(link));
    assert.equal(result, seedInvitations[i]!.expiresAt + 300 >= NOW ? 'valid' : 'INVITE_EXPIRED');
  }
});

test(`decodeQrFromRgba: arbitrary small images (${Math.max(20, RUNS / 100)} runs)`, { timeout: TEST_TIMEOUT_MS }, () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 48 }).chain((w) =>
        fc.integer({ min: 1, max: 48 }).chain((h) => fc.tuple(fc.constant(w), fc.constant(h), fc.uint8Array({ minLength: w * h * 4, maxLength: w * h * 4 }))),
      ),
      ([w, h, pixels]) => {
        const started = performance.now();
        const found = decodeQrFromRgba(new Uint8ClampedArray(pixels.buffer), w, h);
        assert.ok(found === undefined || typeof found === 'string');
        assert.ok(performance.now() - started < PER_CALL_BUDGET_MS * 4);
      },
    ),
    { numRuns: Math.max(20, RUNS / 100) },
  );
});
