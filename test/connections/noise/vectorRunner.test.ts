import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NativeCrypto } from '../../../shared/crypto/nativeCrypto.js';
import { KithError } from '../../../shared/errors.js';
import { parseVectorFile, runVector, runVectors } from '../../../connections/noise/vectorRunner.js';
import { hostileValues } from '../../support/hostile.js';

const crypto = new NativeCrypto();
/** The published cacophony vectors for our suite (data, see the file's "source"). */
const VECTOR_FILE = new URL('../../../../shared/vectors/noise-25519-chachapoly-sha256.json', import.meta.url);
const text = readFileSync(VECTOR_FILE, 'utf8');

function vectors(): Record<string, unknown>[] {
  return parseVectorFile(text);
}

function byName(name: string): Record<string, unknown> {
  const v = vectors().find((x) => x.protocol_name === `Noise_${name}_25519_ChaChaPoly_SHA256`);
  assert.ok(v, name);
  return v;
}

/** Flips the last hex digit of a hex string. */
function corrupt(hex: string): string {
  return hex.slice(0, -1) + (hex.endsWith('0') ? '1' : '0');
}

test('all 59 published vectors pass: every handshake and transport ciphertext, payload and handshake hash', async () => {
  const all = vectors();
  assert.equal(all.length, 59);
  const report = await runVectors(crypto, all);
  const failures = report.outcomes.filter((o) => o.status !== 'passed');
  assert.deepEqual(failures, []);
  assert.deepEqual([report.passed, report.failed, report.skipped], [59, 0, 0]);
});

test('a corrupted ciphertext, payload, handshake hash or key makes its vector fail with the reason', async () => {
  const cases: Array<[string, (v: Record<string, unknown>) => void, RegExp]> = [
    ['handshake ciphertext', (v) => mutateMessage(v, 1, 'ciphertext'), /message 1 \(handshake\): ciphertext differs/],
    ['transport ciphertext', (v) => mutateMessage(v, 4, 'ciphertext'), /message 4 \(transport\): ciphertext differs/],
    ['payload', (v) => mutateMessage(v, 0, 'payload'), /message 0 .*ciphertext differs/],
    ['handshake hash', (v) => (v.handshake_hash = corrupt(v.handshake_hash as string)), /handshake hash differs/],
    ['responder ephemeral', (v) => (v.resp_ephemeral = corrupt(v.resp_ephemeral as string)), /message 1 .*ciphertext differs/],
    ['psk', (v) => ((v.resp_psks as string[])[0] = corrupt((v.resp_psks as string[])[0]!)), /HANDSHAKE_FAILED|differs/],
    ['missing static', (v) => delete v.init_static, /INVALID_INPUT: .*needs a local static/],
    ['too few messages', (v) => ((v.messages as unknown[]).length = 1), /handshake has 2/],
    ['bad hex', (v) => (v.init_prologue = 'zz'), /INVALID_INPUT/],
  ];
  for (const [what, mutate, reason] of cases) {
    const v = structuredClone(byName('IKpsk2'));
    mutate(v);
    const outcome = await runVector(crypto, v, 0);
    assert.equal(outcome.status, 'failed', what);
    assert.match(outcome.reason ?? '', reason, what);
  }
});

function mutateMessage(v: Record<string, unknown>, index: number, field: 'payload' | 'ciphertext'): void {
  const m = (v.messages as Record<string, string>[])[index]!;
  m[field] = corrupt(m[field]!);
}

test('older vector fields: name, pattern/dh/cipher/hash, and a single init_psk', async () => {
  const nn = structuredClone(byName('NN'));
  nn.name = nn.protocol_name;
  delete nn.protocol_name;
  assert.equal((await runVector(crypto, nn, 0)).status, 'passed');

  const xx = structuredClone(byName('XX'));
  delete xx.protocol_name;
  Object.assign(xx, { pattern: 'XX', dh: '25519', cipher: 'ChaChaPoly', hash: 'SHA256' });
  const outcome = await runVector(crypto, xx, 0);
  assert.deepEqual([outcome.status, outcome.name], ['passed', 'Noise_XX_25519_ChaChaPoly_SHA256']);

  const psk = structuredClone(byName('NNpsk0'));
  psk.init_psk = (psk.init_psks as string[])[0];
  psk.resp_psk = (psk.resp_psks as string[])[0];
  delete psk.init_psks;
  delete psk.resp_psks;
  assert.equal((await runVector(crypto, psk, 0)).status, 'passed');
});

test('other suites, unsupported modifiers and pre-revision-32 PSK names are skipped; a garbled name fails', async () => {
  const base = byName('NN');
  const outcome = async (protocol_name: string) => runVector(crypto, { ...base, protocol_name }, 0);
  for (const name of [
    'Noise_NN_448_ChaChaPoly_SHA256',
    'Noise_NN_25519_AESGCM_SHA256',
    'Noise_NN_25519_ChaChaPoly_BLAKE2b',
    'Noise_XXhfs_25519+Kyber1024_ChaChaPoly_SHA256',
    'Noise_XXfallback_25519_ChaChaPoly_SHA256',
    'NoisePSK_NN_25519_ChaChaPoly_SHA256',
  ]) {
    assert.equal((await outcome(name)).status, 'skipped', name);
  }
  for (const name of ['Noise_QQ_25519_ChaChaPoly_SHA256', 'Noise_NNpsk9_25519_ChaChaPoly_SHA256', 'Noise_NN_25519', 'garbage']) {
    assert.equal((await outcome(name)).status, 'failed', name);
  }
  assert.equal((await runVector(crypto, { messages: [] }, 7)).name, 'vector 7');
});

test('parseVectorFile accepts { vectors } and bare arrays, and refuses anything else with INVALID_INPUT', () => {
  assert.equal(parseVectorFile(JSON.stringify(vectors())).length, 59);
  assert.equal(parseVectorFile(JSON.stringify({ vectors: [{}] })).length, 1);
  for (const bad of ['', 'not json', '{}', '{"vectors": 3}', '[]', '{"vectors": []}', '[1]', '[null]', '[[]]', '"x"']) {
    assert.throws(() => parseVectorFile(bad), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', bad);
  }
});

test('hostile values in any vector field make that vector fail or skip, never throw', async () => {
  const base = byName('IKpsk2');
  const fields = ['protocol_name', 'init_prologue', 'init_static', 'init_ephemeral', 'init_remote_static', 'init_psks', 'handshake_hash', 'messages'];
  for (const { name, value } of hostileValues()) {
    for (const field of fields) {
      const outcome = await runVector(crypto, { ...base, [field]: value }, 0);
      // Removing an optional field (undefined) may still pass; anything else must be reported, not thrown.
      assert.ok(['failed', 'skipped', 'passed'].includes(outcome.status), `${field} = ${name}`);
      if (value !== undefined && field !== 'handshake_hash' && field !== 'init_prologue') {
        assert.notEqual(outcome.status, 'passed', `${field} = ${name}`);
      }
    }
    const message = await runVector(crypto, { ...base, messages: [value, value] }, 0);
    assert.equal(message.status, 'failed', `message = ${name}`);
  }
});
