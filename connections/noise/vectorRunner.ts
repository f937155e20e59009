/**
 * Runs Noise test vectors in the cacophony/snow JSON format against HandshakeState and
 * CipherState: `{ vectors: [...] }` or a bare array, each vector with `protocol_name` (or
 * the older `name`, or `pattern`/`dh`/`cipher`/`hash`), hex keys (`init_static`,
 * `init_ephemeral`, `init_remote_static`, `init_psks` or the older `init_psk`, and the
 * `resp_` ones), an optional `handshake_hash`, and `messages: [{ payload, ciphertext }]`.
 *
 * Each vector gets a fresh initiator and responder. Message i is written by the initiator
 * when i is even (always, in one-way patterns) and by the responder otherwise; messages
 * past the handshake go through the split CipherStates. Every ciphertext, every payload
 * and the handshake hash of both sides are compared. Vectors of another suite, or with a
 * modifier this implementation does not offer, are skipped (not failed).
 */
import type { CryptoProvider, KeyPair } from '../../shared/crypto/CryptoProvider.js';
import { KithError } from '../../shared/errors.js';
import { equalBytes, fromHex } from '../../shared/bytes.js';
import { HandshakeState, type HandshakeOptions } from './HandshakeState.js';
import type { CipherState } from './CipherState.js';
import {
  SUPPORTED_CIPHER,
  SUPPORTED_DH,
  SUPPORTED_HASH,
  UNSUPPORTED_MODIFIERS,
  keyRequirements,
  parseProtocolName,
  splitProtocolName,
  type HandshakePattern,
} from './patterns.js';

/** What happened to one vector. */
export interface VectorOutcome {
  /** Its protocol name (or a placeholder naming its position). */
  readonly name: string;
  /** passed: every comparison matched; failed: something differed or threw; skipped: another suite or an unsupported modifier. */
  readonly status: 'passed' | 'failed' | 'skipped';
  /** Why it failed or was skipped. */
  readonly reason?: string;
}

/** Totals over a file. */
export interface VectorReport {
  /** One outcome per vector, in file order. */
  readonly outcomes: readonly VectorOutcome[];
  /** Vectors whose every ciphertext, payload and handshake hash matched. */
  readonly passed: number;
  /** Vectors that differed somewhere, or could not be run (bad fields, missing keys). */
  readonly failed: number;
  /** Vectors of other suites or with unsupported modifiers. */
  readonly skipped: number;
}

const EMPTY = new Uint8Array(0);

/** Reads the file's JSON and returns its vectors; INVALID_INPUT (with a clear message) when the file is not a vector file. */
export function parseVectorFile(text: string): Record<string, unknown>[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new KithError('INVALID_INPUT', `not JSON (${(err as Error).message})`);
  }
  const list = Array.isArray(data) ? data : typeof data === 'object' && data !== null ? (data as { vectors?: unknown }).vectors : undefined;
  if (!Array.isArray(list)) throw new KithError('INVALID_INPUT', 'expected { "vectors": [...] } or an array of vectors');
  if (list.length === 0) throw new KithError('INVALID_INPUT', 'the file holds no vectors');
  list.forEach((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new KithError('INVALID_INPUT', `vector ${i} is not an object`);
  });
  return list as Record<string, unknown>[];
}

/** Runs every vector in order; `onOutcome` sees each result as it is known. */
export async function runVectors(
  crypto: CryptoProvider,
  vectors: readonly Record<string, unknown>[],
  onOutcome?: (outcome: VectorOutcome) => void,
): Promise<VectorReport> {
  const outcomes: VectorOutcome[] = [];
  for (let i = 0; i < vectors.length; i++) {
    const outcome = await runVector(crypto, vectors[i]!, i);
    outcomes.push(outcome);
    onOutcome?.(outcome);
  }
  const count = (status: VectorOutcome['status']): number => outcomes.filter((o) => o.status === status).length;
  return { outcomes, passed: count('passed'), failed: count('failed'), skipped: count('skipped') };
}

/** Runs one vector; never throws (a crash of the implementation is reported as a failure). */
export async function runVector(crypto: CryptoProvider, vector: Record<string, unknown>, index: number): Promise<VectorOutcome> {
  const name = protocolNameOf(vector) ?? `vector ${index}`;
  const fail = (reason: string): VectorOutcome => ({ name, status: 'failed', reason });
  if (name.startsWith('NoisePSK_')) return { name, status: 'skipped', reason: 'pre-revision-32 PSK protocol' };
  let pattern: HandshakePattern;
  try {
    const sections = splitProtocolName(name);
    if (sections.dh !== SUPPORTED_DH || sections.cipher !== SUPPORTED_CIPHER || sections.hash !== SUPPORTED_HASH) {
      return { name, status: 'skipped', reason: `suite ${sections.dh}_${sections.cipher}_${sections.hash}` };
    }
    const unsupported = sections.modifiers.find((m) => UNSUPPORTED_MODIFIERS.includes(m));
    if (unsupported) return { name, status: 'skipped', reason: `modifier "${unsupported}"` };
    pattern = parseProtocolName(name).pattern;
  } catch (err) {
    return fail(`protocol name: ${(err as Error).message}`);
  }
  try {
    return await play(crypto, vector, name, pattern);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    return fail(typeof code === 'string' ? `${code}: ${(err as Error).message}` : `crash: ${String(err)}`);
  }
}

