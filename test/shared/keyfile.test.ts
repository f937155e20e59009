import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import {
  KEYFILE_FORMAT,
  keyFileProtection,
  normalizePassphrase,
  openKeyFile,
  parseKeyFile,
  sealKeyFile,
  wipeKeyBundle,
  type KeyBundle,
} from '../../shared/keyfile.js';
import { toBase64url, fromBase64url } from '../../shared/bytes.js';
import { KEYFILE_TEST_MIN_SCRYPT_N, MAX_KEYFILE_BYTES, MAX_PASSPHRASE_LENGTH, SCRYPT_N } from '../../shared/limits.js';
import { hostileStrings, hostileValues, isCoded } from '../support/hostile.js';

const crypto = new NativeCrypto();
/** The cheapest cost the test-only parameter allows: ~1 ms per derivation instead of ~0.5 s. */
const TEST_N = KEYFILE_TEST_MIN_SCRYPT_N;
const PASS = 'correct horse battery staple';

function bundle(): KeyBundle {
  return {
    person: { signSecret: crypto.randomBytes(32), encryptSecret: crypto.randomBytes(32) },
    instance: { signSecret: crypto.randomBytes(32), staticSecret: crypto.randomBytes(32) },
  };
}

function assertSameBundle(a: KeyBundle, b: KeyBundle): void {
  assert.deepEqual(a.person.signSecret, b.person.signSecret);
  assert.deepEqual(a.person.encryptSecret, b.person.encryptSecret);
  assert.deepEqual(a.instance.signSecret, b.instance.signSecret);
  assert.deepEqual(a.instance.staticSecret, b.instance.staticSecret);
}

async function sealedFile(b = bundle()): Promise<{ b: KeyBundle; text: string; json: Record<string, any> }> {
  const text = await sealKeyFile(crypto, b, { passphrase: PASS, testOnlyScryptN: TEST_N });
  return { b, text, json: JSON.parse(text) };
}

/** A different valid base64url value of the same length (flips bits of the first character). */
function altered(b64: string): string {
  const bytes = fromBase64url(b64);
  bytes[0] = bytes[0]! ^ 0x01;
  return toBase64url(bytes);
}

test('a protected key file round-trips and records its header', async () => {
  const { b, text, json } = await sealedFile();
  assert.equal(json.format, KEYFILE_FORMAT);
  assert.equal(json.version, 1);
  assert.equal(json.protection, 'passphrase');
  assert.deepEqual({ ...json.kdf, salt: undefined }, { name: 'scrypt', N: TEST_N, r: 8, p: 1, salt: undefined });
  assert.equal(json.cipher, 'xchacha20-poly1305');
  assert.equal(fromBase64url(json.kdf.salt).length, 32);
  assert.equal(fromBase64url(json.nonce).length, 24);
  assert.equal(keyFileProtection(parseKeyFile(text)), 'passphrase');
  const opened = await openKeyFile(crypto, text, { passphrase: PASS, testOnlyScryptN: TEST_N });
  assertSameBundle(opened, b);
  // The parsed form opens too, and bytes work like text.
  assertSameBundle(await openKeyFile(crypto, parseKeyFile(text), { passphrase: PASS, testOnlyScryptN: TEST_N }), b);
  assertSameBundle(await openKeyFile(crypto, new TextEncoder().encode(text), { passphrase: PASS, testOnlyScryptN: TEST_N }), b);
});

test('secrets appear in no form in a protected file', async () => {
  const { b, text } = await sealedFile();
  for (const key of [b.person.signSecret, b.person.encryptSecret, b.instance.signSecret, b.instance.staticSecret]) {
    assert.ok(!text.includes(toBase64url(key)));
    assert.ok(!text.includes(Buffer.from(key).toString('hex')));
  }
  assert.ok(!text.includes(PASS));
});

test('real cost: N = 2^17 by default, and such a file opens', async () => {
  const b = bundle();
  const started = performance.now();
  const text = await sealKeyFile(crypto, b, { passphrase: PASS });
  const sealMs = performance.now() - started;
  assert.equal(JSON.parse(text).kdf.N, SCRYPT_N);
  assertSameBundle(await openKeyFile(crypto, text, { passphrase: PASS }), b);
  // A cost that finished in a few ms would mean the parameter was not applied.
  assert.ok(sealMs > 50, `scrypt at N=2^17 took ${sealMs.toFixed(0)} ms`);
});

