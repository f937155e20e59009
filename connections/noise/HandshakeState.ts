/**
 * Noise HandshakeState (spec rev. 34 §5.3) over the injected CryptoProvider, driven only by
 * the tokens of the pattern named in the protocol name (see patterns.ts).
 *
 * Errors: local misuse (bad options, wrong turn, call after completion, payload too large,
 * two calls at once) → INVALID_INPUT, and the state stays usable. Anything wrong with an
 * inbound message (length, truncation, decryption, a low-order key, a failed DH) →
 * HANDSHAKE_FAILED, and the state is dead: every later call rejects with HANDSHAKE_FAILED.
 * After `destroy` every call throws CLOSED.
 *
 * Security notes for the channel layer:
 * - Key confirmation. A responder that completes a handshake has not yet seen proof that
 *   the peer holds the keys: IK's first message (payload included) can be replayed by
 *   anyone who recorded it, and the responder will answer it and derive a session. The
 *   replayer cannot use that session (it lacks the initiator's ephemeral secret), but the
 *   responder must treat the session as open only once it has decrypted a transport
 *   message from the initiator, and must not act on the first message's payload as fresh.
 * - Channel binding: sign or MAC `handshakeHash()` (h), never ck (§11.2).
 * - Zero-RTT payloads (IK message 1) have weaker secrecy than transport messages (§7.7).
 */
import type { CryptoProvider, KeyPair } from '../../shared/crypto/CryptoProvider.js';
import { KithError } from '../../shared/errors.js';
import { describe } from '../../shared/bytes.js';
import { MAX_NOISE_MESSAGE, MAX_NOISE_PROLOGUE } from '../../shared/limits.js';
import { CipherState, NOISE_TAG_BYTES, assertNoiseCrypto } from './CipherState.js';
import { SymmetricState } from './SymmetricState.js';
import { isLowOrderPoint } from './lowOrderPoints.js';
import { staticDh } from './staticDhCache.js';
import { keyRequirements, parseProtocolName, type DhToken, type HandshakePattern, type MessagePattern } from './patterns.js';

/** DHLEN for 25519: public keys and DH outputs. */
export const DH_BYTES = 32;

const EMPTY: Uint8Array = new Uint8Array(0);

export interface HandshakeOptions {
  /** The crypto seam; Node code passes the native provider. */
  crypto: CryptoProvider;
  /** Full protocol name, e.g. 'Noise_IKpsk2_25519_ChaChaPoly_SHA256'. Only 25519/ChaChaPoly/SHA256. */
  protocolName: string;
  /** True for the party that sends the first message. */
  initiator: boolean;
  /** Data both sides must agree on (context, negotiation); hashed first, never sent. At most MAX_NOISE_PROLOGUE bytes. */
  prologue?: Uint8Array;
  /** Local static key pair, required exactly when the pattern uses it. Not copied or wiped: the caller owns it. */
  s?: KeyPair;
  /** Local ephemeral: ONLY for test vectors (and pre-shared ephemerals); generated otherwise. Never reuse one. */
  e?: KeyPair;
  /** Remote static public key when the pattern pre-shares it (IK's initiator, K…); refused otherwise. */
  rs?: Uint8Array;
  /** Remote ephemeral public key when the pattern pre-shares it; refused otherwise. */
  re?: Uint8Array;
  /** One 32-byte pre-shared key per "psk" token, in token order. Copied, and wiped once used. */
  psks?: Uint8Array[];
}

interface Ephemeral {
  /** Sent in the "e" token (or pre-shared). */
  readonly publicKey: Uint8Array;
  /** Used in the ee/es/se DHs; wiped at completion, failure or destroy when owned. */
  readonly secretKey: Uint8Array;
  /** Generated here, so ours to wipe; a caller-provided one is left alone. */
  readonly owned: boolean;
}

function invalid(message: string): KithError {
  return new KithError('INVALID_INPUT', message);
}

function checkKey(value: unknown, title: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalid(`${title}: expected Uint8Array, got ${describe(value)}`);
  if (value.length !== DH_BYTES) throw invalid(`${title}: expected ${DH_BYTES} bytes, got ${value.length}`);
  return value;
}

