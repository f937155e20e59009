/**
 * The renderer's own identity at rest (DESIGN §2: "Browser/renderer: IndexedDB of the app
 * profile"): the public identity and the four secret keys, one record in the renderer's
 * state database. On load the public identity is verified like any peer's (certificate,
 * profile signature) and each secret must produce the public key the identity names, so a
 * damaged or foreign record is refused instead of used.
 */
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import { createLocalIdentity, verifyIdentity, type LocalIdentity } from '../shared/identity.js';
import { KithError } from '../shared/errors.js';
import { equalBytes, fromBase64url, toBase64url } from '../shared/bytes.js';
import { parseJson } from '../shared/canonical.js';
import { MAX_IDENTITY_FILE_BYTES } from '../shared/limits.js';
import { readRecord, writeRecord } from './idbStateAdapter.js';

/** Key of the identity record in the records store. */
const IDENTITY_KEY = 'identity';
const FORMAT = 'kith-renderer-identity';
/** The renderer instance's name as peers see it (the person's name is asked on first run). */
export const RENDERER_INSTANCE_NAME = 'Kith window';

interface IdentityRecord {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly public: unknown;
  readonly secrets: { personSign: string; personEncrypt: string; instanceSign: string; instanceStatic: string };
}

export class IdentityStore {
  constructor(
    private readonly db: IDBDatabase,
    private readonly crypto: CryptoProvider,
  ) {}

  /** The stored identity, or undefined on first run. KEYFILE_INVALID for a damaged record. */
  async load(): Promise<LocalIdentity | undefined> {
    const record = await readRecord(this.db, IDENTITY_KEY);
    if (record === undefined) return undefined;
    return this.decode(record);
  }

  /** Creates an identity for the person `name` and stores it. ALREADY_EXISTS when one is stored. */
  async create(name: string, now: number): Promise<LocalIdentity> {
    if ((await readRecord(this.db, IDENTITY_KEY)) !== undefined) throw new KithError('ALREADY_EXISTS', 'this window already has an identity');
    const identity = await createLocalIdentity(this.crypto, { personName: name, instanceName: RENDERER_INSTANCE_NAME, now });
    const record: IdentityRecord = {
      format: FORMAT,
      version: 1,
      public: identity.public,
      secrets: {
        personSign: toBase64url(identity.personSecrets.signSecret),
        personEncrypt: toBase64url(identity.personSecrets.encryptSecret),
        instanceSign: toBase64url(identity.instanceSecrets.signSecret),
        instanceStatic: toBase64url(identity.instanceSecrets.staticSecret),
      },
    };
    await writeRecord(this.db, IDENTITY_KEY, JSON.stringify(record));
    return identity;
  }

  private async decode(raw: unknown): Promise<LocalIdentity> {
    const invalid = (why: string) => new KithError('KEYFILE_INVALID', `the identity stored in this window is damaged (${why})`);
    if (typeof raw !== 'string' || raw.length > MAX_IDENTITY_FILE_BYTES) throw invalid('not a record of ours');
    let record: IdentityRecord;
    try {
      record = parseJson(raw, { maxBytes: MAX_IDENTITY_FILE_BYTES }) as unknown as IdentityRecord;
    } catch {
      throw invalid('not JSON');
    }
    if (typeof record !== 'object' || record === null || record.format !== FORMAT || record.version !== 1) throw invalid('unknown format');
    const s = record.secrets;
    if (typeof s !== 'object' || s === null) throw invalid('no secrets');
    const secret = (value: unknown, what: string): Uint8Array => {
      if (typeof value !== 'string') throw invalid(what);
      try {
        const bytes = fromBase64url(value, what);
        if (bytes.length !== 32) throw invalid(what);
        return bytes;
      } catch {
        throw invalid(what);
      }
    };
    const personSign = secret(s.personSign, 'person sign key');
    const personEncrypt = secret(s.personEncrypt, 'person encrypt key');
    const instanceSign = secret(s.instanceSign, 'instance sign key');
    const instanceStatic = secret(s.instanceStatic, 'instance static key');
    let verified;
    try {
      verified = await verifyIdentity(this.crypto, record.public);
    } catch {
      throw invalid('the public identity does not verify');
    }
    const c = this.crypto;
    const matches =
      equalBytes(await c.ed25519PublicKey(personSign), verified.personSignKey) &&
      equalBytes(await c.x25519PublicKey(personEncrypt), fromBase64url(verified.identity.person.encryptKey)) &&
      equalBytes(await c.ed25519PublicKey(instanceSign), verified.instanceSignKey) &&
      equalBytes(await c.x25519PublicKey(instanceStatic), verified.staticKey);
    if (!matches) throw invalid('the secret keys belong to another identity');
    return {
      public: verified.identity,
      personId: verified.personId,
      instanceId: verified.instanceId,
      personSecrets: { signSecret: personSign, encryptSecret: personEncrypt },
      instanceSecrets: { signSecret: instanceSign, staticSecret: instanceStatic },
    };
  }
}
