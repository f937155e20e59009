/**
 * validateSchema's fast path: a check compiled once per schema class from class-validator's
 * own metadata that says whether a plain value is certainly valid, without building a class
 * instance (class-transformer) or running the validator tree (class-validator): ~1 µs for a
 * channel entry instead of ~20. It may be stricter than class-validator, never looser: whenever it
 * is unsure (a validator or option it does not model, a nested object, null for an optional
 * field, a class-transformer decorator) it answers false and validateSchema runs
 * class-validator, which stays authoritative and produces every error message.
 *
 * What it models is class-validator 0.14 under validateSchema's options (whitelist,
 * forbidNonWhitelisted, forbidUnknownValues, no groups) on the instance plainToInstance
 * builds: every key of the input must have metadata, and each supported validator accepts
 * exactly what its class-validator / validator.js namesake accepts (or less). Validators are
 * recognised by their registered name: a custom decorator must not reuse a built-in's name.
 * Metadata is read once per class, at its first validation; decorators all run when the class
 * is defined.
 */
import { getMetadataStorage } from 'class-validator';
// The copy of class-transformer whose plainToInstance shared/schema.ts calls: a bundler
// given the bare name picks its esm5 build, whose decorators keep their own metadata.
import { TransformationType } from 'class-transformer/cjs/index.js';
import { defaultMetadataStorage } from 'class-transformer/cjs/storage.js';

type Check = (value: unknown) => boolean;
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];

interface Field {
  /** Has @IsOptional: may be absent. */
  readonly optional: boolean;
  /** True when a present value passes every validator of the field. */
  readonly accepts: Check;
}

interface FastCheck {
  readonly fields: ReadonlyMap<string, Field>;
  /** Fields without @IsOptional: all must be present. */
  readonly required: number;
}

const never: Check = () => false;
/** undefined: the class is never fast-accepted. */
const compiled = new WeakMap<Function, FastCheck | undefined>();

/**
 * True only when class-validator would certainly accept `value` for `cls` the way
 * validateSchema runs it; false means "run class-validator", not "invalid". `value` has
 * passed the JSON gate (assertJson): plain data properties, no "constructor" keys.
 */
