/**
 * The one conformance suite for `CryptoProvider` (DESIGN §1: "every provider is tested
 * against the same vectors and against each other"). A new provider is tested with
 *
 *   runCryptoProviderTests('my provider', () => new MyProvider());
 *
 * and `runCrossProviderTests({ a: () => …, b: () => … })` checks that providers agree
 * byte for byte on random inputs. Published vectors live in test/support/vectors/.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CryptoProvider, ScryptParams } from '../../../shared/crypto/CryptoProvider.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../../shared/bytes.js';
import { HKDF_SHA256_MAX_LENGTH } from '../../../shared/crypto/providerRules.js';
import { MAX_RANDOM_BYTES, SCRYPT_MAX_DKLEN, SCRYPT_MAX_P } from '../../../shared/limits.js';
import { hostileValues, isCoded } from '../../support/hostile.js';
import { RFC8032_ED25519 } from '../../support/vectors/rfc8032.js';
import { RFC7748_DH, RFC7748_ITERATED, RFC7748_X25519, X25519_LOW_ORDER } from '../../support/vectors/rfc7748.js';
import { RFC8439_AEAD, XCHACHA_AEAD, type AeadVector } from '../../support/vectors/aead.js';
import { RFC4231_HMAC_SHA256, RFC5869_HKDF_SHA256, RFC7914_SCRYPT, SHA256_VECTORS } from '../../support/vectors/hashes.js';
import { ed25519EdgeCases } from '../../support/vectors/ed25519Edges.js';

export type ProviderFactory = () => CryptoProvider | Promise<CryptoProvider>;

/** Small scrypt parameters for tests that are not about cost. */
const SMALL_SCRYPT: ScryptParams = { N: 16, r: 1, p: 1, dkLen: 32 };

/** A deterministic byte generator for test inputs (xorshift32; not for secrets). */
export function testBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Asserts that `fn()` throws a KithError with `code` synchronously. */
function assertThrowsCode(fn: () => unknown, code: string, label: string): void {
  assert.throws(fn, (err: unknown) => isCoded(err) && (err as { code: string }).code === code, label);
}

/** Asserts that `fn()` returns a promise (never throws synchronously) that rejects with `code`. */
async function assertRejectsCode(fn: () => unknown, code: string, label: string): Promise<void> {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    assert.fail(`${label}: threw synchronously (${String(err)}) instead of rejecting`);
  }
  assert.ok(result instanceof Promise, `${label}: expected a promise`);
  await assert.rejects(result, (err: unknown) => isCoded(err) && (err as { code: string }).code === code, label);
}

