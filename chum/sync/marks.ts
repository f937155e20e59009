/**
 * Per-peer high-water marks (DESIGN §7): for each peer instance, the epoch of its store and
 * the highest sequence of it we have stored. Kept in a small state document; writes are
 * coalesced (a batch stored while a write is in flight rides on the next one), and `persist`
 * resolves only once a write containing the current marks is durable — the importer
 * acknowledges a batch only after that, so an acknowledged batch is never asked for again.
 */
import { ArrayMaxSize, Equals, IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { NestedArray, HASH_HEX_RE, validateSchema } from '../../shared/schema.js';
import { StateDocument } from '../../shared/StateDocument.js';
import type { Adapter } from 'lowdb';
import type { InstanceId } from '../../shared/ids.js';
import { MAX_MARKS } from '../../shared/limits.js';

export class MarkEntry {
  @Matches(HASH_HEX_RE) peer!: InstanceId;
  @IsString() @Matches(/^[A-Za-z0-9_-]{8,64}$/) epoch!: string;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) seq!: number;
  @IsInt() @Min(0) @Max(Number.MAX_SAFE_INTEGER) updatedAt!: number;
}

export class MarksDocument {
  @Equals(1) version!: 1;
  @NestedArray(() => MarkEntry, MAX_MARKS) @ArrayMaxSize(MAX_MARKS) marks!: MarkEntry[];
}

export function parseMarksDocument(value: unknown): MarksDocument {
  return validateSchema(MarksDocument, value, 'INVALID_INPUT', 'sync marks');
}

export interface PeerMark {
  readonly epoch: string;
  readonly seq: number;
}

export class MarkStore {
  private readonly current = new Map<string, MarkEntry>();
  private writing: Promise<void> | undefined;
  private pending: Promise<void> | undefined;

  private constructor(private readonly doc: StateDocument<MarksDocument>, private readonly now: () => number) {
    for (const m of doc.data.marks) this.current.set(m.peer, { ...m });
  }

  static async open(adapter: Adapter<MarksDocument>, now: () => number = Date.now): Promise<MarkStore> {
    return new MarkStore(await StateDocument.open(adapter, () => ({ version: 1, marks: [] })), now);
  }

  get(peer: InstanceId): PeerMark | undefined {
    const m = this.current.get(peer);
    return m ? { epoch: m.epoch, seq: m.seq } : undefined;
  }

  /** Records a mark in memory; call `persist` before acknowledging. */
  set(peer: InstanceId, mark: PeerMark): void {
    this.current.delete(peer);
    this.current.set(peer, { peer, epoch: mark.epoch, seq: mark.seq, updatedAt: this.now() });
    while (this.current.size > MAX_MARKS) this.current.delete(this.current.keys().next().value!);
  }

  /** Resolves once every mark set before this call is durable. */
  persist(): Promise<void> {
    if (!this.writing) {
      this.writing = this.write().finally(() => (this.writing = undefined));
      return this.writing;
    }
    // A write is in flight and may have copied older marks: chain exactly one more after it.
    this.pending ??= this.writing.then(() => {
      this.pending = undefined;
      return this.persist();
    });
    return this.pending;
  }

  private write(): Promise<void> {
    const marks = [...this.current.values()];
    return this.doc.update((d) => {
      d.marks = marks;
    });
  }
}
