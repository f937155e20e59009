/**
 * Noise handshake patterns (Noise Protocol Framework, revision 34, §7–§9): the pattern
 * table, the `pskN` modifiers, the validity rules, and protocol-name parsing.
 *
 * Patterns are kept as data in the spec's own notation and parsed once, so the
 * handshake engine is driven by tokens only and knows nothing about particular patterns.
 * Only the suite Kith implements (25519, ChaChaPoly, SHA256) is accepted.
 */
import { KithError } from '../../shared/errors.js';
import { describe } from '../../shared/bytes.js';
import { MAX_NOISE_PROTOCOL_NAME } from '../../shared/limits.js';

/** Tokens a pre-message may hold. */
export type KeyToken = 'e' | 's';
/** DH tokens in canonical notation: first letter is the initiator's key, second the responder's. */
export type DhToken = 'ee' | 'es' | 'se' | 'ss';
/** Every token a message pattern may hold. */
export type Token = KeyToken | DhToken | 'psk';

/** One handshake message. */
export interface MessagePattern {
  /** True for "->" (initiator to responder), false for "<-". */
  readonly fromInitiator: boolean;
  /** Tokens in processing order; the payload always follows them. */
  readonly tokens: readonly Token[];
}

/** A handshake pattern in canonical (initiator-first) form, with its modifiers applied. */
export interface HandshakePattern {
  /** Pattern name with modifiers, as in a protocol name ("IKpsk2", "NK1", "XXpsk0+psk3"). */
  readonly name: string;
  /** Keys the responder knows of the initiator before the handshake ("->" pre-message). */
  readonly initiatorPreMessage: readonly KeyToken[];
  /** Keys the initiator knows of the responder before the handshake ("<-" pre-message). */
  readonly responderPreMessage: readonly KeyToken[];
  /** Handshake messages, alternating, the first one from the initiator. */
  readonly messages: readonly MessagePattern[];
  /** One-way patterns (N, K, X and their psk variants): one message, only the initiator sends afterwards. */
  readonly oneWay: boolean;
  /** Number of "psk" tokens; a handshake needs exactly this many pre-shared keys. */
  readonly pskCount: number;
}

/** A parsed protocol name of the one supported suite. */
export interface ProtocolName {
  /** The full name, e.g. "Noise_IKpsk2_25519_ChaChaPoly_SHA256" (hashed into the handshake). */
  readonly name: string;
  /** The handshake pattern with modifiers applied and validated. */
  readonly pattern: HandshakePattern;
  /** DH function name. */
  readonly dh: '25519';
  /** Cipher function name. */
  readonly cipher: 'ChaChaPoly';
  /** Hash function name. */
  readonly hash: 'SHA256';
}

/** The four sections of a protocol name, before anything is checked beyond its shape. */
export interface ProtocolNameSections {
  /** Pattern name with modifiers ("IKpsk2"). */
  readonly pattern: string;
  /** Base pattern ("IK"): the leading run of upper-case letters and digits. */
  readonly basePattern: string;
  /** Modifiers in the order written ("psk0", "psk2", "fallback"…). */
  readonly modifiers: readonly string[];
  /** DH section ("25519"). */
  readonly dh: string;
  /** Cipher section ("ChaChaPoly"). */
  readonly cipher: string;
  /** Hash section ("SHA256"). */
  readonly hash: string;
}

/** The one suite implemented: DH, cipher and hash names as they appear in protocol names (§12). */
export const SUPPORTED_DH = '25519';
export const SUPPORTED_CIPHER = 'ChaChaPoly';
export const SUPPORTED_HASH = 'SHA256';

/**
 * The spec's pattern table (§7.4 one-way, §7.5 interactive fundamental, §7.6 deferred),
 * in its notation: lines separated by "|", pre-messages before "...".
 */
