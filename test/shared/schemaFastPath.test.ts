import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  getMetadataStorage, ArrayMaxSize, Equals, IsArray, IsBoolean, IsEmail, IsIn, IsOptional, IsString, Length, Matches, MaxLength, MinLength, ValidateIf, validateSync,
} from 'class-validator';
import { plainToInstance, Transform } from 'class-transformer/cjs/index.js';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';
import { validateSchema, Nested } from '../../shared/schema.js';
import { fastAccepts } from '../../shared/schemaFastPath.js';
import { assertJson } from '../../shared/canonical.js';
import { isCoded } from '../support/hostile.js';
import {
  IdRecord, VersionRecord, AccessRecord, AccessRevokeRecord, BlobManifestRecord, ChannelEntryRecord, FileRef, AppObjectRecord,
} from '../../chum/model/types.js';
import { PersonRecord, InstanceRecord, InstanceCertificate, Profile, PublicIdentity } from '../../shared/identity.js';
import { Mark, HelloMessage, PlanMessage, AckMessage } from '../../chum/sync/wire.js';
import { MarkEntry, MarksDocument } from '../../chum/sync/marks.js';
import { PairError } from '../../pairing/protocol.js';
import { InviteRecord } from '../../pairing/records.js';
import { CompanionRequest, CompanionResponse, CompanionEvent, CreateInviteParams, InviteIdParams } from '../../instance/companion/protocol.js';

type Cls = new () => object;
type Plain = Record<string, unknown>;
type Metadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

const hash = (c: string): string => c.repeat(64);
const KEY32 = `${'A'.repeat(42)}E`;
const SIG64 = `${'A'.repeat(85)}Q`;
const NONCE = `${'A'.repeat(21)}g`;
const signed = { author: hash('a'), cert: hash('b'), sig: SIG64 };

/** Valid values that must take the fast path. */
const SAMPLES: Array<[Cls, Plain]> = [
  [IdRecord, { $type: 'Id', kind: 'Channel', owner: hash('1'), name: 'general', nonce: NONCE }],
  [VersionRecord, { $type: 'Version', ...signed, id: hash('c'), prev: [hash('d'), hash('e')], hlc: 1_700_000_000_000, data: { title: 'x', members: [hash('f')] } }],
  [AccessRecord, { $type: 'Access', ...signed, objects: [hash('c')], ids: [hash('d')], persons: [hash('e')], groups: [], hlc: 5 }],
  [AccessRevokeRecord, { $type: 'AccessRevoke', ...signed, grant: hash('c'), hlc: 6 }],
  [BlobManifestRecord, { $type: 'BlobManifest', size: 2_500_000, chunkSize: 1_048_576, chunks: [hash('c'), hash('d'), hash('e')] }],
  [ChannelEntryRecord, { $type: 'ChannelEntry', ...signed, channel: hash('c'), hlc: 1_700_000_000_000, text: 'hello 👋 café', name: 'Alice' }],
  [ChannelEntryRecord, { $type: 'ChannelEntry', ...signed, channel: hash('c'), hlc: 0 }],
  [FileRef, { manifest: hash('c'), name: 'photo.jpg', size: 12_345, mime: 'image/jpeg' }],
  [AppObjectRecord, { $type: 'com.example.Note', $refs: [hash('c')] }],
  [PersonRecord, { $type: 'Person', signKey: KEY32, encryptKey: KEY32 }],
  [InstanceRecord, { $type: 'Instance', person: hash('1'), name: 'laptop', signKey: KEY32, staticKey: KEY32 }],
  [InstanceCertificate, { $type: 'InstanceCertificate', person: hash('1'), instance: hash('2'), issuedAt: 1_700_000_000_000, sig: SIG64 }],
  [Profile, { $type: 'Profile', person: hash('1'), name: 'Alice', version: 3, sig: SIG64 }],
  [Mark, { epoch: 'abcdefgh12', seq: 42 }],
  [HelloMessage, { v: 1, epoch: 'abcdefgh12', count: 10 }],
  [PlanMessage, { from: 0, to: 10, objects: 10, bytes: 4096 }],
  [AckMessage, { seq: 9 }],
  [MarkEntry, { peer: hash('2'), epoch: 'abcdefgh12', seq: 1, updatedAt: 2 }],
  [PairError, { t: 'pair-error', code: 'PROTOCOL_ERROR', message: 'bad' }],
  [InviteRecord, { inviteId: 'a'.repeat(32), nonce: NONCE, purpose: 'contact', createdAt: 1, expiresAt: 2, failedAttempts: 0, status: 'open' }],
  [CompanionRequest, { id: 1, method: 'status', params: {} }],
  [CompanionEvent, { event: 'progress', payload: { done: 1 } }],
  [CreateInviteParams, { ttlSeconds: 600 }],
  [InviteIdParams, { inviteId: 'b'.repeat(32) }],
];

