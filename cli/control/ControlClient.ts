/**
 * The client side of the control socket: a NodeService whose every call is a request to the
 * process that owns the home (control/protocol.ts). One request at a time per connection;
 * uploads (put) and downloads (get) stream in bounded base64url frames with backpressure
 * both ways. What the owner answers is validated frame by frame like any outside input.
 */
import * as net from 'node:net';
import { promises as fsp } from 'node:fs';
import { KithError, toKithError } from '../../shared/errors.js';
import type { InviteId, ObjectHash, PersonId } from '../../shared/ids.js';
import { CONTROL_RESPONSE_TIMEOUT_MS, CONTROL_STREAM_CHUNK_BYTES, MAX_CONTROL_RESPONSE_LINE_BYTES } from '../../shared/limits.js';
import { JsonLineChannel } from './JsonLineChannel.js';
import { CONTROL_PROTOCOL_VERSION, dataFrameLine, parseServerFrame, type ControlCommand, type ServerFrame } from './protocol.js';
import type { ControlSocketAddress } from './socketAddress.js';
import type {
  AcceptResult, ContactListing, HelloResult, InviteListing, InviteResult, NodeService, ObjectHeader, ObjectListing, PutResult, StatusReport,
} from './NodeService.js';

type Streamed = Exclude<ServerFrame, { kind: 'result' | 'error' }>;

/** Errors of connect() that mean "nobody is listening there". */
const NOBODY_THERE = new Set(['ENOENT', 'ECONNREFUSED']);

export interface ControlClientOptions {
  /** How long to wait for each frame from the owner (default CONTROL_RESPONSE_TIMEOUT_MS). */
  readonly timeoutMs?: number;
}

export class ControlClient implements NodeService {
  private nextId = 1;
  private busy = false;
  private helloResult: HelloResult | undefined;

  private constructor(private readonly channel: JsonLineChannel) {}