const BASE_PATTERNS: Readonly<Record<string, string>> = {
  // one-way (§7.4)
  N: '<- s | ... | -> e, es',
  K: '-> s | <- s | ... | -> e, es, ss',
  X: '<- s | ... | -> e, es, s, ss',
  // interactive, fundamental (§7.5)
  NN: '-> e | <- e, ee',
  NK: '<- s | ... | -> e, es | <- e, ee',
  NX: '-> e | <- e, ee, s, es',
  KN: '-> s | ... | -> e | <- e, ee, se',
  KK: '-> s | <- s | ... | -> e, es, ss | <- e, ee, se',
  KX: '-> s | ... | -> e | <- e, ee, se, s, es',
  XN: '-> e | <- e, ee | -> s, se',
  XK: '<- s | ... | -> e, es | <- e, ee | -> s, se',
  XX: '-> e | <- e, ee, s, es | -> s, se',
  IN: '-> e, s | <- e, ee, se',
  IK: '<- s | ... | -> e, es, s, ss | <- e, ee, se',
  IX: '-> e, s | <- e, ee, se, s, es',
  // interactive, deferred (§7.6)
  NK1: '<- s | ... | -> e | <- e, ee, es',
  NX1: '-> e | <- e, ee, s | -> es',
  X1N: '-> e | <- e, ee | -> s | <- se',
  X1K: '<- s | ... | -> e, es | <- e, ee | -> s | <- se',
  XK1: '<- s | ... | -> e | <- e, ee, es | -> s, se',
  X1K1: '<- s | ... | -> e | <- e, ee, es | -> s | <- se',
  X1X: '-> e | <- e, ee, s, es | -> s | <- se',
  XX1: '-> e | <- e, ee, s | -> es, s, se',
  X1X1: '-> e | <- e, ee, s | -> es, s | <- se',
  K1N: '-> s | ... | -> e | <- e, ee | -> se',
  K1K: '-> s | <- s | ... | -> e, es | <- e, ee | -> se',
  KK1: '-> s | <- s | ... | -> e | <- e, ee, se, es',
  K1K1: '-> s | <- s | ... | -> e | <- e, ee, es | -> se',
  K1X: '-> s | ... | -> e | <- e, ee, s, es | -> se',
  KX1: '-> s | ... | -> e | <- e, ee, se, s | -> es',
  K1X1: '-> s | ... | -> e | <- e, ee, s | -> se, es',
  I1N: '-> e, s | <- e, ee | -> se',
  I1K: '<- s | ... | -> e, es, s | <- e, ee | -> se',
  IK1: '<- s | ... | -> e, s | <- e, ee, se, es',
  I1K1: '<- s | ... | -> e, s | <- e, ee, es | -> se',
  I1X: '-> e, s | <- e, ee, s, es | -> se',
  IX1: '-> e, s | <- e, ee, se, s | -> es',
  I1X1: '-> e, s | <- e, ee, s | -> se, es',
};

/** Names of every base pattern in the table. */
export const BASE_PATTERN_NAMES: readonly string[] = Object.keys(BASE_PATTERNS);

/** Modifiers of the spec that this implementation does not offer (reported, not misparsed). */
export const UNSUPPORTED_MODIFIERS: readonly string[] = ['fallback', 'hfs'];

const TOKENS: ReadonlySet<string> = new Set(['e', 's', 'ee', 'es', 'se', 'ss', 'psk']);
const PSK_MODIFIER = /^psk(0|[1-9][0-9]?)$/;
const PATTERN_NAME = /^([A-Z][A-Z0-9]*)((?:[a-z][a-z0-9]*)(?:\+[a-z][a-z0-9]*)*)?$/;

function invalid(message: string): KithError {
  return new KithError('INVALID_INPUT', message);
}

/**
 * Parses a pattern written in the spec's notation ("<- s | ... | -> e, es | <- e, ee"),
 * checking its shape (arrows alternate, known tokens, well-formed pre-messages) and
 * the validity rules of §7.3 and §9.3.
 */
