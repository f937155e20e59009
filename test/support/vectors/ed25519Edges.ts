/**
 * Ed25519 verification edge cases, built here from their definitions with @noble/ed25519's
 * point arithmetic (so each case says how it was made, not just its bytes). The expected
 * verdicts follow Kith's rule (CryptoProvider.ed25519Verify): S < L, A canonical and not of
 * small order, cofactorless equation on R's encoding. `openssl` records what OpenSSL 3.0
 * alone answers, where that differs, so a test can show why the provider's precheck exists.
 */
import { Point } from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { RFC8032_ED25519 } from './rfc8032.js';

export interface Ed25519EdgeCase {
  readonly name: string;
  readonly publicKey: Uint8Array;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  /** Kith's verdict, the same in every provider. */
  readonly expected: boolean;
  /** OpenSSL's own verdict when it differs from `expected` (before the provider's precheck). */
  readonly openssl?: boolean;
}

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;

const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const le32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
};
const leNum = (bytes: Uint8Array): bigint => {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
};
const cat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};
const challenge = (R: Uint8Array, A: Uint8Array, M: Uint8Array): bigint => leNum(sha512(cat(R, A, M))) % L;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A point of order 8 (RFC 8032's torsion subgroup generator). */
const T8 = Point.fromBytes(hex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
/** The 8 points of small order, as [i]·T8. */
export const SMALL_ORDER_POINTS: readonly Uint8Array[] = Array.from({ length: 8 }, (_, i) => (i === 0 ? Point.ZERO : T8.multiply(BigInt(i), false)).toBytes());
/** Identity and (0, −1) encoded with the sign bit set (x = 0, so RFC 8032 refuses the encoding). */
const IDENTITY_SIGNED = hex('0100000000000000000000000000000000000000000000000000000000000080');
const MINUS_ONE_SIGNED = hex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff');
const IDENTITY = hex('0100000000000000000000000000000000000000000000000000000000000000');

/** A key pair given by its scalar directly (test-only; real keys come from seeds). */
function keyOf(seedByte: number): { s: bigint; A: Point } {
  const h = sha512(new Uint8Array(32).fill(seedByte));
  h[0] = h[0]! & 248;
  h[31] = (h[31]! & 127) | 64;
  const s = leNum(h.subarray(0, 32)) % L;
  return { s, A: Point.BASE.multiply(s) };
}

/** Signs M as if the public key bytes were `Abytes`, with nonce r and an optional extra point in R. */
function forge(s: bigint, Abytes: Uint8Array, M: Uint8Array, r: bigint, extraR?: Point): Uint8Array {
  let Rp = Point.BASE.multiply(r);
  if (extraR) Rp = Rp.add(extraR);
  const R = Rp.toBytes();
  const S = (r + challenge(R, Abytes, M) * s) % L;
  return cat(R, le32(S));
}

/** Every edge case; computed on call (a few ms), not on import. */
export function ed25519EdgeCases(): Ed25519EdgeCase[] {
  const cases: Ed25519EdgeCase[] = [];
  const t1 = RFC8032_ED25519[0]!;
  const pk1 = hex(t1.publicKey);
  const sig1 = hex(t1.signature);
  const m1 = hex(t1.message);
  const S1 = leNum(sig1.subarray(32));

  cases.push({ name: 'RFC 8032 TEST 1 (control)', publicKey: pk1, message: m1, signature: sig1, expected: true });
  cases.push({ name: 'S + L (non-canonical S)', publicKey: pk1, message: m1, signature: cat(sig1.subarray(0, 32), le32(S1 + L)), expected: false });
  cases.push({ name: 'S = L', publicKey: pk1, message: m1, signature: cat(sig1.subarray(0, 32), le32(L)), expected: false });
  const high = sig1.slice();
  high[63] = high[63]! | 0x80;
  cases.push({ name: 'S with bit 255 set', publicKey: pk1, message: m1, signature: high, expected: false });

  // Small-order public keys: R = identity, S = 0 verifies cofactorless whenever [k]A = identity.
  const zeroS = new Uint8Array(32);
  const smallKeys = [...SMALL_ORDER_POINTS, IDENTITY_SIGNED, MINUS_ONE_SIGNED];
  for (const [i, A] of smallKeys.entries()) {
    for (let j = 0; j < 8; j++) {
      const M = utf8(`small-order ${i}/${j}`);
      const k = challenge(IDENTITY, A, M);
      // Under OpenSSL this forgery passes exactly when [k]A is the identity: always for the identity, when 2 | k for
      // order 2, and so on. Our precheck refuses the key outright.
      const order = A === IDENTITY_SIGNED ? 1n : A === MINUS_ONE_SIGNED ? 2n : smallOrder(A);
      const opensslAccepts = k % order === 0n;
      cases.push({
        name: `small-order A #${i} with R = identity, S = 0 (message ${j})`,
        publicKey: A,
        message: M,
        signature: cat(IDENTITY, zeroS),
        expected: false,
        ...(opensslAccepts ? { openssl: true } : {}),
      });
    }
  }

  // Non-canonical encodings of small-order points: y = p (a point of order 4), y = p + 1 (the identity), both signs.
  for (const d of [0n, 1n]) {
    for (const sign of [0, 0x80]) {
      for (let j = 0; j < 4; j++) {
        const A = le32(P + d);
        A[31] = A[31]! | sign;
        const M = utf8(`non-canonical ${j}`);
        const opensslAccepts = challenge(IDENTITY, A, M) % (d === 0n ? 4n : 1n) === 0n;
        cases.push({
          name: `non-canonical A (y = p + ${d}, sign ${sign >> 7}) with R = identity, S = 0 (message ${j})`,
          publicKey: A,
          message: M,
          signature: cat(IDENTITY, zeroS),
          expected: false,
          ...(opensslAccepts ? { openssl: true } : {}),
        });
      }
    }
  }

  const { s, A } = keyOf(9);
  const Ab = A.toBytes();

  // Small-order R is fine when the cofactorless equation holds: S = k·s gives [S]B − [k]A = identity = R.
  {
    const M = utf8('identity R');
    const S = (challenge(IDENTITY, Ab, M) * s) % L;
    cases.push({ name: 'R = identity with S = k·s (equation holds)', publicKey: Ab, message: M, signature: cat(IDENTITY, le32(S)), expected: true });
    const Rnc = le32(P + 1n); // the identity, non-canonically
    const S2 = (challenge(Rnc, Ab, M) * s) % L;
    cases.push({ name: 'R = identity encoded non-canonically (y = p + 1)', publicKey: Ab, message: M, signature: cat(Rnc, le32(S2)), expected: false });
  }

  // R carrying a torsion component: cofactored verification (noble's own) would accept these.
  for (let i = 0; i < 4; i++) {
    const M = utf8(`torsion R ${i}`);
    cases.push({ name: `R = [r]B + T8 (message ${i})`, publicKey: Ab, message: M, signature: forge(s, Ab, M, 1000n + BigInt(i), T8), expected: false });
  }

  // Mixed-order A = [s]B + T8: cofactorless accepts exactly when 8 | k.
  {
    const Amixed = A.add(T8).toBytes();
    let accepted = 0;
    let refused = 0;
    for (let i = 0; accepted < 2 || refused < 2; i++) {
      if (i > 2000) throw new Error('ed25519EdgeCases: no k ≡ 0 (mod 8) found');
      const M = utf8(`mixed ${i}`);
      const r = 5000n + BigInt(i);
      const sig = forge(s, Amixed, M, r);
      const ok = challenge(sig.subarray(0, 32), Amixed, M) % 8n === 0n;
      if (ok ? accepted >= 2 : refused >= 2) continue;
      if (ok) accepted++;
      else refused++;
      cases.push({ name: `mixed-order A, k ${ok ? '≡' : '≢'} 0 mod 8 (message ${i})`, publicKey: Amixed, message: M, signature: sig, expected: ok });
    }
  }

  // Points that are not on the curve.
  const offCurve = hex('0200000000000000000000000000000000000000000000000000000000000000');
  cases.push({ name: 'A not on the curve', publicKey: offCurve, message: m1, signature: sig1, expected: false });
  cases.push({ name: 'R not on the curve', publicKey: pk1, message: m1, signature: cat(offCurve, sig1.subarray(32)), expected: false });
  // A non-canonical encoding of a point that is not of small order (y = p + 3 decodes as y = 3 in OpenSSL).
  for (const d of [3n, 4n]) {
    const Anc = le32(P + d);
    cases.push({ name: `non-canonical A (y = p + ${d})`, publicKey: Anc, message: m1, signature: cat(IDENTITY, zeroS), expected: false });
  }
  return cases;
}

/** Order of a small-order point (1, 2, 4 or 8). */
function smallOrder(bytes: Uint8Array): bigint {
  let p = Point.fromBytes(bytes, true);
  for (let n = 1n; n <= 8n; n *= 2n) {
    if (p.is0()) return n;
    p = p.double();
  }
  throw new Error('not a small-order point');
}
