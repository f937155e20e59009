/**
 * Secrets at rest (DESIGN §2): the key file that holds a person's and an instance's
 * secret keys. Isomorphic — it turns a key bundle into JSON text and back; reading and
 * writing the file is the host's job (cli/home.ts in Node).
 *
 * Protected files: scrypt(passphrase, salt) gives 64 bytes; the first half is the
 * XChaCha20-Poly1305 key, the second half keys a passphrase check (an HMAC over a fixed
 * label). The header (format, version, kdf parameters, salt, cipher, nonce) is the
 * AEAD's associated data, so no field can be swapped without the tag failing. The check
 * does not make guessing cheaper (the tag is already an offline test of a guess); it
 * lets us tell "wrong passphrase" from "damaged file", which a person needs to know.
 *
 * Plaintext files exist only when asked for explicitly and say so in `protection`.
 */
import { Equals, IsIn, Matches } from 'class-validator';
import type { CryptoProvider } from './crypto/CryptoProvider.js';
import type { InstanceSecrets, PersonSecrets } from './identity.js';
import { canonicalBytes, canonicalize, hasLoneSurrogate, parseJson } from './canonical.js';
import { validateSchema, KEY32_RE, Nested } from './schema.js';
import { KithError } from './errors.js';
import { constantTimeEqual, fromBase64url, toBase64url, utf8, wipe, describe } from './bytes.js';
import {
  KEYFILE_TEST_MIN_SCRYPT_N,
  MAX_KEYFILE_BYTES,
  MAX_PASSPHRASE_LENGTH,
  SCRYPT_N,
  SCRYPT_P,
  SCRYPT_R,
} from './limits.js';

/** The `format` every Kith key file carries, so a random JSON file is never mistaken for one. */
export const KEYFILE_FORMAT = 'kith-keys';
/** The layout described here; a reader refuses other versions instead of guessing. */
export const KEYFILE_VERSION = 1;

const KEY_BYTES = 32;
const SALT_BYTES = 32;
const NONCE_BYTES = 24;
const TAG_BYTES = 16;
/** person sign ‖ person encrypt ‖ instance sign ‖ instance static, 32 bytes each. */
const BUNDLE_BYTES = 4 * KEY_BYTES;
const CHECK_LABEL = utf8('kith keyfile v1 passphrase check');

/** Exactly 24 bytes of base64url (32 characters, no trailing bits to canonicalize). */
const NONCE_RE = /^[A-Za-z0-9_-]{32}$/;
/** Exactly BUNDLE_BYTES + TAG_BYTES = 144 bytes of base64url (192 characters). */
const CIPHERTEXT_RE = /^[A-Za-z0-9_-]{192}$/;

/** scrypt N values a file may name: powers of two from the test floor up to the production cost. */
const ALLOWED_N: number[] = [];
for (let n = KEYFILE_TEST_MIN_SCRYPT_N; n <= SCRYPT_N; n *= 2) ALLOWED_N.push(n);

/** What a key file protects: the secrets of one person and one of its instances. */
export interface KeyBundle {
  readonly person: PersonSecrets;
  readonly instance: InstanceSecrets;
}

/** How a key file protects its secrets. */
export type KeyProtection = 'passphrase' | 'insecure-plaintext';

// ---- file schema ------------------------------------------------------------------

class ScryptRecord {
  @Equals('scrypt') name!: 'scrypt';
  @IsIn(ALLOWED_N) N!: number;
  @Equals(SCRYPT_R) r!: number;
  @Equals(SCRYPT_P) p!: number;
  @Matches(KEY32_RE) salt!: string;
}

class PassphraseKeyFileRecord {
  @Equals(KEYFILE_FORMAT) format!: typeof KEYFILE_FORMAT;
  @Equals(KEYFILE_VERSION) version!: typeof KEYFILE_VERSION;
  @Equals('passphrase') protection!: 'passphrase';
  @Nested(() => ScryptRecord) kdf!: ScryptRecord;
  @Equals('xchacha20-poly1305') cipher!: 'xchacha20-poly1305';
  @Matches(NONCE_RE) nonce!: string;
  @Matches(KEY32_RE) check!: string;
  @Matches(CIPHERTEXT_RE) ciphertext!: string;
}

class PersonSecretsRecord {
  @Matches(KEY32_RE) signSecret!: string;
  @Matches(KEY32_RE) encryptSecret!: string;
}

class InstanceSecretsRecord {
  @Matches(KEY32_RE) signSecret!: string;
  @Matches(KEY32_RE) staticSecret!: string;
}

class KeysRecord {
  @Nested(() => PersonSecretsRecord) person!: PersonSecretsRecord;
  @Nested(() => InstanceSecretsRecord) instance!: InstanceSecretsRecord;
}