export function parsePatternNotation(name: string, notation: string): HandshakePattern {
  if (typeof notation !== 'string') throw invalid(`pattern notation: expected string, got ${describe(notation)}`);
  const lines = notation.split('|').map((l) => l.trim());
  const separator = lines.indexOf('...');
  const preLines = separator >= 0 ? lines.slice(0, separator) : [];
  const messageLines = separator >= 0 ? lines.slice(separator + 1) : lines;
  let initiatorPre: KeyToken[] | undefined;
  let responderPre: KeyToken[] | undefined;
  for (const line of preLines) {
    const { fromInitiator, tokens } = parseLine(name, line);
    const keys = tokens.join(', ');
    if (keys !== 'e' && keys !== 's' && keys !== 'e, s') {
      throw invalid(`pattern ${name}: a pre-message is "e", "s" or "e, s", got "${keys}"`);
    }
    if (fromInitiator) {
      if (initiatorPre || responderPre) throw invalid(`pattern ${name}: the initiator's pre-message comes first, once`);
      initiatorPre = tokens as KeyToken[];
    } else {
      if (responderPre) throw invalid(`pattern ${name}: more than one responder pre-message`);
      responderPre = tokens as KeyToken[];
    }
  }
  if (messageLines.length === 0 || (messageLines.length === 1 && messageLines[0] === '')) {
    throw invalid(`pattern ${name}: no messages`);
  }
  const messages = messageLines.map((line, i) => {
    const message = parseLine(name, line);
    if (message.fromInitiator !== (i % 2 === 0)) {
      throw invalid(`pattern ${name}: messages must alternate, starting with the initiator ("->")`);
    }
    return message;
  });
  return finish(name, initiatorPre ?? [], responderPre ?? [], messages);
}

function parseLine(name: string, line: string): MessagePattern {
  const arrow = line.slice(0, 2);
  if (arrow !== '->' && arrow !== '<-') throw invalid(`pattern ${name}: a line starts with "->" or "<-"`);
  const body = line.slice(2).trim();
  if (body === '') throw invalid(`pattern ${name}: empty message pattern`);
  const tokens = body.split(',').map((t) => t.trim());
  for (const t of tokens) {
    if (!TOKENS.has(t)) throw invalid(`pattern ${name}: unknown token "${t.slice(0, 8)}"`);
  }
  return { fromInitiator: arrow === '->', tokens: tokens as Token[] };
}

function finish(
  name: string,
  initiatorPreMessage: readonly KeyToken[],
  responderPreMessage: readonly KeyToken[],
  messages: readonly MessagePattern[],
): HandshakePattern {
  const pskCount = messages.reduce((n, m) => n + m.tokens.filter((t) => t === 'psk').length, 0);
  const pattern: HandshakePattern = {
    name,
    initiatorPreMessage,
    responderPreMessage,
    messages,
    oneWay: messages.length === 1,
    pskCount,
  };
  checkValidity(pattern);
  return pattern;
}

/**
 * The validity rules: §7.3 (keys possessed before use, no key sent twice, no DH twice,
 * no ENCRYPT after a DH with the local static key unless the matching ephemeral DH was
 * done) and §9.3 (no encrypted data after a "psk" unless the sender has sent "e").
 * Throws INVALID_INPUT naming the broken rule.
 */
