import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  INVITE_LINK_PREFIX,
  decodeInvitation,
  encodeInvitation,
  invitationName,
  invitationToLink,
  parseInvitationLink,
  type Invitation,
} from '../../pairing/invitation.js';
import { KithError } from '../../shared/errors.js';
import { concatBytes, toBase64url, toHex, utf8 } from '../../shared/bytes.js';
import { INVITE_CLOCK_SKEW_SECONDS, MAX_ENDPOINT_LENGTH, MAX_INVITE_LINK_INPUT_LENGTH, MAX_INVITE_LINK_LENGTH, MAX_NAME_LENGTH } from '../../shared/limits.js';
import { hostileStrings, hostileValues } from '../support/hostile.js';

const NOW = 1_900_000_000;

/** Deterministic non-zero test bytes (xorshift32). */
function bytesOf(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function invitation(overrides: Partial<Record<keyof Invitation, unknown>> = {}): Invitation {
  return {
    version: 1,
    purpose: 'contact',
    token: bytesOf(32, 1),
    inviterKey: bytesOf(32, 2),
    expiresAt: NOW + 600,
    name: "Ann's laptop",
    endpoints: ['ws://127.0.0.1:45123/kith/v1'],
    ...overrides,
  } as Invitation;
}

/** Largest invitation the format allows: 64-byte name, three 100-byte endpoints. */
function maximalInvitation(): Invitation {
  const endpoint = (i: number): string => {
    const url = `wss://h${i}.${'a'.repeat(60)}.example:65535/kith/v1`;
    return url.replace(`h${i}.`, `h${i}${'b'.repeat(MAX_ENDPOINT_LENGTH - url.length)}.`);
  };
  return invitation({ purpose: 'renderer', name: 'é'.repeat(MAX_NAME_LENGTH / 2), endpoints: [endpoint(1), endpoint(2), endpoint(3)] });
}

function expectKith(fn: () => unknown, code: string, message?: RegExp): KithError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KithError, `expected a KithError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return err;
  }
  assert.fail(`expected ${code}, but the call succeeded`);
}

/** Error messages must never reveal the token, in any encoding the input could carry it in. */
function assertNoSecret(err: KithError, inv: Invitation, link?: string): void {
  assert.ok(!err.message.includes(toBase64url(inv.token)), 'message contains the token (base64url)');
  assert.ok(!err.message.includes(toHex(inv.token)), 'message contains the token (hex)');
  if (link) {
    const payload = link.slice(INVITE_LINK_PREFIX.length);
    for (let i = 0; i + 12 <= payload.length; i += 4) assert.ok(!err.message.includes(payload.slice(i, i + 12)), 'message quotes the link');
  }
}

/** A payload with a correct checksum, to reach the checks that come after it. */
function withChecksum(body: Uint8Array): Uint8Array {
  return concatBytes(body, sha256(body).subarray(0, 4));
}

/** Builds a raw payload field by field (no validation), then seals it with a correct checksum. */
function rawPayload(fields: { version?: number; purpose?: number; token?: Uint8Array; key?: Uint8Array; expiresAt?: number; name?: Uint8Array; endpoints?: Uint8Array[] }): Uint8Array {
  const name = fields.name ?? utf8('Ann');
  const endpoints = fields.endpoints ?? [utf8('ws://127.0.0.1:1/kith/v1')];
  const expires = new Uint8Array(4);
  new DataView(expires.buffer).setUint32(0, fields.expiresAt ?? NOW + 600);
  return withChecksum(
    concatBytes(
      Uint8Array.of(fields.version ?? 1, fields.purpose ?? 0),
      fields.token ?? bytesOf(32, 1),
      fields.key ?? bytesOf(32, 2),
      expires,
      Uint8Array.of(name.length),
      name,
      Uint8Array.of(endpoints.length),
      ...endpoints.flatMap((e) => [Uint8Array.of(e.length), e]),
    ),
  );
}

const linkOf = (payload: Uint8Array): string => INVITE_LINK_PREFIX + toBase64url(payload);

// ---- arbitraries ----------------------------------------------------------------------

const nonZero32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => b.some((x) => x !== 0));
const NAME_OK = /^[^\p{Cc}\p{Zl}\p{Zp}\p{Bidi_Control}]+$/u;
const arbName = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'Z', ' ', "'", '-'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 24 })
  .filter((s) => NAME_OK.test(s) && utf8(s).length <= MAX_NAME_LENGTH);
const arbEndpoint = fc
  .record({
    scheme: fc.constantFrom('ws', 'wss'),
    host: fc.oneof(fc.ipV4(), fc.domain({ size: 'small' }), fc.constantFrom('localhost', '[::1]', '[fe80::1]')),
    port: fc.integer({ min: 1, max: 65535 }),
  })
  .map(({ scheme, host, port }) => `${scheme}://${host}${(scheme === 'ws' && port === 80) || (scheme === 'wss' && port === 443) ? '' : `:${port}`}/kith/v1`)
  .filter((u) => u.length <= MAX_ENDPOINT_LENGTH && new URL(u).href === u);
const arbInvitation: fc.Arbitrary<Invitation> = fc.record({
  version: fc.constant(1 as const),
  purpose: fc.constantFrom('contact' as const, 'renderer' as const),
  token: nonZero32,
  inviterKey: nonZero32,
  expiresAt: fc.integer({ min: 0, max: 0xffff_ffff }),
  name: arbName,
  endpoints: fc.uniqueArray(arbEndpoint, { maxLength: 3 }),
});

function assertSameInvitation(actual: Invitation, expected: Invitation): void {
  assert.deepEqual({ ...actual, token: [...actual.token], inviterKey: [...actual.inviterKey], endpoints: [...actual.endpoints] }, {
    ...expected,
    token: [...expected.token],
    inviterKey: [...expected.inviterKey],
    endpoints: [...expected.endpoints],
  });
}

// ---- happy path -------------------------------------------------------------------------

test('a typical invitation fits a link well under the QR limit (measurement)', (t) => {
  const link = invitationToLink(invitation());
  assert.ok(link.startsWith(INVITE_LINK_PREFIX));
  assert.equal(encodeInvitation(invitation()).length, 117);
  assert.equal(link.length, 171);
  assert.ok(link.length <= MAX_INVITE_LINK_LENGTH);
  t.diagnostic(`typical link: ${link.length} characters (limit ${MAX_INVITE_LINK_LENGTH})`);
  assertSameInvitation(parseInvitationLink(link, { nowSeconds: NOW }), invitation());
});

test('random invitations round-trip through bytes and links', () => {
  fc.assert(
    fc.property(arbInvitation, (inv) => {
      const bytes = encodeInvitation(inv);
      assertSameInvitation(decodeInvitation(bytes), inv);
      // One encoding per invitation: decoding then encoding gives the same bytes.
      assert.deepEqual(encodeInvitation(decodeInvitation(bytes)), bytes);
      const expectedLength = INVITE_LINK_PREFIX.length + Math.ceil((bytes.length * 4) / 3);
      if (expectedLength > MAX_INVITE_LINK_LENGTH) {
        expectKith(() => invitationToLink(inv), 'INVALID_INPUT', /at most 213/);
        return;
      }
      const link = invitationToLink(inv);
      assert.equal(link.length, expectedLength);
      assertSameInvitation(parseInvitationLink(`\n  ${link}\t `, { nowSeconds: inv.expiresAt }), inv);
    }),
    { numRuns: 300 },
  );
});

test('decoded invitations are frozen copies that do not alias the input', () => {
  const bytes = encodeInvitation(invitation());
  const inv = decodeInvitation(bytes);
  assert.ok(Object.isFrozen(inv) && Object.isFrozen(inv.endpoints));
  bytes.fill(0);
  assert.deepEqual(inv.token, bytesOf(32, 1));
  assert.deepEqual(inv.inviterKey, bytesOf(32, 2));
});

test('boundaries: 64-byte names, 3 endpoints, 100-character endpoints and expiresAt 0..2^32-1 encode', () => {
  const max = maximalInvitation();
  assert.equal(utf8(max.name).length, MAX_NAME_LENGTH);
  assert.ok(max.endpoints.every((e) => e.length === MAX_ENDPOINT_LENGTH));
  const bytes = encodeInvitation(max);
  assert.equal(bytes.length, 443);
  assertSameInvitation(decodeInvitation(bytes), max);
  for (const expiresAt of [0, 0xffff_ffff]) assert.equal(decodeInvitation(encodeInvitation(invitation({ expiresAt }))).expiresAt, expiresAt);
  assert.equal(decodeInvitation(encodeInvitation(invitation({ endpoints: [] }))).endpoints.length, 0);
  assert.equal(decodeInvitation(encodeInvitation(invitation({ name: '😀 Zoë' }))).name, '😀 Zoë');
});

test('the maximal invitation is refused as a link (it would need a QR code above version 10)', () => {
  const err = expectKith(() => invitationToLink(maximalInvitation()), 'INVALID_INPUT', /fewer endpoints/);
  assertNoSecret(err, maximalInvitation());
});

// ---- encoding refuses invalid fields -------------------------------------------------------

test('encodeInvitation refuses each invalid field with INVALID_INPUT naming it', () => {
  const cases: Array<[string, Partial<Record<keyof Invitation, unknown>>, RegExp]> = [
    ['version 2', { version: 2 }, /version/],
    ['unknown purpose', { purpose: 'admin' }, /purpose/],
    ['short token', { token: new Uint8Array(31) }, /token/],
    ['zero token', { token: new Uint8Array(32) }, /token must not be all zero/],
    ['zero key', { inviterKey: new Uint8Array(32) }, /inviterKey must not be all zero/],
    ['token as array', { token: [...bytesOf(32, 1)] }, /token/],
    ['negative expiry', { expiresAt: -1 }, /expiresAt/],
    ['fractional expiry', { expiresAt: 1.5 }, /expiresAt/],
    ['expiry past 2^32', { expiresAt: 2 ** 32 }, /expiresAt/],
    ['expiry as string', { expiresAt: '1' }, /expiresAt/],
    ['empty name', { name: '' }, /name/],
    ['65-byte name', { name: 'é'.repeat(32) + 'a' }, /name: must be 1 to 64 UTF-8 bytes/],
    ['newline in name', { name: 'a\nb' }, /name: must not contain control/],
    ['DEL in name', { name: 'a\u007fb' }, /name/],
    ['C1 control in name', { name: 'a\u0085b' }, /name/],
    ['RTL override in name', { name: '\u202eAnn' }, /name/],
    ['line separator in name', { name: 'a\u2028b' }, /name/],
    ['lone surrogate in name', { name: 'a\ud800' }, /name/],
    ['name as number', { name: 5 }, /name/],
    ['4 endpoints', { endpoints: ['ws://a/kith/v1', 'ws://b/kith/v1', 'ws://c/kith/v1', 'ws://d/kith/v1'] }, /endpoints/],
    ['endpoints as string', { endpoints: 'ws://a/kith/v1' }, /endpoints/],
    ['endpoint as number', { endpoints: [5] }, /endpoints/],
    ['http endpoint', { endpoints: ['http://a/kith/v1'] }, /endpoints\[0\]: must be a ws/],
    ['javascript endpoint', { endpoints: ['javascript:alert(1)'] }, /endpoints\[0\]/],
    ['userinfo', { endpoints: ['ws://user:pw@a/kith/v1'] }, /user name or password/],
    ['query', { endpoints: ['ws://a/kith/v1?x=1'] }, /query/],
    ['empty query', { endpoints: ['ws://a/kith/v1?'] }, /query/],
    ['fragment', { endpoints: ['ws://a/kith/v1#x'] }, /fragment/],
    ['wrong path', { endpoints: ['ws://a/kith/v2'] }, /path/],
    ['no path', { endpoints: ['ws://a'] }, /path/],
    ['port 0', { endpoints: ['ws://a:0/kith/v1'] }, /port 0/],
    ['default port spelled out', { endpoints: ['ws://a:80/kith/v1'] }, /canonical/],
    ['upper-case host', { endpoints: ['ws://A/kith/v1'] }, /canonical/],
    ['whitespace', { endpoints: [' ws://a/kith/v1'] }, /canonical/],
    ['101 characters', { endpoints: [`ws://${'a'.repeat(MAX_ENDPOINT_LENGTH - 12)}/kith/v1`] }, /at most 100/],
    ['not a URL', { endpoints: ['a b'] }, /not a URL/],
    ['duplicates', { endpoints: ['ws://a/kith/v1', 'ws://a/kith/v1'] }, /repeat/],
  ];
  for (const [what, overrides, message] of cases) {
    const err = expectKith(() => encodeInvitation(invitation(overrides)), 'INVALID_INPUT', message);
    assert.match(err.message, /^invitation/, what);
    assertNoSecret(err, invitation());
  }
});

test('encodeInvitation refuses hostile values, whole or in any field, with INVALID_INPUT', () => {
  const throwing = new Proxy({}, { get: () => { throw new Error('boom'); } });
  expectKith(() => encodeInvitation(throwing as Invitation), 'INVALID_INPUT', /could not be read/);
  for (const { name, value } of hostileValues()) {
    assert.throws(() => encodeInvitation(value as Invitation), (err: unknown) => err instanceof KithError && err.code === 'INVALID_INPUT', name);
    for (const field of ['version', 'purpose', 'token', 'inviterKey', 'expiresAt', 'name', 'endpoints'] as const) {
      // A few hostile values are legitimate for some fields (0 is a valid expiry, [] valid endpoints).
      let ok = false;
      try {
        encodeInvitation(invitation({ [field]: value }));
        ok = true;
      } catch (err) {
        assert.ok(err instanceof KithError && err.code === 'INVALID_INPUT', `${field} = ${name}: ${String(err)}`);
      }
      const legitimate =
        (field === 'expiresAt' && value === 0) ||
        (field === 'endpoints' && Array.isArray(value) && value.length === 0) ||
        (field === 'name' && typeof value === 'string' && value.length > 0 && utf8(value).length <= MAX_NAME_LENGTH && NAME_OK.test(value));
      if (ok) assert.ok(legitimate, `${field} = ${name} was accepted`);
    }
  }
});

// ---- decoding refuses damage ---------------------------------------------------------------

for (const [label, make] of [
  ['typical', () => invitation()],
  ['maximal', () => maximalInvitation()],
] as const) {
  test(`every truncation of a ${label} payload is refused as incomplete`, () => {
    const inv = make();
    const bytes = encodeInvitation(inv);
    for (let n = 0; n < bytes.length; n++) {
      const err = expectKith(() => decodeInvitation(bytes.slice(0, n)), 'INVITE_MALFORMED', n === 0 ? /empty/ : /^the link is incomplete \(\d+ of (at least )?\d+ bytes\)$/);
      assertNoSecret(err, inv);
      if (n >= bytes.length - 4) assert.equal(err.message, `the link is incomplete (${n} of ${bytes.length} bytes)`);
    }
  });

  test(`every single-bit flip of a ${label} payload is refused with INVITE_MALFORMED`, () => {
    const inv = make();
    const bytes = encodeInvitation(inv);
    for (let i = 0; i < bytes.length * 8; i++) {
      const flipped = bytes.slice();
      flipped[i >> 3]! ^= 0x80 >> (i & 7);
      const err = expectKith(() => decodeInvitation(flipped), 'INVITE_MALFORMED');
      assertNoSecret(err, inv);
    }
  });
}

test('every truncation of a link is refused with INVITE_MALFORMED', () => {
  const inv = invitation();
  const link = invitationToLink(inv);
  for (let n = 0; n < link.length; n++) {
    const err = expectKith(() => parseInvitationLink(link.slice(0, n), { nowSeconds: NOW }), 'INVITE_MALFORMED');
    assertNoSecret(err, inv, link);
    if (n > INVITE_LINK_PREFIX.length) assert.match(err.message, /^the link is incomplete/);
    if (n >= INVITE_LINK_PREFIX.length + 2) assert.match(err.message, /^the link is incomplete \(\d+ of (at least )?\d+ bytes\)$/);
  }
});

test('a mistyped character anywhere in the link is refused, never accepted', () => {
  const inv = invitation();
  const link = invitationToLink(inv);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = INVITE_LINK_PREFIX.length; i < link.length; i++) {
    for (const c of ['A', 'z', '0', '_'].filter((c) => c !== link[i])) {
      const typo = link.slice(0, i) + c + link.slice(i + 1);
      const err = expectKith(() => parseInvitationLink(typo, { nowSeconds: NOW }), 'INVITE_MALFORMED');
      assertNoSecret(err, inv, link);
    }
  }
  assert.equal(alphabet.length, 64);
});

