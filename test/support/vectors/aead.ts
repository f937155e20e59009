/** ChaCha20-Poly1305 and XChaCha20-Poly1305 test vectors, hex-encoded. */

const SUNSCREEN = "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";

export interface AeadVector {
  readonly name: string;
  readonly key: string;
  readonly nonce: string;
  readonly aad: string;
  /** UTF-8 text. */
  readonly plaintext: string;
  readonly ciphertext: string;
  readonly tag: string;
}

/** RFC 8439 §2.8.2. */
export const RFC8439_AEAD: AeadVector = {
  name: 'RFC 8439 §2.8.2',
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  nonce: '070000004041424344454647',
  aad: '50515253c0c1c2c3c4c5c6c7',
  plaintext: SUNSCREEN,
  ciphertext:
    'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116',
  tag: '1ae10b594f09e26a7e902ecbd0600691',
};

/** draft-irtf-cfrg-xchacha-03 §A.3.1. */
export const XCHACHA_AEAD: AeadVector = {
  name: 'draft-irtf-cfrg-xchacha §A.3.1',
  key: '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f',
  nonce: '404142434445464748494a4b4c4d4e4f5051525354555657',
  aad: '50515253c0c1c2c3c4c5c6c7',
  plaintext: SUNSCREEN,
  ciphertext:
    'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e',
  tag: 'c0875924c1c7987947deafd8780acf49',
};