/** The per-provider suite. */
export function runCryptoProviderTests(name: string, factory: ProviderFactory): void {
  describe(`CryptoProvider conformance: ${name}`, () => {
    let c: CryptoProvider;
    before(async () => {
      c = await factory();
    });

    it('has a name', () => {
      assert.equal(typeof c.name, 'string');
      assert.ok(c.name.length > 0);
    });

    describe('randomBytes', () => {
      it('returns the requested number of bytes, different each time', () => {
        for (const n of [0, 1, 16, 32, 1000, MAX_RANDOM_BYTES]) assert.equal(c.randomBytes(n).length, n);
        const a = c.randomBytes(32);
        const b = c.randomBytes(32);
        assert.notDeepEqual(a, b);
        // 64 KiB of output covers every byte value (probability of a miss ≈ 256·e^-256).
        assert.equal(new Set(c.randomBytes(MAX_RANDOM_BYTES)).size, 256);
      });

      it('refuses lengths outside [0, MAX_RANDOM_BYTES]', () => {
        for (const bad of [-1, MAX_RANDOM_BYTES + 1, 1.5, NaN, Infinity, 2 ** 53]) {
          assertThrowsCode(() => c.randomBytes(bad), 'INVALID_INPUT', `randomBytes(${bad})`);
        }
      });
    });

    describe('SHA-256, HMAC, HKDF', () => {
      it('SHA-256: FIPS 180-2 examples', () => {
        for (const v of SHA256_VECTORS) assert.equal(toHex(c.sha256(utf8(v.input))), v.digest, JSON.stringify(v.input));
      });

      it('SHA-256: a view into a larger buffer hashes only its bytes', () => {
        const big = utf8('xxabcxx');
        assert.equal(toHex(c.sha256(big.subarray(2, 5))), SHA256_VECTORS[1]!.digest);
      });

      it('HMAC-SHA256: RFC 4231 cases 1–4, 6, 7', () => {
        for (const v of RFC4231_HMAC_SHA256) assert.equal(toHex(c.hmacSha256(fromHex(v.key), fromHex(v.data))), v.mac, v.name);
      });

      it('HKDF-SHA256: RFC 5869 cases 1–3', () => {
        for (const v of RFC5869_HKDF_SHA256) {
          assert.equal(toHex(c.hkdfSha256(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length)), v.okm, v.name);
        }
      });

      it('HKDF-SHA256: output is a prefix of the longest output; info of any length', () => {
        const ikm = testBytes(32, 1);
        const long = c.hkdfSha256(ikm, new Uint8Array(0), utf8('info'), HKDF_SHA256_MAX_LENGTH);
        assert.equal(long.length, HKDF_SHA256_MAX_LENGTH);
        for (const n of [1, 31, 32, 33, 100]) assert.deepEqual(c.hkdfSha256(ikm, new Uint8Array(0), utf8('info'), n), long.subarray(0, n));
        // Node's hkdfSync caps info at 1024 bytes; the provider must not.
        const info = testBytes(5000, 2);
        assert.equal(c.hkdfSha256(ikm, utf8('salt'), info, 64).length, 64);
      });

      it('HKDF-SHA256: refuses lengths outside [1, 8160]', () => {
        for (const bad of [0, -1, HKDF_SHA256_MAX_LENGTH + 1, 1.5, NaN]) {
          assertThrowsCode(() => c.hkdfSha256(new Uint8Array(1), new Uint8Array(0), new Uint8Array(0), bad), 'INVALID_INPUT', `length ${bad}`);
        }
      });
    });

    describe('Ed25519', () => {
      it('RFC 8032 §7.1: public keys, signatures and verification', async () => {
        for (const v of RFC8032_ED25519) {
          const sk = fromHex(v.secretKey);
          const msg = fromHex(v.message);
          assert.equal(toHex(await c.ed25519PublicKey(sk)), v.publicKey, v.name);
          assert.equal(toHex(await c.ed25519Sign(sk, msg)), v.signature, v.name);
          assert.equal(await c.ed25519Verify(fromHex(v.publicKey), msg, fromHex(v.signature)), true, v.name);
          const other = msg.length ? msg.slice() : Uint8Array.of(0);
          other[0]! ^= 1;
          assert.equal(await c.ed25519Verify(fromHex(v.publicKey), other, fromHex(v.signature)), false, `${v.name}, altered message`);
        }
      });

      it('generates working key pairs', async () => {
        const a = await c.ed25519Generate();
        const b = await c.ed25519Generate();
        assert.equal(a.publicKey.length, 32);
        assert.equal(a.secretKey.length, 32);
        assert.notDeepEqual(a.secretKey, b.secretKey);
        assert.deepEqual(await c.ed25519PublicKey(a.secretKey), a.publicKey);
        const msg = utf8('hello');
        const sig = await c.ed25519Sign(a.secretKey, msg);
        assert.equal(await c.ed25519Verify(a.publicKey, msg, sig), true);
        assert.equal(await c.ed25519Verify(b.publicKey, msg, sig), false);
      });

      it('signs deterministically and does not alter its inputs', async () => {
        const sk = testBytes(32, 3);
        const msg = testBytes(300, 4);
        const [skCopy, msgCopy] = [sk.slice(), msg.slice()];
        const s1 = await c.ed25519Sign(sk, msg);
        const s2 = await c.ed25519Sign(sk, msg);
        assert.deepEqual(s1, s2);
        assert.deepEqual(sk, skCopy);
        assert.deepEqual(msg, msgCopy);
        const pk = await c.ed25519PublicKey(sk);
        const sigCopy = s1.slice();
        assert.equal(await c.ed25519Verify(pk, msg, s1), true);
        assert.deepEqual(s1, sigCopy);
      });

      it('a secret-key array rewritten in place signs with its new contents (no stale cache)', async () => {
        const sk = testBytes(32, 5);
        const msg = utf8('rewritten');
        const first = await c.ed25519Sign(sk, msg);
        sk.set(testBytes(32, 6));
        const pk = await c.ed25519PublicKey(sk);
        const second = await c.ed25519Sign(sk, msg);
        assert.notDeepEqual(first, second);
        assert.equal(await c.ed25519Verify(pk, msg, second), true);
        assert.deepEqual(pk, await c.ed25519PublicKey(testBytes(32, 6)));
      });

      it('every single-bit change of the signature is refused', async () => {
        const v = RFC8032_ED25519[1]!;
        const pk = fromHex(v.publicKey);
        const msg = fromHex(v.message);
        const sig = fromHex(v.signature);
        for (let bit = 0; bit < 512; bit++) {
          const bad = sig.slice();
          bad[bit >> 3]! ^= 1 << (bit & 7);
          assert.equal(await c.ed25519Verify(pk, msg, bad), false, `bit ${bit}`);
        }
      });

      it('malformed keys and signatures resolve false, never throw', async () => {
        const v = RFC8032_ED25519[0]!;
        const pk = fromHex(v.publicKey);
        const sig = fromHex(v.signature);
        const msg = fromHex(v.message);
        for (const n of [0, 1, 31, 33, 64]) assert.equal(await c.ed25519Verify(new Uint8Array(n), msg, sig), false, `key length ${n}`);
        for (const n of [0, 1, 32, 63, 65, 128]) {
          const other = new Uint8Array(n);
          other.set(sig.subarray(0, Math.min(n, 64)));
          assert.equal(await c.ed25519Verify(pk, msg, other), false, `signature length ${n}`);
        }
        assert.equal(await c.ed25519Verify(pk, msg, concatBytes(sig, new Uint8Array(1))), false);
      });

      it("Kith's verification rule on edge cases (S < L, canonical non-small-order A, cofactorless)", async () => {
        for (const e of ed25519EdgeCases()) {
          assert.equal(await c.ed25519Verify(e.publicKey, e.message, e.signature), e.expected, e.name);
        }
      });

      it('refuses wrong secret keys and messages with INVALID_INPUT', async () => {
        for (const n of [0, 31, 33, 64]) {
          await assertRejectsCode(() => c.ed25519Sign(new Uint8Array(n), new Uint8Array(1)), 'INVALID_INPUT', `sign, key length ${n}`);
          await assertRejectsCode(() => c.ed25519PublicKey(new Uint8Array(n)), 'INVALID_INPUT', `publicKey, key length ${n}`);
        }
      });
    });

    describe('X25519', () => {
      it('RFC 7748 §5.2 vectors (the top bit of u is ignored)', async () => {
        for (const v of RFC7748_X25519) assert.equal(toHex(await c.x25519(fromHex(v.scalar), fromHex(v.u))), v.output);
      });

      it('RFC 7748 §5.2 iterated, 1 and 1,000 times', async () => {
        let k: Uint8Array = fromHex(RFC7748_ITERATED.start);
        let u: Uint8Array = k.slice();
        for (let i = 1; i <= 1000; i++) {
          const next = await c.x25519(k, u);
          u = k;
          k = next;
          if (i === 1) assert.equal(toHex(k), RFC7748_ITERATED.after1);
        }
        assert.equal(toHex(k), RFC7748_ITERATED.after1000);
      });

      it('RFC 7748 §6.1 Diffie-Hellman', async () => {
        const v = RFC7748_DH;
        assert.equal(toHex(await c.x25519PublicKey(fromHex(v.alicePrivate))), v.alicePublic);
        assert.equal(toHex(await c.x25519PublicKey(fromHex(v.bobPrivate))), v.bobPublic);
        assert.equal(toHex(await c.x25519(fromHex(v.alicePrivate), fromHex(v.bobPublic))), v.shared);
        assert.equal(toHex(await c.x25519(fromHex(v.bobPrivate), fromHex(v.alicePublic))), v.shared);
      });

      it('generated key pairs agree', async () => {
        const a = await c.x25519Generate();
        const b = await c.x25519Generate();
        assert.equal(a.publicKey.length, 32);
        assert.deepEqual(await c.x25519PublicKey(a.secretKey), a.publicKey);
        assert.deepEqual(await c.x25519(a.secretKey, b.publicKey), await c.x25519(b.secretKey, a.publicKey));
      });

      it('a low-order public key (all-zero result) is CRYPTO_FAILURE', async () => {
        const sk = testBytes(32, 7);
        for (const u of X25519_LOW_ORDER) await assertRejectsCode(() => c.x25519(sk, fromHex(u)), 'CRYPTO_FAILURE', u);
      });

      it('a secret-key array rewritten in place agrees with its new contents', async () => {
        const peer = await c.x25519Generate();
        const sk = testBytes(32, 8);
        const first = await c.x25519(sk, peer.publicKey);
        sk.set(testBytes(32, 9));
        assert.notDeepEqual(await c.x25519(sk, peer.publicKey), first);
        assert.deepEqual(await c.x25519(sk, peer.publicKey), await c.x25519(testBytes(32, 9), peer.publicKey));
      });

      it('refuses wrong key lengths with INVALID_INPUT', async () => {
        for (const n of [0, 31, 33]) {
          await assertRejectsCode(() => c.x25519(new Uint8Array(n), new Uint8Array(32).fill(9)), 'INVALID_INPUT', `secret ${n}`);
          await assertRejectsCode(() => c.x25519(testBytes(32, 1), new Uint8Array(n)), 'INVALID_INPUT', `public ${n}`);
          await assertRejectsCode(() => c.x25519PublicKey(new Uint8Array(n)), 'INVALID_INPUT', `publicKey ${n}`);
        }
      });
    });

    describe('AEAD', () => {
      const aeads = [
        { label: 'ChaCha20-Poly1305', vector: RFC8439_AEAD, nonceLength: 12, seal: 'chacha20poly1305Seal', open: 'chacha20poly1305Open' },
        { label: 'XChaCha20-Poly1305', vector: XCHACHA_AEAD, nonceLength: 24, seal: 'xchacha20poly1305Seal', open: 'xchacha20poly1305Open' },
      ] as const;
      type Seal = (k: Uint8Array, n: Uint8Array, p: Uint8Array, a?: Uint8Array) => Uint8Array;
      type Open = (k: Uint8Array, n: Uint8Array, ct: Uint8Array, a?: Uint8Array) => Uint8Array | null;
      const fns = (a: (typeof aeads)[number]): { seal: Seal; open: Open } => ({
        seal: (c[a.seal] as Seal).bind(c),
        open: (c[a.open] as Open).bind(c),
      });

      for (const a of aeads) {
        describe(a.label, () => {
          it(`${a.vector.name}`, () => {
            const v: AeadVector = a.vector;
            const { seal, open } = fns(a);
            const sealed = seal(fromHex(v.key), fromHex(v.nonce), utf8(v.plaintext), fromHex(v.aad));
            assert.equal(toHex(sealed), v.ciphertext + v.tag);
            assert.deepEqual(open(fromHex(v.key), fromHex(v.nonce), sealed, fromHex(v.aad)), utf8(v.plaintext));
          });

          it('round trips at every size class; missing aad = empty aad; inputs untouched', () => {
            const { seal, open } = fns(a);
            const key = testBytes(32, 10);
            const nonce = testBytes(a.nonceLength, 11);
            for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 1000, 65536 + 3]) {
              const pt = testBytes(n, 12 + n);
              const aad = testBytes(n % 40, 13);
              const [ptCopy, aadCopy, keyCopy, nonceCopy] = [pt.slice(), aad.slice(), key.slice(), nonce.slice()];
              const sealed = seal(key, nonce, pt, aad);
              assert.equal(sealed.length, n + 16);
              assert.deepEqual(open(key, nonce, sealed, aad), pt, `size ${n}`);
              assert.deepEqual([pt, aad, key, nonce], [ptCopy, aadCopy, keyCopy, nonceCopy], 'inputs untouched');
            }
            const pt = utf8('no aad');
            assert.deepEqual(seal(key, nonce, pt), seal(key, nonce, pt, new Uint8Array(0)));
            assert.deepEqual(open(key, nonce, seal(key, nonce, pt), new Uint8Array(0)), pt);
          });

          it('results never share memory with inputs: overwriting an input after the call changes nothing', () => {
            const { seal, open } = fns(a);
            for (const n of [0, 1, 100, 65519]) {
              const key = testBytes(32, 16);
              const nonce = testBytes(a.nonceLength, 17);
              const pt = testBytes(n, 18 + n);
              const expected = seal(key, nonce, pt.slice());
              const sealed = seal(key, nonce, pt);
              const opened = open(key, nonce, sealed.slice());
              for (const input of [key, nonce, pt]) input.fill(0xa5);
              assert.deepEqual(sealed, expected, `seal of ${n} bytes`);
              assert.deepEqual(opened, testBytes(n, 18 + n), `open of ${n} bytes`);
              const again = open(testBytes(32, 16), testBytes(a.nonceLength, 17), sealed);
              sealed.fill(0);
              assert.deepEqual(again, testBytes(n, 18 + n), 'the opened plaintext does not alias the ciphertext');
            }
          });

          it('any flipped bit of ciphertext, tag or aad → null', () => {
            const { seal, open } = fns(a);
            const key = testBytes(32, 14);
            const nonce = testBytes(a.nonceLength, 15);
            const pt = testBytes(40, 16);
            const aad = testBytes(12, 17);
            const sealed = seal(key, nonce, pt, aad);
            for (let bit = 0; bit < sealed.length * 8; bit++) {
              const bad = sealed.slice();
              bad[bit >> 3]! ^= 1 << (bit & 7);
              assert.equal(open(key, nonce, bad, aad), null, `ciphertext bit ${bit}`);
            }
            for (let bit = 0; bit < aad.length * 8; bit++) {
              const bad = aad.slice();
              bad[bit >> 3]! ^= 1 << (bit & 7);
              assert.equal(open(key, nonce, sealed, bad), null, `aad bit ${bit}`);
            }
            assert.equal(open(key, nonce, sealed), null, 'aad dropped');
            assert.equal(open(key, nonce, sealed.subarray(0, sealed.length - 1), aad), null, 'truncated');
            assert.equal(open(key, nonce, concatBytes(sealed, Uint8Array.of(0)), aad), null, 'extended');
            const otherKey = key.slice();
            otherKey[0]! ^= 1;
            assert.equal(open(otherKey, nonce, sealed, aad), null, 'other key');
            const otherNonce = nonce.slice();
            otherNonce[a.nonceLength - 1]! ^= 1;
            assert.equal(open(key, otherNonce, sealed, aad), null, 'other nonce');
            for (let n = 0; n < 16; n++) assert.equal(open(key, nonce, new Uint8Array(n), aad), null, `shorter than a tag (${n})`);
          });

          it('refuses wrong key and nonce lengths with INVALID_INPUT', () => {
            const { seal, open } = fns(a);
            for (const n of [0, 16, 31, 33]) {
              assertThrowsCode(() => seal(new Uint8Array(n), new Uint8Array(a.nonceLength), new Uint8Array(1)), 'INVALID_INPUT', `key ${n}`);
              assertThrowsCode(() => open(new Uint8Array(n), new Uint8Array(a.nonceLength), new Uint8Array(17)), 'INVALID_INPUT', `key ${n}`);
            }
            for (const n of [0, 8, 12, 24, 32].filter((n) => n !== a.nonceLength)) {
              assertThrowsCode(() => seal(new Uint8Array(32), new Uint8Array(n), new Uint8Array(1)), 'INVALID_INPUT', `nonce ${n}`);
              assertThrowsCode(() => open(new Uint8Array(32), new Uint8Array(n), new Uint8Array(17)), 'INVALID_INPUT', `nonce ${n}`);
            }
          });
        });
      }
    });

    describe('scrypt', () => {
      it('RFC 7914 §12 vectors (N = 16, 1024 and 16384)', async () => {
        for (const v of RFC7914_SCRYPT) {
          const out = await c.scrypt(utf8(v.password), utf8(v.salt), { N: v.N, r: v.r, p: v.p, dkLen: v.dkLen });
          assert.equal(toHex(out), v.output, `N=${v.N}`);
        }
      });

      it('refuses parameters outside the shared rules with INVALID_INPUT', async () => {
        const bad: Array<Partial<Record<keyof ScryptParams, unknown>>> = [
          { N: 0 },
          { N: 1 },
          { N: 3 },
          { N: 1000 },
          { N: 2 ** 31 },
          { N: 16.5 },
          { N: '16' },
          { N: 2 ** 16, r: 1 }, // RFC 7914: N < 2^(16·r)
          { r: 0 },
          { r: 1.5 },
          { r: -1 },
          { p: 0 },
          { p: SCRYPT_MAX_P + 1 },
          { dkLen: 0 },
          { dkLen: SCRYPT_MAX_DKLEN + 1 },
          { dkLen: NaN },
          { N: 2 ** 20, r: 8 }, // 1 GiB
        ];
        for (const change of bad) {
          const params = { ...SMALL_SCRYPT, ...change } as unknown as ScryptParams;
          await assertRejectsCode(() => c.scrypt(utf8('pw'), utf8('salt'), params), 'INVALID_INPUT', JSON.stringify(change));
        }
      });

      it('accepts the key-file parameters and the largest p', async () => {
        const out = await c.scrypt(utf8('pw'), utf8('salt'), { N: 16, r: 1, p: SCRYPT_MAX_P, dkLen: SCRYPT_MAX_DKLEN });
        assert.equal(out.length, SCRYPT_MAX_DKLEN);
      });

      it('reads each parameter once (a getter cannot change its answer after the check)', async () => {
        let reads = 0;
        const tricky = {
          get N() {
            reads++;
            return reads === 1 ? 16 : 2 ** 30;
          },
          r: 1,
          p: 1,
          dkLen: 16,
        };
        const out = await c.scrypt(utf8('pw'), utf8('salt'), tricky);
        assert.equal(out.length, 16);
        assert.equal(reads, 1);
        assert.deepEqual(out, await c.scrypt(utf8('pw'), utf8('salt'), { N: 16, r: 1, p: 1, dkLen: 16 }));
      });
    });

    describe('hostile values against every method', () => {
      // Built once: the list holds 8 MiB arrays and 100k-key objects (providers must not mutate their inputs).
      let hostile: ReturnType<typeof hostileValues> = [];
      before(() => {
        hostile = hostileValues();
      });
      for (const spec of methodSpecs()) {
        it(`${spec.method}`, async () => {
          // Where any length is valid, a multi-megabyte array only measures throughput (~100 ms in noble):
          // it goes through the first such argument of each method, not every one.
          let hugeAccepted = false;
          for (let position = 0; position < spec.args.length; position++) {
            for (const { name: valueName, value } of hostile) {
              if (value instanceof Uint8Array && value.length > 1024 * 1024 && accepts(spec.args[position]!, value)) {
                if (hugeAccepted) continue;
                hugeAccepted = true;
              }
              const args = spec.valid().slice();
              args[position] = value;
              const label = `${spec.method} argument ${position} = ${valueName}`;
              const accepted = accepts(spec.args[position]!, value);
              await checkCall(c, spec, args, accepted, label);
            }
          }
        });
      }
    });
  });
}