test('structural damage gets a message that says what is wrong', () => {
  const bytes = encodeInvitation(invitation());
  expectKith(() => decodeInvitation(concatBytes(bytes, Uint8Array.of(0))), 'INVITE_MALFORMED', /1 unexpected bytes after the invitation/);
  const altered = bytes.slice();
  altered[80]! ^= 1; // inside the name
  expectKith(() => decodeInvitation(altered), 'INVITE_MALFORMED', /^the link was altered or mistyped \(checksum mismatch\)$/);
  const badSum = bytes.slice();
  badSum[badSum.length - 1]! ^= 1;
  expectKith(() => decodeInvitation(badSum), 'INVITE_MALFORMED', /altered or mistyped/);
  const v0 = bytes.slice();
  v0[0] = 0;
  expectKith(() => decodeInvitation(v0), 'INVITE_MALFORMED', /altered or mistyped/);
  expectKith(() => decodeInvitation(new Uint8Array(8 * 1024 * 1024).fill(1)), 'INVITE_MALFORMED', /too large/);
});

test('a well-sealed payload with bad content is refused with a specific message', () => {
  const ok = (e: string) => utf8(e);
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['newer version', rawPayload({ version: 2 }), /^unsupported invitation version 2$/],
    ['unknown purpose', rawPayload({ purpose: 2 }), /unknown purpose 2/],
    ['zero token', rawPayload({ token: new Uint8Array(32) }), /token must not be all zero/],
    ['zero key', rawPayload({ key: new Uint8Array(32) }), /inviterKey must not be all zero/],
    ['empty name', rawPayload({ name: new Uint8Array(0) }), /name: must be 1 to 64/],
    ['65-byte name', rawPayload({ name: utf8('a'.repeat(65)) }), /name: must be 1 to 64/],
    ['bad UTF-8 name', rawPayload({ name: Uint8Array.of(0x41, 0xc3) }), /name: not valid UTF-8/],
    ['overlong UTF-8', rawPayload({ name: Uint8Array.of(0xc0, 0xaf) }), /name: not valid UTF-8/],
    ['encoded surrogate', rawPayload({ name: Uint8Array.of(0xed, 0xa0, 0x80) }), /name: not valid UTF-8/],
    ['NUL in name', rawPayload({ name: Uint8Array.of(0x41, 0) }), /name: must not contain control/],
    ['ESC in name', rawPayload({ name: utf8('\x1b[31mred') }), /name: must not contain control/],
    ['4 endpoints', rawPayload({ endpoints: ['a', 'b', 'c', 'd'].map((h) => ok(`ws://${h}/kith/v1`)) }), /at most 3 endpoints/],
    ['javascript: endpoint', rawPayload({ endpoints: [ok('javascript:alert(1)')] }), /endpoints\[0\]: must be a ws/],
    ['http endpoint', rawPayload({ endpoints: [ok('http://127.0.0.1:1/kith/v1')] }), /endpoints\[0\]: must be a ws/],
    ['userinfo', rawPayload({ endpoints: [ok('ws://u@127.0.0.1:1/kith/v1')] }), /user name or password/],
    ['query', rawPayload({ endpoints: [ok('ws://127.0.0.1:1/kith/v1?a')] }), /query/],
    ['fragment', rawPayload({ endpoints: [ok('ws://127.0.0.1:1/kith/v1#a')] }), /fragment/],
    ['wrong path', rawPayload({ endpoints: [ok('ws://127.0.0.1:1/../kith/v1')] }), /canonical|path/],
    ['255-byte endpoint', rawPayload({ endpoints: [ok(`ws://${'a'.repeat(242)}/kith/v1`)] }), /at most 100/],
    ['bad UTF-8 endpoint', rawPayload({ endpoints: [Uint8Array.of(0xff)] }), /endpoints\[0\]: not valid UTF-8/],
    ['unicode host', rawPayload({ endpoints: [ok('ws://bücher.example/kith/v1')] }), /canonical/],
    ['duplicate endpoints', rawPayload({ endpoints: [ok('ws://a/kith/v1'), ok('ws://a/kith/v1')] }), /repeat/],
  ];
  for (const [what, payload, message] of cases) {
    const err = expectKith(() => decodeInvitation(payload), 'INVITE_MALFORMED', message);
    assert.ok(err.message.length < 200, what);
    // The same payload as a link gets the same answer.
    if (payload.length <= 148) expectKith(() => parseInvitationLink(linkOf(payload), { nowSeconds: NOW }), 'INVITE_MALFORMED', message);
  }
});