class PlaintextKeyFileRecord {
  @Equals(KEYFILE_FORMAT) format!: typeof KEYFILE_FORMAT;
  @Equals(KEYFILE_VERSION) version!: typeof KEYFILE_VERSION;
  @Equals('insecure-plaintext') protection!: 'insecure-plaintext';
  @Nested(() => KeysRecord) keys!: KeysRecord;
}

/** A key file that parsed: which kind it is, and its fields (still sealed when protected). */
export type KeyFile = PassphraseKeyFileRecord | PlaintextKeyFileRecord;

// ---- options ------------------------------------------------------------------------

/** How to seal: a passphrase, or plaintext when the person asked for it by name. */
export interface SealOptions {
  /** Protects the keys with this passphrase (scrypt N = 2^17, r = 8, p = 1). */
  readonly passphrase?: string;
  /** Writes the secrets unencrypted. Only when a person asked for it explicitly. */
  readonly insecurePlaintext?: boolean;
  /**
   * TESTS ONLY: a smaller scrypt N (a power of two ≥ KEYFILE_TEST_MIN_SCRYPT_N) so test
   * suites do not spend half a second per file. Production code never passes it.
   */
  readonly testOnlyScryptN?: number;
}

export interface OpenOptions {
  /** The passphrase of a protected file; ignored for plaintext files. */
  readonly passphrase?: string;
  /** TESTS ONLY: also accept files sealed with this smaller scrypt N. */
  readonly testOnlyScryptN?: number;
}

// ---- passphrases --------------------------------------------------------------------

/**
 * Checks a passphrase and returns it in Unicode NFC, so the same phrase typed on
 * systems that compose characters differently derives the same key.
 */
export function normalizePassphrase(passphrase: unknown): string {
  if (typeof passphrase !== 'string') {
    throw new KithError('INVALID_INPUT', `passphrase: expected a string, got ${describe(passphrase)}`);
  }
  if (passphrase.length === 0) throw new KithError('INVALID_INPUT', 'passphrase: must not be empty');
  if (passphrase.length > MAX_PASSPHRASE_LENGTH) {
    throw new KithError('INVALID_INPUT', `passphrase: longer than ${MAX_PASSPHRASE_LENGTH} characters`);
  }
  // UTF-8 encoding would turn every lone surrogate into U+FFFD, so distinct phrases would collide.
  if (hasLoneSurrogate(passphrase)) throw new KithError('INVALID_INPUT', 'passphrase: contains a lone surrogate');
  const normalized = passphrase.normalize('NFC');
  if (normalized.length > MAX_PASSPHRASE_LENGTH) {
    throw new KithError('INVALID_INPUT', `passphrase: longer than ${MAX_PASSPHRASE_LENGTH} characters`);
  }
  return normalized;
}

function scryptN(testOnlyScryptN: number | undefined): number {
  if (testOnlyScryptN === undefined) return SCRYPT_N;
  if (!ALLOWED_N.includes(testOnlyScryptN)) {
    throw new KithError('INVALID_INPUT', `testOnlyScryptN: expected a power of two in [${KEYFILE_TEST_MIN_SCRYPT_N}, ${SCRYPT_N}]`);
  }
  return testOnlyScryptN;
}

/** scrypt → 64 bytes: [0, 32) the AEAD key, [32, 64) the check key. The passphrase bytes are wiped. */
async function deriveKeys(crypto: CryptoProvider, passphrase: string, salt: Uint8Array, N: number): Promise<{ aeadKey: Uint8Array; checkKey: Uint8Array; all: Uint8Array }> {
  const password = utf8(passphrase);
  try {
    const all = await crypto.scrypt(password, salt, { N, r: SCRYPT_R, p: SCRYPT_P, dkLen: 2 * KEY_BYTES });
    return { aeadKey: all.subarray(0, KEY_BYTES), checkKey: all.subarray(KEY_BYTES), all };
  } finally {
    wipe(password);
  }
}

/** The fields bound as associated data: everything but the check and the sealed bytes. */
type Header = Omit<PassphraseKeyFileRecord, 'check' | 'ciphertext'>;

/** The associated data: every header field, canonically encoded (RFC 8785). */
function headerBytes(file: Header): Uint8Array {
  return canonicalBytes({
    format: file.format,
    version: file.version,
    protection: file.protection,
    kdf: { name: file.kdf.name, N: file.kdf.N, r: file.kdf.r, p: file.kdf.p, salt: file.kdf.salt },
    cipher: file.cipher,
    nonce: file.nonce,
  });
}

// ---- bundle bytes -------------------------------------------------------------------