/** Valid values the fast path leaves to class-validator (a nested object, an unmodelled validator). */
const SLOW_SAMPLES: Array<[Cls, Plain]> = [
  [ChannelEntryRecord, { $type: 'ChannelEntry', ...signed, channel: hash('c'), hlc: 1, file: { manifest: hash('c'), name: 'a.txt', size: 1 } }],
  [Profile, { $type: 'Profile', person: hash('1'), name: 'Alice', email: 'alice@example.org', version: 3, sig: SIG64 }],
  [ChannelEntryRecord, { $type: 'ChannelEntry', ...signed, channel: hash('c'), hlc: 1, text: null }],
  [HelloMessage, { v: 1, epoch: 'abcdefgh12', count: 10, mark: { epoch: 'abcdefgh12', seq: 1 } }],
];

const CV_OPTIONS = { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } };

/**
 * validateSchema before the fast path: undefined when the JSON gate refuses the value (the
 * fast path only ever sees values that passed it).
 */
function classValidatorAccepts(cls: Cls, value: unknown): boolean | undefined {
  try {
    assertJson(value);
  } catch {
    return undefined;
  }
  const instance = plainToInstance(cls, value, { enableImplicitConversion: false, exposeDefaultValues: false });
  return validateSync(instance as object, CV_OPTIONS).length === 0;
}

function validateSchemaAccepts(cls: Cls, value: unknown): boolean {
  try {
    validateSchema(cls, value, 'OBJECT_INVALID');
    return true;
  } catch (err) {
    assert.ok(isCoded(err) && (err as { code: string }).code === 'OBJECT_INVALID', String(err));
    return false;
  }
}

test('valid records of the object path, sync, pairing and the companion protocol take the fast path', () => {
  for (const [cls, value] of SAMPLES) {
    assert.equal(classValidatorAccepts(cls, value), true, `${cls.name} sample is valid`);
    assert.equal(fastAccepts(cls, value), true, cls.name);
    assert.equal(validateSchema(cls, value, 'OBJECT_INVALID'), value);
  }
  for (const [cls, value] of SLOW_SAMPLES) {
    assert.equal(fastAccepts(cls, value), false, cls.name);
    assert.equal(validateSchema(cls, value, 'OBJECT_INVALID'), value);
  }
  // Only nested fields: never fast, still validated.
  assert.equal(fastAccepts(PublicIdentity, {}), false);
  assert.equal(fastAccepts(MarksDocument, { version: 1, marks: [] }), false);
});

test('lengths are bounded the conservative way: surrogate pairs and U+FE0E/U+FE0F never make a string pass', () => {
  class Short {
    @IsString() @Length(2, 3) s!: string;
  }
  // [string, validator.js's length, fast-accepted]
  const cases: Array<[string, number, boolean]> = [
    ['ab', 2, true],
    ['abc', 3, true],
    ['a\uFE0Fb', 2, true], // 3 units, at most one of them discounted
    ['😀😀', 2, false], // 4 units: past the upper bound as far as the fast path knows
    ['\uFE0F\uFE0F', 2, false], // either unit might end a sequence: left to class-validator
    ['a\uFE0F', 1, false],
    ['😀\uFE0F', 1, false], // the pair and the sequence overlap
    ['abcd', 4, false],
    ['a', 1, false],
  ];
  for (const [s, length, fast] of cases) {
    assert.equal(fastAccepts(Short, { s }), fast, JSON.stringify(s));
    assert.equal(classValidatorAccepts(Short, { s }), length >= 2 && length <= 3, JSON.stringify(s));
    assert.equal(validateSchemaAccepts(Short, { s }), length >= 2 && length <= 3, JSON.stringify(s));
  }
});

