/**
 * The three CryptoProviders side by side. Each `noble` and `web` figure is printed against
 * `native` measured in the same run; each `native` figure against the bare `node:crypto`
 * call it wraps (the ceiling), so the ratio on a native row is the provider's own overhead.
 * `web` runs over Node's WebCrypto here (OpenSSL underneath); in Chromium it runs over
 * BoringSSL, and the ratios to native are what carry over.
 *
 *   npm run bench -- crypto
 */
import * as nodeCrypto from 'node:crypto';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { NativeCrypto } from '../shared/crypto/nativeCrypto.js';
import { NobleCrypto } from '../shared/crypto/nobleCrypto.js';
import { WebCryptoProvider } from '../shared/crypto/webCrypto.js';
import { measureEach, megabytesPerSecond, pairedRatio, report, type MeasureOptions, type Measurement, type ReportRow } from './harness.js';

const OPTIONS: MeasureOptions = { minTimeMs: 100, windows: 5, warmupMs: 60 };
const IN_FLIGHT = 64;

function bytes(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/** `IN_FLIGHT` calls started together, awaited together. */
function inFlight(start: () => Promise<unknown>): () => Promise<unknown> {
  return () => Promise.all(Array.from({ length: IN_FLIGHT }, start));
}

/** node:crypto's callback forms as promises (threadpool). */
function rawVerifyAsync(message: Uint8Array, key: nodeCrypto.KeyObject, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve, reject) => nodeCrypto.verify(null, message, key, signature, (err, ok) => (err ? reject(err) : resolve(ok))));
}
function rawSignAsync(message: Uint8Array, key: nodeCrypto.KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => nodeCrypto.sign(null, message, key, (err, sig) => (err ? reject(err) : resolve(sig))));
}
function rawChachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array): Buffer {
  const cipher = nodeCrypto.createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  const body = cipher.update(plaintext);
  cipher.final();
  cipher.getAuthTag();
  return body;
}

interface Case {
  readonly name: string;
  /** `wall` for the in-flight cases (their point is using the threadpool's second core); CPU time otherwise. */
  readonly clock?: 'wall' | 'cpu';
  /** Bytes per operation, for MB/s; absent for ops/s. */
  readonly bytes?: number;
  readonly opsPerCall?: number;
  /** The bare node:crypto ceiling for the native row. */
  readonly ceiling: { readonly name: string; readonly fn: () => unknown };
  readonly run: (c: CryptoProvider) => () => unknown;
}