export function checkValidity(pattern: HandshakePattern): void {
  const name = pattern.name;
  const sentE = { i: false, r: false };
  const sentS = { i: false, r: false };
  const done = new Set<DhToken>();
  const psk = pattern.pskCount > 0;
  let pskProcessed = false;
  let keyed = false;

  for (const t of pattern.initiatorPreMessage) {
    if (t === 'e') sentE.i = true;
    else sentS.i = true;
  }
  for (const t of pattern.responderPreMessage) {
    if (t === 'e') sentE.r = true;
    else sentS.r = true;
  }
  // A pre-message "e" in a PSK handshake calls MixKey, so a key exists from the start.
  if (psk && (sentE.i || sentE.r)) keyed = true;

  const checkEncrypt = (party: 'i' | 'r', what: string): void => {
    const ok =
      party === 'i'
        ? !(done.has('se') && !done.has('ee')) && !(done.has('ss') && !done.has('es'))
        : !(done.has('es') && !done.has('ee')) && !(done.has('ss') && !done.has('se'));
    if (!ok) throw invalid(`pattern ${name}: ${what} is encrypted after a DH with the sender's static key but before the matching ephemeral DH (§7.3)`);
    if (pskProcessed && !(party === 'i' ? sentE.i : sentE.r)) {
      throw invalid(`pattern ${name}: ${what} is encrypted after "psk" by a party that has not sent "e" (§9.3)`);
    }
  };

  pattern.messages.forEach((message, index) => {
    const party = message.fromInitiator ? 'i' : 'r';
    for (const t of message.tokens) {
      switch (t) {
        case 'e':
          if (sentE[party]) throw invalid(`pattern ${name}: a party sends "e" twice`);
          sentE[party] = true;
          if (psk) keyed = true;
          break;
        case 's':
          if (sentS[party]) throw invalid(`pattern ${name}: a party sends "s" twice`);
          if (keyed) checkEncrypt(party, `"s" in message ${index + 1}`);
          sentS[party] = true;
          break;
        case 'psk':
          pskProcessed = true;
          keyed = true;
          break;
        default: {
          const has = { ee: sentE.i && sentE.r, es: sentE.i && sentS.r, se: sentS.i && sentE.r, ss: sentS.i && sentS.r };
          if (!has[t]) throw invalid(`pattern ${name}: "${t}" uses a key that has not been sent`);
          if (done.has(t)) throw invalid(`pattern ${name}: "${t}" appears twice`);
          done.add(t);
          keyed = true;
        }
      }
    }
    if (keyed) checkEncrypt(party, `the payload of message ${index + 1}`);
  });
  // Transport messages are encrypted too: by both parties, or by the initiator alone in one-way patterns.
  checkEncrypt('i', 'a transport message');
  if (!pattern.oneWay) checkEncrypt('r', 'a transport message');
}

/** Splits "Noise_IKpsk2_25519_ChaChaPoly_SHA256" into its sections, checking only its shape. */
export function splitProtocolName(name: unknown): ProtocolNameSections {
  if (typeof name !== 'string') throw invalid(`protocol name: expected string, got ${describe(name)}`);
  if (name.length > MAX_NOISE_PROTOCOL_NAME) throw invalid(`protocol name: longer than ${MAX_NOISE_PROTOCOL_NAME} characters`);
  const parts = name.split('_');
  if (parts.length !== 5 || parts[0] !== 'Noise') {
    throw invalid('protocol name: expected Noise_PATTERN_DH_CIPHER_HASH');
  }
  const [, patternName, dh, cipher, hash] = parts as [string, string, string, string, string];
  const match = PATTERN_NAME.exec(patternName);
  if (!match) throw invalid(`protocol name: malformed pattern section "${patternName.slice(0, 32)}"`);
  for (const section of [dh, cipher, hash]) {
    if (!/^[A-Za-z0-9+/]+$/.test(section)) throw invalid('protocol name: malformed algorithm section');
  }
  return {
    pattern: patternName,
    basePattern: match[1]!,
    modifiers: match[2] ? match[2].split('+') : [],
    dh,
    cipher,
    hash,
  };
}

/** Resolves a pattern name with modifiers ("IKpsk2", "NNpsk0+psk2") to a validated pattern. */
export function parseHandshakePattern(patternName: string, sections?: ProtocolNameSections): HandshakePattern {
  if (typeof patternName !== 'string') throw invalid(`pattern name: expected string, got ${describe(patternName)}`);
  const s = sections ?? splitProtocolName(`Noise_${patternName}_${SUPPORTED_DH}_${SUPPORTED_CIPHER}_${SUPPORTED_HASH}`);
  const notation = Object.prototype.hasOwnProperty.call(BASE_PATTERNS, s.basePattern) ? BASE_PATTERNS[s.basePattern] : undefined;
  if (notation === undefined) throw invalid(`protocol name: unknown handshake pattern "${s.basePattern.slice(0, 16)}"`);
  const base = parsePatternNotation(s.basePattern, notation);
  if (s.modifiers.length === 0) return base;

  const messages = base.messages.map((m) => ({ fromInitiator: m.fromInitiator, tokens: [...m.tokens] }));
  const seen = new Set<string>();
  for (const modifier of s.modifiers) {
    if (seen.has(modifier)) throw invalid(`protocol name: modifier "${modifier}" given twice`);
    seen.add(modifier);
    if (UNSUPPORTED_MODIFIERS.includes(modifier)) throw invalid(`protocol name: the "${modifier}" modifier is not supported`);
    const psk = PSK_MODIFIER.exec(modifier);
    if (!psk) throw invalid(`protocol name: unknown modifier "${modifier.slice(0, 16)}"`);
    const position = Number(psk[1]);
    if (position > messages.length) throw invalid(`protocol name: "${modifier}" names a message the pattern does not have`);
    // §9.2: psk0 opens the first message; pskN (N ≥ 1) closes the N-th message.
    if (position === 0) messages[0]!.tokens.unshift('psk');
    else messages[position - 1]!.tokens.push('psk');
  }
  return finish(s.pattern, base.initiatorPreMessage, base.responderPreMessage, messages);
}

