import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KithError } from '../../../shared/errors.js';
import {
  BASE_PATTERN_NAMES,
  keyRequirements,
  parseHandshakePattern,
  parsePatternNotation,
  parseProtocolName,
  splitProtocolName,
  type HandshakePattern,
} from '../../../connections/noise/patterns.js';
import { hostileStrings, hostileValues } from '../../support/hostile.js';

function rejects(fn: () => unknown, fragment?: RegExp): void {
  assert.throws(fn, (err: unknown) => err instanceof KithError && err.code === 'INVALID_INPUT' && (!fragment || fragment.test(err.message)));
}

function render(p: HandshakePattern): string {
  return p.messages.map((m) => `${m.fromInitiator ? '->' : '<-'} ${m.tokens.join(', ')}`).join(' | ');
}

test('the table holds the 3 one-way, 12 fundamental and 23 deferred patterns, all valid', () => {
  assert.equal(BASE_PATTERN_NAMES.length, 38);
  for (const name of BASE_PATTERN_NAMES) {
    const p = parseProtocolName(`Noise_${name}_25519_ChaChaPoly_SHA256`).pattern;
    assert.equal(p.name, name);
    assert.equal(p.oneWay, ['N', 'K', 'X'].includes(name), name);
    assert.equal(p.pskCount, 0);
    p.messages.forEach((m, i) => assert.equal(m.fromInitiator, i % 2 === 0, `${name} alternates`));
  }
});

test('IK and its pre-message parse as in the spec', () => {
  const p = parseHandshakePattern('IK');
  assert.deepEqual(p.initiatorPreMessage, []);
  assert.deepEqual(p.responderPreMessage, ['s']);
  assert.equal(render(p), '-> e, es, s, ss | <- e, ee, se');
  const k = parseHandshakePattern('K');
  assert.deepEqual([k.initiatorPreMessage, k.responderPreMessage], [['s'], ['s']]);
});

test('psk modifiers: psk0 opens the first message, pskN closes the N-th, several combine', () => {
  assert.equal(render(parseHandshakePattern('IKpsk2')), '-> e, es, s, ss | <- e, ee, se, psk');
  assert.equal(render(parseHandshakePattern('NNpsk0')), '-> psk, e | <- e, ee');
  assert.equal(render(parseHandshakePattern('Npsk0')), '-> psk, e, es');
  const multi = parseHandshakePattern('NNpsk0+psk2');
  assert.equal(render(multi), '-> psk, e | <- e, ee, psk');
  assert.equal(multi.pskCount, 2);
  assert.equal(render(parseHandshakePattern('XXpsk3+psk1')), '-> e, psk | <- e, ee, s, es | -> s, se, psk');
  assert.equal(parseHandshakePattern('XXpsk0+psk1+psk2+psk3').pskCount, 4);
});

test('modifier errors: out-of-range position, duplicates, leading zeros, unknown and unsupported modifiers', () => {
  rejects(() => parseHandshakePattern('NNpsk3'), /does not have/);
  rejects(() => parseHandshakePattern('Npsk2'), /does not have/);
  rejects(() => parseHandshakePattern('NNpsk0+psk0'), /twice/);
  rejects(() => parseHandshakePattern('NNpsk01'));
  rejects(() => parseHandshakePattern('NNfoo'), /unknown modifier/);
  rejects(() => parseHandshakePattern('XXfallback'), /not supported/);
  rejects(() => parseHandshakePattern('XXhfs'), /not supported/);
  rejects(() => parseHandshakePattern('QQ'), /unknown handshake pattern/);
});

test('psk validity (§9.3): encrypted data after "psk" needs an "e" from the sender', () => {
  // psk1 on N-style one-way is fine (the initiator sent e); a psk before any e is fine when e follows in the same message.
  parseHandshakePattern('Npsk1');
  parseHandshakePattern('NNpsk0');
  rejects(() => parsePatternNotation('bad', '<- s | ... | -> psk, s, e, es'), /§9.3/);
  rejects(() => parsePatternNotation('bad', '-> s | <- s | ... | -> psk, ss'), /§9\.3|§7\.3/);
});

test('§7.3 validity: keys used before they are sent, keys sent twice, DH twice, encryption after a static DH', () => {
  rejects(() => parsePatternNotation('x', '-> e, es'), /not been sent/);
  rejects(() => parsePatternNotation('x', '-> e | <- e, ee, e'), /"e" twice/);
  rejects(() => parsePatternNotation('x', '-> s | ... | -> e, s'), /"s" twice/);
  rejects(() => parsePatternNotation('x', '-> e | <- e, ee, ee'), /twice/);
  // After "se", the initiator must not encrypt before "ee".
  rejects(() => parsePatternNotation('x', '<- e | ... | -> s, se'), /§7\.3/);
  // After "es", the responder must not send before "ee".
  rejects(() => parsePatternNotation('x', '<- s | ... | -> e, es | <- e'), /§7\.3/);
});