// ---- links ----------------------------------------------------------------------------------

test('parseInvitationLink checks scheme, version, length and alphabet before decoding', () => {
  const link = invitationToLink(invitation());
  const payload = link.slice(INVITE_LINK_PREFIX.length);
  const cases: Array<[string, RegExp]> = [
    [`https://pair/v1#${payload}`, /^not a Kith invitation link$/],
    [`KITH://pair/v1#${payload}`, /^not a Kith invitation link$/],
    [`kith://pair/v1/${payload}`, /^not a Kith invitation link$/],
    [`kith://pair/v1?${payload}`, /^not a Kith invitation link$/],
    [`kith://pair#v1.${payload}`, /^not a Kith invitation link$/],
    [`kith://pair/v2#${payload}`, /^unsupported invitation version 2$/],
    [`kith://pair/v10#${payload}`, /^unsupported invitation version 10$/],
    [`x ${link}`, /^not a Kith invitation link$/],
    [`${link} x`, /not allowed at position 172/],
    [`${link.slice(0, 40)}\n${link.slice(40)}`, /not allowed at position 41/],
    [`${link.slice(0, 40)}+${link.slice(41)}`, /not allowed at position 41/],
    [`${link}=`, /not allowed/],
    [INVITE_LINK_PREFIX + 'A'.repeat(MAX_INVITE_LINK_LENGTH), /too long \(228 characters, at most 213\)/],
    [INVITE_LINK_PREFIX + '!'.repeat(MAX_INVITE_LINK_LENGTH), /too long/],
    [' '.repeat(MAX_INVITE_LINK_INPUT_LENGTH) + link, /too long/],
    [INVITE_LINK_PREFIX, /empty/],
    [`${link.slice(0, -1)}${link.endsWith('A') ? 'B' : 'A'}`, /altered or mistyped/],
  ];
  for (const [text, message] of cases) {
    const err = expectKith(() => parseInvitationLink(text, { nowSeconds: NOW }), 'INVITE_MALFORMED', message);
    assertNoSecret(err, invitation(), link);
  }
  // Surrounding whitespace from copy and paste is fine.
  assertSameInvitation(parseInvitationLink(`\r\n\t ${link} \n`, { nowSeconds: NOW }), invitation());
});

