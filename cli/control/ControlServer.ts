/**
 * The control socket of the process that owns a home (DESIGN §9): other `kith` commands
 * send it requests (control/protocol.ts) and it answers them from a NodeService.
 *
 * - The socket file is created with mode 0600 (umask narrowed around bind, then chmod, then
 *   checked), so only the home's user can connect; the home itself is 0700 as well.
 * - The caller must hold the home lock: a socket file found at start is then necessarily
 *   stale and is removed — but only if it is a socket, never a file planted in its place.
 * - Each connection is served on its own; a malformed line, an oversized line or an idle
 *   client gets an error frame and loses its own connection, nothing else.
 */
import * as net from 'node:net';
import { promises as fsp } from 'node:fs';
import { KithError, toKithError } from '../../shared/errors.js';
import { parseInviteId, parseObjectHash, parsePersonId, type PersonId } from '../../shared/ids.js';
import { CONTROL_IDLE_TIMEOUT_MS, CONTROL_STREAM_CHUNK_BYTES, MAX_CONTROL_CONNECTIONS, MAX_CONTROL_REQUEST_LINE_BYTES } from '../../shared/limits.js';
import { JsonLineChannel } from './JsonLineChannel.js';
import {
  dataFrameLine, errorFrame, parseArgsFor, parseClientFrame,
  type AcceptArgs, type ClientFrame, type GetArgs, type InviteArgs, type PutArgs, type RevokeArgs, type RevokeInviteArgs,
} from './protocol.js';
import type { ControlSocketAddress } from './socketAddress.js';
import type { NodeService } from './NodeService.js';

export interface ControlServerOptions {
  /** Where to listen (controlSocketAddress). */
  readonly address: ControlSocketAddress;
  /** Answers the requests. */
  readonly service: NodeService;
  /** Closes a connection that sends no complete line for this long while a line is expected. */
  readonly idleTimeoutMs?: number;
  /** Connections served at once; more are refused with BUSY. */
  readonly maxConnections?: number;
}

type Request = Extract<ClientFrame, { kind: 'request' }>;

/** Mode of the socket file: owner read/write only. */
const SOCKET_MODE = 0o600;
/** The umask that makes bind() create the socket file with SOCKET_MODE at most. */
const SOCKET_UMASK = 0o177;