function checkKeyPair(value: unknown, title: string): KeyPair {
  if (typeof value !== 'object' || value === null) throw invalid(`${title}: expected a key pair, got ${describe(value)}`);
  const pair = value as Record<string, unknown>;
  return { publicKey: checkKey(pair.publicKey, `${title}.publicKey`), secretKey: checkKey(pair.secretKey, `${title}.secretKey`) };
}

function checkRemoteKey(value: unknown, title: string): Uint8Array {
  const key = checkKey(value, title);
  if (isLowOrderPoint(key)) throw invalid(`${title}: a low-order X25519 point`);
  return key.slice();
}

export class HandshakeState {
  private readonly crypto: CryptoProvider;
  private readonly pattern: HandshakePattern;
  private readonly initiator: boolean;
  private readonly symmetric: SymmetricState;
  private readonly s: KeyPair | undefined;
  private e: Ephemeral | undefined;
  private rs: Uint8Array | undefined;
  private re: Uint8Array | undefined;
  private readonly psks: Uint8Array[];
  private pskIndex = 0;
  private messageIndex = 0;
  private busy = false;
  private failed = false;
  private destroyed = false;
  private transport: { send: CipherState; receive: CipherState } | undefined;
  private transportTaken = false;

  private constructor(
    crypto: CryptoProvider,
    pattern: HandshakePattern,
    initiator: boolean,
    symmetric: SymmetricState,
    keys: { s?: KeyPair; e?: Ephemeral; rs?: Uint8Array; re?: Uint8Array; psks: Uint8Array[] },
  ) {
    this.crypto = crypto;
    this.pattern = pattern;
    this.initiator = initiator;
    this.symmetric = symmetric;
    this.s = keys.s;
    this.e = keys.e;
    this.rs = keys.rs;
    this.re = keys.re;
    this.psks = keys.psks;
  }

  /**
   * Initialize (§5.3): checks every option against the pattern (a key the pattern needs and
   * lacks, or one it never uses → INVALID_INPUT), then hashes the protocol name, the
   * prologue and the pre-message keys.
   */
  static async initialize(opts: HandshakeOptions): Promise<HandshakeState> {
    if (typeof opts !== 'object' || opts === null) throw invalid(`handshake options: expected an object, got ${describe(opts)}`);
    let raw: Record<keyof HandshakeOptions, unknown>;
    try {
      const o = opts as unknown as Record<string, unknown>;
      raw = { crypto: o.crypto, protocolName: o.protocolName, initiator: o.initiator, prologue: o.prologue, s: o.s, e: o.e, rs: o.rs, re: o.re, psks: o.psks };
    } catch {
      throw invalid('handshake options: unreadable');
    }
    assertNoiseCrypto(raw.crypto);
    const crypto = raw.crypto;
    const { name, pattern } = parseProtocolName(raw.protocolName as string);
    if (typeof raw.initiator !== 'boolean') throw invalid(`initiator: expected boolean, got ${describe(raw.initiator)}`);
    const initiator = raw.initiator;
    let prologue = EMPTY;
    if (raw.prologue !== undefined) {
      if (!(raw.prologue instanceof Uint8Array)) throw invalid(`prologue: expected Uint8Array, got ${describe(raw.prologue)}`);
      if (raw.prologue.length > MAX_NOISE_PROLOGUE) throw invalid(`prologue: at most ${MAX_NOISE_PROLOGUE} bytes`);
      prologue = raw.prologue;
    }
    const s = raw.s === undefined ? undefined : checkKeyPair(raw.s, 's');
    const given = raw.e === undefined ? undefined : checkKeyPair(raw.e, 'e');
    const rs = raw.rs === undefined ? undefined : checkRemoteKey(raw.rs, 'rs');
    const re = raw.re === undefined ? undefined : checkRemoteKey(raw.re, 're');
    const pskList: unknown[] = [];
    if (raw.psks !== undefined) {
      if (!Array.isArray(raw.psks)) throw invalid(`psks: expected an array, got ${describe(raw.psks)}`);
      if (raw.psks.length > pattern.pskCount) throw invalid(`psks: the pattern has ${pattern.pskCount} psk token(s), got ${raw.psks.length} keys`);
      // An index loop, not map: holes in a sparse array must be refused, not skipped.
      for (let i = 0; i < raw.psks.length; i++) pskList.push(checkKey(raw.psks[i], `psks[${i}]`));
    }

    const need = keyRequirements(pattern, initiator);
    const role = initiator ? 'initiator' : 'responder';
    const require = (present: boolean, needed: boolean, what: string): void => {
      if (needed && !present) throw invalid(`${name} (${role}) needs ${what}`);
      if (!needed && present) throw invalid(`${name} (${role}) does not use ${what}`);
    };
    require(s !== undefined, need.localStatic, 'a local static key pair (s)');
    // An ephemeral must be given when pre-shared; it may be given (test vectors) when this side sends "e".
    require(given !== undefined, need.localEphemeralPreShared || (need.sendsEphemeral && given !== undefined), 'a local ephemeral key pair (e)');
    require(rs !== undefined, need.remoteStatic, 'a pre-known remote static key (rs)');
    require(re !== undefined, need.remoteEphemeral, 'a pre-known remote ephemeral key (re)');
    if (pskList.length !== need.psks) throw invalid(`${name} needs ${need.psks} psk(s), got ${pskList.length}`);
    // Copied only now that nothing can fail: these copies are ours to wipe once used.
    const psks = pskList.map((k) => (k as Uint8Array).slice());

    const symmetric = new SymmetricState(crypto, name);
    symmetric.mixHash(prologue);
    const e = given && { publicKey: given.publicKey.slice(), secretKey: given.secretKey, owned: false };
    const withPsk = pattern.pskCount > 0;
    // Pre-messages: the initiator's keys are hashed first (§5.3); "e" also feeds MixKey in PSK handshakes (§9.2).
    for (const [tokens, ofInitiator] of [[pattern.initiatorPreMessage, true], [pattern.responderPreMessage, false]] as const) {
      const mine = ofInitiator === initiator;
      for (const token of tokens) {
        const key = token === 'e' ? (mine ? e!.publicKey : re!) : mine ? s!.publicKey : rs!;
        symmetric.mixHash(key);
        if (token === 'e' && withPsk) symmetric.mixKey(key);
      }
    }
    return new HandshakeState(crypto, pattern, initiator, symmetric, { s, e, rs, re, psks });
  }