  /**
   * Connects and says hello. Undefined when nobody listens (no socket, or a stale one);
   * refuses a socket that belongs to another user or speaks another protocol version.
   */
  static async connect(address: ControlSocketAddress, options: ControlClientOptions = {}): Promise<ControlClient | undefined> {
    if (address.isFile) {
      const st = await fsp.lstat(address.path).catch(() => undefined);
      if (!st || !st.isSocket()) return undefined;
      const uid = process.getuid?.();
      if (uid !== undefined && st.uid !== uid) throw new KithError('INTERNAL', `the control socket ${address.path} belongs to another user; not using it`);
    }
    const socket = net.connect(address.path);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
    } catch (err) {
      socket.destroy();
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (NOBODY_THERE.has(code)) return undefined;
      throw new KithError('INTERNAL', `cannot connect to the control socket (${code || 'error'})`);
    }
    const client = new ControlClient(new JsonLineChannel(socket, { maxLineBytes: MAX_CONTROL_RESPONSE_LINE_BYTES, timeoutMs: options.timeoutMs ?? CONTROL_RESPONSE_TIMEOUT_MS }));
    try {
      const hello = await client.hello();
      if (hello.protocol !== CONTROL_PROTOCOL_VERSION) {
        throw new KithError('PROTOCOL_ERROR', `the serving kith speaks control protocol ${hello.protocol}, this one ${CONTROL_PROTOCOL_VERSION}: use the same kith version`);
      }
      return client;
    } catch (err) {
      client.channel.destroy();
      throw err;
    }
  }

  async hello(): Promise<HelloResult> {
    if (this.helloResult) return this.helloResult;
    const { result } = await this.call('hello', {});
    if (typeof result.protocol !== 'number' || typeof result.instanceId !== 'string' || typeof result.pid !== 'number') {
      throw new KithError('PROTOCOL_ERROR', 'the serving kith sent a malformed hello');
    }
    this.helloResult = result as unknown as HelloResult;
    return this.helloResult;
  }

  async invite(options: { ttlSeconds?: number }): Promise<InviteResult> {
    return (await this.call('invite', options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds })).result as unknown as InviteResult;
  }

  async invites(): Promise<InviteListing[]> {
    return (await this.call('invites', {})).items as unknown as InviteListing[];
  }

  async revokeInvite(inviteId: InviteId): Promise<InviteListing> {
    return (await this.call('revoke-invite', { inviteId })).result.revoked as InviteListing;
  }

  async accept(link: string): Promise<AcceptResult> {
    return (await this.call('accept', { link })).result as unknown as AcceptResult;
  }

  async contacts(): Promise<ContactListing[]> {
    return (await this.call('contacts', {})).items as unknown as ContactListing[];
  }

  async revoke(personId: PersonId): Promise<ContactListing> {
    return (await this.call('revoke', { personId })).result.revoked as ContactListing;
  }

  async put(source: AsyncIterable<Uint8Array>, options: { kind: 'blob' | 'object'; share: readonly PersonId[] }): Promise<PutResult> {
    const id = await this.begin('put', { kind: options.kind, share: [...options.share] });
    let sourceError: unknown;
    let stop = false;
    const upload = (async () => {
      const pieces = dataPieces(source)[Symbol.asyncIterator]();
      for (;;) {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await pieces.next();
        } catch (err) {
          // Cutting the connection tells the owner to drop the partial upload.
          sourceError = err;
          this.channel.destroy();
          return;
        }
        if (stop) return;
        try {
          await (step.done ? this.channel.send({ id, end: true }) : this.channel.sendLine(dataFrameLine(id, step.value)));
        } catch {
          return; // the owner closed: its answer says why
        }
        if (step.done) return;
      }
    })();
    try {
      // The owner answers only after the end frame, so on success the upload is complete.
      const { result } = await this.drain(id);
      await upload;
      return result as unknown as PutResult;
    } catch (err) {
      // Closing unblocks an upload waiting for the owner to read.
      stop = true;
      this.fail();
      await upload;
      throw sourceError ?? err;
    } finally {
      this.busy = false;
    }
  }

  async get(hash: ObjectHash): Promise<{ header: ObjectHeader; body: AsyncIterable<Uint8Array> }> {
    const id = await this.begin('get', { hash });
    const stream = this.frames(id);
    let first: IteratorResult<Streamed, Record<string, unknown>>;
    try {
      first = await stream.next();
    } catch (err) {
      this.busy = false;
      throw err;
    }
    if (first.done || first.value.kind !== 'item') {
      this.fail();
      throw new KithError('PROTOCOL_ERROR', 'the serving kith sent no header before the object');
    }
    const header = first.value.item as unknown as ObjectHeader;
    const self = this;
    async function* body(): AsyncGenerator<Uint8Array> {
      let complete = false;
      try {
        for (;;) {
          const next = await stream.next();
          if (next.done) {
            complete = true;
            return;
          }
          if (next.value.kind !== 'data') throw new KithError('PROTOCOL_ERROR', 'expected object bytes');
          yield next.value.bytes;
        }
      } finally {
        // A reader that stopped early leaves frames in flight: this connection cannot be reused.
        if (!complete) self.fail();
        self.busy = false;
      }
    }
    return { header, body: body() };
  }

  async *ls(): AsyncGenerator<ObjectListing> {
    const id = await this.begin('ls', {});
    let complete = false;
    try {
      const stream = this.frames(id);
      for (;;) {
        const next = await stream.next();
        if (next.done) {
          complete = true;
          return;
        }
        if (next.value.kind !== 'item') throw new KithError('PROTOCOL_ERROR', 'expected a listed object');
        yield next.value.item as unknown as ObjectListing;
      }
    } finally {
      if (!complete) this.fail();
      this.busy = false;
    }
  }

  async status(): Promise<StatusReport> {
    return (await this.call('status', {})).result as unknown as StatusReport;
  }

  async close(): Promise<void> {
    this.channel.end();
  }

  // ---- requests -----------------------------------------------------------------------

  /** Sends a request; the caller must then read its frames to the end and clear `busy`. */
  private async begin(command: ControlCommand, args: Record<string, unknown>): Promise<number> {
    if (this.busy) throw new KithError('INTERNAL', 'a control connection serves one request at a time');
    this.busy = true;
    const id = this.nextId++;
    try {
      await this.channel.send({ id, command, args });
    } catch (err) {
      this.busy = false;
      throw toKithError(err);
    }
    return id;
  }

  /** The frames answering request `id`: items and data as they come, the result as the return value; an error frame throws. */
  private async *frames(id: number): AsyncGenerator<Streamed, Record<string, unknown>> {
    for (;;) {
      const line = await this.channel.next();
      if (line === undefined) throw new KithError('CLOSED', 'the serving kith process closed the control connection');
      const frame = parseServerFrame(line);
      if (frame.kind === 'error') throw frame.error;
      if (frame.id !== id) throw new KithError('PROTOCOL_ERROR', 'the serving kith answered another request');
      if (frame.kind === 'result') return frame.result;
      yield frame;
    }
  }

  /** Reads every frame of request `id`: the listed items and the result. */
  private async drain(id: number): Promise<{ items: Record<string, unknown>[]; result: Record<string, unknown> }> {
    const items: Record<string, unknown>[] = [];
    const stream = this.frames(id);
    for (;;) {
      const next = await stream.next();
      if (next.done) return { items, result: next.value };
      if (next.value.kind !== 'item') throw new KithError('PROTOCOL_ERROR', 'unexpected bytes in an answer');
      items.push(next.value.item);
    }
  }

  private async call(command: ControlCommand, args: Record<string, unknown>): Promise<{ items: Record<string, unknown>[]; result: Record<string, unknown> }> {
    const id = await this.begin(command, args);
    try {
      return await this.drain(id);
    } catch (err) {
      this.fail();
      throw err;
    } finally {
      this.busy = false;
    }
  }

  /** After a broken exchange the connection's state is unknown: close it. */
  private fail(): void {
    this.channel.destroy();
  }
}

/** Re-cuts a byte source into pieces of at most CONTROL_STREAM_CHUNK_BYTES (one data frame each). */
async function* dataPieces(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  for await (const piece of source) {
    for (let offset = 0; offset < piece.length; offset += CONTROL_STREAM_CHUNK_BYTES) {
      yield piece.subarray(offset, Math.min(piece.length, offset + CONTROL_STREAM_CHUNK_BYTES));
    }
  }
}
