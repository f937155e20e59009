/**
 * Identity (DESIGN §2). A Person has an Ed25519 sign key and an X25519 encrypt key; an
 * Instance has its own Ed25519 sign key and X25519 static key (its Noise static). Both ids
 * are SHA-256 of the canonical record, so they are self-certifying. An InstanceCertificate
 * is the person's signature binding an instance to it; a Profile is the person's signed,
 * versioned name card.
 */
import { Equals, IsInt, IsOptional, IsString, Length, Matches, Max, Min, MaxLength, IsEmail } from 'class-validator';
import type { CryptoProvider } from './crypto/CryptoProvider.js';
import { validateSchema, KEY32_RE, SIG64_RE, HASH_HEX_RE, Nested } from './schema.js';
import { hashObject, signObject, verifyObjectSignature, type KithObject } from './objects.js';
import { fromBase64url, toBase64url, equalBytes } from './bytes.js';
import { KithError } from './errors.js';
import type { InstanceId, PersonId } from './ids.js';
import { MAX_EMAIL_LENGTH, MAX_NAME_LENGTH } from './limits.js';

const MAX_SAFE_TIME = Number.MAX_SAFE_INTEGER;

// ---- wire records ---------------------------------------------------------------

export class PersonRecord {
  @Equals('Person') $type!: 'Person';
  @Matches(KEY32_RE) signKey!: string;
  @Matches(KEY32_RE) encryptKey!: string;
}

export class InstanceRecord {
  @Equals('Instance') $type!: 'Instance';
  @Matches(HASH_HEX_RE) person!: PersonId;
  @IsString() @Length(1, MAX_NAME_LENGTH) name!: string;
  @Matches(KEY32_RE) signKey!: string;
  @Matches(KEY32_RE) staticKey!: string;
}

export class InstanceCertificate {
  @Equals('InstanceCertificate') $type!: 'InstanceCertificate';
  @Matches(HASH_HEX_RE) person!: PersonId;
  @Matches(HASH_HEX_RE) instance!: InstanceId;
  /** Milliseconds since the epoch when the person issued it (informational). */
  @IsInt() @Min(0) @Max(MAX_SAFE_TIME) issuedAt!: number;
  @Matches(SIG64_RE) sig!: string;
}

export class Profile {
  @Equals('Profile') $type!: 'Profile';
  @Matches(HASH_HEX_RE) person!: PersonId;
  @IsString() @Length(1, MAX_NAME_LENGTH) name!: string;
  @IsOptional() @IsEmail() @MaxLength(MAX_EMAIL_LENGTH) email?: string;
  /** Strictly increasing per person (milliseconds when written); the highest valid version wins. */
  @IsInt() @Min(0) @Max(MAX_SAFE_TIME) version!: number;
  @Matches(SIG64_RE) sig!: string;
}

/** What an instance presents about itself to a peer: enough to verify it acts for its person. */
export class PublicIdentity {
  @Nested(() => PersonRecord) person!: PersonRecord;
  @Nested(() => InstanceRecord) instance!: InstanceRecord;
  @Nested(() => InstanceCertificate) certificate!: InstanceCertificate;
  @Nested(() => Profile) profile!: Profile;
}

/** A PublicIdentity that verified, with the ids computed from it and its keys decoded. */
export interface VerifiedIdentity {
  readonly personId: PersonId;
  readonly instanceId: InstanceId;
  readonly name: string;
  readonly instanceName: string;
  readonly personSignKey: Uint8Array;
  readonly instanceSignKey: Uint8Array;
  readonly staticKey: Uint8Array;
  readonly identity: PublicIdentity;
}

// ---- secrets --------------------------------------------------------------------

export interface PersonSecrets {
  readonly signSecret: Uint8Array;
  readonly encryptSecret: Uint8Array;
}

export interface InstanceSecrets {
  readonly signSecret: Uint8Array;
  readonly staticSecret: Uint8Array;
}

/** Everything an instance knows about itself, secrets included. Never serialized as a whole. */
export interface LocalIdentity {
  readonly public: PublicIdentity;
  readonly personId: PersonId;
  readonly instanceId: InstanceId;
  readonly personSecrets: PersonSecrets;
  readonly instanceSecrets: InstanceSecrets;
}

// ---- creation -------------------------------------------------------------------

function asObject<T>(record: T): KithObject {
  return record as unknown as KithObject;
}

export function personIdOf(crypto: CryptoProvider, person: PersonRecord): PersonId {
  return hashObject(crypto, asObject(person)) as string as PersonId;
}

export function instanceIdOf(crypto: CryptoProvider, instance: InstanceRecord): InstanceId {
  return hashObject(crypto, asObject(instance)) as string as InstanceId;
}

export async function createPerson(crypto: CryptoProvider): Promise<{ record: PersonRecord; id: PersonId; secrets: PersonSecrets }> {
  const sign = await crypto.ed25519Generate();
  const encrypt = await crypto.x25519Generate();
  const record: PersonRecord = { $type: 'Person', signKey: toBase64url(sign.publicKey), encryptKey: toBase64url(encrypt.publicKey) };
  return { record, id: personIdOf(crypto, record), secrets: { signSecret: sign.secretKey, encryptSecret: encrypt.secretKey } };
}

export async function createInstance(
  crypto: CryptoProvider,
  person: PersonId,
  name: string,
): Promise<{ record: InstanceRecord; id: InstanceId; secrets: InstanceSecrets }> {
  const sign = await crypto.ed25519Generate();
  const stat = await crypto.x25519Generate();
  const record: InstanceRecord = { $type: 'Instance', person, name, signKey: toBase64url(sign.publicKey), staticKey: toBase64url(stat.publicKey) };
  validateSchema(InstanceRecord, record, 'INVALID_INPUT', 'Instance');
  return { record, id: instanceIdOf(crypto, record), secrets: { signSecret: sign.secretKey, staticSecret: stat.secretKey } };
}

