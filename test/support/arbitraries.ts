/**
 * fast-check arbitraries and the boundary check shared by the hostile-input suites.
 *
 * Parsers are fuzzed with three kinds of input, so every stage is reached: pure noise,
 * valid messages mutated a little (bit flips, cuts, insertions, spliced copies — most of
 * the code behind a parser's first check is only reached by almost-valid input), and
 * valid structures with hostile values put at random places.
 *
 * The boundary property every suite checks: a call returns, or throws a KithError whose
 * code is in the allowed set; it never throws anything else and finishes within its time
 * budget (a hang fails the run instead of stalling it).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KithError } from '../../shared/errors.js';

/** True in `npm run test:stress`. */
export const STRESS = process.env.KITH_STRESS === '1';

/** Runs for a fuzz target: `base` in `npm test` (seconds), ×100 under KITH_STRESS. */
export function fuzzRuns(base: number): number {
  return STRESS ? base * 100 : base;
}

/** A whole fuzz test's timeout: generous for CI, scaled with the runs. */
export function fuzzTimeout(baseMs = 60_000): number {
  return STRESS ? baseMs * 100 : baseMs;
}

/** Characters of base64url, for text that should get past an alphabet check. */
export const B64URL_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** One edit of a byte string. */
type Edit = readonly ['flip' | 'set' | 'insert' | 'delete' | 'truncate' | 'duplicate' | 'zero', number, number];

const arbEdit: fc.Arbitrary<Edit> = fc.tuple(
  fc.constantFrom('flip', 'set', 'insert', 'delete', 'truncate', 'duplicate', 'zero'),
  fc.nat(),
  fc.integer({ min: 0, max: 255 }),
);

function applyEdits(seed: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let bytes = Array.from(seed);
  for (const [kind, at, value] of edits) {
    const i = bytes.length === 0 ? 0 : at % bytes.length;
    switch (kind) {
      case 'flip':
        if (bytes.length) bytes[i]! ^= 1 << (value % 8);
        break;
      case 'set':
        if (bytes.length) bytes[i] = value;
        break;
      case 'insert':
        bytes.splice(at % (bytes.length + 1), 0, value);
        break;
      case 'delete':
        bytes.splice(i, 1 + (value % 8));
        break;
      case 'truncate':
        bytes = bytes.slice(0, i);
        break;
      case 'duplicate':
        bytes.splice(i, 0, ...bytes.slice(i, i + 1 + value));
        break;
      case 'zero':
        for (let k = i; k < Math.min(bytes.length, i + 1 + (value % 32)); k++) bytes[k] = 0;
        break;
    }
  }
  return Uint8Array.from(bytes);
}

/** A seed changed by 1–4 edits. */
export function mutated(seeds: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.tuple(fc.constantFrom(...seeds), fc.array(arbEdit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) => applyEdits(seed, edits));
}

/** Noise, the seeds themselves, and mutated seeds. */
export function bytesAround(seeds: readonly Uint8Array[], maxNoise = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.uint8Array({ maxLength: maxNoise, size: 'max' }) },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 5, arbitrary: mutated(seeds) },
  );
}

/** Values that JSON from outside can carry and that break careless code. */
export const hostileJsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    null, true, false, 0, -0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, '', ' ', '\u0000', '\ud800', 'a'.repeat(300),
    '0'.repeat(64), 'f'.repeat(64), 'F'.repeat(64), '__proto__', 'constructor', 'toString', [], {}, [[[[[]]]]],
  ),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer(),
  fc.double({ noDefaultInfinity: true, noNaN: true }),
);

/** Arbitrary JSON values (what JSON.parse of outside text can produce), hostile leaves included. */
export const anyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileJsonLeaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', '$type', 'id', 'v')), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/**
 * A valid JSON structure with hostile changes at random places: a value replaced, a key
 * removed, a key added, an array emptied or grown. Reaches the checks of every field.
 */
export function mutatedJson(seed: unknown): fc.Arbitrary<unknown> {
  const paths = collectPaths(seed);
  const edit = fc.tuple(fc.constantFrom(...paths), fc.constantFrom('replace', 'delete', 'add', 'wrap'), fc.oneof(hostileJsonLeaf, anyJson), fc.string({ maxLength: 8 }));
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    const copy = structuredClone(seed);
    let root: unknown = copy;
    for (const [path, kind, value, key] of edits) root = editAt(root, path, kind, value, key);
    return root;
  });
}

type Path = readonly (string | number)[];