type ArgKind =
  | { readonly kind: 'bytes'; readonly length?: number }
  | { readonly kind: 'optionalBytes' }
  | { readonly kind: 'int'; readonly min: number; readonly max: number }
  | { readonly kind: 'scryptParams' };

interface MethodSpec {
  readonly method: keyof CryptoProvider;
  readonly async: boolean;
  readonly args: readonly ArgKind[];
  /** A fresh list of valid arguments. */
  readonly valid: () => unknown[];
  /** What a call must give when every argument is acceptable: checks its result. */
  readonly onAccepted: (result: unknown, args: unknown[]) => void;
  /** What a call gives for an unacceptable argument: a coded error, or this value. */
  readonly onRefused: 'INVALID_INPUT' | false;
}

function accepts(kind: ArgKind, value: unknown): boolean {
  switch (kind.kind) {
    case 'bytes':
      return value instanceof Uint8Array && (kind.length === undefined || value.length === kind.length);
    case 'optionalBytes':
      return value === undefined || value instanceof Uint8Array;
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) && value >= kind.min && value <= kind.max;
    case 'scryptParams':
      return false;
  }
}

const isBytesOf = (length: number | ((args: unknown[]) => number)) => (result: unknown, args: unknown[]) => {
  assert.ok(result instanceof Uint8Array, 'expected a Uint8Array');
  // `+ 0` turns a hostile -0 length into 0 (strict equality tells them apart).
  assert.equal(result.length, (typeof length === 'number' ? length : length(args)) + 0);
};

