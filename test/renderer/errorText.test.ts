import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adviseError, type ErrorContext } from '../../renderer/errorText.js';
import { ERROR_CODES, type ErrorCode } from '../../shared/errors.js';

const CONTEXTS: ErrorContext[] = ['start', 'invite', 'accept', 'channels', 'devices', 'general'];

test('every Kith code reads as a sentence in every context, never as the raw code', () => {
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
    for (const context of CONTEXTS) {
      const a = adviseError(code, context);
      assert.equal(a.code, code);
      assert.match(a.text, /^[A-Z].*\.$/, `${code} in ${context}: a sentence`);
      assert.ok(!a.text.includes(code), `${code} in ${context}: no raw code in the text`);
      if (a.action) assert.ok(a.next, `${code} in ${context}: an action has a label`);
    }
  }
});

test('the start link: expired and used say so and tell how to get a new one', () => {
  const expired = adviseError('INVITE_EXPIRED', 'start');
  assert.equal(`${expired.text} ${expired.next}`, 'This start link has expired. Restart Kith (npm start) to get a new one.');
  const used = adviseError('INVITE_USED', 'start');
  assert.equal(`${used.text} ${used.next}`, 'This start link has already been used. Restart Kith (npm start) to get a new one.');
  assert.equal(adviseError('INVITE_EXPIRED', 'start', 'electron').next, 'Restart Kith to get a new one.');
  assert.match(adviseError('NOT_FOUND', 'start').text, /no usable start link/);
});

test('an invitation this device shows offers a new one; one being accepted asks for a new one', () => {
  for (const code of ['INVITE_EXPIRED', 'INVITE_USED', 'INVITE_REVOKED', 'TOO_MANY_ATTEMPTS'] as const) {
    const a = adviseError(code, 'invite');
    assert.equal(a.action, 'new-invite', code);
    assert.equal(a.next, 'Create a new invitation', code);
  }
  for (const code of ['INVITE_EXPIRED', 'INVITE_USED', 'INVITE_REVOKED', 'INVITE_UNKNOWN', 'TOO_MANY_ATTEMPTS'] as const) {
    const a = adviseError(code, 'accept');
    assert.equal(a.next, 'Ask for a new invitation.', code);
    assert.equal(a.action, undefined, `${code}: nothing the app can do by itself`);
  }
  assert.equal(adviseError('INVITE_EXPIRED', 'accept').text, 'This invitation has expired.');
  assert.equal(adviseError('UNREACHABLE', 'accept').action, 'retry');
});

test('anything that is not a Kith code reads as an internal error', () => {
  for (const v of [undefined, null, 'EVIL', 42, '__proto__', 'constructor', { code: 'X' }]) {
    assert.equal(adviseError(v, 'general').code, 'INTERNAL');
  }
});
