/**
 * The in-memory metadata every store keeps (DESIGN §7): by hash for `has`/`meta`, by sequence
 * for `since`, by id hash for `versionsOf`, plus running totals for `stats`. All O(1) or
 * O(result); bytes never live here. Metas are frozen, so handing them out is safe.
 */
import type { ObjectHash } from '../../shared/ids.js';
import type { StoredMeta, StoreStats } from '../ObjectStore.js';
import { KithError } from '../../shared/errors.js';
import { describe } from '../../shared/bytes.js';

function assertCount(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new KithError('INVALID_INPUT', `since: ${what} must be a non-negative integer, got ${describe(value)}`);
  }
}

export class MetaIndex {
  private readonly byHash = new Map<string, StoredMeta>();
  /** `bySeq[i].seq === i + 1`: sequences are dense, so the array is the sequence index. */
  private readonly bySeq: StoredMeta[] = [];
  private readonly versions = new Map<string, StoredMeta[]>();
  private objects = 0;
  private chunks = 0;
  private bytes = 0;

  /** Highest sequence stored (0 when empty). */
  get lastSeq(): number {
    return this.bySeq.length;
  }

  /** Whether `hash` is stored; anything that is not a stored hash answers false. */
  has(hash: unknown): boolean {
    return typeof hash === 'string' && this.byHash.has(hash);
  }

  /** The meta of a stored entry, undefined for anything else. */
  meta(hash: unknown): StoredMeta | undefined {
    return typeof hash === 'string' ? this.byHash.get(hash) : undefined;
  }

  /** Up to `limit` metas with seq > `after`, in sequence order. */
  since(after: number, limit: number): StoredMeta[] {
    assertCount(after, 'after');
    assertCount(limit, 'limit');
    return this.bySeq.slice(after, after + limit);
  }

  /** Stored versions of `idHash`, in sequence order (a copy). */
  versionsOf(idHash: ObjectHash): StoredMeta[] {
    const list = typeof idHash === 'string' ? this.versions.get(idHash) : undefined;
    return list ? list.slice() : [];
  }

  stats(): StoreStats {
    return { objects: this.objects, chunks: this.chunks, bytes: this.bytes };
  }

  /** Records a newly durable entry; it must carry the next sequence and a new hash. */
  add(meta: StoredMeta): void {
    if (meta.seq !== this.bySeq.length + 1 || this.byHash.has(meta.hash)) {
      throw new KithError('INTERNAL', `store index: expected a new entry with seq ${this.bySeq.length + 1}, got seq ${meta.seq}`);
    }
    this.byHash.set(meta.hash, meta);
    this.bySeq.push(meta);
    if (meta.idHash !== undefined) {
      const list = this.versions.get(meta.idHash);
      if (list) list.push(meta);
      else this.versions.set(meta.idHash, [meta]);
    }
    if (meta.kind === 'chunk') this.chunks++;
    else this.objects++;
    this.bytes += meta.size;
  }
}
