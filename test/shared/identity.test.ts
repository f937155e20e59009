import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NativeCrypto } from '../../shared/crypto/nativeCrypto.js';
import {
  createLocalIdentity, createPerson, createInstance, issueCertificate, verifyIdentity, verifyCertificate,
  verifyPerson, verifyInstance, verifyProfile, signProfile, personIdOf, instanceIdOf,
} from '../../shared/identity.js';
import { hostileValues, isCoded } from '../support/hostile.js';
import { toBase64url } from '../../shared/bytes.js';

const crypto = new NativeCrypto();
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

test('a local identity verifies and its ids are self-certifying', async () => {
  const id = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'laptop', email: 'ann@example.org', now: 1_700_000_000_000 });
  const v = await verifyIdentity(crypto, clone(id.public));
  assert.equal(v.personId, id.personId);
  assert.equal(v.instanceId, id.instanceId);
  assert.equal(v.name, 'Ann');
  assert.equal(v.instanceName, 'laptop');
  assert.equal(personIdOf(crypto, id.public.person), id.personId);
  assert.equal(instanceIdOf(crypto, id.public.instance), id.instanceId);
  assert.match(id.personId, /^[0-9a-f]{64}$/);
  // Changing any key changes the id: nobody can claim an id without its key.
  const other = clone(id.public.person);
  other.signKey = toBase64url(crypto.randomBytes(32));
  assert.notEqual(personIdOf(crypto, other), id.personId);
});

test('person and instance keys are separate', async () => {
  const id = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'laptop', now: 1 });
  assert.notEqual(id.public.person.signKey, id.public.instance.signKey);
  assert.notDeepEqual(id.personSecrets.signSecret, id.instanceSecrets.signSecret);
});

test('a certificate with a wrong signature is rejected', async () => {
  const id = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'laptop', now: 1 });
  const bad = clone(id.public);
  bad.certificate.issuedAt += 1;
  await assert.rejects(verifyIdentity(crypto, bad), { code: 'CERTIFICATE_INVALID' });
  const forged = clone(id.public);
  const sig = Buffer.from(forged.certificate.sig, 'base64url');
  sig[10]! ^= 1;
  forged.certificate.sig = sig.toString('base64url');
  await assert.rejects(verifyIdentity(crypto, forged), { code: 'CERTIFICATE_INVALID' });
});

test('a certificate from a foreign person is rejected', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  const mallory = await createPerson(crypto);
  // Mallory certifies Ann's instance: the instance names Ann, the certificate names Mallory.
  const cert = await issueCertificate(crypto, mallory.id, mallory.secrets, ann.instanceId, 2);
  await assert.rejects(verifyCertificate(crypto, cert, mallory.record, ann.public.instance), { code: 'CERTIFICATE_INVALID' });
  // Mallory's certificate presented in Ann's identity.
  const swapped = clone(ann.public);
  swapped.certificate = cert;
  await assert.rejects(verifyIdentity(crypto, swapped), { code: 'CERTIFICATE_INVALID' });
  // An instance of Mallory's carrying Ann's person record.
  const inst = await createInstance(crypto, mallory.id, 'm');
  const mixed = clone(ann.public);
  mixed.instance = inst.record;
  await assert.rejects(verifyIdentity(crypto, mixed), { code: 'CERTIFICATE_INVALID' });
});

test('a certificate for a different instance (mismatched key) is rejected', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  const swapped = clone(ann.public);
  swapped.instance.staticKey = toBase64url((await crypto.x25519Generate()).publicKey);
  await assert.rejects(verifyIdentity(crypto, swapped), { code: 'CERTIFICATE_INVALID' });
});

test('the proven static key must match the identity', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  const staticKey = Buffer.from(ann.public.instance.staticKey, 'base64url');
  await verifyIdentity(crypto, ann.public, new Uint8Array(staticKey));
  await assert.rejects(verifyIdentity(crypto, ann.public, crypto.randomBytes(32)), { code: 'KEY_MISMATCH' });
});

test('profiles are signed by the person and validated', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  const p2 = await signProfile(crypto, ann.personId, ann.personSecrets, { name: 'Ann B.', version: 2 });
  assert.equal((await verifyProfile(crypto, p2, ann.public.person)).name, 'Ann B.');
  await assert.rejects(verifyProfile(crypto, { ...p2, name: 'Eve' }, ann.public.person), { code: 'SIGNATURE_INVALID' });
  const bob = await createPerson(crypto);
  await assert.rejects(verifyProfile(crypto, p2, bob.record), { code: 'IDENTITY_INVALID' });
  await assert.rejects(signProfile(crypto, ann.personId, ann.personSecrets, { name: '', version: 3 }), { code: 'INVALID_INPUT' });
  await assert.rejects(signProfile(crypto, ann.personId, ann.personSecrets, { name: 'x'.repeat(65), version: 3 }), { code: 'INVALID_INPUT' });
});

test('unknown fields in identity records are refused, not ignored', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  const extra = clone(ann.public) as unknown as Record<string, Record<string, unknown>>;
  extra.person!.admin = true;
  await assert.rejects(verifyIdentity(crypto, extra), { code: 'IDENTITY_INVALID' });
  const nonCanonicalKey = clone(ann.public);
  // 'B' as last character leaves non-zero unused bits: a second spelling of the same key.
  nonCanonicalKey.person.signKey = nonCanonicalKey.person.signKey.slice(0, 42) + 'B';
  await assert.rejects(verifyIdentity(crypto, nonCanonicalKey), { code: 'IDENTITY_INVALID' });
});

test('hostile values are refused with codes by every verifier', async () => {
  const ann = await createLocalIdentity(crypto, { personName: 'Ann', instanceName: 'a', now: 1 });
  for (const { name, value } of hostileValues()) {
    for (const [what, run] of [
      ['verifyIdentity', () => verifyIdentity(crypto, value)],
      ['verifyPerson', async () => verifyPerson(crypto, value)],
      ['verifyInstance', async () => verifyInstance(crypto, value)],
      ['verifyProfile', () => verifyProfile(crypto, value, ann.public.person)],
      ['verifyCertificate', () => verifyCertificate(crypto, value, ann.public.person, ann.public.instance)],
    ] as const) {
      await assert.rejects(run(), (err) => isCoded(err), `${what}(${name})`);
    }
  }
});
