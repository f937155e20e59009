/**
 * Verifies described objects before they are stored (DESIGN §3, §7): closure (every
 * reference stored or earlier in the same batch), the certificate chain of instance-signed
 * objects, every signature, and write rights:
 * - a Version may only be written by an instance of its id's owner;
 * - an Access grant may only cover objects its own person authored (or unsigned objects,
 *   which anyone holding them may share) and ids its person owns;
 * - an AccessRevoke may only withdraw a grant of its own person.
 * Signatures of a batch are verified concurrently (in Node on the threadpool, using both cores),
 * at most VERIFY_CONCURRENCY at once per verifier so file I/O and other sessions' work still
 * get threadpool turns.
 */
import type { CryptoProvider } from '../../shared/crypto/CryptoProvider.js';
import type { ObjectStore } from '../ObjectStore.js';
import type { DescribedObject } from './describe.js';
import { describeBytes } from './describe.js';
import { unsigned, type KithObject } from '../../shared/objects.js';
import { serializeChecked, type JsonValue } from '../../shared/canonical.js';
import { KithError } from '../../shared/errors.js';
import { fromBase64url, withUtf8 } from '../../shared/bytes.js';
import type { ObjectHash, PersonId } from '../../shared/ids.js';
import { RECORD_CACHE_ENTRIES, VERIFY_CONCURRENCY } from '../../shared/limits.js';


