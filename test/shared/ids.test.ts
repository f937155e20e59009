import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import { toHex } from '../../shared/bytes.js';
import { isHash, parseObjectHash, parsePersonId, parseInstanceId, parseInviteId, fingerprint } from '../../shared/ids.js';
import { hostileValues, hostileStrings, isCoded } from '../support/hostile.js';

const crypto = new NativeCrypto();
const HASH = toHex(crypto.sha256(new TextEncoder().encode('kith')));
const INVITE = HASH.slice(0, 32);

/** The 64-hex parsers, by name. */
const HASH_PARSERS = { parseObjectHash, parsePersonId, parseInstanceId };

test('valid ids are accepted unchanged', () => {
  assert.match(HASH, /^[0-9a-f]{64}$/);
  for (const [name, parse] of Object.entries(HASH_PARSERS)) {
    assert.equal(parse(HASH), HASH, name);
    assert.equal(parse('0'.repeat(64)), '0'.repeat(64), name);
  }
  assert.equal(parseInviteId(INVITE), INVITE);
  assert.equal(isHash(HASH), true);
});

test('wrong length, case, alphabet or type is refused with INVALID_INPUT', () => {
  const bad: unknown[] = [
    HASH.slice(1), HASH + 'a', HASH.toUpperCase(), 'A' + HASH.slice(1), 'g' + HASH.slice(1), ' ' + HASH.slice(1), HASH.slice(1) + '\n',
    INVITE, `0x${HASH.slice(2)}`, '', 42, null, undefined, new TextEncoder().encode(HASH), [HASH], { toString: () => HASH },
  ];
  for (const value of bad) {
    for (const [name, parse] of Object.entries(HASH_PARSERS)) {
      assert.throws(() => parse(value), { code: 'INVALID_INPUT' }, `${name}(${String(value).slice(0, 20)})`);
    }
    assert.equal(isHash(value), false);
  }
  for (const value of [HASH, INVITE.slice(1), INVITE + '0', INVITE.toUpperCase(), 'z'.repeat(32), 32, null]) {
    assert.throws(() => parseInviteId(value), { code: 'INVALID_INPUT' }, String(value));
  }
});

test('the caller chooses the code, and the message names the value only by its shape', () => {
  assert.throws(() => parsePersonId('x', 'IDENTITY_INVALID'), { code: 'IDENTITY_INVALID' });
  assert.throws(() => parseInviteId(7, 'INVITE_MALFORMED'), { code: 'INVITE_MALFORMED' });
  const secretish = 'not-a-hash-but-maybe-a-secret';
  assert.throws(() => parseObjectHash(secretish), (err: Error) => !err.message.includes(secretish) && /string\(length=29\)/.test(err.message));
});

test('every hostile value and string is refused by every id parser with the requested code', () => {
  const parsers = { ...HASH_PARSERS, parseInviteId };
  for (const { name, value } of [...hostileValues(), ...hostileStrings()]) {
    for (const [parserName, parse] of Object.entries(parsers)) {
      assert.throws(() => parse(value), (err: Error & { code?: string }) => isCoded(err) && err.code === 'INVALID_INPUT', `${parserName}: ${name}`);
      assert.throws(() => parse(value, 'OBJECT_INVALID'), { code: 'OBJECT_INVALID' }, `${parserName}: ${name}`);
    }
    assert.equal(isHash(value), false, name);
  }
});

test('fingerprint shows the first 16 hex characters in groups of four', () => {
  assert.equal(fingerprint(HASH), `${HASH.slice(0, 4)} ${HASH.slice(4, 8)} ${HASH.slice(8, 12)} ${HASH.slice(12, 16)}`);
  assert.equal(fingerprint('abcdef'), 'abcd ef');
});