test('non-canonical base64url (stray low bits in the last character) is refused', () => {
  // 117 bytes → 156 characters, no spare bits; drop one byte so the last character carries 2 spare bits.
  const payload = rawPayload({ name: utf8('Ann') });
  const encoded = toBase64url(payload);
  assert.ok(payload.length % 3 !== 0);
  const last = encoded[encoded.length - 1]!;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const sloppy = encoded.slice(0, -1) + alphabet[alphabet.indexOf(last) | 1];
  assert.notEqual(sloppy, encoded);
  expectKith(() => parseInvitationLink(INVITE_LINK_PREFIX + sloppy, { nowSeconds: NOW }), 'INVITE_MALFORMED', /altered or mistyped/);
});

test('expiry is checked on the local clock with ±300 s of tolerance by default', () => {
  const inv = invitation({ expiresAt: NOW });
  const link = invitationToLink(inv);
  assert.equal(INVITE_CLOCK_SKEW_SECONDS, 300);
  assert.equal(parseInvitationLink(link, { nowSeconds: NOW - 86_400 }).expiresAt, NOW);
  assert.equal(parseInvitationLink(link, { nowSeconds: NOW }).expiresAt, NOW);
  assert.equal(parseInvitationLink(link, { nowSeconds: NOW + 300 }).expiresAt, NOW);
  let err = expectKith(() => parseInvitationLink(link, { nowSeconds: NOW + 301 }), 'INVITE_EXPIRED', /expired 5 minutes ago/);
  assertNoSecret(err, inv, link);
  expectKith(() => parseInvitationLink(link, { nowSeconds: NOW + 1, skewSeconds: 0 }), 'INVITE_EXPIRED', /expired 1 second ago/);
  assert.equal(parseInvitationLink(link, { nowSeconds: NOW + 3600, skewSeconds: 3600 }).expiresAt, NOW);
  err = expectKith(() => parseInvitationLink(link, { nowSeconds: NOW + 3 * 86_400 }), 'INVITE_EXPIRED', /3 days ago/);
  assert.match(err.message, /ask for a new one/);
  // The epoch itself is a valid (long expired) expiry, not a malformed one.
  expectKith(() => parseInvitationLink(invitationToLink(invitation({ expiresAt: 0 })), { nowSeconds: NOW }), 'INVITE_EXPIRED');
});

