/**
 * Channels as the app uses CHUM (app.md "Channel model"): a channel is an `Id` of kind
 * Channel created by this renderer plus one Access grant to main's person and the main
 * persons of the chosen contacts; a message is a signed ChannelEntry in the channel's scope.
 * Companions relay everything, so an entry travels renderer A → main A → main B → renderer B.
 *
 * The book finds channels in the store (its own and those shared with it), loads the entries
 * of the selected channel, re-checks each entry's signature against its author's Instance
 * record (shown as `verified`), follows incoming file chunks, and writes messages and files.
 * No DOM: the screens read `snapshot()` and call the actions.
 */
import type { Chum } from '../chum/Chum.js';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { LocalIdentity } from '../shared/identity.js';
import type { StoredMeta } from '../chum/ObjectStore.js';
import type { ObjectHash, PersonId } from '../shared/ids.js';
import type { KithObject } from '../shared/objects.js';
import type { JsonObject } from '../shared/canonical.js';
import { verifyObjectSignature } from '../shared/objects.js';
import { fromBase64url } from '../shared/bytes.js';
import { KithError } from '../shared/errors.js';
import { BLOB_CHUNK_BYTES, MAX_CHANNEL_MESSAGES_SHOWN, MAX_NAME_LENGTH, STORE_LIST_PAGE_ENTRIES, TYPE_LIMITS, UPLOAD_PROGRESS_INTERVAL_MS } from '../shared/limits.js';

export interface ChannelSummary {
  /** The channel's Id hash (what entries and grants name). */
  readonly hash: ObjectHash;
  /** Its name, as its creator gave it. */
  readonly name: string;
  /** The person who created it (sees every entry). */
  readonly owner: PersonId;
  /** Created by this renderer's person. */
  readonly mine: boolean;
}

export interface FileView {
  /** The blob manifest's hash. */
  readonly manifest: ObjectHash;
  /** File name (no path). */
  readonly name: string;
  /** Size in bytes. */
  readonly size: number;
  /** Media type, when the sender gave one. */
  readonly mime?: string;
  /** Chunks stored so far / chunks of the file: a received file is ready once all are here. */
  readonly chunksHave: number;
  readonly chunksTotal: number;
  /** All chunks are stored: the file can be downloaded. */
  readonly ready: boolean;
}

export interface MessageView {
  /** The entry's hash. */
  readonly hash: ObjectHash;
  /** The display name the author signed into the entry. */
  readonly authorName: string;
  /** Written by this window. */
  readonly mine: boolean;
  /** The entry's signature verified against its author's Instance record, re-checked here. */
  readonly verified: boolean;
  /** Hybrid logical clock of the entry (milliseconds, causally ordered). */
  readonly hlc: number;
  /** Text, for a text message. */
  readonly text?: string;
  /** The file, for a file message. */
  readonly file?: FileView;
}

/** A file being stored (before its entry is written). */
export interface Upload {
  /** Local number of the upload. */
  readonly id: number;
  /** The channel it will be posted to. */
  readonly channel: ObjectHash;
  /** File name. */
  readonly name: string;
  /** Bytes stored so far. */
  readonly bytesDone: number;
  /** Size of the file. */
  readonly bytesTotal: number;
}

/** A file to send: its metadata and its bytes, in pieces (a browser File's stream) or at once. */
export interface FileSource {
  /** File name (a path is cut to its last part). */
  readonly name: string;
  /** Size in bytes (for progress and the size check). */
  readonly size: number;
  /** Media type, if known. */
  readonly type?: string;
  /** The bytes: pieces of any size, or all at once. */
  pieces(): AsyncIterable<Uint8Array> | Uint8Array;
}

export interface ChannelSnapshot {
  /** Every channel in the store, by name. */
  readonly channels: readonly ChannelSummary[];
  /** The channel shown. */
  readonly selected: ObjectHash | undefined;
  /** Its newest messages, oldest first. */
  readonly messages: readonly MessageView[];
  /** Entries of the selected channel beyond MAX_CHANNEL_MESSAGES_SHOWN (older, not shown). */
  readonly hiddenOlder: number;
  /** Files being stored right now. */
  readonly uploads: readonly Upload[];
}

