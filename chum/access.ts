/**
 * Who may receive what (DESIGN §7 "Access"). The exporter asks `mayReceive(person, hash)`
 * for every object at send time, so a revoked grant stops further objects at once.
 *
 * A person P may receive:
 * - everything, when P is this instance's own person or a companion (the renderer of this
 *   app, or the main instance a renderer belongs to: the same human, two identities);
 * - objects authored by P's instances, and everything in the scope of ids P owns (a channel's
 *   owner sees every entry posted to it);
 * - the targets of every unrevoked Access grant naming P or a Group whose current members
 *   include P, all objects in the scope of the ids such grants name, the grants themselves,
 *   and the versions of groups P belongs to;
 * - and the closure (everything referenced, transitively) of all of the above, which the
 *   receiver needs to store them.
 *
 * Allowed sets are computed per person on first use and kept up to date incrementally;
 * grants, revocations and group changes (rare) trigger a recompute, and persons whose set
 * grew are reported so their sessions can offer what just became visible.
 */
import type { ObjectStore, StoredMeta } from './ObjectStore.js';
import type { ObjectVerifier } from './model/verify.js';
import type { ObjectHash, PersonId } from '../shared/ids.js';
import { currentVersion, type VersionInfo } from './model/versions.js';
import { TypedEmitter } from '../shared/events.js';
import { ACCESS_SCAN_PAGE_ENTRIES } from '../shared/limits.js';

interface Grant {
  readonly person: PersonId;
  readonly objects: readonly string[];
  readonly ids: readonly string[];
  readonly persons: readonly string[];
  readonly groups: readonly string[];
}

interface Allowed {
  readonly hashes: Set<string>;
  readonly ids: Set<string>;
}

export interface AccessEvents {
  [event: string]: unknown;
  /** Stored entries up to `seq` are indexed; `widened` lists persons who may now receive older objects too. */
  indexed: { seq: number; widened: ReadonlyMap<PersonId, ReadonlySet<string>> };
}

export interface AccessIndexOptions {
  readonly store: ObjectStore;
  readonly verifier: ObjectVerifier;
  readonly localPerson: PersonId;
  /** Same-human companions (renderer ↔ main) see everything. */
  readonly isCompanion: (person: PersonId) => boolean;
}

export class AccessIndex {
  readonly events = new TypedEmitter<AccessEvents>();
  private readonly instancePerson = new Map<string, PersonId>();
  private readonly grants = new Map<string, Grant>();
  private readonly revoked = new Set<string>();
  private readonly groupIds = new Set<string>();
  private readonly idOwners = new Map<string, string>();
  private readonly groupVersions = new Map<string, VersionInfo[]>();
  private readonly members = new Map<string, Set<string>>();
  private readonly cache = new Map<PersonId, Allowed>();
  /** Indexed objects by the person whose instance authored them, and by the id whose scope they are in: computing a person's set reads these instead of the whole store. */
  private readonly byAuthorPerson = new Map<PersonId, string[]>();
  private readonly byScope = new Map<string, string[]>();
  private queue: Promise<void> = Promise.resolve();
  private indexedSeq = 0;
  private readonly off: () => void;

  private constructor(private readonly opts: AccessIndexOptions) {
    this.off = opts.store.onStored((metas) => {
      this.queue = this.queue.then(() => this.ingest(metas)).catch(() => {});
    });
  }

  /** Builds the index over an existing store (reads only grants, instances, ids and group versions). */
  static async open(opts: AccessIndexOptions): Promise<AccessIndex> {
    const index = new AccessIndex(opts);
    for (let after = 0; ; ) {
      const page = opts.store.since(after, ACCESS_SCAN_PAGE_ENTRIES);
      if (page.length === 0) break;
      await index.ingest(page, false);
      after = page[page.length - 1]!.seq;
    }
    return index;
  }

  /** Highest store sequence that has been indexed (the exporter streams only up to here). */
  get seq(): number {
    return this.indexedSeq;
  }

  /** Whether `person` may receive the stored object `hash` now. */
  mayReceive(person: PersonId, hash: string): boolean {
    if (this.seesEverything(person)) return true;
    return this.allowed(person).hashes.has(hash);
  }

  /** True for this instance's own person and its companions. */
  seesEverything(person: PersonId): boolean {
    return person === this.opts.localPerson || this.opts.isCompanion(person);
  }

  /** The person an instance acts for, when its Instance record is stored. */
  personOfInstance(instanceId: string): PersonId | undefined {
    return this.instancePerson.get(instanceId);
  }

  /** Waits until everything stored so far is indexed. */
  settled(): Promise<void> {
    return this.queue;
  }

  close(): void {
    this.off();
  }

  private allowed(person: PersonId): Allowed {
    let a = this.cache.get(person);
    if (!a) {
      a = this.compute(person);
      this.cache.set(person, a);
    }
    return a;
  }