function collectPaths(value: unknown, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) value.forEach((v, i) => collectPaths(v, [...path, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) collectPaths(v, [...path, k], out);
  return out;
}

function editAt(root: unknown, path: Path, kind: string, value: unknown, key: string): unknown {
  if (path.length === 0) {
    if (kind === 'wrap') return [root];
    return kind === 'replace' ? value : root;
  }
  let parent: unknown = root;
  for (const step of path.slice(0, -1)) {
    if (parent === null || typeof parent !== 'object') return root;
    parent = (parent as Record<string | number, unknown>)[step];
  }
  if (parent === null || typeof parent !== 'object') return root;
  const last = path[path.length - 1]!;
  const container = parent as Record<string | number, unknown>;
  switch (kind) {
    case 'replace':
      container[last] = value;
      break;
    case 'delete':
      if (Array.isArray(container)) container.splice(Number(last), 1);
      else delete container[last];
      break;
    case 'add':
      if (Array.isArray(container)) container.push(value);
      else Object.defineProperty(container, key, { value, enumerable: true, writable: true, configurable: true });
      break;
    case 'wrap':
      container[last] = [container[last]];
      break;
  }
  return root;
}

const HEX = '0123456789abcdef';

/**
 * A valid JSON structure with one string leaf changed by one character of the same class
 * (hex stays hex, base64url stays base64url): the result still passes a schema, so it
 * reaches the cryptographic checks behind it (signatures, hashes, key bindings).
 */
export function tweakedJson(seed: unknown): fc.Arbitrary<unknown> {
  const paths = collectPaths(seed).filter((p) => typeof valueAt(seed, p) === 'string' && (valueAt(seed, p) as string).length > 0);
  if (paths.length === 0) return fc.constant(seed);
  return fc.tuple(fc.constantFrom(...paths), fc.nat(), fc.nat()).map(([path, at, pick]) => {
    const copy = structuredClone(seed);
    const text = valueAt(copy, path) as string;
    const i = at % text.length;
    const alphabet = HEX.includes(text[i]!) && /^[0-9a-f]+$/.test(text) ? HEX : B64URL_CHARS;
    const replacement = alphabet[pick % alphabet.length]!;
    const changed = text.slice(0, i) + (replacement === text[i] ? alphabet[(pick + 1) % alphabet.length]! : replacement) + text.slice(i + 1);
    return editAt(copy, path, 'replace', changed, '');
  });
}

function valueAt(root: unknown, path: Path): unknown {
  let v: unknown = root;
  for (const step of path) v = (v as Record<string | number, unknown> | null)?.[step];
  return v;
}

/** UTF-8 bytes of JSON text. */
export const jsonBytes = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value) ?? 'null');

// ---- the boundary property -----------------------------------------------------------

export interface BoundaryOptions {
  /** Codes the target may throw; any KithError code when omitted. */
  readonly allowed?: ReadonlySet<string> | readonly string[];
  /** Longest one call may take (default 1 s: calls take micro- to milliseconds; this only catches hangs). */
  readonly budgetMs?: number;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: string; readonly message: string };

function checkThrown(err: unknown, allowed: BoundaryOptions['allowed']): { code: string; message: string } {
  if (err instanceof assert.AssertionError) throw err;
  assert.ok(err instanceof KithError, `threw something other than a KithError: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  assert.match(err.code, /^[A-Z_]+$/);
  if (allowed) {
    const set = allowed instanceof Set ? allowed : new Set(allowed as readonly string[]);
    assert.ok(set.has(err.code), `unexpected code ${err.code}: ${err.message}`);
  }
  return { code: err.code, message: err.message };
}

/** Runs a synchronous parser under the boundary property. */
export function atBoundary<T>(fn: () => T, options: BoundaryOptions = {}): Outcome<T> {
  const started = performance.now();
  let outcome: Outcome<T>;
  try {
    outcome = { ok: true, value: fn() };
  } catch (err) {
    outcome = { ok: false, ...checkThrown(err, options.allowed) };
  }
  const elapsed = performance.now() - started;
  assert.ok(elapsed < (options.budgetMs ?? 1000), `one call took ${elapsed.toFixed(0)} ms`);
  return outcome;
}

/** Runs an asynchronous call under the boundary property; a call that does not settle within the budget fails. */
export async function atBoundaryAsync<T>(fn: () => Promise<T>, options: BoundaryOptions = {}): Promise<Outcome<T>> {
  const budget = options.budgetMs ?? 1000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: `a call did not settle within ${budget} ms` })), budget);
  });
  try {
    return { ok: true, value: await Promise.race([fn(), hang]) };
  } catch (err) {
    return { ok: false, ...checkThrown(err, options.allowed) };
  } finally {
    clearTimeout(timer);
  }
}

/** Counts outcomes by code ("ok" for successes), for asserting that a fuzzer reached deep. */
export class OutcomeTally {
  readonly counts = new Map<string, number>();
  add(outcome: Outcome<unknown>): void {
    const key = outcome.ok ? 'ok' : outcome.code;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  toString(): string {
    return JSON.stringify(Object.fromEntries(this.counts));
  }
}

/**
 * Collects uncaught exceptions and unhandled rejections while a suite runs (a throw out of a
 * socket or event callback shows up as one of these). `check()` fails if any happened.
 */
export function trapUncaught(): { check(): void; dispose(): void } {
  const caught: unknown[] = [];
  const onError = (err: unknown) => void caught.push(err);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  return {
    check() {
      assert.deepEqual(caught.map((e) => (e instanceof Error ? `${e.name}: ${e.message} ${String((e as { cause?: unknown }).cause ?? '')}` : String(e))), [], 'nothing escaped to the process');
    },
    dispose() {
      process.off('uncaughtException', onError);
      process.off('unhandledRejection', onError);
    },
  };
}