export interface ChannelBookOptions {
  /** This window's CHUM (store, clock, writes). */
  readonly chum: Chum;
  /** For re-checking entry signatures. */
  readonly crypto: CryptoProvider;
  /** This window's identity (its person owns the channels it creates; its name is signed into entries). */
  readonly identity: LocalIdentity;
  /** Called after anything shown changed. */
  readonly onChange: () => void;
  /** Reports a failure that happened in the background (loading an entry). */
  readonly onError?: (err: unknown) => void;
}

interface LoadedEntry {
  readonly hash: ObjectHash;
  readonly hlc: number;
  readonly authorName: string;
  readonly mine: boolean;
  readonly verified: boolean;
  readonly text?: string;
  readonly file?: { manifest: ObjectHash; name: string; size: number; mime?: string };
}

const MIME_RE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i;

export class ChannelBook {
  private readonly channels = new Map<string, ChannelSummary>();
  private readonly entries = new Map<string, LoadedEntry>();
  /** Chunk lists of file manifests seen in entries. */
  private readonly manifests = new Map<string, readonly ObjectHash[]>();
  private readonly uploads = new Map<number, Upload>();
  private nextUpload = 1;
  private selected: ObjectHash | undefined;
  private queue: Promise<void> = Promise.resolve();
  private offStored: (() => void) | undefined;
  private closed = false;

  constructor(private readonly opts: ChannelBookOptions) {}

  /** Finds the channels already stored and follows the store from then on. */
  async start(): Promise<void> {
    const store = this.opts.chum.store;
    this.offStored = store.onStored((metas) => this.enqueue(() => this.ingest(metas)));
    const ids: StoredMeta[] = [];
    for (let after = 0; ; ) {
      const page = store.since(after, STORE_LIST_PAGE_ENTRIES);
      if (page.length === 0) break;
      for (const m of page) if (m.type === 'Id') ids.push(m);
      after = page[page.length - 1]!.seq;
    }
    await this.enqueue(() => this.ingest(ids));
  }

  close(): void {
    this.closed = true;
    this.offStored?.();
  }

  snapshot(): ChannelSnapshot {
    const channels = [...this.channels.values()].sort((a, b) => a.name.localeCompare(b.name) || (a.hash < b.hash ? -1 : 1));
    const all = this.selected ? this.entriesOf(this.selected) : [];
    const shown = all.slice(-MAX_CHANNEL_MESSAGES_SHOWN);
    return {
      channels,
      selected: this.selected,
      messages: shown.map((e) => this.view(e)),
      hiddenOlder: all.length - shown.length,
      uploads: [...this.uploads.values()],
    };
  }

  /** Shows a channel's messages (loads them first). */
  async select(channel: ObjectHash | undefined): Promise<void> {
    this.selected = channel && this.channels.has(channel) ? channel : undefined;
    this.opts.onChange();
    if (!this.selected) return;
    const metas = this.opts.chum.store.versionsOf(this.selected);
    await this.enqueue(() => this.ingest(metas));
  }

  /** Creates a channel and grants main's person and the chosen contacts access to it. */
  async create(name: string, mainPerson: PersonId, members: readonly PersonId[]): Promise<ObjectHash> {
    const title = name.trim();
    if (title.length === 0) throw new KithError('INVALID_INPUT', 'a channel needs a name');
    if (title.length > MAX_NAME_LENGTH) throw new KithError('INVALID_INPUT', `a channel name has at most ${MAX_NAME_LENGTH} characters`);
    const chum = this.opts.chum;
    const channel = await chum.createId('Channel', title);
    await chum.grant({ ids: [channel], persons: [...new Set([mainPerson, ...members])] });
    this.channels.set(channel, { hash: channel, name: title, owner: this.opts.identity.personId, mine: true });
    await this.select(channel);
    return channel;
  }

