import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostileStrings, hostileValues, isCoded } from '../../support/hostile.js';
import { ARG_SCHEMAS, CONTROL_COMMANDS, dataFrameLine, parseArgsFor, parseClientFrame, parseServerFrame, errorFrame, type ControlCommand } from '../../../cli/control/protocol.js';
import { KithError } from '../../../shared/errors.js';
import { toBase64url } from '../../../shared/bytes.js';
import { CONTROL_STREAM_CHUNK_BYTES } from '../../../shared/limits.js';

const HASH = 'a'.repeat(64);
/** Hostile values that cost real time to walk (megabytes, 100k keys): tried once as a whole frame or argument set, not again in every slot. */
const HEAVY = new Set(['huge string', 'huge Uint8Array', 'deep array (10k)', 'deep object (10k)', 'wide object (100k keys)', 'long array (1M)', 'very long']);
const light = <T extends { name: string }>(list: T[]) => list.filter((h) => !HEAVY.has(h.name));

test('valid frames parse into typed frames; data is decoded', () => {
  assert.deepEqual(parseClientFrame({ id: 3, command: 'status', args: {} }), { kind: 'request', id: 3, command: 'status', args: {} });
  assert.deepEqual(parseClientFrame({ id: 3, end: true }), { kind: 'end', id: 3 });
  const data = parseClientFrame({ id: 3, data: toBase64url(new Uint8Array([1, 2, 3])) });
  assert.equal(data.kind, 'data');
  assert.deepEqual([...(data as { bytes: Uint8Array }).bytes], [1, 2, 3]);
  const full = new Uint8Array(CONTROL_STREAM_CHUNK_BYTES).fill(7);
  assert.equal((parseClientFrame({ id: 0, data: toBase64url(full) }) as { bytes: Uint8Array }).bytes.length, CONTROL_STREAM_CHUNK_BYTES);

  // The hand-built data line is the JSON of the same frame, with the same encoding as shared/bytes.ts.
  for (const n of [0, 1, 2, 3, 65_535, CONTROL_STREAM_CHUNK_BYTES]) {
    const bytes = new Uint8Array(n).map((_, i) => (i * 7919) & 0xff);
    const line = dataFrameLine(9, bytes.subarray(0));
    assert.deepEqual(JSON.parse(line), { id: 9, data: toBase64url(bytes) });
    assert.deepEqual([...(parseClientFrame(JSON.parse(line)) as { bytes: Uint8Array }).bytes], [...bytes]);
  }
  assert.throws(() => dataFrameLine(-1, new Uint8Array(1)), { code: 'INVALID_INPUT' });

  assert.deepEqual(parseServerFrame({ id: 1, result: { ok: true } }), { kind: 'result', id: 1, result: { ok: true } });
  assert.deepEqual(parseServerFrame({ id: 1, item: { n: 1 } }), { kind: 'item', id: 1, item: { n: 1 } });
  const err = parseServerFrame(errorFrame(null, new KithError('INVITE_USED')));
  assert.equal(err.kind, 'error');
  assert.equal(err.id, null);
  assert.equal((err as { error: KithError }).error.code, 'INVITE_USED');
  assert.equal((err as { error: KithError }).error.message, 'The invitation has already been used. Ask for a new one.');
});

test('every command has an argument schema, and valid arguments pass', () => {
  assert.deepEqual(Object.keys(ARG_SCHEMAS).sort(), [...CONTROL_COMMANDS].sort());
  const valid: { [C in ControlCommand]: Record<string, unknown> } = {
    hello: {},
    invite: { ttlSeconds: 60 },
    invites: {},
    'revoke-invite': { inviteId: 'b'.repeat(32) },
    accept: { link: 'kith://pair/v1#AAAA' },
    contacts: {},
    revoke: { personId: HASH },
    put: { kind: 'blob', share: [HASH] },
    get: { hash: HASH },
    ls: {},
    status: {},
  };
  for (const command of CONTROL_COMMANDS) assert.deepEqual(parseArgsFor(command, valid[command]), valid[command], command);
  assert.deepEqual(parseArgsFor('invite', {}), {});
});

