/**
 * X25519 public keys of small order. Every X25519 scalar is clamped to a multiple of 8, so
 * a DH with any of these yields all zeros whatever the private key (RFC 7748 §6.1): the
 * result is public, and a handshake that mixed it in would authenticate nothing.
 *
 * The provider already refuses an all-zero DH result; checking the list as well lets a
 * handshake refuse such a key the moment it arrives, even when the pattern uses it in a
 * DH only in a later message (the XX responder's "e"), and refuse a bad pre-known key at
 * initialization rather than at the first DH.
 *
 * The u-coordinates of points of order 1, 2, 4 and 8 on the curve and its twist (0, 1,
 * p − 1 and the two order-8 points), their non-canonical forms p and p + 1, and each of
 * these with the top bit set (X25519 ignores bit 255). Little-endian hex.
 */
import { fromHex } from '../../shared/bytes.js';

const CANONICAL_AND_ALIASES = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p − 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (≡ 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (≡ 1)
];

/** Every encoding listed above, plus the same with bit 255 set: 14 public keys. */
export const X25519_LOW_ORDER_POINTS: readonly Uint8Array[] = CANONICAL_AND_ALIASES.flatMap((hex) => {
  const plain = fromHex(hex);
  const highBit = plain.slice();
  highBit[31] = highBit[31]! | 0x80;
  return [plain, highBit];
});

/** True when `publicKey` is one of the small-order encodings. Public data: no constant-time need. */
export function isLowOrderPoint(publicKey: Uint8Array): boolean {
  outer: for (const point of X25519_LOW_ORDER_POINTS) {
    if (point.length !== publicKey.length) continue;
    for (let i = 0; i < point.length; i++) if (point[i] !== publicKey[i]) continue outer;
    return true;
  }
  return false;
}