  /** Posts a text message to the selected channel. */
  async sendText(text: string): Promise<ObjectHash> {
    const channel = this.requireSelected();
    if (text.trim().length === 0) throw new KithError('INVALID_INPUT', 'the message is empty');
    if (text.length > TYPE_LIMITS.maxText) throw new KithError('OBJECT_TOO_LARGE', `a message holds at most ${TYPE_LIMITS.maxText} characters`);
    return this.post({ $type: 'ChannelEntry', channel, hlc: this.opts.chum.clock.now(), text, name: this.myName() });
  }

  /** Stores a file as a blob (reporting progress as an upload), then posts it to the selected channel. */
  async sendFile(file: FileSource): Promise<ObjectHash> {
    const channel = this.requireSelected();
    if (!Number.isSafeInteger(file.size) || file.size < 0 || file.size > TYPE_LIMITS.maxChunks * BLOB_CHUNK_BYTES) {
      throw new KithError('OBJECT_TOO_LARGE', 'the file is too large for one message');
    }
    const name = fileName(file.name);
    const id = this.nextUpload++;
    const show = (bytes: number) => {
      this.uploads.set(id, { id, channel, name, bytesDone: bytes, bytesTotal: Math.max(file.size, bytes) });
      this.opts.onChange();
    };
    show(0);
    try {
      // Progress is counted as the file is read (storing follows within a few chunks), throttled.
      let read = 0;
      let shownAt = 0;
      const source = file.pieces();
      const counted =
        source instanceof Uint8Array
          ? source
          : countPieces(source, (n) => {
              read += n;
              const now = Date.now();
              if (now - shownAt >= UPLOAD_PROGRESS_INTERVAL_MS) {
                shownAt = now;
                show(read);
              }
            });
      const { manifest, size } = await this.opts.chum.putBlob(counted, (stored) => show(Math.max(stored, read)));
      const mime = file.type && file.type.length <= TYPE_LIMITS.maxMime && MIME_RE.test(file.type) ? file.type : undefined;
      const ref: JsonObject = { manifest, name, size, ...(mime ? { mime } : {}) };
      return await this.post({ $type: 'ChannelEntry', channel, hlc: this.opts.chum.clock.now(), file: ref, name: this.myName() });
    } finally {
      this.uploads.delete(id);
      this.opts.onChange();
    }
  }

  /** A received or sent file's bytes, chunk by chunk (NOT_FOUND while chunks are still arriving). */
  async readFile(manifest: ObjectHash): Promise<Uint8Array[]> {
    const pieces: Uint8Array[] = [];
    for await (const piece of this.opts.chum.readBlob(manifest)) pieces.push(piece);
    return pieces;
  }

  // ---- internals ----------------------------------------------------------------------

  private requireSelected(): ObjectHash {
    if (!this.selected) throw new KithError('INVALID_INPUT', 'choose a channel first');
    return this.selected;
  }

  private myName(): string {
    return this.opts.identity.public.profile.name;
  }

  private async post(entry: KithObject): Promise<ObjectHash> {
    const hash = await this.opts.chum.putSigned(entry);
    // The store's onStored listener loads it too; waiting here makes it visible when the call returns.
    await this.enqueue(() => this.ingest(this.opts.chum.store.versionsOf(entry.channel as ObjectHash)));
    return hash;
  }

  /** Runs loads one after another (their order keeps notifications consistent). */
  private enqueue(task: () => Promise<void>): Promise<void> {
    const run = this.queue.then(task);
    this.queue = run.catch((err) => this.opts.onError?.(err));
    return run;
  }