test('regexes: global and sticky ones are left to class-validator; string patterns and flags are honoured', () => {
  class Patterns {
    @Matches(/^a+$/g) g!: string;
  }
  class Flags {
    @Matches('^ab$', 'i') s!: string;
  }
  const sticky = /a/y;
  class Sticky {
    @Matches(sticky) y!: string;
  }
  for (let i = 0; i < 3; i++) assert.equal(fastAccepts(Patterns, { g: 'aaa' }), false);
  assert.equal(validateSchemaAccepts(Patterns, { g: 'aaa' }), true);
  assert.equal(fastAccepts(Flags, { s: 'AB' }), true);
  assert.equal(fastAccepts(Flags, { s: 'abc' }), false);
  assert.equal(fastAccepts(Sticky, { y: 'a' }), false);
  assert.equal(sticky.lastIndex, 0);
});

test('what the fast path does not model goes to class-validator', () => {
  class Transformed {
    @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value)) @IsString() @MaxLength(2) t!: string;
  }
  class Defaulted {
    @IsOptional() @IsString() d?: string = 'x';
  }
  class Conditional {
    @ValidateIf((o: { c?: unknown }) => o.c !== 'skip') @IsString() @Equals('yes') c!: string;
  }
  class Inherited {
    @IsString() s!: string;
  }
  IsString()(Inherited.prototype, 'toString');
  class Email {
    @IsOptional() @IsEmail() e?: string;
    @IsString() n!: string;
  }
  class Inner {
    @IsString() x!: string;
  }
  class Outer {
    @IsOptional() @Nested(() => Inner) inner?: Inner;
  }
  class Empty {}
  assert.equal(fastAccepts(Transformed, { t: '  ab  ' }), false);
  assert.equal(validateSchemaAccepts(Transformed, { t: '  ab  ' }), true);
  assert.equal(fastAccepts(Defaulted, { d: 'y' }), false);
  assert.equal(fastAccepts(Conditional, { c: 'skip' }), false);
  assert.equal(validateSchemaAccepts(Conditional, { c: 'skip' }), true);
  assert.equal(fastAccepts(Inherited, { s: 'x' }), false);
  assert.equal(fastAccepts(Email, { n: 'x' }), true);
  assert.equal(fastAccepts(Email, { n: 'x', e: 'a@b.org' }), false);
  assert.equal(fastAccepts(Outer, {}), true);
  assert.equal(fastAccepts(Outer, { inner: { x: 'y' } }), false);
  assert.equal(fastAccepts(Empty, {}), false);
  for (const odd of [null, [], 'x', 1, new Date(0), Object.create({ x: 'inherited' })]) assert.equal(fastAccepts(Inner, odd), false);
});

// ---- property: whenever the fast path accepts, class-validator accepts ------------------

/** Strings of exactly `units` UTF-16 units mixing what validator.js's isLength counts specially. */
const arbTrickyString = (units: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom('a', 'é', '😀', '\uFE0F', '\uFE0E', 'a\uFE0F', '😀\uFE0F', '\uD83D'), { maxLength: Math.min(units, 40) }).map((parts) => {
    const head = parts.join('').slice(0, units);
    return head + 'x'.repeat(Math.max(0, units - head.length));
  });

const arbOdd: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, false, 0, -0, -1, 0.5, 1.5, NaN, Infinity, 2 ** 53, Number.MAX_SAFE_INTEGER, '', ' ', 'x', hash('a'), hash('A'), 'a'.repeat(63), 'a'.repeat(65), SIG64, KEY32, NONCE, [], {}, [[]], [{}], { a: 1 }, [hash('a'), 5]),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.integer({ min: 0, max: 300 }).chain(arbTrickyString),
  fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(hash('c'))), { maxLength: 6 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(fc.string(), fc.integer()), { maxKeys: 3 }),
);

/** What one field's metadata asks for, for generating values. */
interface FieldSpec {
  name: string;
  optional: boolean;
  constant?: { value: unknown };
  oneOf?: unknown[];
  regex?: RegExp;
  email?: boolean;
  string?: boolean;
  boolean?: boolean;
  minLength?: number;
  maxLength?: number;
  int?: boolean;
  min?: number;
  max?: number;
  array?: boolean;
  maxSize?: number;
  element?: FieldSpec;
  object?: boolean;
  nested?: Cls;
}