test('notation shape errors are refused', () => {
  rejects(() => parsePatternNotation('x', ''));
  rejects(() => parsePatternNotation('x', '<- e, ee'), /alternate/);
  rejects(() => parsePatternNotation('x', '-> e | -> e'), /alternate/);
  rejects(() => parsePatternNotation('x', '-> e, xx'), /unknown token/);
  rejects(() => parsePatternNotation('x', '=> e'));
  rejects(() => parsePatternNotation('x', '-> s, e | ... | -> e'), /pre-message/);
  rejects(() => parsePatternNotation('x', '<- s | -> s | ... | -> e'), /first/);
  rejects(() => parsePatternNotation('x', '-> ee | ... | -> e'), /pre-message/);
});

test('protocol names: only 25519 / ChaChaPoly / SHA256, exact shape, ≤ 255 characters', () => {
  const p = parseProtocolName('Noise_IKpsk2_25519_ChaChaPoly_SHA256');
  assert.deepEqual([p.dh, p.cipher, p.hash, p.pattern.name], ['25519', 'ChaChaPoly', 'SHA256', 'IKpsk2']);
  for (const name of [
    'Noise_IK_448_ChaChaPoly_SHA256',
    'Noise_IK_25519_AESGCM_SHA256',
    'Noise_IK_25519_ChaChaPoly_BLAKE2s',
    'Noise_IK_25519_ChaChaPoly_SHA512',
    'Noise_IK_25519_ChaChaPoly',
    'Noise_IK_25519_ChaChaPoly_SHA256_',
    'noise_IK_25519_ChaChaPoly_SHA256',
    'NoisePSK_IK_25519_ChaChaPoly_SHA256',
    'Noise_ik_25519_ChaChaPoly_SHA256',
    'Noise__25519_ChaChaPoly_SHA256',
    'Noise_IK psk2_25519_ChaChaPoly_SHA256',
    `Noise_IK${'psk1+'.repeat(60)}psk2_25519_ChaChaPoly_SHA256`,
  ]) {
    rejects(() => parseProtocolName(name));
  }
  const sections = splitProtocolName('Noise_XXhfs+psk3_25519+Kyber1024_ChaChaPoly_BLAKE2b');
  assert.deepEqual([sections.basePattern, sections.modifiers, sections.dh], ['XX', ['hfs', 'psk3'], '25519+Kyber1024']);
});

test('keyRequirements name the keys each side must be given', () => {
  const ik = parseHandshakePattern('IKpsk2');
  assert.deepEqual(keyRequirements(ik, true), { localStatic: true, localEphemeralPreShared: false, sendsEphemeral: true, remoteStatic: true, remoteEphemeral: false, psks: 1 });
  assert.deepEqual(keyRequirements(ik, false), { localStatic: true, localEphemeralPreShared: false, sendsEphemeral: true, remoteStatic: false, remoteEphemeral: false, psks: 1 });
  const n = parseHandshakePattern('N');
  assert.equal(keyRequirements(n, false).sendsEphemeral, false);
  assert.equal(keyRequirements(n, true).localStatic, false);
  // NK1: the responder's static is used only through "es".
  assert.equal(keyRequirements(parseHandshakePattern('NK1'), false).localStatic, true);
});

test('hostile values and strings as protocol names are refused with INVALID_INPUT', () => {
  for (const { name, value } of [...hostileValues(), ...hostileStrings()]) {
    assert.throws(() => parseProtocolName(value as string), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', name);
    assert.throws(() => parseHandshakePattern(value as string), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', name);
  }
});

test('parsed protocol names are remembered and frozen: the next handshake cannot get a pattern someone changed', () => {
  const a = parseProtocolName('Noise_IKpsk2_25519_ChaChaPoly_SHA256');
  const b = parseProtocolName('Noise_IKpsk2_25519_ChaChaPoly_SHA256');
  assert.equal(a, b, 'the second parse is the cached result');
  assert.ok(Object.isFrozen(a) && Object.isFrozen(a.pattern) && Object.isFrozen(a.pattern.messages) && Object.isFrozen(a.pattern.messages[0]!.tokens));
  assert.throws(() => (a.pattern.messages[0]!.tokens as string[]).push('psk'), TypeError);
  assert.throws(() => ((a.pattern as { pskCount: number }).pskCount = 0), TypeError);
  assert.equal(render(parseProtocolName('Noise_IKpsk2_25519_ChaChaPoly_SHA256').pattern), '-> e, es, s, ss | <- e, ee, se, psk');
  // Names that fail are not remembered: they fail the same way every time.
  for (let i = 0; i < 2; i++) rejects(() => parseProtocolName('Noise_IKpsk9_25519_ChaChaPoly_SHA256'), /psk9/);
});