  private async ingest(metas: readonly StoredMeta[]): Promise<void> {
    if (this.closed) return;
    let changed = false;
    for (const m of metas) {
      if (m.type === 'Id' && !this.channels.has(m.hash)) changed = (await this.loadChannel(m.hash)) || changed;
      else if (m.type === 'ChannelEntry' && m.idHash === this.selected && !this.entries.has(m.hash)) changed = (await this.loadEntry(m.hash)) || changed;
      else if (m.kind === 'chunk' && this.selected) changed = true;
    }
    if (changed && !this.closed) this.opts.onChange();
  }

  private async loadChannel(hash: ObjectHash): Promise<boolean> {
    const id = (await this.opts.chum.getObject(hash)) as Record<string, unknown> | undefined;
    if (!id || id.kind !== 'Channel' || typeof id.name !== 'string' || typeof id.owner !== 'string') return false;
    const owner = id.owner as PersonId;
    this.channels.set(hash, { hash, name: id.name || '(unnamed)', owner, mine: owner === this.opts.identity.personId });
    return true;
  }

  private async loadEntry(hash: ObjectHash): Promise<boolean> {
    const chum = this.opts.chum;
    const entry = await chum.getObject(hash);
    if (!entry || entry.$type !== 'ChannelEntry') return false;
    const o = entry as Record<string, unknown>;
    const author = (await chum.getObject(o.author as ObjectHash)) as Record<string, unknown> | undefined;
    let verified = false;
    if (author?.$type === 'Instance' && typeof author.signKey === 'string') {
      verified = await verifyObjectSignature(this.opts.crypto, entry, fromBase64url(author.signKey));
    }
    chum.clock.observe(o.hlc as number);
    let file: LoadedEntry['file'];
    if (typeof o.file === 'object' && o.file !== null) {
      const f = o.file as { manifest: ObjectHash; name: string; size: number; mime?: string };
      const manifest = (await chum.getObject(f.manifest)) as Record<string, unknown> | undefined;
      this.manifests.set(f.manifest, Array.isArray(manifest?.chunks) ? (manifest.chunks as ObjectHash[]) : []);
      file = { manifest: f.manifest, name: f.name, size: f.size, ...(f.mime ? { mime: f.mime } : {}) };
    }
    const name = typeof o.name === 'string' ? o.name : typeof author?.name === 'string' ? author.name : 'unknown';
    this.entries.set(hash, {
      hash,
      hlc: o.hlc as number,
      authorName: name,
      mine: o.author === this.opts.identity.instanceId,
      verified,
      ...(typeof o.text === 'string' ? { text: o.text } : {}),
      ...(file ? { file } : {}),
    });
    return true;
  }

  private entriesOf(channel: ObjectHash): LoadedEntry[] {
    const out: LoadedEntry[] = [];
    for (const m of this.opts.chum.store.versionsOf(channel)) {
      const e = m.type === 'ChannelEntry' ? this.entries.get(m.hash) : undefined;
      if (e) out.push(e);
    }
    return out.sort((a, b) => a.hlc - b.hlc || (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }

  private view(e: LoadedEntry): MessageView {
    const { file, ...rest } = e;
    if (!file) return rest;
    const chunks = this.manifests.get(file.manifest) ?? [];
    const store = this.opts.chum.store;
    let have = 0;
    for (const c of chunks) if (store.has(c)) have++;
    return { ...rest, file: { ...file, chunksHave: have, chunksTotal: chunks.length, ready: have === chunks.length } };
  }
}

/** Passes pieces through, telling `onPiece` each one's size. */
async function* countPieces(source: AsyncIterable<Uint8Array>, onPiece: (bytes: number) => void): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    onPiece(piece.length);
    yield piece;
  }
}

/** A file name an entry accepts: no path, no control characters, 1..255 characters (the extension kept). */
export function fileName(raw: string): string {
  // eslint-disable-next-line no-control-regex
  let name = String(raw ?? '').replace(/^.*[\\/]/, '').replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
  if (name.length === 0) name = 'file';
  const max = TYPE_LIMITS.maxFileName;
  if (name.length > max) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    name = name.slice(0, max - ext.length) + ext;
  }
  return name;
}