test('parseInvitationLink refuses bad options with INVALID_INPUT', () => {
  const link = invitationToLink(invitation());
  for (const opts of [undefined, {}, { nowSeconds: NaN }, { nowSeconds: Infinity }, { nowSeconds: '1' }, { nowSeconds: NOW, skewSeconds: -1 }, { nowSeconds: NOW, skewSeconds: NaN }]) {
    expectKith(() => parseInvitationLink(link, opts as { nowSeconds: number }), 'INVALID_INPUT');
  }
});

test('hostile values and strings are refused by the parsers with INVITE_MALFORMED', () => {
  for (const { name, value } of hostileValues()) {
    const a = expectKith(() => parseInvitationLink(value as string, { nowSeconds: NOW }), 'INVITE_MALFORMED');
    assert.ok(a.message.length < 200, name);
    expectKith(() => decodeInvitation(value as Uint8Array), 'INVITE_MALFORMED');
  }
  for (const { name, value } of hostileStrings()) {
    for (const text of [value, INVITE_LINK_PREFIX + value, `${INVITE_LINK_PREFIX}AQ${value}`, `kith://pair/v${value}#AAAA`]) {
      const err = expectKith(() => parseInvitationLink(text, { nowSeconds: NOW }), 'INVITE_MALFORMED');
      assert.ok(err.message.length < 200, name);
    }
    expectKith(() => decodeInvitation(utf8(value)), 'INVITE_MALFORMED');
  }
});

