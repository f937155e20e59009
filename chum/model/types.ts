/**
 * CHUM's built-in object types (DESIGN §3, §7). Every object is canonical JSON with a
 * `$type`. Instance-signed objects carry `author` (InstanceId), `cert` (the hash of the
 * InstanceCertificate binding that instance to its person) and `sig`; the receiver checks
 * the certificate chain before storing them. References are hashes; `refsOf` (refs.ts)
 * lists them per type, and a store never holds an object before what it references.
 *
 * Types an application defines itself are accepted as long as they are canonical objects;
 * they declare references in a top-level `$refs` array and, when signed, use the same
 * author/cert/sig fields.
 */
import {
  Equals, IsArray, ArrayMaxSize, IsInt, IsOptional, IsString, Length, Matches, Max, Min, MaxLength, IsObject,
} from 'class-validator';
import { Nested, HASH_HEX_RE, SIG64_RE } from '../../shared/schema.js';
import { MAX_NAME_LENGTH, BLOB_CHUNK_BYTES, TYPE_LIMITS } from '../../shared/limits.js';
import type { InstanceId, ObjectHash, PersonId } from '../../shared/ids.js';

const MAX_TIME = Number.MAX_SAFE_INTEGER;
/** base64url of 16 random bytes. */
const NONCE_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;


/** The fields every instance-signed object has. */
export class SignedFields {
  @Matches(HASH_HEX_RE) author!: InstanceId;
  @Matches(HASH_HEX_RE) cert!: ObjectHash;
  @Matches(SIG64_RE) sig!: string;
}

/** The identity of a versioned object (a group, a channel …). Its hash is the id every version names. */
export class IdRecord {
  @Equals('Id') $type!: 'Id';
  /** What kind of versioned thing this is ("Group", "Channel", or an application's own). */
  @IsString() @Matches(/^[A-Za-z][A-Za-z0-9_.-]{0,31}$/) kind!: string;
  /** The person whose instances may write versions and grant access to the id's scope. */
  @Matches(HASH_HEX_RE) owner!: PersonId;
  @IsString() @Length(0, MAX_NAME_LENGTH) name!: string;
  /** Makes two ids with the same kind, owner and name distinct. */
  @Matches(NONCE_RE) nonce!: string;
}

/** One version in the DAG of a versioned object. The current value is the merge of the heads (versions.ts). */
export class VersionRecord extends SignedFields {
  @Equals('Version') $type!: 'Version';
  @Matches(HASH_HEX_RE) id!: ObjectHash;
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxPrev) @Matches(HASH_HEX_RE, { each: true }) prev!: ObjectHash[];
  /** Hybrid logical clock (hlc.ts). */
  @IsInt() @Min(0) @Max(MAX_TIME) hlc!: number;
  @IsObject() data!: Record<string, unknown>;
}

/** Grants the persons and the members of the groups access to the objects and to the scopes of the ids. */
export class AccessRecord extends SignedFields {
  @Equals('Access') $type!: 'Access';
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxGrantTargets) @Matches(HASH_HEX_RE, { each: true }) objects!: ObjectHash[];
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxGrantIds) @Matches(HASH_HEX_RE, { each: true }) ids!: ObjectHash[];
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxGrantPersons) @Matches(HASH_HEX_RE, { each: true }) persons!: PersonId[];
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxGrantGroups) @Matches(HASH_HEX_RE, { each: true }) groups!: ObjectHash[];
  @IsInt() @Min(0) @Max(MAX_TIME) hlc!: number;
}

/** Withdraws a grant. Only the grant's own person may revoke it. */
export class AccessRevokeRecord extends SignedFields {
  @Equals('AccessRevoke') $type!: 'AccessRevoke';
  @Matches(HASH_HEX_RE) grant!: ObjectHash;
  @IsInt() @Min(0) @Max(MAX_TIME) hlc!: number;
}

/** A blob: its bytes split into chunks of at most BLOB_CHUNK_BYTES, each addressed by SHA-256. */
export class BlobManifestRecord {
  @Equals('BlobManifest') $type!: 'BlobManifest';
  @IsInt() @Min(0) @Max(TYPE_LIMITS.maxChunks * BLOB_CHUNK_BYTES) size!: number;
  @IsInt() @Min(1) @Max(BLOB_CHUNK_BYTES) chunkSize!: number;
  @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxChunks) @Matches(HASH_HEX_RE, { each: true }) chunks!: ObjectHash[];
}

export class FileRef {
  @Matches(HASH_HEX_RE) manifest!: ObjectHash;
  @IsString() @Length(1, TYPE_LIMITS.maxFileName) name!: string;
  @IsInt() @Min(0) @Max(MAX_TIME) size!: number;
  @IsOptional() @IsString() @MaxLength(TYPE_LIMITS.maxMime) mime?: string;
}

/** A message (text and/or file) in a channel: the channel is the id of a versioned object of kind "Channel". */
export class ChannelEntryRecord extends SignedFields {
  @Equals('ChannelEntry') $type!: 'ChannelEntry';
  @Matches(HASH_HEX_RE) channel!: ObjectHash;
  @IsInt() @Min(0) @Max(MAX_TIME) hlc!: number;
  @IsOptional() @IsString() @Length(0, TYPE_LIMITS.maxText) text?: string;
  @IsOptional() @Nested(() => FileRef) file?: FileRef;
  /** The author's display name when writing (signed with the entry; third parties may not have the author's Profile). */
  @IsOptional() @IsString() @Length(1, MAX_NAME_LENGTH) name?: string;
}

/** The generic shape of an application-defined object (anything not built in). */
export class AppObjectRecord {
  @IsString() $type!: string;
  @IsOptional() @IsArray() @ArrayMaxSize(TYPE_LIMITS.maxRefs) @Matches(HASH_HEX_RE, { each: true }) $refs?: ObjectHash[];
}

export const BUILT_IN_TYPES = ['Person', 'Instance', 'InstanceCertificate', 'Profile', 'Id', 'Version', 'Access', 'AccessRevoke', 'BlobManifest', 'ChannelEntry'] as const;
export type BuiltInType = (typeof BUILT_IN_TYPES)[number];

export function isBuiltIn(type: string): type is BuiltInType {
  return (BUILT_IN_TYPES as readonly string[]).includes(type);
}

export const ID_KINDS = { group: 'Group', channel: 'Channel' } as const;