test('seals are randomized: same keys and passphrase give different salt, nonce and ciphertext', async () => {
  const b = bundle();
  const one = JSON.parse(await sealKeyFile(crypto, b, { passphrase: PASS, testOnlyScryptN: TEST_N }));
  const two = JSON.parse(await sealKeyFile(crypto, b, { passphrase: PASS, testOnlyScryptN: TEST_N }));
  assert.notEqual(one.kdf.salt, two.kdf.salt);
  assert.notEqual(one.nonce, two.nonce);
  assert.notEqual(one.ciphertext, two.ciphertext);
});

test('open returns copies the caller may wipe; sealing leaves the input intact', async () => {
  const { b, text } = await sealedFile();
  const before = bundle();
  before.person.signSecret.set(b.person.signSecret);
  const opened = await openKeyFile(crypto, text, { passphrase: PASS, testOnlyScryptN: TEST_N });
  wipeKeyBundle(opened);
  assert.ok(opened.instance.staticSecret.every((x) => x === 0));
  assert.deepEqual(b.person.signSecret, before.person.signSecret);
  assertSameBundle(await openKeyFile(crypto, text, { passphrase: PASS, testOnlyScryptN: TEST_N }), b);
});

test('plaintext mode only when asked, recorded in the file, opens without a passphrase', async () => {
  const b = bundle();
  const text = await sealKeyFile(crypto, b, { insecurePlaintext: true });
  const json = JSON.parse(text);
  assert.equal(json.protection, 'insecure-plaintext');
  assert.equal(json.keys.person.signSecret, toBase64url(b.person.signSecret));
  assertSameBundle(await openKeyFile(crypto, text), b);
  assertSameBundle(await openKeyFile(crypto, text, { passphrase: 'ignored' }), b);
  await assert.rejects(sealKeyFile(crypto, b, {}), { code: 'INVALID_INPUT' });
  await assert.rejects(sealKeyFile(crypto, b, { passphrase: PASS, insecurePlaintext: true }), { code: 'INVALID_INPUT' });
  await assert.rejects(sealKeyFile(crypto, b, { insecurePlaintext: false }), { code: 'INVALID_INPUT' });
});

test('PASSPHRASE_REQUIRED without one; WRONG_PASSPHRASE with a wrong one, whose text is never echoed', async () => {
  const { text } = await sealedFile();
  await assert.rejects(openKeyFile(crypto, text, { testOnlyScryptN: TEST_N }), { code: 'PASSPHRASE_REQUIRED' });
  const wrong = 'hunter2-is-not-it';
  await assert.rejects(openKeyFile(crypto, text, { passphrase: wrong, testOnlyScryptN: TEST_N }), (err: Error & { code: string }) => {
    assert.equal(err.code, 'WRONG_PASSPHRASE');
    assert.ok(!err.message.includes(wrong));
    return true;
  });
  // Passphrases are compared after NFC: composed and decomposed forms are the same phrase.
  const b = bundle();
  const nfc = await sealKeyFile(crypto, b, { passphrase: 'caf\u00e9', testOnlyScryptN: TEST_N });
  assertSameBundle(await openKeyFile(crypto, nfc, { passphrase: 'cafe\u0301', testOnlyScryptN: TEST_N }), b);
});

test('a cheap scrypt cost is refused unless the test-only parameter names it', async () => {
  const { text } = await sealedFile();
  await assert.rejects(openKeyFile(crypto, text, { passphrase: PASS }), { code: 'KEYFILE_INVALID' });
  await assert.rejects(openKeyFile(crypto, text, { passphrase: PASS, testOnlyScryptN: TEST_N * 2 }), { code: 'KEYFILE_INVALID' });
  for (const n of [TEST_N / 2, 1000, SCRYPT_N * 2, 0, -1, NaN]) {
    await assert.rejects(sealKeyFile(crypto, bundle(), { passphrase: PASS, testOnlyScryptN: n }), { code: 'INVALID_INPUT' }, String(n));
  }
});

