/**
 * Turns canonical bytes into a described object: parsed, checked to be in canonical form,
 * validated against its type's schema, with its references, its signer and its scope (the
 * versioned id it belongs to). Received and locally written objects both pass through here.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ClassConstructor } from 'class-transformer';
import { parseJson, serializeChecked } from '../../shared/canonical.js';
import { validateSchema, HASH_HEX_RE, SIG64_RE } from '../../shared/schema.js';
import { assertKithObject, hashBytes, type KithObject } from '../../shared/objects.js';
import { PersonRecord, InstanceRecord, InstanceCertificate, Profile } from '../../shared/identity.js';
import { KithError } from '../../shared/errors.js';
import { fromUtf8 } from '../../shared/bytes.js';
import type { InstanceId, ObjectHash, PersonId } from '../../shared/ids.js';
import { MAX_OBJECT_BYTES, TYPE_LIMITS } from '../../shared/limits.js';
import {
  IdRecord, VersionRecord, AccessRecord, AccessRevokeRecord, BlobManifestRecord, ChannelEntryRecord, isBuiltIn,
} from './types.js';

/** Who vouches for an object: an instance (checked through its certificate) or a person directly. */
export type Signer =
  | { readonly kind: 'instance'; readonly author: InstanceId; readonly cert: ObjectHash }
  | { readonly kind: 'person'; readonly person: PersonId };

export interface DescribedObject {
  readonly hash: ObjectHash;
  readonly bytes: Uint8Array;
  readonly object: KithObject;
  readonly type: string;
  /** Objects this one references (deduplicated, in order). */
  readonly refs: readonly ObjectHash[];
  /** Blob chunks this one references (manifests only); fetched separately from the object stream. */
  readonly chunkRefs: readonly ObjectHash[];
  readonly signer: Signer | undefined;
  /** The versioned id whose scope this object belongs to (versions, channel entries). */
  readonly idHash: ObjectHash | undefined;
}

const SCHEMAS: Record<string, ClassConstructor<object>> = {
  Person: PersonRecord,
  Instance: InstanceRecord,
  InstanceCertificate,
  Profile,
  Id: IdRecord,
  Version: VersionRecord,
  Access: AccessRecord,
  AccessRevoke: AccessRevokeRecord,
  BlobManifest: BlobManifestRecord,
  ChannelEntry: ChannelEntryRecord,
};

/**
 * Describes canonical object bytes. Throws OBJECT_INVALID (schema), NOT_CANONICALIZABLE /
 * HASH_MISMATCH (bytes not in canonical form), OBJECT_TOO_LARGE.
 */
export function describeBytes(crypto: CryptoProvider, bytes: Uint8Array): DescribedObject {
  if (!(bytes instanceof Uint8Array)) throw new KithError('INVALID_INPUT', 'object bytes must be a Uint8Array');
  if (bytes.length > MAX_OBJECT_BYTES) throw new KithError('OBJECT_TOO_LARGE');
  const text = fromUtf8(bytes, 'object');
  const value = parseJson(text, { integersOnly: true });
  assertKithObject(value);
  // Only the canonical spelling has this hash; any other spelling of the same value is refused.
  // parseJson has gated the value with these options, so it serializes without a second walk.
  if (serializeChecked(value) !== text) throw new KithError('HASH_MISMATCH', 'object bytes are not in canonical form');
  return describeValue(value, bytes, hashBytes(crypto, bytes));
}

function describeValue(obj: KithObject, bytes: Uint8Array, hash: ObjectHash): DescribedObject {
  const type = obj.$type;
  // Own keys only: "$type": "toString" (or "constructor", "__proto__") must not find Object.prototype's members.
  const schema = Object.hasOwn(SCHEMAS, type) ? SCHEMAS[type] : undefined;
  if (schema) validateSchema(schema, obj, 'OBJECT_INVALID', type);
  else validateAppObject(obj);
  const o = obj as Record<string, unknown>;
  const refs: string[] = [];
  let chunkRefs: ObjectHash[] = [];
  let signer: Signer | undefined;
  let idHash: ObjectHash | undefined;
  const instanceSigned = () => {
    signer = { kind: 'instance', author: o.author as InstanceId, cert: o.cert as ObjectHash };
    refs.push(o.author as string, o.cert as string);
  };
  switch (type) {
    case 'Person':
      break;
    case 'Instance':
      refs.push(o.person as string);
      break;
    case 'InstanceCertificate':
      refs.push(o.person as string, o.instance as string);
      signer = { kind: 'person', person: o.person as PersonId };
      break;
    case 'Profile':
      refs.push(o.person as string);
      signer = { kind: 'person', person: o.person as PersonId };
      break;
    case 'Id':
      refs.push(o.owner as string);
      break;
    case 'Version':
      refs.push(o.id as string, ...(o.prev as string[]));
      idHash = o.id as ObjectHash;
      instanceSigned();
      break;
    case 'Access':
      refs.push(...(o.objects as string[]), ...(o.ids as string[]), ...(o.groups as string[]));
      instanceSigned();
      break;
    case 'AccessRevoke':
      refs.push(o.grant as string);
      instanceSigned();
      break;
    case 'BlobManifest':
      chunkRefs = unique(o.chunks as string[]) as ObjectHash[];
      break;
    case 'ChannelEntry':
      refs.push(o.channel as string);
      if (o.file) refs.push((o.file as { manifest: string }).manifest);
      idHash = o.channel as ObjectHash;
      instanceSigned();
      break;
    default:
      if (Array.isArray(o.$refs)) refs.push(...(o.$refs as string[]));
      if (o.sig !== undefined) instanceSigned();
  }
  if (refs.includes(hash)) throw new KithError('OBJECT_INVALID', `${type}: references itself`);
  return { hash, bytes, object: obj, type, refs: unique(refs) as ObjectHash[], chunkRefs, signer, idHash };
}

/** Application types: `$refs` must be hashes; a signed one carries author, cert and sig together. */
function validateAppObject(obj: KithObject): void {
  if (isBuiltIn(obj.$type)) return;
  const o = obj as Record<string, unknown>;
  if (o.$refs !== undefined) {
    if (!Array.isArray(o.$refs) || o.$refs.length > TYPE_LIMITS.maxRefs || !o.$refs.every((r) => typeof r === 'string' && HASH_HEX_RE.test(r))) {
      throw new KithError('OBJECT_INVALID', `${obj.$type}: $refs must be an array of at most ${TYPE_LIMITS.maxRefs} hashes`);
    }
  }
  const signedFields = ['author', 'cert', 'sig'].filter((k) => o[k] !== undefined).length;
  if (signedFields === 0) return;
  if (
    signedFields !== 3 ||
    typeof o.author !== 'string' || !HASH_HEX_RE.test(o.author) ||
    typeof o.cert !== 'string' || !HASH_HEX_RE.test(o.cert) ||
    typeof o.sig !== 'string' || !SIG64_RE.test(o.sig)
  ) {
    throw new KithError('OBJECT_INVALID', `${obj.$type}: a signed object needs author, cert and sig`);
  }
}

function unique(list: readonly string[]): string[] {
  return list.length < 2 ? [...list] : [...new Set(list)];
}
