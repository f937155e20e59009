import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  OTHER_KITH_ERROR,
  closeCodeFor,
  errorCodeFromClose,
  isSendableCloseCode,
  normalizeClose,
  sanitizeCloseReason,
} from '../../connections/closeCodes.js';
import { ERROR_CODES, isErrorCode, type ErrorCode } from '../../shared/errors.js';
import { MAX_CLOSE_REASON_BYTES } from '../../shared/limits.js';
import { hostileStrings, hostileValues } from '../support/hostile.js';

const allCodes = Object.keys(ERROR_CODES) as ErrorCode[];

test('every Kith error code round-trips through a close code and its reason', () => {
  for (const code of allCodes) {
    const close = closeCodeFor(code);
    assert.ok(close >= 4000 && close <= 4999, `${code} → ${close}`);
    assert.ok(isSendableCloseCode(close));
    assert.ok(new TextEncoder().encode(code).length <= MAX_CLOSE_REASON_BYTES && /^[A-Z_]+$/.test(code));
    assert.equal(errorCodeFromClose(close, code), code);
  }
});

test('the codes the connection layers use have numbers of their own, all distinct', () => {
  const dedicated: ErrorCode[] = [
    'FRAME_INVALID', 'FRAME_TOO_LARGE', 'HANDSHAKE_FAILED', 'HANDSHAKE_TIMEOUT', 'REPLAY', 'UNKNOWN_PEER',
    'CONTACT_REVOKED', 'RATE_LIMITED', 'BUSY', 'DUPLICATE_CONNECTION', 'PROTOCOL_ERROR', 'SYNC_PROTOCOL_ERROR',
    'INVITE_EXPIRED', 'INVITE_USED', 'INVITE_REVOKED', 'INVITE_MALFORMED', 'INVITE_UNKNOWN', 'KEY_MISMATCH',
    'TOO_MANY_ATTEMPTS', 'PAIRING_DECLINED', 'IDENTITY_INVALID', 'TIMEOUT', 'INTERNAL',
  ];
  const numbers = dedicated.map(closeCodeFor);
  assert.ok(numbers.every((n) => n !== OTHER_KITH_ERROR && n >= 4000 && n < 4999));
  assert.equal(new Set(numbers).size, numbers.length);
  // A dedicated number is read without its reason, so a truncated or missing reason loses nothing.
  for (const code of dedicated) assert.equal(errorCodeFromClose(closeCodeFor(code), ''), code);
  // The wire numbers are a contract: spot-check that they did not move.
  assert.equal(closeCodeFor('FRAME_INVALID'), 4000);
  assert.equal(closeCodeFor('FRAME_TOO_LARGE'), 4001);
  assert.equal(closeCodeFor('INTERNAL'), 4091);
});

test('a dedicated number wins over whatever reason the peer chose', () => {
  assert.equal(errorCodeFromClose(closeCodeFor('BUSY'), 'INVITE_USED'), 'BUSY');
});

test('reads standard close codes', () => {
  assert.equal(errorCodeFromClose(1000, ''), undefined);
  assert.equal(errorCodeFromClose(1001, ''), undefined);
  assert.equal(errorCodeFromClose(1005, ''), undefined);
  assert.equal(errorCodeFromClose(1006, ''), 'PEER_CLOSED');
  assert.equal(errorCodeFromClose(1009, ''), 'FRAME_TOO_LARGE');
  assert.equal(errorCodeFromClose(1009, 'Max payload size exceeded'), 'FRAME_TOO_LARGE');
  assert.equal(errorCodeFromClose(1002, ''), 'FRAME_INVALID');
  assert.equal(errorCodeFromClose(1007, ''), 'FRAME_INVALID');
  assert.equal(errorCodeFromClose(1011, ''), 'INTERNAL');
});

test('unknown codes read the reason only when it is a known error code', () => {
  assert.equal(errorCodeFromClose(4998, 'INVITE_USED'), 'INVITE_USED');
  assert.equal(errorCodeFromClose(3001, 'KEY_MISMATCH'), 'KEY_MISMATCH');
  assert.equal(errorCodeFromClose(4998, 'something else'), 'PROTOCOL_ERROR');
  assert.equal(errorCodeFromClose(OTHER_KITH_ERROR, ''), 'PROTOCOL_ERROR');
  for (const { value } of hostileStrings()) {
    const read = errorCodeFromClose(OTHER_KITH_ERROR, value);
    assert.ok(read === 'PROTOCOL_ERROR' || isErrorCode(read));
  }
  for (const { value } of hostileValues()) {
    const read = errorCodeFromClose(value as number, '__proto__');
    assert.ok(read === undefined || isErrorCode(read), `close code ${typeof value}`);
  }
  assert.equal(errorCodeFromClose(4998, 'toString'), 'PROTOCOL_ERROR');
  assert.equal(errorCodeFromClose(4998, '__proto__'), 'PROTOCOL_ERROR');
});

test('only 1000 and 3000–4999 are sendable (what a browser accepts)', () => {
  for (const ok of [1000, 3000, 4000, 4999]) assert.ok(isSendableCloseCode(ok));
  for (const bad of [0, 999, 1001, 1005, 1006, 1009, 1015, 2999, 5000, 4000.5, Number.NaN, '4000', null, undefined]) {
    assert.equal(isSendableCloseCode(bad), false, String(bad));
  }
});

test('normalizeClose never yields something a transport would refuse', () => {
  assert.deepEqual(normalizeClose(), { code: 1000, reason: '' });
  assert.deepEqual(normalizeClose(4023, 'UNKNOWN_PEER'), { code: 4023, reason: 'UNKNOWN_PEER' });
  assert.deepEqual(normalizeClose(1006, 'x'), { code: closeCodeFor('INTERNAL'), reason: 'INTERNAL' });
  for (const { value } of hostileValues()) {
    const close = normalizeClose(value as number, value as string);
    assert.ok(isSendableCloseCode(close.code));
    assert.ok(close.reason.length <= MAX_CLOSE_REASON_BYTES && /^[\x20-\x7e]*$/.test(close.reason));
  }
});

test('sanitizeCloseReason keeps printable ASCII and bounds the length', () => {
  assert.equal(sanitizeCloseReason('FRAME_INVALID'), 'FRAME_INVALID');
  assert.equal(sanitizeCloseReason('a\r\nb\u001b[0m'), 'a??b?[0m');
  assert.equal(sanitizeCloseReason('äöü'), '???');
  assert.equal(sanitizeCloseReason('x'.repeat(1000)).length, MAX_CLOSE_REASON_BYTES);
  for (const { value } of [...hostileStrings(), ...hostileValues()]) {
    const reason = sanitizeCloseReason(value);
    assert.ok(new TextEncoder().encode(reason).length <= MAX_CLOSE_REASON_BYTES);
  }
});
