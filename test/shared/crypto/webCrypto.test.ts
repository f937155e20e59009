import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { WebCryptoProvider } from '../../../shared/crypto/webCrypto.js';
import { fromHex, toHex, utf8 } from '../../../shared/bytes.js';
import { RFC8032_ED25519 } from '../../support/vectors/rfc8032.js';
import { RFC7748_DH } from '../../support/vectors/rfc7748.js';
import { ed25519EdgeCases } from '../../support/vectors/ed25519Edges.js';
import { testBytes } from './providerConformance.js';

const realSubtle = globalThis.crypto.subtle;

/** Node's SubtleCrypto with some methods replaced (its own methods need `this` to be the real object). */
function subtleWith(overrides: Partial<Record<keyof SubtleCrypto, unknown>>): SubtleCrypto {
  return new Proxy(realSubtle, {
    get(target, prop) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof SubtleCrypto];
      const value: unknown = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

test('bundles for the browser: no Node modules, no Buffer, only our code and @noble', async () => {
  const entry = fileURLToPath(new URL('../../../shared/crypto/webCrypto.ts', import.meta.url));
  const result = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, metafile: true, logLevel: 'silent' });
  assert.deepEqual(result.errors, []);
  const inputs = Object.keys(result.metafile.inputs);
  for (const input of inputs) assert.match(input, /^(shared\/|node_modules\/@noble\/)/, input);
  assert.ok(!inputs.some((i) => i.includes('nativeCrypto')), 'the native provider is not pulled in');
  const code = result.outputFiles[0]!.text;
  assert.doesNotMatch(code, /from ["']node:|require\(|\bBuffer\./);
});

test('constructor needs a SubtleCrypto', () => {
  assert.throws(() => new WebCryptoProvider(undefined as never), { code: 'INVALID_INPUT' });
  assert.throws(() => new WebCryptoProvider({} as never), { code: 'INVALID_INPUT' });
  assert.throws(() => new WebCryptoProvider({ subtle: {} as SubtleCrypto }), { code: 'INVALID_INPUT' });
  assert.equal(new WebCryptoProvider({ subtle: realSubtle }).name, 'web');
});

test("Kith's rule holds even over an engine that accepts every signature", async () => {
  const web = new WebCryptoProvider({ subtle: subtleWith({ verify: async () => true }) });
  for (const e of ed25519EdgeCases()) {
    const byBytes = e.name.startsWith('S ') || e.name.startsWith('small-order A') || e.name.startsWith('non-canonical A');
    if (byBytes) assert.equal(await web.ed25519Verify(e.publicKey, e.message, e.signature), false, e.name);
  }
});

test('concurrent first uses of a key share one import', async () => {
  let raw = 0;
  let pkcs8 = 0;
  const subtle = subtleWith({
    importKey: (format: string, ...rest: unknown[]) => {
      if (format === 'raw') raw++;
      if (format === 'pkcs8') pkcs8++;
      return (realSubtle.importKey as (...a: unknown[]) => Promise<CryptoKey>).call(realSubtle, format, ...rest);
    },
  });
  const web = new WebCryptoProvider({ subtle });
  const v = RFC8032_ED25519[2]!;
  const [pk, sk, msg, sig] = [fromHex(v.publicKey), fromHex(v.secretKey), fromHex(v.message), fromHex(v.signature)];
  const verdicts = await Promise.all(Array.from({ length: 64 }, () => web.ed25519Verify(pk, msg, sig)));
  assert.ok(verdicts.every((ok) => ok));
  assert.equal(raw, 1);
  const sigs = await Promise.all(Array.from({ length: 64 }, () => web.ed25519Sign(sk, msg)));
  assert.ok(sigs.every((s) => s.length === 64));
  assert.equal(pkcs8, 1);
  // A different array with the same key is imported once more (keys are cached by array identity).
  await web.ed25519Sign(sk.slice(), msg);
  assert.equal(pkcs8, 2);
});

test('a failed import is not cached', async () => {
  let failNext = true;
  const subtle = subtleWith({
    importKey: (...args: unknown[]) => {
      if (failNext) {
        failNext = false;
        return Promise.reject(new DOMException('transient', 'OperationError'));
      }
      return (realSubtle.importKey as (...a: unknown[]) => Promise<CryptoKey>).apply(realSubtle, args);
    },
  });
  const web = new WebCryptoProvider({ subtle });
  const v = RFC8032_ED25519[1]!;
  const [pk, sk, msg, sig] = [fromHex(v.publicKey), fromHex(v.secretKey), fromHex(v.message), fromHex(v.signature)];
  assert.equal(await web.ed25519Verify(pk, msg, sig), false);
  assert.equal(await web.ed25519Verify(pk, msg, sig), true);
  failNext = true;
  await assert.rejects(web.ed25519Sign(sk, msg), { code: 'CRYPTO_FAILURE' });
  assert.deepEqual(await web.ed25519Sign(sk, msg), sig);
});

test('engine errors and all-zero results are CRYPTO_FAILURE', async () => {
  const zeros = new WebCryptoProvider({ subtle: subtleWith({ deriveBits: async () => new ArrayBuffer(32) }) });
  await assert.rejects(zeros.x25519(fromHex(RFC7748_DH.alicePrivate), fromHex(RFC7748_DH.bobPublic)), { code: 'CRYPTO_FAILURE' });
  const failing = new WebCryptoProvider({
    subtle: subtleWith({
      sign: async () => {
        throw new DOMException('no', 'OperationError');
      },
      verify: async () => {
        throw new DOMException('no', 'OperationError');
      },
    }),
  });
  const v = RFC8032_ED25519[1]!;
  await assert.rejects(failing.ed25519Sign(fromHex(v.secretKey), fromHex(v.message)), { code: 'CRYPTO_FAILURE' });
  assert.equal(await failing.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), false);
});

test('views into SharedArrayBuffers work (WebCrypto refuses them directly)', async () => {
  const web = new WebCryptoProvider({ subtle: realSubtle });
  const shared = new Uint8Array(new SharedArrayBuffer(300));
  shared.set(testBytes(300, 9));
  const sk = testBytes(32, 10);
  const pk = await web.ed25519PublicKey(sk);
  const sig = await web.ed25519Sign(sk, shared);
  assert.deepEqual(sig, await web.ed25519Sign(sk, shared.slice()));
  assert.equal(await web.ed25519Verify(pk, shared, sig), true);
  const sharedSig = new Uint8Array(new SharedArrayBuffer(64));
  sharedSig.set(sig);
  assert.equal(await web.ed25519Verify(pk, utf8('other'), sharedSig), false);
  assert.equal(await web.ed25519Verify(pk, shared, sharedSig), true);
});

test('an engine without Ed25519/X25519 (NotSupportedError) falls back to noble with identical results', async () => {
  let attempts = 0;
  const subtle = subtleWith({
    importKey: async () => {
      attempts++;
      throw new DOMException('Unrecognized algorithm name', 'NotSupportedError');
    },
  });
  const web = new WebCryptoProvider({ subtle });
  assert.deepEqual(web.engineCurves, { Ed25519: true, X25519: true });
  for (const v of RFC8032_ED25519.slice(0, 3)) {
    assert.equal(toHex(await web.ed25519Sign(fromHex(v.secretKey), fromHex(v.message))), v.signature, v.name);
    assert.equal(await web.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), true, v.name);
  }
  assert.equal(toHex(await web.x25519(fromHex(RFC7748_DH.alicePrivate), fromHex(RFC7748_DH.bobPublic))), RFC7748_DH.shared);
  assert.deepEqual(web.engineCurves, { Ed25519: false, X25519: false });
  assert.equal(attempts, 2, 'the engine is asked once per curve, then no more');
  await assert.rejects(web.x25519(fromHex(RFC7748_DH.alicePrivate), new Uint8Array(32)), { code: 'CRYPTO_FAILURE' });
});

test('other engine errors are not mistaken for a missing algorithm', async () => {
  const subtle = subtleWith({
    importKey: async () => {
      throw new DOMException('bad key', 'DataError');
    },
  });
  const web = new WebCryptoProvider({ subtle });
  const v = RFC8032_ED25519[1]!;
  await assert.rejects(web.ed25519Sign(fromHex(v.secretKey), fromHex(v.message)), { code: 'CRYPTO_FAILURE' });
  assert.equal(await web.ed25519Verify(fromHex(v.publicKey), fromHex(v.message), fromHex(v.signature)), false);
  await assert.rejects(web.x25519(fromHex(RFC7748_DH.alicePrivate), fromHex(RFC7748_DH.bobPublic)), { code: 'CRYPTO_FAILURE' });
  assert.deepEqual(web.engineCurves, { Ed25519: true, X25519: true });
});
