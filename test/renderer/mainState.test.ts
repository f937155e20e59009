import { test } from 'node:test';
import assert from 'node:assert/strict';
import { contactLinkState, readConnections, readContacts, readInvites, readProgress } from '../../renderer/mainState.js';
import { hostileValues } from '../support/hostile.js';
import type { PersonId } from '../../shared/ids.js';

const P = 'a'.repeat(64);
const I = 'b'.repeat(64);

test('well-formed payloads are read; malformed entries are dropped, not half-shown', () => {
  const contacts = readContacts({
    contacts: [
      { personId: P, name: 'node-bob', relation: 'contact', revoked: false, pairedAt: 5, instances: [{ name: 'laptop' }, { name: 7 }] },
      { personId: 'nope', name: 'x', relation: 'contact' },
      { personId: P, name: '', relation: 'contact' },
      { personId: P, name: 'y', relation: 'admin' },
    ],
  });
  assert.deepEqual(contacts, [{ personId: P, name: 'node-bob', relation: 'contact', revoked: false, pairedAt: 5, instances: ['laptop'] }]);
  const connections = readConnections({ connections: [{ personId: P, instanceId: I, state: 'connected' }, { personId: P, instanceId: I, state: 'hacked' }] });
  assert.equal(connections.length, 1);
  assert.equal(contactLinkState(P as PersonId, connections), 'connected');
  assert.equal(contactLinkState('c'.repeat(64) as PersonId, connections), 'idle');
  assert.deepEqual(readInvites({ invites: [{ inviteId: 'f'.repeat(32), status: 'used', expiresAt: 10 }, { inviteId: 'F'.repeat(32), status: 'used', expiresAt: 10 }] }), [
    { inviteId: 'f'.repeat(32), status: 'used', expiresAt: 10 },
  ]);
  const p = readProgress({ peer: { instanceId: I, personId: P, name: 'node-bob' }, direction: 'receive', objectsDone: 1, objectsTotal: 2, bytesDone: 3, bytesTotal: 4, caughtUp: false });
  assert.equal(p?.peerName, 'node-bob');
  assert.equal(readProgress({ peer: { instanceId: I, name: 'x' }, direction: 'receive', objectsDone: -1, objectsTotal: 2, bytesDone: 3, bytesTotal: 4 }), undefined);
});

test('hostile payloads never throw and yield nothing', () => {
  for (const h of hostileValues()) {
    assert.deepEqual(readContacts(h.value), [], h.name);
    assert.deepEqual(readContacts({ contacts: h.value }), [], h.name);
    assert.deepEqual(readConnections({ connections: h.value }), [], h.name);
    assert.deepEqual(readInvites({ invites: h.value }), [], h.name);
    assert.equal(readProgress(h.value), undefined, h.name);
  }
});
