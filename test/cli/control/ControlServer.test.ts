/**
 * The control socket in one process, against a fake NodeService: the socket file's mode and
 * lifecycle, the client's requests and streams, and what bad clients get — each test checks
 * that a bad connection loses only itself while another client keeps being served.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat, writeFile, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer } from '../../../cli/control/ControlServer.js';
import { ControlClient } from '../../../cli/control/ControlClient.js';
import type { ControlSocketAddress } from '../../../cli/control/socketAddress.js';
import type { NodeService, ObjectListing, StatusReport } from '../../../cli/control/NodeService.js';
import { KithError } from '../../../shared/errors.js';
import type { InviteId, ObjectHash, PersonId } from '../../../shared/ids.js';
import { CONTROL_STREAM_CHUNK_BYTES, MAX_CONTROL_REQUEST_LINE_BYTES } from '../../../shared/limits.js';

const HASH = 'c'.repeat(64) as ObjectHash;
const exists = (p: string) => access(p).then(() => true, () => false);
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A NodeService that keeps blobs in memory and records what reached it. */
class FakeNode implements NodeService {
  readonly uploads: Array<{ bytes: Buffer; pieces: number[] }> = [];
  blob = randomBytes(3 * 1024 * 1024 + 7);
  statusGate: Promise<void> = Promise.resolve();
  putFailsAtOnce = false;
  uploadAborted = 0;

  async hello() {
    return { protocol: 1, instanceId: 'd'.repeat(64), pid: process.pid };
  }
  async invite(options: { ttlSeconds?: number }) {
    return { url: 'kith://pair/v1#secret', inviteId: 'e'.repeat(32), expiresAt: new Date((options.ttlSeconds ?? 600) * 1000).toISOString() };
  }
  async invites() {
    return [1, 2, 3].map((n) => ({ inviteId: String(n).repeat(32), purpose: 'contact', status: 'open', createdAt: '', expiresAt: '', failedAttempts: n }));
  }
  async revokeInvite(inviteId: InviteId) {
    if (inviteId !== 'e'.repeat(32)) throw new KithError('INVITE_UNKNOWN');
    return { inviteId, purpose: 'contact', status: 'revoked', createdAt: '', expiresAt: '', failedAttempts: 0 };
  }
  async accept(_link: string): Promise<never> {
    throw new KithError('INVITE_EXPIRED');
  }
  async contacts() {
    return [];
  }
  async revoke(personId: PersonId) {
    return { personId, name: 'Bob', relation: 'contact', revoked: true, pairedAt: '', instances: [] };
  }
  async put(source: AsyncIterable<Uint8Array>, options: { kind: 'blob' | 'object'; share: readonly PersonId[] }) {
    if (this.putFailsAtOnce) throw new KithError('NOT_FOUND', '--share: no contact with person id …');
    const parts: Buffer[] = [];
    const pieces: number[] = [];
    try {
      for await (const piece of source) {
        parts.push(Buffer.from(piece));
        pieces.push(piece.length);
      }
    } catch (err) {
      this.uploadAborted++;
      throw err;
    }
    const bytes = Buffer.concat(parts);
    this.uploads.push({ bytes, pieces });
    return { hash: sha(bytes), kind: options.kind, type: 'BlobManifest', size: bytes.length, shared: [...options.share] };
  }
  async get(hash: ObjectHash) {
    if (hash !== HASH) throw new KithError('NOT_FOUND');
    const blob = this.blob;
    async function* body() {
      for (let i = 0; i < blob.length; i += 1024 * 1024) yield blob.subarray(i, i + 1024 * 1024);
    }
    return { header: { hash, kind: 'blob' as const, type: 'BlobManifest', size: blob.length }, body: body() };
  }
  async *ls(): AsyncGenerator<ObjectListing> {
    for (let seq = 1; seq <= 2500; seq++) yield { hash: seq.toString(16).padStart(64, '0'), type: 'Note', size: seq, seq };
  }
  async status(): Promise<StatusReport> {
    await this.statusGate;
    return { running: true, identity: { personId: '', instanceId: '', name: 'A' }, connections: [], sync: [], store: { objects: 1, chunks: 0, bytes: 1, epoch: 'e', lastSeq: 1 } };
  }
  async close() {}
}

