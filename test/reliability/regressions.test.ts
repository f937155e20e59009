/**
 * Regression tests for crashes the reliability fuzzers found. Each names the input that
 * broke a boundary, and checks the boundary now holds — at the parser and at the place a
 * peer or a user reaches it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeBytes } from '../../chum/model/describe.js';
import { Chum } from '../../chum/Chum.js';
import { MarkStore, type MarksDocument } from '../../chum/sync/marks.js';
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import { MemoryAdapter } from '../../shared/StateDocument.js';
import { KithError } from '../../shared/errors.js';
import { utf8 } from '../../shared/bytes.js';
import type { KithObject } from '../../shared/objects.js';
import { SessionMux } from '../../connections/SessionMux.js';
import { MemoryNetwork } from '../../connections/transports/memoryNetwork.js';
import type { SecureSession } from '../../connections/SecureSession.js';
import { crypto, makeIdentity, memoryNode, waitFor } from '../support/peers.js';
import { trapUncaught } from '../support/arbitraries.js';

test('fuzzChum: an object whose $type names an Object.prototype member ("toString", "constructor", …) is an application object, not a crash', async () => {
  // Found by describeBytes fuzzing: the schema table was indexed with the raw $type, so
  // "toString" found Object.prototype.toString and validateSchema threw a TypeError.
  for (const type of ['toString', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString']) {
    const bytes = utf8(`{"$type":${JSON.stringify(type)},"name":"x"}`);
    const d = describeBytes(crypto, bytes);
    assert.equal(d.type, type);
    assert.deepEqual(d.refs, []);
    // A signed-looking one with a bad signature field is refused with a code, not a crash.
    assert.throws(() => describeBytes(crypto, utf8(`{"$type":${JSON.stringify(type)},"sig":"x"}`)), (err: unknown) => err instanceof KithError && err.code === 'OBJECT_INVALID');
  }
  // Through the local write API (kith put --json-object reaches it) as well.
  const id = await makeIdentity('writer');
  const chum = await Chum.open({ crypto, store: await openMemoryStore({ crypto }), marks: await MarkStore.open(new MemoryAdapter<MarksDocument>()), identity: id, isCompanion: () => false });
  const hash = await chum.put({ $type: 'toString', text: 'hello' } as KithObject);
  assert.equal((await chum.getObject(hash))?.$type, 'toString');
  await chum.close();
});

/** A live session between two in-memory nodes: `sender` talks, `receiver` is the end under test. */
async function sessionPair(): Promise<{ sender: SecureSession; receiver: SecureSession; close(): Promise<void> }> {
  const net = new MemoryNetwork();
  const a = await memoryNode(net, 'a');
  const b = await memoryNode(net, 'b');
  a.directory.add(b.ref);
  b.directory.add(a.ref);
  const sender = await a.model.connect(b.url, b.ref);
  await waitFor(() => !!b.model.sessionFor(a.ref.staticKey)?.isOpen, 2000, 'the receiving end');
  const receiver = b.model.sessionFor(a.ref.staticKey)!;
  return { sender, receiver, close: async () => void (await Promise.all([a.model.close(), b.model.close()])) };
}

test('fuzzConnections: a protocol that starts after its messages were queued, with a handler that throws or rejects, closes that session with the code; nothing escapes, nothing is delivered after the close', async () => {
  // Found by the SessionMux fuzzer: setHandler handed the queue over with `void handler(m)` in a loop — a
  // synchronous throw escaped from setHandler to whoever started the protocol, a rejection became an
  // unhandled rejection (which ends a Node process), the messages reached the handler all at once rather
  // than one after the other, and queued messages were still delivered after the session had closed.
  const trap = trapUncaught();
  try {
    for (const [failure, expected] of [['throw', 'SYNC_PROTOCOL_ERROR'], ['reject', 'ACCESS_DENIED'], ['bug', 'PROTOCOL_ERROR']] as const) {
      const { sender, receiver, close } = await sessionPair();
      const mux = new SessionMux(receiver);
      const late = mux.channel(0x10, 0x1f);
      const sentinel: number[] = [];
      mux.channel(0xff, 0xff).setHandler((m) => void sentinel.push(m[1]!));
      for (const k of [1, 2, 3]) await sender.send(Uint8Array.of(0x10, k));
      await sender.send(Uint8Array.of(0xff, 9));
      await waitFor(() => sentinel.length === 1, 2000, 'the queue filled');
      const got: number[] = [];
      assert.doesNotThrow(() =>
        late.setHandler((m) => {
          if (m[1] !== 2) return void got.push(m[1]!);
          if (failure === 'throw') throw new KithError('SYNC_PROTOCOL_ERROR', 'refused');
          if (failure === 'reject') return Promise.reject(new KithError('ACCESS_DENIED', 'refused later'));
          throw new TypeError('a bug in the protocol');
        }),
      );
      assert.equal((await receiver.closed).code, expected, failure);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(got, [1], 'the message after the failing one went down with the session');
      await close();
    }
    // A slow handler gets the queue one message at a time, and messages arriving meanwhile wait behind it.
    const { sender, receiver, close } = await sessionPair();
    const channel = new SessionMux(receiver).channel(0x10, 0x1f);
    for (const k of [1, 2, 3]) await sender.send(Uint8Array.of(0x10, k));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const got: number[] = [];
    let inHandler = 0;
    let most = 0;
    channel.setHandler(async (m) => {
      most = Math.max(most, ++inHandler);
      await new Promise((resolve) => setTimeout(resolve, 5));
      got.push(m[1]!);
      inHandler--;
    });
    for (const k of [4, 5]) await sender.send(Uint8Array.of(0x10, k));
    await waitFor(() => got.length === 5, 2000, 'all five delivered');
    assert.deepEqual(got, [1, 2, 3, 4, 5]);
    assert.equal(most, 1, 'one message at a time');
    assert.ok(receiver.isOpen);
    await close();
    trap.check();
  } finally {
    trap.dispose();
  }
});