export async function issueCertificate(
  crypto: CryptoProvider,
  person: PersonId,
  personSecrets: PersonSecrets,
  instance: InstanceId,
  issuedAt: number,
): Promise<InstanceCertificate> {
  const body = { $type: 'InstanceCertificate' as const, person, instance, issuedAt };
  return (await signObject(crypto, body, personSecrets.signSecret)) as InstanceCertificate;
}

export async function signProfile(
  crypto: CryptoProvider,
  person: PersonId,
  personSecrets: PersonSecrets,
  fields: { name: string; email?: string; version: number },
): Promise<Profile> {
  const body: KithObject = { $type: 'Profile', person, name: fields.name, version: fields.version };
  if (fields.email !== undefined) body.email = fields.email;
  const profile = (await signObject(crypto, body, personSecrets.signSecret)) as unknown as Profile;
  validateSchema(Profile, profile, 'INVALID_INPUT', 'Profile');
  return profile;
}

/** Creates a person, one instance of it, the certificate and a first profile. */
export async function createLocalIdentity(
  crypto: CryptoProvider,
  opts: { personName: string; instanceName: string; email?: string; now: number },
): Promise<LocalIdentity> {
  const person = await createPerson(crypto);
  const instance = await createInstance(crypto, person.id, opts.instanceName);
  const certificate = await issueCertificate(crypto, person.id, person.secrets, instance.id, opts.now);
  const profile = await signProfile(crypto, person.id, person.secrets, { name: opts.personName, email: opts.email, version: opts.now });
  return {
    public: { person: person.record, instance: instance.record, certificate, profile },
    personId: person.id,
    instanceId: instance.id,
    personSecrets: person.secrets,
    instanceSecrets: instance.secrets,
  };
}

// ---- verification ---------------------------------------------------------------

/** Validates a Person record from outside and returns its id. */
export function verifyPerson(crypto: CryptoProvider, value: unknown): PersonId {
  const record = validateSchema(PersonRecord, value, 'IDENTITY_INVALID', 'Person');
  return personIdOf(crypto, record);
}

/** Validates an Instance record (optionally that it names `person`) and returns its id. */
export function verifyInstance(crypto: CryptoProvider, value: unknown, person?: PersonId): InstanceId {
  const record = validateSchema(InstanceRecord, value, 'IDENTITY_INVALID', 'Instance');
  if (person !== undefined && record.person !== person) {
    throw new KithError('CERTIFICATE_INVALID', 'the instance names a different person');
  }
  return instanceIdOf(crypto, record);
}

/** Checks that `cert` is `person`'s valid signature over exactly this `instance`. */
export async function verifyCertificate(crypto: CryptoProvider, cert: unknown, person: PersonRecord, instance: InstanceRecord): Promise<void> {
  const c = validateSchema(InstanceCertificate, cert, 'CERTIFICATE_INVALID', 'InstanceCertificate');
  const personId = personIdOf(crypto, person);
  if (c.person !== personId) throw new KithError('CERTIFICATE_INVALID', 'the certificate is issued by a different person');
  if (instance.person !== personId) throw new KithError('CERTIFICATE_INVALID', 'the instance names a different person');
  if (c.instance !== instanceIdOf(crypto, instance)) throw new KithError('CERTIFICATE_INVALID', 'the certificate is for a different instance');
  const ok = await verifyObjectSignature(crypto, asObject(c), fromBase64url(person.signKey));
  if (!ok) throw new KithError('CERTIFICATE_INVALID', 'the certificate signature does not verify');
}

/** Checks that `profile` is signed by `person`. */
export async function verifyProfile(crypto: CryptoProvider, value: unknown, person: PersonRecord): Promise<Profile> {
  const p = validateSchema(Profile, value, 'IDENTITY_INVALID', 'Profile');
  if (p.person !== personIdOf(crypto, person)) throw new KithError('IDENTITY_INVALID', 'the profile belongs to a different person');
  const ok = await verifyObjectSignature(crypto, asObject(p), fromBase64url(person.signKey));
  if (!ok) throw new KithError('SIGNATURE_INVALID', 'the profile signature does not verify');
  return p;
}

/**
 * Verifies a PublicIdentity from outside: schema, the instance → person link, the
 * certificate and the profile. Optionally checks the instance's static key equals the key
 * a handshake proved (`provenStaticKey`).
 */
export async function verifyIdentity(crypto: CryptoProvider, value: unknown, provenStaticKey?: Uint8Array): Promise<VerifiedIdentity> {
  const identity = validateSchema(PublicIdentity, value, 'IDENTITY_INVALID', 'identity');
  const personId = personIdOf(crypto, identity.person);
  const instanceId = verifyInstance(crypto, identity.instance, personId);
  await verifyCertificate(crypto, identity.certificate, identity.person, identity.instance);
  const profile = await verifyProfile(crypto, identity.profile, identity.person);
  const staticKey = fromBase64url(identity.instance.staticKey);
  if (provenStaticKey !== undefined && !equalBytes(staticKey, provenStaticKey)) {
    throw new KithError('KEY_MISMATCH', "the identity's instance key is not the key the handshake proved");
  }
  return {
    personId,
    instanceId,
    name: profile.name,
    instanceName: identity.instance.name,
    personSignKey: fromBase64url(identity.person.signKey),
    instanceSignKey: fromBase64url(identity.instance.signKey),
    staticKey,
    identity,
  };
}