export class ObjectVerifier {
  private readonly records = new Map<string, KithObject>();
  /** Signature checks in flight, and the ones waiting for a slot (see VERIFY_CONCURRENCY). */
  private verifying = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly crypto: CryptoProvider,
    private readonly store: ObjectStore,
  ) {}

  /**
   * Verifies a batch in order. `batch` objects may reference earlier ones in the same batch,
   * and objects of `earlier` batches (verified or being verified, to be stored before this
   * one: the importer's pipeline). Throws the first failure's code (DANGLING_REFERENCE,
   * SIGNATURE_INVALID, CERTIFICATE_INVALID, ACCESS_DENIED, OBJECT_INVALID); nothing is
   * stored by this class.
   */
  async verifyBatch(
    batch: readonly DescribedObject[],
    opts: { signatures?: boolean; earlier?: ReadonlyMap<string, DescribedObject> } = {},
  ): Promise<void> {
    const inBatch = new Map<string, DescribedObject>(opts.earlier ?? []);
    const checks: Array<Promise<void>> = [];
    for (const item of batch) {
      for (const ref of item.refs) {
        if (!inBatch.has(ref) && !this.store.has(ref)) throw new KithError('DANGLING_REFERENCE', `${item.type} references an object that is not stored`);
      }
      for (const ref of item.chunkRefs) {
        if (!this.store.has(ref)) throw new KithError('DANGLING_REFERENCE', `${item.type} references a blob chunk that is not stored`);
      }
      inBatch.set(item.hash, item);
      checks.push(this.verifyOne(item, inBatch, opts.signatures !== false));
    }
    const results = await Promise.allSettled(checks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    for (const item of batch) if (CACHED_TYPES.has(item.type)) this.remember(item.hash, item.object);
  }

  /** The person an instance acts for (from its stored Instance record). */
  async personOf(instanceId: string, inBatch?: ReadonlyMap<string, DescribedObject>): Promise<PersonId> {
    const instance = await this.record(instanceId, inBatch, 'Instance');
    return instance.person as PersonId;
  }

  /** A stored (or same-batch) record of the expected type, parsed; CERTIFICATE/OBJECT errors otherwise. */
  async record(hash: string, inBatch: ReadonlyMap<string, DescribedObject> | undefined, type: string): Promise<KithObject> {
    let obj = inBatch?.get(hash)?.object ?? this.records.get(hash);
    if (!obj) {
      const bytes = await this.store.get(hash as ObjectHash);
      if (!bytes) throw new KithError('DANGLING_REFERENCE', `missing ${type}`);
      obj = describeBytes(this.crypto, bytes).object;
      if (CACHED_TYPES.has(obj.$type)) this.remember(hash, obj);
    }
    if (obj.$type !== type) throw new KithError('OBJECT_INVALID', `expected a reference to ${type}, found ${obj.$type}`);
    return obj;
  }

  private async verifyOne(item: DescribedObject, inBatch: ReadonlyMap<string, DescribedObject>, signatures: boolean): Promise<void> {
    const o = item.object as Record<string, unknown>;
    let signerPerson: PersonId | undefined;
    let signKey: Uint8Array | undefined;
    if (item.signer?.kind === 'person') {
      const person = await this.record(item.signer.person, inBatch, 'Person');
      signKey = fromBase64url(person.signKey as string);
      signerPerson = item.signer.person;
      if (item.type === 'InstanceCertificate') {
        const instance = await this.record(o.instance as string, inBatch, 'Instance');
        if (instance.person !== o.person) throw new KithError('CERTIFICATE_INVALID', 'the certificate binds an instance of another person');
      }
    } else if (item.signer?.kind === 'instance') {
      const instance = await this.record(item.signer.author, inBatch, 'Instance');
      const cert = await this.record(item.signer.cert, inBatch, 'InstanceCertificate');
      if (cert.instance !== item.signer.author || cert.person !== instance.person) {
        throw new KithError('CERTIFICATE_INVALID', "the certificate does not bind the object's author to its person");
      }
      signKey = fromBase64url(instance.signKey as string);
      signerPerson = instance.person as PersonId;
    }
    await this.checkRights(item, signerPerson, inBatch);
    if (signatures && signKey) {
      // The described value already passed the JSON gate: serialize the unsigned form without walking it again.
      const digest = withUtf8(serializeChecked(unsigned(item.object) as JsonValue), (text) => this.crypto.sha256(text));
      const ok = await this.bounded(() => this.crypto.ed25519Verify(signKey, digest, fromBase64url(o.sig as string)));
      if (!ok) throw new KithError(item.type === 'InstanceCertificate' ? 'CERTIFICATE_INVALID' : 'SIGNATURE_INVALID', `${item.type}: the signature does not verify`);
    }
  }

  private async checkRights(item: DescribedObject, person: PersonId | undefined, inBatch: ReadonlyMap<string, DescribedObject>): Promise<void> {
    const o = item.object as Record<string, unknown>;
    switch (item.type) {
      case 'Version': {
        const id = await this.record(o.id as string, inBatch, 'Id');
        if (id.owner !== person) throw new KithError('ACCESS_DENIED', 'only the owner of an id may write its versions');
        for (const prev of o.prev as string[]) {
          const p = await this.record(prev, inBatch, 'Version');
          if (p.id !== o.id) throw new KithError('OBJECT_INVALID', 'a version names a parent of another id');
        }
        return;
      }
      case 'ChannelEntry': {
        const channel = await this.record(o.channel as string, inBatch, 'Id');
        if (channel.kind !== 'Channel') throw new KithError('OBJECT_INVALID', 'a channel entry must name a Channel id');
        return;
      }
      case 'Access': {
        for (const target of o.objects as string[]) {
          const owner = await this.ownerOf(target, inBatch);
          if (owner !== undefined && owner !== person) throw new KithError('ACCESS_DENIED', "a grant covers an object of another person");
        }
        for (const idHash of o.ids as string[]) {
          const id = await this.record(idHash, inBatch, 'Id');
          if (id.owner !== person) throw new KithError('ACCESS_DENIED', "a grant covers an id of another person");
        }
        for (const group of o.groups as string[]) {
          const id = await this.record(group, inBatch, 'Id');
          if (id.kind !== 'Group') throw new KithError('OBJECT_INVALID', 'a grant names a group id that is not a Group');
        }
        return;
      }
      case 'AccessRevoke': {
        const grant = await this.record(o.grant as string, inBatch, 'Access');
        if ((await this.personOf(grant.author as string, inBatch)) !== person) throw new KithError('ACCESS_DENIED', "only the grant's own person may revoke it");
        return;
      }
    }
  }

  /** The person an object belongs to for granting purposes; undefined for unsigned objects. */
  private async ownerOf(hash: string, inBatch: ReadonlyMap<string, DescribedObject>): Promise<PersonId | undefined> {
    const meta = this.store.meta(hash as ObjectHash);
    if (meta?.author) return this.personOf(meta.author, inBatch);
    const item = inBatch.get(hash);
    let obj: KithObject | undefined = item?.object;
    if (!obj) {
      if (meta?.kind === 'chunk') return undefined;
      const bytes = await this.store.get(hash as ObjectHash);
      if (!bytes) throw new KithError('DANGLING_REFERENCE');
      obj = describeBytes(this.crypto, bytes).object;
    }
    const o = obj as Record<string, unknown>;
    if (typeof o.author === 'string' && typeof o.sig === 'string') return this.personOf(o.author, inBatch);
    if (obj.$type === 'Id') return o.owner as PersonId;
    if (obj.$type === 'InstanceCertificate' || obj.$type === 'Profile') return o.person as PersonId;
    return undefined;
  }

  /** Runs `check` once fewer than VERIFY_CONCURRENCY are in flight, so bulk verification cannot fill the threadpool. */
  private async bounded<T>(check: () => Promise<T>): Promise<T> {
    if (this.verifying >= VERIFY_CONCURRENCY) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.verifying++;
    try {
      return await check();
    } finally {
      this.verifying--;
      this.waiting.shift()?.();
    }
  }

  private remember(hash: string, obj: KithObject): void {
    if (this.records.size >= RECORD_CACHE_ENTRIES) {
      const oldest = this.records.keys().next().value;
      if (oldest !== undefined) this.records.delete(oldest);
    }
    this.records.set(hash, obj);
  }
}

const CACHED_TYPES = new Set(['Person', 'Instance', 'InstanceCertificate', 'Id', 'Access']);