/** Every CryptoProvider method with its argument kinds and a valid call. */
function methodSpecs(): MethodSpec[] {
  const bytes = (length?: number): ArgKind => (length === undefined ? { kind: 'bytes' } : { kind: 'bytes', length });
  const key = testBytes(32, 21);
  const aad = testBytes(3, 22);
  const aeads = (['chacha20poly1305', 'xchacha20poly1305'] as const).flatMap((alg): MethodSpec[] => {
    const nonceLength = alg === 'chacha20poly1305' ? 12 : 24;
    const nonce = testBytes(nonceLength, 23);
    return [
      {
        method: `${alg}Seal`,
        async: false,
        args: [bytes(32), bytes(nonceLength), bytes(), { kind: 'optionalBytes' }],
        valid: () => [key, nonce, testBytes(20, 24), aad],
        onAccepted: isBytesOf((args) => (args[2] as Uint8Array).length + 16),
        onRefused: 'INVALID_INPUT',
      },
      {
        method: `${alg}Open`,
        async: false,
        args: [bytes(32), bytes(nonceLength), bytes(), { kind: 'optionalBytes' }],
        // Sealed with a non-empty aad, so that any substituted ciphertext or aad fails to authenticate.
        valid: () => [key, nonce, new Uint8Array(36), aad],
        onAccepted: (result) => assert.equal(result, null, 'a substituted ciphertext or aad must not authenticate'),
        onRefused: 'INVALID_INPUT',
      },
    ];
  });
  return [
    { method: 'randomBytes', async: false, args: [{ kind: 'int', min: 0, max: MAX_RANDOM_BYTES }], valid: () => [16], onAccepted: isBytesOf((a) => a[0] as number), onRefused: 'INVALID_INPUT' },
    { method: 'sha256', async: false, args: [bytes()], valid: () => [utf8('abc')], onAccepted: isBytesOf(32), onRefused: 'INVALID_INPUT' },
    { method: 'hmacSha256', async: false, args: [bytes(), bytes()], valid: () => [key, utf8('abc')], onAccepted: isBytesOf(32), onRefused: 'INVALID_INPUT' },
    {
      method: 'hkdfSha256',
      async: false,
      args: [bytes(), bytes(), bytes(), { kind: 'int', min: 1, max: HKDF_SHA256_MAX_LENGTH }],
      valid: () => [key, utf8('salt'), utf8('info'), 42],
      onAccepted: isBytesOf((a) => a[3] as number),
      onRefused: 'INVALID_INPUT',
    },
    { method: 'ed25519PublicKey', async: true, args: [bytes(32)], valid: () => [key], onAccepted: isBytesOf(32), onRefused: 'INVALID_INPUT' },
    { method: 'ed25519Sign', async: true, args: [bytes(32), bytes()], valid: () => [key, utf8('m')], onAccepted: isBytesOf(64), onRefused: 'INVALID_INPUT' },
    {
      method: 'ed25519Verify',
      async: true,
      args: [bytes(32), bytes(), bytes(64)],
      // TEST 2: its message is not empty, so that substituting an empty array still breaks the signature.
      valid: () => [fromHex(RFC8032_ED25519[1]!.publicKey), fromHex(RFC8032_ED25519[1]!.message), fromHex(RFC8032_ED25519[1]!.signature)],
      onAccepted: (result) => assert.equal(result, false),
      onRefused: false,
    },
    { method: 'x25519PublicKey', async: true, args: [bytes(32)], valid: () => [key], onAccepted: isBytesOf(32), onRefused: 'INVALID_INPUT' },
    {
      method: 'x25519',
      async: true,
      args: [bytes(32), bytes(32)],
      valid: () => [key, fromHex(RFC7748_DH.bobPublic)],
      onAccepted: isBytesOf(32),
      onRefused: 'INVALID_INPUT',
    },
    ...aeads,
    {
      method: 'scrypt',
      async: true,
      args: [bytes(), bytes(), { kind: 'scryptParams' }],
      valid: () => [utf8('pw'), utf8('salt'), SMALL_SCRYPT],
      onAccepted: isBytesOf(32),
      onRefused: 'INVALID_INPUT',
    },
  ];
}

