/**
 * Persistent records of pairing (DESIGN §4, §6): open and closed invitations, and contacts.
 * Both live in one small-state document so that consuming an invitation and storing the
 * contact it produced are one atomic write. The document holds no secrets: an invitation
 * keeps a nonce from which only this instance's secret key re-derives the token.
 */
import {
  Equals, IsArray, ArrayMaxSize, IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, Length, MaxLength,
} from 'class-validator';
import { Nested, NestedArray, HASH_HEX_RE, validateSchema } from '../shared/schema.js';
import { PersonRecord, InstanceRecord, InstanceCertificate, Profile } from '../shared/identity.js';
import { MAX_CONTACTS, MAX_ENDPOINTS, MAX_ENDPOINT_LENGTH, MAX_INSTANCES_PER_CONTACT, MAX_INVITE_RECORDS, MAX_REVOKE_REASON_LENGTH, MAX_STORED_FAILED_ATTEMPTS } from '../shared/limits.js';
import type { InstanceId, InviteId, PersonId } from '../shared/ids.js';

const INVITE_ID_RE = /^[0-9a-f]{32}$/;
/** base64url of 16 bytes. */
const NONCE_RE = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const MAX_TIME = Number.MAX_SAFE_INTEGER;

export type InviteStatus = 'open' | 'used' | 'revoked' | 'burned';
export type Relation = 'contact' | 'renderer' | 'main';

export class InviteRecord {
  @Matches(INVITE_ID_RE) inviteId!: InviteId;
  @Matches(NONCE_RE) nonce!: string;
  @IsIn(['contact', 'renderer']) purpose!: 'contact' | 'renderer';
  /** Seconds since the epoch, on this instance's clock. */
  @IsInt() @Min(0) @Max(MAX_TIME) createdAt!: number;
  @IsInt() @Min(0) @Max(MAX_TIME) expiresAt!: number;
  @IsInt() @Min(0) @Max(MAX_STORED_FAILED_ATTEMPTS) failedAttempts!: number;
  @IsIn(['open', 'used', 'revoked', 'burned']) status!: InviteStatus;
  @IsOptional() @Matches(HASH_HEX_RE) usedBy?: PersonId;
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIME) closedAt?: number;
}

export class ContactInstance {
  @Matches(HASH_HEX_RE) instanceId!: InstanceId;
  @Nested(() => InstanceRecord) instance!: InstanceRecord;
  @Nested(() => InstanceCertificate) certificate!: InstanceCertificate;
  @IsArray() @ArrayMaxSize(MAX_ENDPOINTS) @IsString({ each: true }) @MaxLength(MAX_ENDPOINT_LENGTH, { each: true }) endpoints!: string[];
  /** Milliseconds since the epoch. */
  @IsInt() @Min(0) @Max(MAX_TIME) pairedAt!: number;
  /** How this instance was paired: we invited it, or we accepted its invitation. */
  @IsIn(['invited', 'accepted']) via!: 'invited' | 'accepted';
  @IsOptional() @Matches(INVITE_ID_RE) inviteId?: string;
}

export class ContactRecord {
  @Matches(HASH_HEX_RE) personId!: PersonId;
  @Nested(() => PersonRecord) person!: PersonRecord;
  @Nested(() => Profile) profile!: Profile;
  /** `renderer`: our own UI instance; `main`: the app instance this renderer belongs to; `contact`: another person. */
  @IsIn(['contact', 'renderer', 'main']) relation!: Relation;
  @NestedArray(() => ContactInstance, MAX_INSTANCES_PER_CONTACT) instances!: ContactInstance[];
  @IsInt() @Min(0) @Max(MAX_TIME) pairedAt!: number;
  @IsInt() @Min(0) @Max(MAX_TIME) updatedAt!: number;
  /** Set while the contact is revoked (ms); its instances are refused until it is lifted explicitly. */
  @IsOptional() @IsInt() @Min(0) @Max(MAX_TIME) revokedAt?: number;
  @IsOptional() @IsString() @Length(0, MAX_REVOKE_REASON_LENGTH) revokeReason?: string;
}

export class PairingDocument {
  @Equals(1) version!: 1;
  @NestedArray(() => InviteRecord, MAX_INVITE_RECORDS) invites!: InviteRecord[];
  @NestedArray(() => ContactRecord, MAX_CONTACTS) contacts!: ContactRecord[];
}

export function emptyPairingDocument(): PairingDocument {
  return { version: 1, invites: [], contacts: [] };
}

/** Validates a pairing document read from storage. */
export function parsePairingDocument(value: unknown): PairingDocument {
  return validateSchema(PairingDocument, value, 'INVALID_INPUT', 'pairing state');
}