  /** True once the last handshake message was written or read; `split` is then available. */
  get isComplete(): boolean {
    return this.messageIndex === this.pattern.messages.length && !this.failed;
  }

  /** The peer's static public key (a copy): pre-known, or from the moment the message carrying it was read. */
  get remoteStatic(): Uint8Array | undefined {
    return this.rs?.slice();
  }

  /** The peer's ephemeral public key (a copy), once received (or pre-known). */
  get remoteEphemeral(): Uint8Array | undefined {
    return this.re?.slice();
  }

  /** The handshake hash h (a copy); after completion, the final one for channel binding. */
  handshakeHash(): Uint8Array {
    if (this.failed) throw new KithError('HANDSHAKE_FAILED', 'the handshake failed');
    return this.symmetric.handshakeHash();
  }

  /**
   * WriteMessage (§5.3): the next message, with `payload` (encrypted once a key exists).
   * INVALID_INPUT when it is not this side's turn, the handshake is complete, or the message
   * would exceed 65535 bytes; the state is unchanged then.
   */
  async writeMessage(payload: Uint8Array = EMPTY): Promise<Uint8Array> {
    const message = this.enter(true);
    if (!(payload instanceof Uint8Array)) throw invalid(`payload: expected Uint8Array, got ${describe(payload)}`);
    const size = this.messageSize(message, payload.length);
    if (size > MAX_NOISE_MESSAGE) {
      throw invalid(`payload: the message would be ${size} bytes; at most ${MAX_NOISE_MESSAGE} (payload ≤ ${MAX_NOISE_MESSAGE - (size - payload.length)})`);
    }
    this.busy = true;
    try {
      const out = new Uint8Array(size);
      let offset = 0;
      for (const token of message.tokens) {
        if (token === 'e') {
          if (!this.e) {
            const generated = await this.crypto.x25519Generate();
            this.assertNotDestroyed();
            this.e = { publicKey: generated.publicKey, secretKey: generated.secretKey, owned: true };
          }
          out.set(this.e.publicKey, offset);
          offset += DH_BYTES;
          this.mixEphemeral(this.e.publicKey);
        } else if (token === 's') {
          const sealed = this.symmetric.encryptAndHash(this.s!.publicKey);
          out.set(sealed, offset);
          offset += sealed.length;
        } else if (token === 'psk') {
          this.mixPsk();
        } else {
          await this.dh(token);
        }
      }
      const sealed = this.symmetric.encryptAndHash(payload);
      out.set(sealed, offset);
      if (offset + sealed.length !== size) throw new KithError('INTERNAL', 'message size mismatch');
      this.advance();
      return out;
    } catch (err) {
      throw this.failWith(err, 'writing');
    } finally {
      this.busy = false;
    }
  }