function assertBundle(bundle: unknown): asserts bundle is KeyBundle {
  const b = bundle as { person?: Record<string, unknown>; instance?: Record<string, unknown> } | null;
  const fields: Array<[unknown, string]> = [
    [b?.person?.signSecret, 'person.signSecret'],
    [b?.person?.encryptSecret, 'person.encryptSecret'],
    [b?.instance?.signSecret, 'instance.signSecret'],
    [b?.instance?.staticSecret, 'instance.staticSecret'],
  ];
  for (const [value, name] of fields) {
    if (!(value instanceof Uint8Array) || value.length !== KEY_BYTES) {
      throw new KithError('INVALID_INPUT', `key bundle: ${name} must be a Uint8Array of ${KEY_BYTES} bytes`);
    }
  }
}

function bundleToBytes(bundle: KeyBundle): Uint8Array {
  const out = new Uint8Array(BUNDLE_BYTES);
  out.set(bundle.person.signSecret, 0);
  out.set(bundle.person.encryptSecret, KEY_BYTES);
  out.set(bundle.instance.signSecret, 2 * KEY_BYTES);
  out.set(bundle.instance.staticSecret, 3 * KEY_BYTES);
  return out;
}

/** Copies each key out (so the caller's bundle does not alias a buffer we wipe). */
function bundleFromBytes(bytes: Uint8Array): KeyBundle {
  const key = (i: number) => bytes.slice(i * KEY_BYTES, (i + 1) * KEY_BYTES);
  return {
    person: { signSecret: key(0), encryptSecret: key(1) },
    instance: { signSecret: key(2), staticSecret: key(3) },
  };
}

/** Overwrites every secret in a bundle once nobody needs it any more. */
export function wipeKeyBundle(bundle: KeyBundle): void {
  wipe(bundle.person.signSecret, bundle.person.encryptSecret, bundle.instance.signSecret, bundle.instance.staticSecret);
}

// ---- seal / parse / open ------------------------------------------------------------

/**
 * Seals `bundle` into key-file JSON text (with a trailing newline). Exactly one of
 * `passphrase` and `insecurePlaintext` must be given.
 */
export async function sealKeyFile(crypto: CryptoProvider, bundle: KeyBundle, options: SealOptions): Promise<string> {
  assertBundle(bundle);
  const hasPassphrase = options?.passphrase !== undefined;
  if (hasPassphrase === (options?.insecurePlaintext === true)) {
    throw new KithError('INVALID_INPUT', 'key file: give either a passphrase or insecurePlaintext: true');
  }
  if (!hasPassphrase) {
    const file: PlaintextKeyFileRecord = {
      format: KEYFILE_FORMAT,
      version: KEYFILE_VERSION,
      protection: 'insecure-plaintext',
      keys: {
        person: { signSecret: toBase64url(bundle.person.signSecret), encryptSecret: toBase64url(bundle.person.encryptSecret) },
        instance: { signSecret: toBase64url(bundle.instance.signSecret), staticSecret: toBase64url(bundle.instance.staticSecret) },
      },
    };
    return `${JSON.stringify(file, null, 2)}\n`;
  }

  const passphrase = normalizePassphrase(options.passphrase);
  const N = scryptN(options.testOnlyScryptN);
  const salt = crypto.randomBytes(SALT_BYTES);
  const nonce = crypto.randomBytes(NONCE_BYTES);
  const header: Header = {
    format: KEYFILE_FORMAT,
    version: KEYFILE_VERSION,
    protection: 'passphrase',
    kdf: { name: 'scrypt', N, r: SCRYPT_R, p: SCRYPT_P, salt: toBase64url(salt) },
    cipher: 'xchacha20-poly1305',
    nonce: toBase64url(nonce),
  };
  const plaintext = bundleToBytes(bundle);
  const keys = await deriveKeys(crypto, passphrase, salt, N);
  try {
    const check = crypto.hmacSha256(keys.checkKey, CHECK_LABEL);
    const ciphertext = crypto.xchacha20poly1305Seal(keys.aeadKey, nonce, plaintext, headerBytes(header));
    const file: PassphraseKeyFileRecord = { ...header, check: toBase64url(check), ciphertext: toBase64url(ciphertext) };
    return `${JSON.stringify(file, null, 2)}\n`;
  } finally {
    wipe(plaintext, keys.all);
  }
}

/**
 * Parses key-file text or bytes strictly: size, JSON, then the schema of its kind.
 * Anything else is KEYFILE_INVALID. Nothing is decrypted here.
 */
