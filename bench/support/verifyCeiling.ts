/**
 * The ceiling of receiving signed objects (notes/sync-and-ceilings.md: verification is the
 * bound): bare node:crypto Ed25519 verifications per second, 64 in flight through the
 * callback form (libuv's threadpool, so both cores), of a 32-byte digest (what a Kith
 * signature covers: the SHA-256 of the unsigned object), with a cached KeyObject.
 */
import * as nodeCrypto from 'node:crypto';
import { measure } from '../harness.js';

const IN_FLIGHT = 64;

function verifyAsync(message: Uint8Array, key: nodeCrypto.KeyObject, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve, reject) => nodeCrypto.verify(null, message, key, signature, (err, ok) => (err ? reject(err) : resolve(ok))));
}

/** CPU time (all of this process's threads) per verification, over 32 rounds of 64 in flight. */
const CPU_ROUNDS = 32;

/**
 * Verifications per second (wall clock), median of `windows` windows of `windowMs`, and the
 * CPU µs one verification costs (so a benchmark can say what its cores allow beside it).
 */
export async function verifyCeiling(options: { windowMs?: number; windows?: number } = {}): Promise<{ perSecond: number; samples: readonly number[]; cpuUsPerVerify: number }> {
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ed25519');
  const digest = nodeCrypto.randomBytes(32);
  const signature = nodeCrypto.sign(null, digest, privateKey);
  if (!nodeCrypto.verify(null, digest, publicKey, signature)) throw new Error('verifyCeiling: the signature does not verify');
  const batch = () => Promise.all(Array.from({ length: IN_FLIGHT }, () => verifyAsync(digest, publicKey, signature)));
  const m = await measure('ed25519 verify ×64 in flight', batch, {
    minTimeMs: options.windowMs ?? 250,
    windows: options.windows ?? 5,
    warmupMs: 100,
    opsPerCall: IN_FLIGHT,
  });
  const c0 = process.cpuUsage();
  for (let i = 0; i < CPU_ROUNDS; i++) await batch();
  const c = process.cpuUsage(c0);
  return { perSecond: m.opsPerSecond, samples: m.samples, cpuUsPerVerify: (c.user + c.system) / (CPU_ROUNDS * IN_FLIGHT) };
}