/** Calls one method with hostile arguments and checks the outcome: a coded error or a refusal value, never a crash. */
async function checkCall(c: CryptoProvider, spec: MethodSpec, args: unknown[], accepted: boolean, label: string): Promise<void> {
  const fn = (c[spec.method] as (...a: unknown[]) => unknown).bind(c);
  let result: unknown;
  try {
    result = fn(...args);
  } catch (err) {
    if (spec.async) assert.fail(`${label}: an async method threw synchronously: ${String(err)}`);
    assert.ok(!accepted, `${label}: a valid call threw ${String(err)}`);
    assert.ok(isCoded(err), `${label}: threw an uncoded ${String(err)}`);
    assert.equal((err as { code: string }).code, spec.onRefused, label);
    return;
  }
  if (spec.async) {
    assert.ok(result instanceof Promise, `${label}: expected a promise`);
    try {
      result = await result;
    } catch (err) {
      assert.ok(!accepted, `${label}: a valid call rejected with ${String(err)}`);
      assert.ok(isCoded(err), `${label}: rejected with an uncoded ${String(err)}`);
      assert.equal((err as { code: string }).code, spec.onRefused, label);
      return;
    }
  }
  if (accepted) {
    try {
      spec.onAccepted(result, args);
    } catch (err) {
      assert.fail(`${label}: ${(err as Error).message}`);
    }
  } else {
    assert.equal(spec.onRefused, false, `${label}: accepted an invalid argument (returned ${String(result)})`);
    assert.equal(result, false, label);
  }
}