function specsOf(cls: Cls): FieldSpec[] {
  const byProperty = new Map<string, Metadata[]>();
  for (const m of getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false, undefined)) {
    byProperty.set(m.propertyName, [...(byProperty.get(m.propertyName) ?? []), m]);
  }
  return [...byProperty].map(([name, metadata]) => {
    const spec: FieldSpec = { name, optional: metadata.some((m) => m.name === 'isOptional') };
    for (const m of metadata) {
      const target = m.each ? (spec.element ??= { name, optional: false }) : spec;
      const [c0, c1] = (m.constraints ?? []) as unknown[];
      switch (m.name) {
        case 'equals': target.constant = { value: c0 }; break;
        case 'isIn': target.oneOf = c0 as unknown[]; break;
        case 'matches': target.regex = c0 as RegExp; break;
        case 'isEmail': target.email = true; break;
        case 'isString': target.string = true; break;
        case 'isBoolean': target.boolean = true; break;
        case 'isLength': target.minLength = c0 as number; target.maxLength = c1 as number; break;
        case 'minLength': target.minLength = c0 as number; break;
        case 'maxLength': target.maxLength = c0 as number; break;
        case 'isInt': target.int = true; break;
        case 'min': target.min = c0 as number; break;
        case 'max': target.max = c0 as number; break;
        case 'isArray': target.array = true; break;
        case 'arrayMaxSize': target.maxSize = c0 as number; break;
        case 'isObject': target.object = true; break;
      }
      if (m.type === 'nestedValidation') spec.nested = defaultMetadataStorage.findTypeMetadata(cls, name)?.typeFunction() as Cls;
    }
    return spec;
  });
}

/** A value meant to pass the field's validators (a few miss: regexes ignore length limits). */
function arbValid(spec: FieldSpec, depth: number): fc.Arbitrary<unknown> {
  if (spec.nested) {
    const one = depth < 2 ? arbValidObject(spec.nested, depth + 1) : fc.constant({});
    return spec.array ? fc.array(one, { maxLength: 3 }) : one;
  }
  if (spec.array) {
    const element = spec.element ? arbValid(spec.element, depth) : arbOdd;
    return fc.array(element, { maxLength: Math.min(spec.maxSize ?? 5, 5) });
  }
  if (spec.constant) return fc.constant(spec.constant.value);
  if (spec.oneOf) return fc.constantFrom(...spec.oneOf);
  if (spec.regex) return fc.stringMatching(new RegExp(spec.regex.source, spec.regex.flags.replace(/[gy]/g, '')));
  if (spec.email) return fc.constantFrom('alice@example.org', 'b@c.de');
  if (spec.boolean) return fc.boolean();
  if (spec.int) {
    const lo = spec.min ?? 0;
    const hi = spec.max ?? Number.MAX_SAFE_INTEGER;
    return fc.oneof(fc.constantFrom(lo, hi), fc.maxSafeNat().map((n) => lo + (n % (hi - lo + 1))), fc.nat(1000).map((n) => Math.min(hi, lo + n)));
  }
  if (spec.string || spec.minLength !== undefined || spec.maxLength !== undefined) return fc.string({ minLength: Math.max(0, spec.minLength ?? 0), maxLength: Math.min(spec.maxLength ?? 40, 40) });
  if (spec.object) return fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 3 });
  return arbOdd;
}

/** Values at and just past the field's limits (lengths, numbers, array sizes), or odd ones. */
function arbEdge(spec: FieldSpec, depth: number): fc.Arbitrary<unknown> {
  const edges: Array<{ arbitrary: fc.Arbitrary<unknown>; weight: number }> = [{ arbitrary: arbOdd, weight: 4 }];
  const lengths = [spec.minLength, spec.maxLength, spec.element?.maxLength].filter((n): n is number => typeof n === 'number');
  if (lengths.length > 0) {
    const strings = fc.constantFrom(...lengths.flatMap((b) => [b - 1, b, b + 1, b + 2, 2 * b])).filter((n) => n >= 0).chain(arbTrickyString);
    edges.push({ arbitrary: spec.element ? fc.array(strings, { minLength: 1, maxLength: 3 }) : strings, weight: 4 });
  }
  for (const b of [spec.min, spec.max]) if (typeof b === 'number') edges.push({ arbitrary: fc.constantFrom(b - 1, b, b + 1, b - 0.5, b + 0.5), weight: 4 });
  if (spec.maxSize !== undefined) {
    const n = spec.maxSize;
    const element = spec.element ? arbValid(spec.element, depth) : fc.constant(hash('c'));
    // Long arrays cost class-validator milliseconds: rarer than the other edges.
    edges.push({ arbitrary: fc.tuple(element, fc.constantFrom(n, n + 1), fc.oneof(element, arbOdd)).map(([e, len, last]) => [...Array.from({ length: len - 1 }, () => e), last]), weight: 1 });
  }
  return fc.oneof(...edges);
}