/**
 * Parses and checks a full protocol name. Anything but 25519 / ChaChaPoly / SHA256, an
 * unknown pattern or modifier, or a pattern that breaks a validity rule → INVALID_INPUT.
 */
export function parseProtocolName(name: string): ProtocolName {
  // Every handshake parses its name; parsing measured ~9% of a listener's handshake CPU, so
  // names that parsed are remembered (frozen, so no caller can change what the next one gets).
  const cached = typeof name === 'string' ? parsedNames.get(name) : undefined;
  if (cached !== undefined) return cached;
  const parsed = deepFreeze(parseProtocolNameUncached(name));
  if (parsedNames.size >= PARSED_NAMES_CACHED) parsedNames.delete(parsedNames.keys().next().value!);
  parsedNames.set(name, parsed);
  return parsed;
}

/** Names of the protocols a process uses: two in Kith, a few dozen when running the vector files. */
const PARSED_NAMES_CACHED = 64;
const parsedNames = new Map<string, ProtocolName>();

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

function parseProtocolNameUncached(name: string): ProtocolName {
  const sections = splitProtocolName(name);
  if (sections.dh !== SUPPORTED_DH || sections.cipher !== SUPPORTED_CIPHER || sections.hash !== SUPPORTED_HASH) {
    throw invalid(`protocol name: only ${SUPPORTED_DH}/${SUPPORTED_CIPHER}/${SUPPORTED_HASH} is supported`);
  }
  return { name, pattern: parseHandshakePattern(sections.pattern, sections), dh: SUPPORTED_DH, cipher: SUPPORTED_CIPHER, hash: SUPPORTED_HASH };
}

/** Which keys one side of a pattern must (or may) be given before the handshake starts. */
export interface KeyRequirements {
  /** The local static key pair is used (sent, pre-shared or in a DH). */
  readonly localStatic: boolean;
  /** The local ephemeral is pre-shared, so it must be given. */
  readonly localEphemeralPreShared: boolean;
  /** The local side sends "e" in some message (an ephemeral may be given for test vectors). */
  readonly sendsEphemeral: boolean;
  /** The remote static public key is pre-shared, so it must be given. */
  readonly remoteStatic: boolean;
  /** The remote ephemeral public key is pre-shared, so it must be given. */
  readonly remoteEphemeral: boolean;
  /** Number of pre-shared symmetric keys. */
  readonly psks: number;
}

export function keyRequirements(pattern: HandshakePattern, initiator: boolean): KeyRequirements {
  const localPre = initiator ? pattern.initiatorPreMessage : pattern.responderPreMessage;
  const remotePre = initiator ? pattern.responderPreMessage : pattern.initiatorPreMessage;
  const ownDh: readonly Token[] = initiator ? ['se', 'ss'] : ['es', 'ss'];
  let localStatic = localPre.includes('s');
  let sendsEphemeral = false;
  for (const m of pattern.messages) {
    for (const t of m.tokens) {
      if (ownDh.includes(t)) localStatic = true;
      if (m.fromInitiator === initiator) {
        if (t === 's') localStatic = true;
        if (t === 'e') sendsEphemeral = true;
      }
    }
  }
  return {
    localStatic,
    localEphemeralPreShared: localPre.includes('e'),
    sendsEphemeral,
    remoteStatic: remotePre.includes('s'),
    remoteEphemeral: remotePre.includes('e'),
    psks: pattern.pskCount,
  };
}
