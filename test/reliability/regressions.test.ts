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
import { crypto, makeIdentity } from '../support/peers.js';

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