test('tampering: salt or cost read as a wrong passphrase; nonce, ciphertext and check as a damaged file', async () => {
  const { json } = await sealedFile();
  const open = (file: unknown, testOnlyScryptN = TEST_N) => openKeyFile(crypto, JSON.stringify(file), { passphrase: PASS, testOnlyScryptN });
  // The key derivation inputs changed: indistinguishable from another passphrase.
  await assert.rejects(open({ ...json, kdf: { ...json.kdf, salt: altered(json.kdf.salt) } }), { code: 'WRONG_PASSPHRASE' });
  await assert.rejects(open({ ...json, kdf: { ...json.kdf, N: TEST_N * 2 } }, TEST_N * 2), { code: 'WRONG_PASSPHRASE' });
  // The passphrase is proven right by the check, so a failing tag means damage.
  await assert.rejects(open({ ...json, nonce: altered(json.nonce) }), { code: 'KEYFILE_INVALID' });
  await assert.rejects(open({ ...json, ciphertext: altered(json.ciphertext) }), { code: 'KEYFILE_INVALID' });
  const flippedTail = fromBase64url(json.ciphertext);
  flippedTail[flippedTail.length - 1]! ^= 0x80;
  await assert.rejects(open({ ...json, ciphertext: toBase64url(flippedTail) }), { code: 'KEYFILE_INVALID' });
  await assert.rejects(open({ ...json, check: altered(json.check) }), { code: 'KEYFILE_INVALID' });
  // Header fields outside the key derivation are fixed by the schema.
  for (const patch of [
    { version: 2 },
    { format: 'kith-keyz' },
    { cipher: 'aes-256-gcm' },
    { protection: 'insecure-plaintext' },
    { protection: 'none' },
    { kdf: { ...json.kdf, r: 1 } },
    { kdf: { ...json.kdf, p: 2 } },
    { kdf: { ...json.kdf, N: TEST_N + 1 } },
    { kdf: { ...json.kdf, name: 'pbkdf2' } },
    { kdf: { ...json.kdf, extra: 1 } },
    { extra: true },
    { ciphertext: json.ciphertext.slice(4) },
    { ciphertext: `${json.ciphertext}AAAA` },
    { nonce: json.nonce.slice(0, 31) },
    { kdf: { ...json.kdf, salt: `${json.kdf.salt.slice(0, 42)}B` } }, // non-canonical trailing bits
  ]) {
    await assert.rejects(open({ ...json, ...patch }), { code: 'KEYFILE_INVALID' }, JSON.stringify(patch).slice(0, 60));
  }
  for (const field of ['format', 'version', 'protection', 'kdf', 'cipher', 'nonce', 'check', 'ciphertext']) {
    const copy = { ...json };
    delete copy[field];
    await assert.rejects(open(copy), { code: 'KEYFILE_INVALID' }, field);
  }
});

test('every one-character corruption of a protected file fails with a key-file code or changes nothing', async () => {
  const { b, text } = await sealedFile();
  let failures = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const replacement = c === 'A' ? 'B' : /[A-Za-z0-9]/.test(c) ? 'A' : c === ' ' ? '\t' : 'x';
    const damaged = text.slice(0, i) + replacement + text.slice(i + 1);
    try {
      const opened = await openKeyFile(crypto, damaged, { passphrase: PASS, testOnlyScryptN: TEST_N });
      assertSameBundle(opened, b); // only whitespace changes may succeed
      assert.match(c, /\s/, `position ${i} ("${c}") changed without an error`);
    } catch (err) {
      const code = (err as { code?: string }).code;
      assert.ok(code === 'KEYFILE_INVALID' || code === 'WRONG_PASSPHRASE', `position ${i}: ${code}`);
      failures++;
    }
  }
  assert.ok(failures > text.length / 2);
});

test('a plaintext file is parsed as strictly', async () => {
  const json = JSON.parse(await sealKeyFile(crypto, bundle(), { insecurePlaintext: true }));
  const parse = (file: unknown) => () => parseKeyFile(JSON.stringify(file));
  assert.throws(parse({ ...json, keys: { ...json.keys, person: { ...json.keys.person, signSecret: 'AAAA' } } }), { code: 'KEYFILE_INVALID' });
  assert.throws(parse({ ...json, keys: { ...json.keys, extra: {} } }), { code: 'KEYFILE_INVALID' });
  assert.throws(parse({ ...json, keys: { person: json.keys.person } }), { code: 'KEYFILE_INVALID' });
  assert.throws(parse({ ...json, keys: [json.keys] }), { code: 'KEYFILE_INVALID' });
  // The message names the field, never the secret value.
  const secret = json.keys.instance.staticSecret;
  try {
    parseKeyFile(JSON.stringify({ ...json, keys: { ...json.keys, instance: { ...json.keys.instance, staticSecret: `${secret}!` } } }));
    assert.fail('accepted');
  } catch (err) {
    assert.equal((err as { code?: string }).code, 'KEYFILE_INVALID');
    assert.match((err as Error).message, /staticSecret/);
    assert.ok(!(err as Error).message.includes(secret));
  }
});