async function main(): Promise<void> {
  const providers: CryptoProvider[] = [new NativeCrypto(), new NobleCrypto(), new WebCryptoProvider({ subtle: globalThis.crypto.subtle })];
  const native = providers[0]!;

  const seed = bytes(32, 7);
  const msg300 = bytes(300, 1);
  const edPublic = await native.ed25519PublicKey(seed);
  const signature = await native.ed25519Sign(seed, msg300);
  const edPriv = nodeCrypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(seed).toString('base64url'), x: Buffer.from(edPublic).toString('base64url') }, format: 'jwk' });
  const edPub = nodeCrypto.createPublicKey(edPriv);

  const xSecret = bytes(32, 9);
  const xPeer = await native.x25519PublicKey(bytes(32, 11));
  const xPriv = nodeCrypto.createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: Buffer.from(xSecret).toString('base64url'), x: Buffer.from(await native.x25519PublicKey(xSecret)).toString('base64url') }, format: 'jwk' });
  const xPub = nodeCrypto.createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(xPeer).toString('base64url') }, format: 'jwk' });

  const small = bytes(300, 2);
  const mega = bytes(1_000_000, 3);
  const frame = bytes(65_536, 4);
  const key = bytes(32, 5);
  const nonce12 = bytes(12, 6);
  const nonce24 = bytes(24, 6);
  const sealed = native.chacha20poly1305Seal(key, nonce12, frame);
  const xsealed = native.xchacha20poly1305Seal(key, nonce24, frame);

  const cases: Case[] = [
    {
      name: 'ed25519 sign 300 B, sequential',
      ceiling: { name: 'node:crypto sign', fn: () => nodeCrypto.sign(null, msg300, edPriv) },
      run: (c) => () => c.ed25519Sign(seed, msg300),
    },
    {
      name: `ed25519 sign 300 B, ${IN_FLIGHT} in flight`,
      opsPerCall: IN_FLIGHT,
      clock: 'wall',
      ceiling: { name: 'node:crypto sign, threadpool', fn: inFlight(() => rawSignAsync(msg300, edPriv)) },
      run: (c) => inFlight(() => c.ed25519Sign(seed, msg300)),
    },
    {
      name: 'ed25519 verify 300 B, sequential',
      ceiling: { name: 'node:crypto verify, sync', fn: () => nodeCrypto.verify(null, msg300, edPub, signature) },
      run: (c) => () => c.ed25519Verify(edPublic, msg300, signature),
    },
    {
      name: `ed25519 verify 300 B, ${IN_FLIGHT} in flight`,
      opsPerCall: IN_FLIGHT,
      clock: 'wall',
      ceiling: { name: 'node:crypto verify, threadpool', fn: inFlight(() => rawVerifyAsync(msg300, edPub, signature)) },
      run: (c) => inFlight(() => c.ed25519Verify(edPublic, msg300, signature)),
    },
    {
      name: 'x25519 shared secret (known keys)',
      ceiling: { name: 'node:crypto diffieHellman', fn: () => nodeCrypto.diffieHellman({ privateKey: xPriv, publicKey: xPub }) },
      run: (c) => () => c.x25519(xSecret, xPeer),
    },
    {
      name: 'x25519 new key pair + 2 agreements',
      ceiling: {
        name: 'node:crypto generate + 2 DH',
        fn: () => {
          const { privateKey } = nodeCrypto.generateKeyPairSync('x25519');
          nodeCrypto.diffieHellman({ privateKey, publicKey: xPub });
          return nodeCrypto.diffieHellman({ privateKey, publicKey: xPub });
        },
      },
      run: (c) => async () => {
        const eph = await c.x25519Generate();
        await c.x25519(eph.secretKey, xPeer);
        return c.x25519(eph.secretKey, xPeer);
      },
    },
    {
      name: 'sha256 300 B',
      bytes: small.length,
      ceiling: { name: 'node:crypto createHash', fn: () => nodeCrypto.createHash('sha256').update(small).digest() },
      run: (c) => () => c.sha256(small),
    },
    {
      name: 'sha256 1 MB',
      bytes: mega.length,
      ceiling: { name: 'node:crypto createHash', fn: () => nodeCrypto.createHash('sha256').update(mega).digest() },
      run: (c) => () => c.sha256(mega),
    },
    {
      name: 'chacha20-poly1305 seal 64 KiB',
      bytes: frame.length,
      ceiling: { name: 'node:crypto cipher, no copy', fn: () => rawChachaSeal(key, nonce12, frame) },
      run: (c) => () => c.chacha20poly1305Seal(key, nonce12, frame),
    },
    {
      name: 'chacha20-poly1305 open 64 KiB',
      bytes: frame.length,
      ceiling: { name: 'node:crypto cipher, no copy', fn: () => rawChachaSeal(key, nonce12, frame) },
      run: (c) => () => c.chacha20poly1305Open(key, nonce12, sealed),
    },
    {
      name: 'xchacha20-poly1305 seal 64 KiB',
      bytes: frame.length,
      ceiling: { name: 'node:crypto chacha20, no copy', fn: () => rawChachaSeal(key, nonce12, frame) },
      run: (c) => () => c.xchacha20poly1305Seal(key, nonce24, frame),
    },
    {
      name: 'xchacha20-poly1305 open 64 KiB',
      bytes: frame.length,
      ceiling: { name: 'node:crypto chacha20, no copy', fn: () => rawChachaSeal(key, nonce12, frame) },
      run: (c) => () => c.xchacha20poly1305Open(key, nonce24, xsealed),
    },
  ];

  const filter = process.argv[2];
  console.log(
    `crypto providers: median of ${OPTIONS.windows} interleaved windows of ${OPTIONS.minTimeMs} ms; ` +
      'native rows against bare node:crypto, noble and web against native; ratios paired window by window.\n' +
      '"/cpu-s" figures count this process\'s CPU time (other load on the machine excluded); "/s" figures are wall-clock throughput.',
  );
  const rows: ReportRow[] = [];
  for (const bench of cases) {
    if (filter && !bench.name.includes(filter)) continue;
    process.stderr.write(`  measuring ${bench.name}…\n`);
    const opsPerCall = bench.opsPerCall ?? 1;
    const clock = bench.clock ?? 'cpu';
    const [ceiling, ...measured] = await measureEach(
      [{ name: bench.ceiling.name, fn: bench.ceiling.fn, opsPerCall }, ...providers.map((c) => ({ name: c.name, fn: bench.run(c), opsPerCall }))],
      { ...OPTIONS, clock },
    );
    const unit = `${bench.bytes === undefined ? 'ops' : 'MB'}/${clock === 'cpu' ? 'cpu-s' : 's'}`;
    const value = (m: Measurement): number => (bench.bytes === undefined ? m.opsPerSecond : megabytesPerSecond(m, bench.bytes));
    const nativeM = measured[0]!;
    measured.forEach((m, i) => {
      const base = i === 0 ? ceiling! : nativeM;
      rows.push({
        name: `${bench.name}  ${providers[i]!.name}`,
        value: value(m),
        unit,
        baseline: { name: i === 0 ? bench.ceiling.name : 'native', value: value(base) },
        ratio: pairedRatio(m, base),
      });
    });
  }
  report(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
