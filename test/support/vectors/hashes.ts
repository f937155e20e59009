/** SHA-256, HMAC-SHA256, HKDF-SHA256 and scrypt test vectors, hex-encoded unless noted. */

const range = (from: number, to: number): string => {
  let out = '';
  for (let b = from; b <= to; b++) out += b.toString(16).padStart(2, '0');
  return out;
};
const repeat = (byte: string, count: number): string => byte.repeat(count);
const text = (s: string): string => Array.from(new TextEncoder().encode(s), (b) => b.toString(16).padStart(2, '0')).join('');

/** FIPS 180-2 examples: SHA-256 of "" and "abc" (UTF-8). */
export const SHA256_VECTORS: ReadonlyArray<{ readonly input: string; readonly digest: string }> = [
  { input: '', digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' },
  { input: 'abc', digest: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
];

/** RFC 4231 test cases 1–4, 6 and 7 (case 5 truncates the output, which our API does not). */
export const RFC4231_HMAC_SHA256: ReadonlyArray<{ readonly name: string; readonly key: string; readonly data: string; readonly mac: string }> = [
  { name: 'case 1', key: repeat('0b', 20), data: text('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { name: 'case 2', key: text('Jefe'), data: text('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  { name: 'case 3', key: repeat('aa', 20), data: repeat('dd', 50), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
  { name: 'case 4', key: range(0x01, 0x19), data: repeat('cd', 50), mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b' },
  {
    name: 'case 6',
    key: repeat('aa', 131),
    data: text('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    name: 'case 7',
    key: repeat('aa', 131),
    data: text(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

/** RFC 5869 Appendix A, test cases 1–3 (SHA-256). */
export const RFC5869_HKDF_SHA256: ReadonlyArray<{ readonly name: string; readonly ikm: string; readonly salt: string; readonly info: string; readonly length: number; readonly okm: string }> = [
  {
    name: 'case 1',
    ikm: repeat('0b', 22),
    salt: range(0x00, 0x0c),
    info: range(0xf0, 0xf9),
    length: 42,
    okm: '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865',
  },
  {
    name: 'case 2',
    ikm: range(0x00, 0x4f),
    salt: range(0x60, 0xaf),
    info: range(0xb0, 0xff),
    length: 82,
    okm: 'b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87',
  },
  {
    name: 'case 3 (empty salt and info)',
    ikm: repeat('0b', 22),
    salt: '',
    info: '',
    length: 42,
    okm: '8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8',
  },
];

/** RFC 7914 §12, the vectors with N ≤ 2^14 (password and salt are UTF-8 text). */
export const RFC7914_SCRYPT: ReadonlyArray<{ readonly password: string; readonly salt: string; readonly N: number; readonly r: number; readonly p: number; readonly dkLen: number; readonly output: string }> = [
  {
    password: '',
    salt: '',
    N: 16,
    r: 1,
    p: 1,
    dkLen: 64,
    output: '77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442fcd0069ded0948f8326a753a0fc81f17e8d3e0fb2e0d3628cf35e20c38d18906',
  },
  {
    password: 'password',
    salt: 'NaCl',
    N: 1024,
    r: 8,
    p: 16,
    dkLen: 64,
    output: 'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
  },
  {
    password: 'pleaseletmein',
    salt: 'SodiumChloride',
    N: 16384,
    r: 8,
    p: 1,
    dkLen: 64,
    output: '7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887',
  },
];