export function fastAccepts(cls: Function, value: unknown): boolean {
  let check = compiled.get(cls);
  if (check === undefined && !compiled.has(cls)) {
    check = compile(cls);
    compiled.set(cls, check);
  }
  if (check === undefined || typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  // Own enumerable keys: what plainToInstance copies onto the instance.
  const keys = Object.keys(value);
  let required = 0;
  for (const key of keys) {
    const field = check.fields.get(key);
    if (field === undefined) return false;
    const v = (value as Record<string, unknown>)[key];
    // class-validator skips every validator of an optional field holding null; not modelled.
    if (v === undefined || v === null || !field.accepts(v)) return false;
    if (!field.optional) required++;
  }
  return required === check.required;
}

function compile(cls: Function): FastCheck | undefined {
  // The same query validateSync makes for an instance of cls (no schema name, no groups).
  const metadatas = getMetadataStorage().getTargetValidationMetadatas(cls, '', false, false, undefined);
  if (metadatas.length === 0) return undefined; // forbidUnknownValues refuses it
  // Class-level @Expose/@Exclude and renamed or dropped properties change which keys the
  // instance gets; a constructor that sets fields adds keys and values the input lacks.
  const ct = defaultMetadataStorage;
  if (ct.getStrategy(cls) !== 'none' || ct.getExposedMetadatas(cls).length > 0 || ct.getExcludedMetadatas(cls).length > 0) return undefined;
  if (!constructsBare(cls)) return undefined;
  const byProperty = new Map<string, ValidationMetadata[]>();
  for (const m of metadatas) {
    const list = byProperty.get(m.propertyName);
    if (list) list.push(m);
    else byProperty.set(m.propertyName, [m]);
  }
  const fields = new Map<string, Field>();
  let required = 0;
  for (const [name, list] of byProperty) {
    // plainToInstance skips keys the prototype chain answers ("toString", "constructor"…),
    // so class-validator would see the inherited member, not the input's value.
    if (name in cls.prototype) return undefined;
    const optional = list.some((m) => m.type === 'conditionalValidation' && m.name === 'isOptional');
    const transformed = ct.findTypeMetadata(cls, name) !== undefined || ct.findTransformMetadatas(cls, name, TransformationType.PLAIN_TO_CLASS).length > 0;
    const checks: Check[] = [];
    const eachChecks: Check[] = [];
    let supported = !transformed;
    for (const m of list) {
      if (m.type === 'conditionalValidation' && m.name === 'isOptional') continue;
      const check = m.type === 'customValidation' ? validatorCheck(m) : undefined;
      if (check === undefined) supported = false;
      else if (m.each) eachChecks.push(check);
      else checks.push(check);
    }
    // Whole-value checks (isArray, arrayMaxSize) first: they bound the per-element loop.
    for (const check of eachChecks) checks.push(forEach(check));
    fields.set(name, { optional, accepts: supported ? all(checks) : never });
    if (!optional) required++;
  }
  return { fields, required };
}

/** True when `new cls()` works and sets no fields, as plainToInstance's starting point must. */
function constructsBare(cls: Function): boolean {
  try {
    return Reflect.ownKeys(new (cls as new () => object)()).length === 0;
  } catch {
    return false;
  }
}

function all(checks: readonly Check[]): Check {
  if (checks.length === 1) return checks[0]!;
  return (v) => {
    for (const check of checks) if (!check(v)) return false;
    return true;
  };
}

/** `each: true`: every element of an array (holes included, which fail); any other value itself. */
function forEach(check: Check): Check {
  return (v) => {
    if (!Array.isArray(v)) return check(v);
    for (let i = 0; i < v.length; i++) if (!check(v[i])) return false;
    return true;
  };
}

/**
 * The check for one class-validator validator, or undefined when it is not modelled. Each
 * sees the input's value, where class-validator sees plainToInstance's copy of it: the same
 * primitive, or a fresh array or object (never === anything, arrays without holes).
 */
function validatorCheck(m: ValidationMetadata): Check | undefined {
  const c: unknown[] = Array.isArray(m.constraints) ? m.constraints : [];
  const [c0, c1] = c;
  switch (m.name) {
    case 'equals':
      return isPrimitive(c0) ? (v) => v === c0 : undefined;
    case 'isIn':
      return Array.isArray(c0) ? (v) => isPrimitive(v) && c0.indexOf(v) !== -1 : undefined;
    case 'isString':
      return (v) => typeof v === 'string';
    case 'isBoolean':
      return (v) => typeof v === 'boolean';
    case 'isInt':
      return (v) => typeof v === 'number' && Number.isInteger(v);
    case 'min':
      return typeof c0 === 'number' ? (v) => typeof v === 'number' && v >= c0 : undefined;
    case 'max':
      return typeof c0 === 'number' ? (v) => typeof v === 'number' && v <= c0 : undefined;
    case 'isArray':
      return Array.isArray;
    case 'arrayMaxSize':
      // plainToInstance's copy drops holes, so it is never longer than the input.
      return typeof c0 === 'number' ? (v) => Array.isArray(v) && v.length <= c0 : undefined;
    case 'isObject':
      return (v) => typeof v === 'object' && v !== null && !Array.isArray(v) && isPlainPrototype(v);
    case 'isLength': // Length(min, max)
      return lengthCheck(c0, c1);
    case 'minLength':
      return lengthCheck(c0, undefined);
    case 'maxLength':
      return lengthCheck(0, c0);
    case 'matches':
      return matchesCheck(c0, c1);
    default:
      return undefined;
  }
}

function isPrimitive(v: unknown): boolean {
  return v === null || (typeof v !== 'object' && typeof v !== 'function');
}

function isPlainPrototype(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * validator.js's isLength (`min || 0` ≤ len ≤ max) where len is the string's length minus
 * its matches of /[^\uFE0F\uFE0E][\uFE0F\uFE0E]/g and /[\uD800-\uDBFF][\uDC00-\uDFFF]/g.
 * Every match owns a distinct U+FE0E, U+FE0F or high surrogate, so len lies between
 * `length - (number of those units)` and `length`: the check uses those bounds.
 */
function lengthCheck(min: unknown, max: unknown): Check | undefined {
  if ((min !== undefined && min !== null && typeof min !== 'number') || (max !== undefined && typeof max !== 'number')) return undefined;
  const lo = (min as number | null | undefined) || 0;
  const hi = max as number | undefined;
  return (v) => {
    if (typeof v !== 'string') return false;
    const n = v.length;
    if (hi !== undefined && !(n <= hi)) return false;
    if (lo <= 0) return true;
    if (!(n >= lo)) return false;
    let owners = 0;
    for (let i = 0; i < n; i++) {
      const u = v.charCodeAt(i);
      if ((u >= 0xd800 && u <= 0xdbff) || u === 0xfe0e || u === 0xfe0f) {
        if (n - ++owners < lo) return false;
      }
    }
    return true;
  };
}

/**
 * validator.js's matches: `!!str.match(pattern)`, with a string pattern compiled per call.
 * Only patterns without the g and y flags are modelled (those make matching depend on, and
 * change, lastIndex); the check tests a private copy, whose lastIndex nobody else moves.
 */
function matchesCheck(pattern: unknown, modifiers: unknown): Check | undefined {
  let re: RegExp;
  if (Object.prototype.toString.call(pattern) === '[object RegExp]') {
    const p = pattern as RegExp;
    // A subclass or an own exec / Symbol.match would change what str.match does.
    if (Object.getPrototypeOf(p) !== RegExp.prototype || Reflect.ownKeys(p).some((k) => k !== 'lastIndex')) return undefined;
    re = new RegExp(p.source, p.flags);
  } else if (typeof pattern === 'string' && (modifiers === undefined || typeof modifiers === 'string')) {
    try {
      re = new RegExp(pattern, modifiers);
    } catch {
      return undefined;
    }
  } else {
    return undefined;
  }
  if (re.global || re.sticky) return undefined;
  return (v) => typeof v === 'string' && re.test(v);
}