  /**
   * ReadMessage (§5.3): processes the peer's next message and returns its payload. Any
   * malformed message → HANDSHAKE_FAILED, and the state is unusable from then on.
   */
  async readMessage(message: Uint8Array): Promise<Uint8Array> {
    const pattern = this.enter(false);
    if (!(message instanceof Uint8Array)) throw invalid(`message: expected Uint8Array, got ${describe(message)}`);
    this.busy = true;
    try {
      if (message.length > MAX_NOISE_MESSAGE) throw this.malformed(`longer than ${MAX_NOISE_MESSAGE} bytes`);
      let offset = 0;
      const take = (length: number): Uint8Array => {
        if (message.length - offset < length) throw this.malformed('truncated');
        const part = message.subarray(offset, offset + length);
        offset += length;
        return part;
      };
      for (const token of pattern.tokens) {
        if (token === 'e') {
          const re = take(DH_BYTES).slice();
          if (isLowOrderPoint(re)) throw this.malformed('low-order ephemeral key');
          this.re = re;
          this.mixEphemeral(re);
        } else if (token === 's') {
          const length = DH_BYTES + (this.symmetric.hasKey() ? NOISE_TAG_BYTES : 0);
          const rs = this.symmetric.decryptAndHash(take(length)).slice();
          if (isLowOrderPoint(rs)) throw this.malformed('low-order static key');
          this.rs = rs;
        } else if (token === 'psk') {
          this.mixPsk();
        } else {
          await this.dh(token);
        }
      }
      const payload = this.symmetric.decryptAndHash(message.subarray(offset));
      this.advance();
      // Without a key the payload is a view of the caller's buffer; hand out an independent copy.
      return payload.buffer === message.buffer ? payload.slice() : payload;
    } catch (err) {
      throw this.failWith(err, 'reading');
    } finally {
      this.busy = false;
    }
  }

  /**
   * The transport CipherStates, oriented for this side; once, after completion. In one-way
   * patterns the unused direction (the initiator's receive, the responder's send) is a
   * destroyed CipherState whose every call throws CLOSED.
   */
  split(): { send: CipherState; receive: CipherState } {
    this.assertNotDestroyed();
    if (this.failed) throw new KithError('HANDSHAKE_FAILED', 'the handshake failed');
    if (!this.transport) throw invalid('split: the handshake is not complete');
    if (this.transportTaken) throw invalid('split: the transport CipherStates were already taken');
    this.transportTaken = true;
    return this.transport;
  }

  /**
   * Wipes the chaining key, the handshake key, a generated ephemeral, unused psks, and the
   * transport keys if `split` was not called. The handshake hash and remote public keys
   * stay readable. Idempotent.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.wipeSecrets();
    if (this.transport && !this.transportTaken) {
      this.transport.send.destroy();
      this.transport.receive.destroy();
    }
  }

  /** Common checks for write/read; returns the message pattern to process. */
  private enter(writing: boolean): MessagePattern {
    this.assertNotDestroyed();
    if (this.failed) throw new KithError('HANDSHAKE_FAILED', 'the handshake already failed');
    if (this.busy) throw invalid('another handshake call is still running');
    const message = this.pattern.messages[this.messageIndex];
    if (!message) throw invalid('the handshake is complete; use the transport CipherStates');
    if ((message.fromInitiator === this.initiator) !== writing) {
      throw invalid(`not this side's turn to ${writing ? 'write' : 'read'} (message ${this.messageIndex + 1})`);
    }
    return message;
  }