function arbValidObject(cls: Cls, depth = 0): fc.Arbitrary<Plain> {
  const fields = specsOf(cls).map((spec) => {
    const value = arbValid(spec, depth).map((v) => [spec.name, v] as const);
    return spec.optional ? fc.option(value, { nil: undefined, freq: 2 }) : value;
  });
  return fc.tuple(...fields).map((entries) => {
    const out: Plain = {};
    for (const entry of entries) if (entry) out[entry[0]] = entry[1];
    return out;
  });
}

type Mutation = { drop: string } | { set: string; value: unknown };

/** Valid objects of `cls`, left alone or changed by up to three mutations. */
function arbCase(cls: Cls): fc.Arbitrary<Plain> {
  const specs = specsOf(cls);
  const names = specs.map((s) => s.name);
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    ...specs.map((spec) => fc.oneof(arbEdge(spec, 0), arbValid(spec, 0)).map((value): Mutation => ({ set: spec.name, value }))),
    ...(names.length > 0 ? [fc.constantFrom(...names).map((drop): Mutation => ({ drop }))] : []),
    fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('toString', 'hasOwnProperty', 'valueOf', '__proto__', 'constructor')), arbOdd).map(([set, value]): Mutation => ({ set, value })),
  );
  return fc.tuple(arbValidObject(cls), fc.oneof(fc.constant([]), fc.array(mutation, { minLength: 1, maxLength: 3 }))).map(([base, mutations]) => {
    const out: Plain = { ...base };
    for (const m of mutations) {
      if ('drop' in m) delete out[m.drop];
      else Object.defineProperty(out, m.set, { value: m.value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  });
}

/** Validators and limits the built-in classes do not exercise. */
class Limits {
  @IsString() @Length(3, 6) a!: string;
  @IsOptional() @MinLength(4) b?: string;
  @IsOptional() @MaxLength(4) c?: string;
  @IsOptional() @IsArray() @ArrayMaxSize(3) @Length(2, 3, { each: true }) d?: string[];
  @IsOptional() @IsIn([1, 'x', null]) e?: unknown;
  @IsOptional() @IsBoolean() f?: boolean;
}

const PROPERTY_CLASSES: Cls[] = [
  Limits,
  IdRecord, VersionRecord, AccessRecord, AccessRevokeRecord, BlobManifestRecord, ChannelEntryRecord, FileRef, AppObjectRecord,
  PersonRecord, InstanceRecord, InstanceCertificate, Profile, PublicIdentity,
  Mark, HelloMessage, PlanMessage, AckMessage, MarkEntry, PairError, InviteRecord, CompanionRequest, CompanionResponse, CompanionEvent,
];
/** Classes whose every valid value has a nested object or an unmodelled validator. */
const NEVER_FAST = new Set<Cls>([PublicIdentity, CompanionResponse]);

test('whenever the fast path accepts a value, class-validator does; validateSchema decides as class-validator', { timeout: 120_000 }, () => {
  for (const cls of PROPERTY_CLASSES) {
    let fast = 0;
    let valid = 0;
    fc.assert(
      fc.property(arbCase(cls), (value) => {
        const accepted = fastAccepts(cls, value);
        const byClassValidator = classValidatorAccepts(cls, value);
        if (accepted && byClassValidator !== undefined) assert.equal(byClassValidator, true, `${cls.name}: fast path accepted what class-validator refuses`);
        assert.equal(validateSchemaAccepts(cls, value), byClassValidator === true, `${cls.name}: validateSchema disagrees with class-validator`);
        if (accepted && byClassValidator !== undefined) fast++;
        if (byClassValidator) valid++;
      }),
      { numRuns: 2000 },
    );
    if (NEVER_FAST.has(cls)) assert.equal(fast, 0, cls.name);
    // Not vacuous: many valid values take the fast path.
    else assert.ok(fast > 300, `${cls.name}: ${fast} fast of ${valid} valid`);
  }
});