/** Checks that providers agree byte for byte on random inputs and accept each other's output. */
export function runCrossProviderTests(factories: Record<string, ProviderFactory>): void {
  describe(`CryptoProviders agree: ${Object.keys(factories).join(', ')}`, () => {
    let providers: CryptoProvider[] = [];
    before(async () => {
      providers = await Promise.all(Object.values(factories).map((f) => f()));
    });
    const same = async <T>(label: string, run: (c: CryptoProvider) => T | Promise<T>): Promise<T> => {
      const results = [];
      for (const c of providers) results.push(await run(c));
      for (let i = 1; i < results.length; i++) assert.deepEqual(results[i], results[0], `${label}: ${providers[i]!.name} vs ${providers[0]!.name}`);
      return results[0]!;
    };

    it('SHA-256, HMAC and HKDF on random inputs', async () => {
      for (let i = 0; i < 20; i++) {
        const data = testBytes(i * 97, 100 + i);
        const key = testBytes(i * 11, 200 + i);
        await same(`sha256 #${i}`, (c) => c.sha256(data));
        await same(`hmac #${i}`, (c) => c.hmacSha256(key, data));
        await same(`hkdf #${i}`, (c) => c.hkdfSha256(data, key, testBytes(i * 150, 300 + i), 1 + i * 50));
      }
    });

    it('Ed25519: identical keys and signatures; each verifies the others', async () => {
      for (let i = 0; i < 12; i++) {
        const sk = testBytes(32, 400 + i);
        const msg = testBytes(i * 83, 500 + i);
        const pk = await same(`public key #${i}`, (c) => c.ed25519PublicKey(sk));
        const sig = await same(`signature #${i}`, (c) => c.ed25519Sign(sk, msg));
        for (const c of providers) assert.equal(await c.ed25519Verify(pk, msg, sig), true, `${c.name} verifies #${i}`);
        const bad = sig.slice();
        bad[i % 64]! ^= 0x10;
        await same(`altered signature #${i}`, (c) => c.ed25519Verify(pk, msg, bad));
      }
      // Each provider's freshly generated keys and signatures are accepted by all.
      for (const signer of providers) {
        const kp = await signer.ed25519Generate();
        const msg = utf8(`from ${signer.name}`);
        const sig = await signer.ed25519Sign(kp.secretKey, msg);
        for (const c of providers) assert.equal(await c.ed25519Verify(kp.publicKey, msg, sig), true, `${c.name} verifies ${signer.name}`);
      }
    });

    it('Ed25519: the same verdict on signatures mutated at random', async () => {
      const sk = testBytes(32, 600);
      const pk = await providers[0]!.ed25519PublicKey(sk);
      const msg = utf8('mutations');
      const sig = await providers[0]!.ed25519Sign(sk, msg);
      for (let i = 0; i < 40; i++) {
        const noise = testBytes(3, 700 + i);
        const bad = sig.slice();
        bad[noise[0]! % 64] = noise[1]!;
        const badKey = i % 4 === 0 ? pk.map((b, j) => (j === noise[2]! % 32 ? b ^ 1 : b)) : pk;
        await same(`mutation #${i}`, (c) => c.ed25519Verify(badKey, msg, bad));
      }
    });

    it('X25519: identical public keys and shared secrets', async () => {
      for (let i = 0; i < 8; i++) {
        const a = testBytes(32, 800 + i);
        const b = testBytes(32, 900 + i);
        const pa = await same(`public a #${i}`, (c) => c.x25519PublicKey(a));
        const pb = await same(`public b #${i}`, (c) => c.x25519PublicKey(b));
        const s1 = await same(`shared ab #${i}`, (c) => c.x25519(a, pb));
        const s2 = await same(`shared ba #${i}`, (c) => c.x25519(b, pa));
        assert.deepEqual(s1, s2);
        // Random u-coordinates (not necessarily on the curve: the twist is allowed by RFC 7748).
        const u = testBytes(32, 1000 + i);
        await same(`random u #${i}`, async (c) => c.x25519(a, u).catch((err: { code?: string }) => err.code));
      }
    });

    it('AEADs: identical ciphertexts; each opens the others', async () => {
      for (let i = 0; i < 10; i++) {
        const key = testBytes(32, 1100 + i);
        const pt = testBytes(i === 9 ? 70_000 : i * 37, 1200 + i);
        const aad = i % 3 === 0 ? undefined : testBytes(i * 5, 1300 + i);
        const n12 = testBytes(12, 1400 + i);
        const n24 = testBytes(24, 1500 + i);
        const ct = await same(`chacha #${i}`, (c) => c.chacha20poly1305Seal(key, n12, pt, aad));
        const xct = await same(`xchacha #${i}`, (c) => c.xchacha20poly1305Seal(key, n24, pt, aad));
        for (const c of providers) {
          assert.deepEqual(c.chacha20poly1305Open(key, n12, ct, aad), pt, `${c.name} opens chacha #${i}`);
          assert.deepEqual(c.xchacha20poly1305Open(key, n24, xct, aad), pt, `${c.name} opens xchacha #${i}`);
        }
      }
    });

    it('scrypt: identical output', async () => {
      await same('scrypt', (c) => c.scrypt(utf8('correct horse'), testBytes(16, 1600), { N: 1024, r: 8, p: 2, dkLen: 64 }));
    });
  });
}