test('hostile frames are refused with PROTOCOL_ERROR, never thrown as anything else', () => {
  const frames: unknown[] = [
    ...hostileValues().map((h) => h.value),
    ...light(hostileValues()).flatMap((h) =>
      [
        // (the few hostile values that are valid in one slot — id 0, args {}, end true, base64url-looking data — are left out there)
        h.name === '0' || h.name === '-0' ? undefined : { id: h.value, command: 'status', args: {} },
        { id: 1, command: h.value, args: {} },
        h.name === 'empty object' || h.name === 'Object.create(null)' ? undefined : { id: 1, command: 'status', args: h.value },
        h.name === 'empty string' || h.name === 'uppercase hex' ? undefined : { id: 1, data: h.value },
        h.name === 'true' ? undefined : { id: 1, end: h.value },
      ].filter((f) => f !== undefined),
    ),
    ...light(hostileStrings())
      .filter((h) => h.name !== 'empty')
      .map((h) => ({ id: 1, data: h.value })),
    { id: -1, command: 'status', args: {} },
    { id: 1.5, command: 'status', args: {} },
    { id: 2 ** 53, command: 'status', args: {} },
    { id: '1', command: 'status', args: {} },
    { id: 1, command: 'status' },
    { id: 1, command: 'read-keys', args: {} },
    { id: 1, command: 'status', args: {}, extra: true },
    { id: 1, data: 'AB' /* non-canonical trailing bits */ },
    { id: 1, data: 'A'.repeat(Math.ceil((CONTROL_STREAM_CHUNK_BYTES * 4) / 3) + 4) },
    { id: 1, end: false },
    { id: 1 },
    {},
  ];
  frames.forEach((frame, i) => {
    assert.throws(() => parseClientFrame(frame), (err: unknown) => isCoded(err) && (err as KithError).code === 'PROTOCOL_ERROR', `frame #${i}`);
  });
  for (const frame of [{ id: 1, error: { code: 'NOT_A_CODE', message: 'x' } }, { id: 1, error: { code: 'INTERNAL' } }, { id: 1, result: [] }, { id: 1, item: null }, { id: 1 }, ...hostileValues().map((h) => h.value)]) {
    assert.throws(() => parseServerFrame(frame), (err: unknown) => isCoded(err));
  }
});

test('hostile arguments are refused with INVALID_INPUT for every command', () => {
  const emptyIsValid = new Set<ControlCommand>(['hello', 'invite', 'invites', 'contacts', 'ls', 'status']);
  for (const h of hostileValues().filter((x) => HEAVY.has(x.name))) {
    assert.throws(() => parseArgsFor('put', h.value), (err: unknown) => isCoded(err), `put ${h.name}`);
    assert.throws(() => parseArgsFor('status', h.value), (err: unknown) => isCoded(err), `status ${h.name}`);
  }
  for (const command of CONTROL_COMMANDS) {
    for (const h of light(hostileValues())) {
      if (emptyIsValid.has(command) && (h.name === 'empty object' || h.name === 'Object.create(null)')) continue;
      assert.throws(() => parseArgsFor(command, h.value), (err: unknown) => isCoded(err), `${command} ${h.name}`);
    }
  }
  const fields: Array<[ControlCommand, string]> = [
    ['invite', 'ttlSeconds'],
    ['revoke-invite', 'inviteId'],
    ['accept', 'link'],
    ['revoke', 'personId'],
    ['get', 'hash'],
    ['put', 'kind'],
    ['put', 'share'],
  ];
  assert.throws(() => parseArgsFor('accept', { link: 'k'.repeat(1025) }), { code: 'INVALID_INPUT' });
  for (const [command, field] of fields) {
    // Any string up to 1024 characters is a link as far as the schema goes (the pairing code parses it).
    const linkShaped = (v: unknown) => field === 'link' && typeof v === 'string' && v.length <= 1024 && !/[\ud800-\udfff]/.test(v);
    for (const h of light([...hostileValues(), ...hostileStrings()]).filter((x) => !linkShaped(x.value) && !(field === 'share' && x.name === 'empty array'))) {
      const args = command === 'put' ? { kind: 'blob', share: [], [field]: h.value } : { [field]: h.value };
      assert.throws(() => parseArgsFor(command, args), (err: unknown) => isCoded(err) && (err as KithError).code === 'INVALID_INPUT', `${command}.${field}: ${h.name}`);
    }
  }
  assert.throws(() => parseArgsFor('invite', { ttlSeconds: 0 }), { code: 'INVALID_INPUT' });
  assert.throws(() => parseArgsFor('invite', { ttlSeconds: 86_401 }), { code: 'INVALID_INPUT' });
  assert.throws(() => parseArgsFor('put', { kind: 'blob', share: Array(1001).fill(HASH) }), { code: 'INVALID_INPUT' });
  assert.throws(() => parseArgsFor('status', { path: '/etc/passwd' }), { code: 'INVALID_INPUT' });
});