export class ControlServer {
  private readonly channels = new Set<JsonLineChannel>();
  private closing: Promise<void> | undefined;
  private ino: number | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly opts: ControlServerOptions,
  ) {}

  /** Removes a stale socket file (the caller holds the home lock), binds with mode 0600 and starts serving. */
  static async listen(opts: ControlServerOptions): Promise<ControlServer> {
    const { address } = opts;
    if (address.isFile) await removeStaleSocket(address.path);
    // Half-open connections: a client may send its request and shut its side, and still read the answer.
    const server = net.createServer({ allowHalfOpen: true });
    const control = new ControlServer(server, opts);
    server.on('connection', (socket) => control.onConnection(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => reject(new KithError('INTERNAL', `cannot create the control socket (${err.code ?? err.message})`)));
      // bind() runs synchronously inside listen() for a path, so the narrowed umask covers exactly the socket file.
      const previous = address.isFile ? process.umask(SOCKET_UMASK) : undefined;
      try {
        server.listen(address.path, () => resolve());
      } finally {
        if (previous !== undefined) process.umask(previous);
      }
    });
    if (address.isFile) {
      try {
        await fsp.chmod(address.path, SOCKET_MODE);
        const st = await fsp.lstat(address.path);
        const uid = process.getuid?.();
        if (!st.isSocket() || (st.mode & 0o777) !== SOCKET_MODE || (uid !== undefined && st.uid !== uid)) {
          throw new KithError('INTERNAL', `the control socket ${address.path} does not have mode 0600 and this user as its owner`);
        }
        control.ino = st.ino;
      } catch (err) {
        await control.close();
        throw toKithError(err);
      }
    }
    return control;
  }

  /** Connections being served. */
  get connections(): number {
    return this.channels.size;
  }

  /** Stops accepting, closes every connection, removes the socket file if it is still ours. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
      for (const channel of this.channels) channel.destroy();
      await stopped;
      // net removes the file on close; this covers platforms and paths where it does not.
      if (this.opts.address.isFile && this.ino !== undefined) {
        const st = await fsp.lstat(this.opts.address.path).catch(() => undefined);
        if (st?.isSocket() && st.ino === this.ino) await fsp.rm(this.opts.address.path, { force: true });
      }
    })();
    return this.closing;
  }

  private onConnection(socket: net.Socket): void {
    const channel = new JsonLineChannel(socket, {
      maxLineBytes: MAX_CONTROL_REQUEST_LINE_BYTES,
      timeoutMs: this.opts.idleTimeoutMs ?? CONTROL_IDLE_TIMEOUT_MS,
    });
    if (this.closing || this.channels.size >= (this.opts.maxConnections ?? MAX_CONTROL_CONNECTIONS)) {
      channel.end(errorFrame(null, new KithError('BUSY', 'too many control connections; try again')));
      return;
    }
    this.channels.add(channel);
    socket.once('close', () => this.channels.delete(channel));
    void this.serve(channel);
  }

  /** Serves requests one after the other until the client closes; any protocol failure ends this connection only. */
  private async serve(channel: JsonLineChannel): Promise<void> {
    try {
      for (;;) {
        const line = await channel.next();
        if (line === undefined) break;
        const frame = parseClientFrame(line);
        if (frame.kind !== 'request') throw new KithError('PROTOCOL_ERROR', `expected a request, got a ${frame.kind} frame`);
        const keepOpen = await this.handle(channel, frame);
        if (!keepOpen) return;
      }
      channel.end();
    } catch (err) {
      if (!channel.closed) channel.end(errorFrame(null, toKithError(err, 'PROTOCOL_ERROR')));
    }
  }

  /** Runs one request and sends its answer; false when the connection must close (an upload was left unread). */
  private async handle(channel: JsonLineChannel, request: Request): Promise<boolean> {
    const { id } = request;
    const upload = request.command === 'put' ? new Upload(channel, id) : undefined;
    try {
      const result = await this.dispatch(channel, request, upload);
      await channel.send({ id, result });
      return true;
    } catch (err) {
      const failure = toKithError(err);
      if (upload && !upload.finished) {
        channel.end(errorFrame(id, failure));
        return false;
      }
      await channel.send(errorFrame(id, failure));
      return true;
    }
  }

  private async dispatch(channel: JsonLineChannel, request: Request, upload: Upload | undefined): Promise<object> {
    const { service } = this.opts;
    const { id, command } = request;
    switch (command) {
      case 'hello':
        parseArgsFor(command, request.args);
        return service.hello();
      case 'invite': {
        const args = parseArgsFor<InviteArgs>(command, request.args);
        return service.invite({ ttlSeconds: args.ttlSeconds });
      }
      case 'invites':
        parseArgsFor(command, request.args);
        return this.sendItems(channel, id, await service.invites());
      case 'revoke-invite': {
        const args = parseArgsFor<RevokeInviteArgs>(command, request.args);
        return { revoked: await service.revokeInvite(parseInviteId(args.inviteId)) };
      }
      case 'accept': {
        const args = parseArgsFor<AcceptArgs>(command, request.args);
        return service.accept(args.link);
      }
      case 'contacts':
        parseArgsFor(command, request.args);
        return this.sendItems(channel, id, await service.contacts());
      case 'revoke': {
        const args = parseArgsFor<RevokeArgs>(command, request.args);
        return { revoked: await service.revoke(parsePersonId(args.personId)) };
      }
      case 'put': {
        const args = parseArgsFor<PutArgs>(command, request.args);
        const share = args.share.map((p) => parsePersonId(p) as PersonId);
        return service.put(upload!.bytes(), { kind: args.kind, share });
      }
      case 'get': {
        const args = parseArgsFor<GetArgs>(command, request.args);
        const { header, body } = await service.get(parseObjectHash(args.hash));
        await channel.send({ id, item: header });
        let size = 0;
        for await (const piece of body) {
          for (let offset = 0; offset < piece.length; offset += CONTROL_STREAM_CHUNK_BYTES) {
            const part = piece.subarray(offset, Math.min(piece.length, offset + CONTROL_STREAM_CHUNK_BYTES));
            await channel.sendLine(dataFrameLine(id, part));
          }
          size += piece.length;
        }
        return { size };
      }
      case 'ls': {
        parseArgsFor(command, request.args);
        let count = 0;
        for await (const item of service.ls()) {
          await channel.send({ id, item });
          count++;
        }
        return { count };
      }
      case 'status':
        parseArgsFor(command, request.args);
        return service.status();
    }
  }

  private async sendItems(channel: JsonLineChannel, id: number, items: readonly object[]): Promise<{ count: number }> {
    for (const item of items) await channel.send({ id, item });
    return { count: items.length };
  }
}

/** The bytes a client uploads after a `put` request: data frames with the request's id, then an end frame. */
class Upload {
  finished = false;

  constructor(
    private readonly channel: JsonLineChannel,
    private readonly id: number,
  ) {}

  async *bytes(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const line = await this.channel.next();
      if (line === undefined) throw new KithError('CLOSED', 'the client closed the connection before the end of its upload');
      const frame = parseClientFrame(line);
      if (frame.id !== this.id || frame.kind === 'request') throw new KithError('PROTOCOL_ERROR', 'expected data or the end of the upload');
      if (frame.kind === 'end') {
        this.finished = true;
        return;
      }
      yield frame.bytes;
    }
  }
}

/** Removes a leftover socket file; refuses anything that is not a socket (a planted file or symlink is not ours to delete). */
async function removeStaleSocket(path: string): Promise<void> {
  const st = await fsp.lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new KithError('INTERNAL', `cannot inspect ${path} (${err.code ?? 'I/O error'})`);
  });
  if (!st) return;
  if (!st.isSocket()) throw new KithError('INTERNAL', `${path} exists and is not a socket; move it away and start again`);
  await fsp.rm(path, { force: true });
}