  private async ingest(metas: readonly StoredMeta[], emit = true): Promise<void> {
    let structural = false;
    for (const meta of metas) {
      switch (meta.type) {
        case 'Instance': {
          const o = await this.read(meta.hash, 'Instance');
          if (o) this.instancePerson.set(meta.hash, o.person as PersonId);
          break;
        }
        case 'Id': {
          const o = await this.read(meta.hash, 'Id');
          if (o?.kind === 'Group') this.groupIds.add(meta.hash);
          if (o) {
            this.idOwners.set(meta.hash, o.owner as string);
            structural = true;
          }
          break;
        }
        case 'Access': {
          const o = await this.read(meta.hash, 'Access');
          const person = meta.author ? this.instancePerson.get(meta.author) : undefined;
          if (o && person) {
            this.grants.set(meta.hash, {
              person,
              objects: o.objects as string[],
              ids: o.ids as string[],
              persons: o.persons as string[],
              groups: o.groups as string[],
            });
            structural = true;
          }
          break;
        }
        case 'AccessRevoke': {
          const o = await this.read(meta.hash, 'AccessRevoke');
          if (o) {
            this.revoked.add(o.grant as string);
            structural = true;
          }
          break;
        }
        case 'Version':
          if (meta.idHash && this.groupIds.has(meta.idHash)) {
            const o = await this.read(meta.hash, 'Version');
            if (o) {
              const list = this.groupVersions.get(meta.idHash) ?? [];
              list.push({ hash: meta.hash, prev: o.prev as ObjectHash[], hlc: o.hlc as number, data: o.data as Record<string, unknown> });
              this.groupVersions.set(meta.idHash, list);
              const members = (currentVersion(list)?.data.members ?? []) as unknown[];
              this.members.set(meta.idHash, new Set(members.filter((m): m is string => typeof m === 'string')));
              structural = true;
            }
          }
          break;
      }
      const author = meta.author ? this.instancePerson.get(meta.author) : undefined;
      if (author !== undefined) append(this.byAuthorPerson, author, meta.hash);
      if (meta.idHash !== undefined) append(this.byScope, meta.idHash, meta.hash);
      if (!structural) for (const [person, a] of this.cache) if (this.includes(person, a, meta)) this.addClosure(a.hashes, meta.hash);
      this.indexedSeq = Math.max(this.indexedSeq, meta.seq);
    }
    const widened = new Map<PersonId, ReadonlySet<string>>();
    if (structural) {
      for (const [person, before] of this.cache) {
        const after = this.compute(person);
        const gained = new Set<string>();
        for (const h of after.hashes) if (!before.hashes.has(h)) gained.add(h);
        if (gained.size > 0) widened.set(person, gained);
        this.cache.set(person, after);
      }
    }
    if (emit) this.events.emit('indexed', { seq: this.indexedSeq, widened });
  }

  private includes(person: PersonId, a: Allowed, meta: StoredMeta): boolean {
    if (meta.author && this.instancePerson.get(meta.author) === person) return true;
    return meta.idHash !== undefined && a.ids.has(meta.idHash);
  }

  private compute(person: PersonId): Allowed {
    const roots: string[] = [];
    const ids = new Set<string>();
    for (const [id, owner] of this.idOwners) if (owner === person) ids.add(id);
    for (const [groupId, members] of this.members) {
      if (members.has(person)) {
        ids.add(groupId);
      }
    }
    for (const [hash, g] of this.grants) {
      if (this.revoked.has(hash)) continue;
      if (!g.persons.includes(person) && !g.groups.some((group) => this.members.get(group)?.has(person))) continue;
      roots.push(hash, ...g.objects);
      for (const id of g.ids) ids.add(id);
    }
    roots.push(...ids);
    const hashes = new Set<string>();
    // What `includes` admits among indexed objects: authored by the person's instances, or in the scope of one of its ids.
    for (const h of this.byAuthorPerson.get(person) ?? []) roots.push(h);
    for (const id of ids) for (const h of this.byScope.get(id) ?? []) roots.push(h);
    for (const root of roots) this.addClosure(hashes, root);
    return { hashes, ids };
  }

  /** Adds `root` and everything it references (transitively) that is stored. */
  private addClosure(into: Set<string>, root: string): void {
    if (into.has(root)) return;
    const stack = [root];
    while (stack.length > 0) {
      const h = stack.pop()!;
      if (into.has(h)) continue;
      const meta = this.opts.store.meta(h as ObjectHash);
      if (!meta) continue;
      into.add(h);
      for (const r of meta.refs) if (!into.has(r)) stack.push(r);
    }
  }

  private async read(hash: string, type: string): Promise<Record<string, unknown> | undefined> {
    try {
      return (await this.opts.verifier.record(hash, undefined, type)) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  }
}

function append<K>(map: Map<K, string[]>, key: K, value: string): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