function protocolNameOf(v: Record<string, unknown>): string | undefined {
  if (typeof v.protocol_name === 'string') return v.protocol_name;
  if (typeof v.name === 'string') return v.name;
  const { pattern, dh, cipher, hash } = v;
  if ([pattern, dh, cipher, hash].every((x) => typeof x === 'string')) return `Noise_${pattern}_${dh}_${cipher}_${hash}`;
  return undefined;
}

function hexField(v: Record<string, unknown>, key: string): Uint8Array | undefined {
  const value = v[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new KithError('INVALID_INPUT', `${key}: expected a hex string`);
  return fromHex(value, key);
}

async function keyPair(crypto: CryptoProvider, secretKey: Uint8Array | undefined): Promise<KeyPair | undefined> {
  return secretKey && { secretKey, publicKey: await crypto.x25519PublicKey(secretKey) };
}

async function sideOptions(
  crypto: CryptoProvider,
  v: Record<string, unknown>,
  prefix: 'init' | 'resp',
  name: string,
  pattern: HandshakePattern,
): Promise<HandshakeOptions> {
  const initiator = prefix === 'init';
  const need = keyRequirements(pattern, initiator);
  let psks: Uint8Array[] | undefined;
  const list = v[`${prefix}_psks`];
  if (list !== undefined) {
    if (!Array.isArray(list)) throw new KithError('INVALID_INPUT', `${prefix}_psks: expected an array`);
    psks = list.map((p, i) => {
      if (typeof p !== 'string') throw new KithError('INVALID_INPUT', `${prefix}_psks[${i}]: expected a hex string`);
      return fromHex(p, `${prefix}_psks[${i}]`);
    });
  } else {
    const single = hexField(v, `${prefix}_psk`);
    if (single) psks = [single];
  }
  // Vectors list every key they have; a side is given only the ones its pattern uses.
  return {
    crypto,
    protocolName: name,
    initiator,
    prologue: hexField(v, `${prefix}_prologue`) ?? EMPTY,
    s: need.localStatic ? await keyPair(crypto, hexField(v, `${prefix}_static`)) : undefined,
    e: need.sendsEphemeral || need.localEphemeralPreShared ? await keyPair(crypto, hexField(v, `${prefix}_ephemeral`)) : undefined,
    rs: need.remoteStatic ? hexField(v, `${prefix}_remote_static`) : undefined,
    re: need.remoteEphemeral ? hexField(v, `${prefix}_remote_ephemeral`) : undefined,
    psks: need.psks > 0 ? psks : undefined,
  };
}

async function play(crypto: CryptoProvider, v: Record<string, unknown>, name: string, pattern: HandshakePattern): Promise<VectorOutcome> {
  const fail = (reason: string): VectorOutcome => ({ name, status: 'failed', reason });
  const messages = v.messages;
  if (!Array.isArray(messages)) return fail('no "messages" array');
  if (messages.length < pattern.messages.length) return fail(`${messages.length} messages, but the handshake has ${pattern.messages.length}`);
  const expectedHash = hexField(v, 'handshake_hash');

  const init = await HandshakeState.initialize(await sideOptions(crypto, v, 'init', name, pattern));
  const resp = await HandshakeState.initialize(await sideOptions(crypto, v, 'resp', name, pattern));
  let initCiphers: { send: CipherState; receive: CipherState } | undefined;
  let respCiphers: { send: CipherState; receive: CipherState } | undefined;
  try {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Record<string, unknown> | null;
      if (typeof m !== 'object' || m === null) return fail(`message ${i}: not an object`);
      const payload = hexField(m, 'payload') ?? EMPTY;
      const expected = hexField(m, 'ciphertext');
      if (!expected) return fail(`message ${i}: no ciphertext`);
      const byInitiator = pattern.oneWay || i % 2 === 0;
      let written: Uint8Array;
      let read: Uint8Array;
      if (i < pattern.messages.length) {
        const [writer, reader] = byInitiator ? [init, resp] : [resp, init];
        written = await writer.writeMessage(payload);
        if (!equalBytes(written, expected)) return fail(`message ${i} (handshake): ciphertext differs`);
        read = await reader.readMessage(expected);
      } else {
        initCiphers ??= init.split();
        respCiphers ??= resp.split();
        const [sender, receiver] = byInitiator ? [initCiphers.send, respCiphers.receive] : [respCiphers.send, initCiphers.receive];
        written = sender.encryptWithAd(EMPTY, payload);
        if (!equalBytes(written, expected)) return fail(`message ${i} (transport): ciphertext differs`);
        read = receiver.decryptWithAd(EMPTY, expected);
      }
      if (!equalBytes(read, payload)) return fail(`message ${i}: decrypted payload differs`);
      if (i === pattern.messages.length - 1) {
        if (!init.isComplete || !resp.isComplete) return fail('the handshake did not complete');
        const hi = init.handshakeHash();
        if (!equalBytes(hi, resp.handshakeHash())) return fail('the two sides disagree on the handshake hash');
        if (expectedHash && !equalBytes(hi, expectedHash)) return fail('handshake hash differs');
      }
    }
    return { name, status: 'passed' };
  } finally {
    init.destroy();
    resp.destroy();
    for (const c of [initCiphers, respCiphers]) {
      c?.send.destroy();
      c?.receive.destroy();
    }
  }
}