export function parseKeyFile(input: string | Uint8Array): KeyFile {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) {
    throw new KithError('INVALID_INPUT', `key file: expected text or bytes, got ${describe(input)}`);
  }
  if (input.length > MAX_KEYFILE_BYTES) throw new KithError('KEYFILE_INVALID', `key file: larger than ${MAX_KEYFILE_BYTES} bytes`);
  let value: unknown;
  try {
    value = parseJson(input, { maxBytes: MAX_KEYFILE_BYTES, integersOnly: true });
  } catch (err) {
    throw new KithError('KEYFILE_INVALID', `key file: ${(err as Error).message}`);
  }
  return checkKeyFile(value);
}

/** The schema gate on an already parsed value: picks the schema of its kind. */
function checkKeyFile(value: unknown): KeyFile {
  const protection = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { protection?: unknown }).protection : undefined;
  if (protection === 'passphrase') return validateSchema(PassphraseKeyFileRecord, value, 'KEYFILE_INVALID', 'key file');
  if (protection === 'insecure-plaintext') return validateSchema(PlaintextKeyFileRecord, value, 'KEYFILE_INVALID', 'key file');
  // Still run the common fields through the gate so the message names what is wrong.
  validateSchema(PlaintextKeyFileRecord, value, 'KEYFILE_INVALID', 'key file');
  throw new KithError('KEYFILE_INVALID', 'key file: unknown protection');
}

/** How `file` protects its keys, so a caller can decide whether to ask for a passphrase. */
export function keyFileProtection(file: KeyFile): KeyProtection {
  return file.protection;
}

/**
 * Opens a key file (text, bytes, or the result of `parseKeyFile`). Errors:
 * PASSPHRASE_REQUIRED (protected, none given), WRONG_PASSPHRASE (the check fails: a wrong
 * phrase, or an altered salt or cost, which is indistinguishable), KEYFILE_INVALID (bad
 * structure, or the phrase is right but the sealed part or its header was altered).
 * The caller owns the returned secrets and should `wipeKeyBundle` them when done.
 */
export async function openKeyFile(crypto: CryptoProvider, input: string | Uint8Array | KeyFile, options: OpenOptions = {}): Promise<KeyBundle> {
  const file = typeof input === 'string' || input instanceof Uint8Array ? parseKeyFile(input) : reparse(input);
  if (file.protection === 'insecure-plaintext') {
    const k = file.keys;
    return {
      person: { signSecret: fromBase64url(k.person.signSecret), encryptSecret: fromBase64url(k.person.encryptSecret) },
      instance: { signSecret: fromBase64url(k.instance.signSecret), staticSecret: fromBase64url(k.instance.staticSecret) },
    };
  }

  if (options.passphrase === undefined) throw new KithError('PASSPHRASE_REQUIRED');
  const passphrase = normalizePassphrase(options.passphrase);
  if (file.kdf.N !== SCRYPT_N && file.kdf.N !== scryptN(options.testOnlyScryptN)) {
    throw new KithError('KEYFILE_INVALID', `key file: scrypt cost below the required N = ${SCRYPT_N}`);
  }
  const salt = fromBase64url(file.kdf.salt);
  const nonce = fromBase64url(file.nonce);
  const sealed = fromBase64url(file.ciphertext);
  const keys = await deriveKeys(crypto, passphrase, salt, file.kdf.N);
  let plaintext: Uint8Array | null = null;
  try {
    const check = crypto.hmacSha256(keys.checkKey, CHECK_LABEL);
    const checkOk = constantTimeEqual(check, fromBase64url(file.check));
    plaintext = crypto.xchacha20poly1305Open(keys.aeadKey, nonce, sealed, headerBytes(file));
    if (plaintext === null) {
      if (checkOk) throw new KithError('KEYFILE_INVALID', 'key file: the passphrase is right but the sealed keys or their header were altered');
      throw new KithError('WRONG_PASSPHRASE');
    }
    if (!checkOk) throw new KithError('KEYFILE_INVALID', 'key file: the passphrase check was altered');
    if (plaintext.length !== BUNDLE_BYTES) throw new KithError('KEYFILE_INVALID', 'key file: sealed keys have the wrong size');
    return bundleFromBytes(plaintext);
  } finally {
    wipe(keys.all, plaintext ?? undefined);
  }
}

/**
 * A KeyFile handed in as an object may not have come from parseKeyFile: it goes through
 * the same gate as text. Canonicalizing first bounds the work (class-validator takes
 * seconds on an object with 100k keys; the JSON gate and size limit take milliseconds).
 */
function reparse(value: unknown): KeyFile {
  let text: string;
  try {
    text = canonicalize(value, { maxBytes: MAX_KEYFILE_BYTES, integersOnly: true });
  } catch (err) {
    throw new KithError('KEYFILE_INVALID', `key file: ${(err as Error).message}`);
  }
  return parseKeyFile(text);
}