test('hostile input: values, strings, oversized text, and hostile values in every field', async () => {
  for (const { name, value } of hostileValues()) {
    assert.throws(() => parseKeyFile(value as string), (err) => isCoded(err), name);
    await assert.rejects(openKeyFile(crypto, value as string, { passphrase: PASS }), (err) => isCoded(err), name);
  }
  for (const { name, value } of hostileStrings()) {
    assert.throws(() => parseKeyFile(value), { code: 'KEYFILE_INVALID' }, name);
  }
  assert.throws(() => parseKeyFile(' '.repeat(MAX_KEYFILE_BYTES + 1)), { code: 'KEYFILE_INVALID' });
  assert.throws(() => parseKeyFile(new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])), { code: 'KEYFILE_INVALID' });

  const protectedFile = (await sealedFile()).json;
  const plainFile = JSON.parse(await sealKeyFile(crypto, bundle(), { insecurePlaintext: true }));
  const paths: Array<[Record<string, any>, string[]]> = [
    ...Object.keys(protectedFile).map((k): [Record<string, any>, string[]] => [protectedFile, [k]]),
    ...Object.keys(protectedFile.kdf).map((k): [Record<string, any>, string[]] => [protectedFile, ['kdf', k]]),
    ...Object.keys(plainFile).map((k): [Record<string, any>, string[]] => [plainFile, [k]]),
    [plainFile, ['keys', 'person', 'signSecret']],
    [plainFile, ['keys', 'instance']],
  ];
  for (const { name, value } of hostileValues()) {
    if (ArrayBuffer.isView(value)) continue; // JSON has no bytes; stringifying 8 MiB of indices only costs time
    let encoded: string | undefined;
    try {
      encoded = JSON.stringify(value);
    } catch {
      continue; // not representable in a file
    }
    if (encoded === undefined || encoded.length > 4 * MAX_KEYFILE_BYTES) continue;
    for (const [file, path] of paths) {
      const copy = structuredClone(file);
      let at = copy;
      for (const key of path.slice(0, -1)) at = at[key];
      at[path.at(-1)!] = JSON.parse(encoded);
      if (JSON.stringify(copy) === JSON.stringify(file)) continue;
      assert.throws(() => parseKeyFile(JSON.stringify(copy)), { code: 'KEYFILE_INVALID' }, `${name} at ${path.join('.')}`);
    }
  }
  // A hand-made "parsed" key file object is checked again, not trusted.
  for (const { name, value } of hostileValues()) {
    if (typeof value !== 'object' || value === null || value instanceof Uint8Array) continue;
    await assert.rejects(openKeyFile(crypto, value as never, { passphrase: PASS }), (err) => isCoded(err), name);
  }
});

test('hostile passphrases and bundles are refused before any work', async () => {
  const { text } = await sealedFile();
  for (const { name, value } of hostileValues()) {
    if (typeof value === 'string' && value.length > 0 && value.length <= MAX_PASSPHRASE_LENGTH && !/[\ud800-\udfff]/.test(value)) continue;
    if (value === undefined) continue; // undefined means "none given"
    await assert.rejects(sealKeyFile(crypto, bundle(), { passphrase: value as string, testOnlyScryptN: TEST_N }), { code: 'INVALID_INPUT' }, name);
    await assert.rejects(openKeyFile(crypto, text, { passphrase: value as string, testOnlyScryptN: TEST_N }), { code: 'INVALID_INPUT' }, name);
  }
  assert.throws(() => normalizePassphrase('x'.repeat(MAX_PASSPHRASE_LENGTH + 1)), { code: 'INVALID_INPUT' });
  assert.equal(normalizePassphrase('x'.repeat(MAX_PASSPHRASE_LENGTH)).length, MAX_PASSPHRASE_LENGTH);
  for (const { name, value } of hostileValues()) {
    await assert.rejects(sealKeyFile(crypto, value as KeyBundle, { insecurePlaintext: true }), (err) => isCoded(err), `bundle ${name}`);
    const b = bundle();
    const broken = { ...b, instance: { ...b.instance, staticSecret: value } } as unknown as KeyBundle;
    await assert.rejects(sealKeyFile(crypto, broken, { insecurePlaintext: true }), { code: 'INVALID_INPUT' }, `staticSecret ${name}`);
  }
});