// ---- display names --------------------------------------------------------------------------

test('invitationName turns any display name into an acceptable one', () => {
  assert.equal(invitationName("Ann's laptop"), "Ann's laptop");
  assert.equal(invitationName('  a\nb\u202e c \t'), 'a b  c');
  const long = invitationName('😀'.repeat(64));
  assert.equal(utf8(long).length, MAX_NAME_LENGTH);
  assert.equal(long, '😀'.repeat(16));
  assert.equal(utf8(invitationName('é'.repeat(64))).length, MAX_NAME_LENGTH);
  assert.equal(invitationName('a\ud800b'), 'a\ufffdb');
  assert.equal(invitationName(`${' '.repeat(10_000)}Bob`), 'Bob');
  for (const name of ['😀'.repeat(64), 'a\nb', '\u0085x', 'x'.repeat(1000), 'a\ud800b']) {
    assert.equal(decodeInvitation(encodeInvitation(invitation({ name: invitationName(name) }))).name, invitationName(name));
  }
  for (const bad of ['', '   ', '\n\u0000\u202e', 5, null]) expectKith(() => invitationName(bad as string), 'INVALID_INPUT');
});

test('a link with one character too many or a cut last character says so', () => {
  const link = invitationToLink(invitation());
  // 156 payload characters: appending one leaves a lone character.
  expectKith(() => parseInvitationLink(`${link}A`, { nowSeconds: NOW }), 'INVITE_MALFORMED', /^the link has an extra character at the end$/);
  expectKith(() => parseInvitationLink(link.slice(0, -2), { nowSeconds: NOW }), 'INVITE_MALFORMED', /^the link is incomplete \(115 of 117 bytes\)$/);
  expectKith(() => parseInvitationLink(link.slice(0, -3), { nowSeconds: NOW }), 'INVITE_MALFORMED', /^the link is incomplete \(114 of 117 bytes\)$/);
});