async function setup(t: { after(fn: () => Promise<void>): void }, options: { idleTimeoutMs?: number; maxConnections?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'kith-ctl-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const address: ControlSocketAddress = { path: join(dir, 'control.sock'), isFile: true };
  const service = new FakeNode();
  const server = await ControlServer.listen({ address, service, ...options });
  t.after(() => server.close());
  const connect = async () => {
    const client = await ControlClient.connect(address, { timeoutMs: 5_000 });
    assert.ok(client);
    t.after(() => client.close());
    return client;
  };
  return { dir, address, service, server, connect };
}

/** A raw connection for sending what no well-behaved client would. */
function raw(path: string) {
  const socket = net.connect(path);
  let text = '';
  let closed = false;
  socket.setEncoding('utf8').on('data', (d: string) => (text += d));
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => socket.on('close', () => ((closed = true), resolve())));
  return {
    socket,
    isClosed: () => closed,
    /** Waits (bounded) for the connection to close; returns every line received. */
    async closed(ms = 5_000): Promise<Array<Record<string, unknown>>> {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([ended, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('connection stayed open')), ms)))]);
      clearTimeout(timer);
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    async lines(n: number, ms = 5_000): Promise<Array<Record<string, unknown>>> {
      const deadline = Date.now() + ms;
      while (text.split('\n').length - 1 < n) {
        if (Date.now() > deadline) throw new Error(`fewer than ${n} lines: ${text.slice(0, 200)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
  };
}

const errorCode = (line: Record<string, unknown> | undefined) => (line?.error as { code?: string } | undefined)?.code;

test('the socket file is 0600 and ours, the umask is restored, a stale socket is replaced, a planted file refused, close removes it', async (t) => {
  const umask = process.umask();
  const { address, server, dir } = await setup(t);
  assert.equal(process.umask(), umask);
  const st = await stat(address.path);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, process.getuid!());
  await server.close();
  assert.equal(await exists(address.path), false);

  // A second server on the same path while the first is gone: fine. A regular file there: refused, untouched.
  const again = await ControlServer.listen({ address, service: new FakeNode() });
  await again.close();
  const planted = { path: join(dir, 'planted.sock'), isFile: true };
  await writeFile(planted.path, 'mine');
  await assert.rejects(ControlServer.listen({ address: planted, service: new FakeNode() }), /not a socket/);
  assert.ok((await stat(planted.path)).isFile());
  // Nobody listening: the client says so instead of failing.
  assert.equal(await ControlClient.connect(address), undefined);
  assert.equal(await ControlClient.connect(planted), undefined);
});

test('requests and answers: results, listed items, the service\'s error codes', async (t) => {
  const { connect } = await setup(t);
  const client = await connect();
  assert.equal((await client.hello()).protocol, 1);
  assert.equal((await client.invite({ ttlSeconds: 60 })).url, 'kith://pair/v1#secret');
  assert.deepEqual((await client.invites()).map((i) => i.failedAttempts), [1, 2, 3]);
  assert.equal((await client.revokeInvite('e'.repeat(32) as InviteId)).status, 'revoked');
  assert.equal((await client.revoke('f'.repeat(64) as PersonId)).revoked, true);
  assert.deepEqual(await client.contacts(), []);
  const listed: number[] = [];
  for await (const o of client.ls()) listed.push(o.seq);
  assert.equal(listed.length, 2500);
  assert.equal(listed.at(-1), 2500);
  assert.equal((await client.status()).running, true);
  await assert.rejects(connect().then((c) => c.accept('kith://pair/v1#x')), { code: 'INVITE_EXPIRED', message: 'The invitation has expired. Ask for a new one.' });
  await assert.rejects(connect().then((c) => c.revokeInvite('0'.repeat(32) as InviteId)), { code: 'INVITE_UNKNOWN' });
});

test('put and get stream megabytes in bounded frames, byte for byte, both ways', async (t) => {
  const { connect, service } = await setup(t);
  const data = randomBytes(5 * 1024 * 1024 + 3);
  async function* source() {
    // Odd piece sizes: the client re-cuts them into frames.
    for (let i = 0; i < data.length; i += 300_001) yield data.subarray(i, i + 300_001);
  }
  const stored = await (await connect()).put(source(), { kind: 'blob', share: [] });
  assert.equal(stored.hash, sha(data));
  assert.ok(service.uploads[0]!.bytes.equals(data));
  assert.ok(Math.max(...service.uploads[0]!.pieces) <= CONTROL_STREAM_CHUNK_BYTES, 'no frame is larger than the limit');

  const { header, body } = await (await connect()).get(HASH);
  assert.equal(header.size, service.blob.length);
  const parts: Uint8Array[] = [];
  for await (const piece of body) {
    assert.ok(piece.length <= CONTROL_STREAM_CHUNK_BYTES);
    parts.push(piece);
  }
  assert.ok(Buffer.concat(parts).equals(service.blob));
  await assert.rejects((await connect()).get('0'.repeat(64) as ObjectHash), { code: 'NOT_FOUND' });
});

test('a failing put, a failing upload source and a reader that stops early each end only their own connection', async (t) => {
  const { connect, service } = await setup(t);
  service.putFailsAtOnce = true;
  async function* endless() {
    for (;;) yield new Uint8Array(CONTROL_STREAM_CHUNK_BYTES);
  }
  await assert.rejects((await connect()).put(endless(), { kind: 'blob', share: [] }), { code: 'NOT_FOUND' });
  service.putFailsAtOnce = false;

  async function* broken() {
    yield new Uint8Array(1000);
    throw new KithError('INVALID_INPUT', 'cannot read the file');
  }
  await assert.rejects((await connect()).put(broken(), { kind: 'blob', share: [] }), { message: 'cannot read the file' });
  const deadline = Date.now() + 5_000;
  while (service.uploadAborted === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(service.uploadAborted, 1, 'the owner saw the upload cut off and stored nothing');
  assert.equal(service.uploads.length, 0);

  const { body } = await (await connect()).get(HASH);
  for await (const _piece of body) break;

  assert.equal((await (await connect()).status()).running, true, 'the server still answers');
});

test('garbage, oversized and unknown lines get an error frame and lose their connection; a concurrent request is unaffected', async (t) => {
  const { address, service, connect, server } = await setup(t);
  let open!: () => void;
  service.statusGate = new Promise<void>((resolve) => (open = resolve));
  const patient = await connect();
  const pending = patient.status();

  const garbage = raw(address.path);
  garbage.socket.write('{"id":1,"command":\n');
  const garbageLines = await garbage.closed();
  assert.equal(garbageLines.length, 1);
  assert.equal(garbageLines[0]!.id, null);
  assert.equal(errorCode(garbageLines[0]), 'PROTOCOL_ERROR');

  const huge = raw(address.path);
  huge.socket.write(`{"id":1,"data":"${'A'.repeat(MAX_CONTROL_REQUEST_LINE_BYTES + 10)}`);
  assert.equal(errorCode((await huge.closed())[0]), 'FRAME_TOO_LARGE');

  const stray = raw(address.path);
  stray.socket.write('{"id":1,"end":true}\n');
  assert.equal(errorCode((await stray.closed())[0]), 'PROTOCOL_ERROR');

  for (const line of [
    `${'['.repeat(60_000)}${']'.repeat(60_000)}`,
    `{"id":1,"command":"status","args":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`,
    '{"id":1,"command":"status","args":{"__proto__":{"polluted":true}}}',
    '{"id":1e400,"command":"status","args":{}}',
  ]) {
    const hostile = raw(address.path);
    hostile.socket.write(`${line}\n`);
    assert.equal(errorCode((await hostile.closed())[0]), 'PROTOCOL_ERROR', line.slice(0, 40));
  }
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);

  const badUtf8 = raw(address.path);
  badUtf8.socket.write(Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]));
  assert.equal(errorCode((await badUtf8.closed())[0]), 'PROTOCOL_ERROR');

  // A wrong upload frame in the middle of a put.
  const mixed = raw(address.path);
  mixed.socket.write('{"id":4,"command":"put","args":{"kind":"blob","share":[]}}\n{"id":5,"data":"AAAA"}\n');
  const mixedLines = await mixed.closed();
  assert.equal(mixedLines.length, 1);
  assert.equal(mixedLines[0]!.id, 4);
  assert.equal(errorCode(mixedLines[0]), 'PROTOCOL_ERROR');

  // Bad arguments only fail their request.
  const polite = raw(address.path);
  polite.socket.write('{"id":1,"command":"get","args":{"hash":"nope"}}\n{"id":2,"command":"hello","args":{}}\n');
  const politeLines = await polite.lines(2);
  assert.equal(errorCode(politeLines[0]), 'INVALID_INPUT');
  assert.equal((politeLines[1]!.result as { protocol: number }).protocol, 1);
  assert.equal(polite.isClosed(), false);
  polite.socket.destroy();

  open();
  assert.equal((await pending).running, true, 'the slow request finished normally');
  assert.ok(server.connections >= 1);
});

test('a silent client is closed after the idle timeout; connections beyond the limit get BUSY', async (t) => {
  const { address, connect } = await setup(t, { idleTimeoutMs: 200, maxConnections: 2 });
  const silent = raw(address.path);
  const started = Date.now();
  const lines = await silent.closed(3_000);
  assert.equal(errorCode(lines[0]), 'TIMEOUT');
  assert.ok(Date.now() - started >= 150);

  const a = raw(address.path);
  const b = raw(address.path);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const c = raw(address.path);
  assert.equal(errorCode((await c.closed())[0]), 'BUSY');
  a.socket.destroy();
  b.socket.destroy();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal((await (await connect()).hello()).protocol, 1, 'capacity comes back when connections close');
});

test('a half-closed client still gets its answer', async (t) => {
  const { address } = await setup(t);
  const client = raw(address.path);
  client.socket.end('{"id":9,"command":"hello","args":{}}\n');
  const lines = await client.closed();
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.id, 9);
  assert.equal((lines[0]!.result as { protocol: number }).protocol, 1);
});