  /** Exact length of the message about to be written, from the tokens and the current key state. */
  private messageSize(message: MessagePattern, payloadLength: number): number {
    let keyed = this.symmetric.hasKey();
    let size = 0;
    for (const token of message.tokens) {
      if (token === 'e') {
        size += DH_BYTES;
        if (this.pattern.pskCount > 0) keyed = true;
      } else if (token === 's') {
        size += DH_BYTES + (keyed ? NOISE_TAG_BYTES : 0);
      } else {
        keyed = true;
      }
    }
    return size + payloadLength + (keyed ? NOISE_TAG_BYTES : 0);
  }

  private mixEphemeral(publicKey: Uint8Array): void {
    this.symmetric.mixHash(publicKey);
    if (this.pattern.pskCount > 0) this.symmetric.mixKey(publicKey);
  }

  private mixPsk(): void {
    const psk = this.psks[this.pskIndex++];
    if (!psk) throw new KithError('INTERNAL', 'psk missing');
    this.symmetric.mixKeyAndHash(psk);
    psk.fill(0);
  }

  /** A DH token in canonical notation: its first letter names the initiator's key, the second the responder's. */
  private async dh(token: DhToken): Promise<void> {
    const local = this.initiator ? token[0] : token[1];
    const remote = this.initiator ? token[1] : token[0];
    const secret = local === 'e' ? this.e?.secretKey : this.s?.secretKey;
    const publicKey = remote === 'e' ? this.re : this.rs;
    if (!secret || !publicKey) throw new KithError('INTERNAL', `"${token}" without its keys`);
    // The provider rejects an all-zero result (CRYPTO_FAILURE); that becomes HANDSHAKE_FAILED.
    // ss depends only on the two static keys: computed once per pair (staticDhCache.ts).
    const shared = token === 'ss' ? await staticDh(this.crypto, secret, publicKey) : await this.crypto.x25519(secret, publicKey);
    this.assertNotDestroyed();
    try {
      this.symmetric.mixKey(shared);
    } finally {
      shared.fill(0);
    }
  }

  private advance(): void {
    this.messageIndex++;
    if (this.messageIndex < this.pattern.messages.length) return;
    const [initiatorToResponder, responderToInitiator] = this.symmetric.split();
    if (this.pattern.oneWay) {
      // Only the initiator ever sends in a one-way pattern (§7.4): nobody may use the other direction.
      responderToInitiator.destroy();
    }
    this.transport = this.initiator
      ? { send: initiatorToResponder, receive: responderToInitiator }
      : { send: responderToInitiator, receive: initiatorToResponder };
    this.wipeSecrets();
  }

  private malformed(reason: string): KithError {
    return new KithError('HANDSHAKE_FAILED', `message ${this.messageIndex + 1}: ${reason}`);
  }

  /** Marks the state dead and returns the error to throw: HANDSHAKE_FAILED (or CLOSED after destroy). */
  private failWith(err: unknown, doing: string): KithError {
    if (this.destroyed) return new KithError('CLOSED', 'the handshake was destroyed');
    this.failed = true;
    this.wipeSecrets();
    this.rs = undefined;
    this.re = undefined;
    if (err instanceof KithError && err.code === 'HANDSHAKE_FAILED') return err;
    const reason =
      err instanceof KithError
        ? err.code === 'DECRYPT_FAILED'
          ? 'decryption failed'
          : err.code === 'CRYPTO_FAILURE'
            ? 'invalid key (DH failed)'
            : err.message
        : 'internal error';
    return new KithError('HANDSHAKE_FAILED', `${doing} message ${this.messageIndex + 1}: ${reason}`, { cause: err });
  }

  private wipeSecrets(): void {
    this.symmetric.destroy();
    if (this.e?.owned) this.e.secretKey.fill(0);
    for (const psk of this.psks) psk.fill(0);
  }

  private assertNotDestroyed(): void {
    if (this.destroyed) throw new KithError('CLOSED', 'the handshake was destroyed');
  }
}
