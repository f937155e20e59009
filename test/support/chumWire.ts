/**
 * Records the CHUM messages one instance receives and sends, for tests about what crosses the
 * wire (a non-member learns no hashes; objects sent after a revocation). It wraps the message
 * channel `Chum.attach` is given — the plaintext CHUM messages of the secure session, after
 * the mux — for the Chums whose store is one of the watched stores only (an instance restarted
 * on a copy of its store is watched by adding the copy), so other instances in the same
 * process are untouched. `rewriteSent` may replace an outgoing message (a peer asking for more than it
 * should). Production code is unchanged; `restore()` removes the wrapper.
 */
import { Chum } from '../../chum/Chum.js';
import { concatBytes } from '../../shared/bytes.js';
import type { ObjectStore } from '../../chum/ObjectStore.js';
import type { MessageChannel } from '../../connections/SessionMux.js';

export interface WireMessage {
  /** Date.now() when the message was received or sent. */
  readonly t: number;
  /** A copy of the message (first byte = CHUM message type). */
  readonly bytes: Uint8Array;
}

export interface ChumWireRecorder {
  readonly received: WireMessage[];
  readonly sent: WireMessage[];
  /** Also records the instance (re)opened on `store`. */
  watch(store: ObjectStore): void;
  restore(): void;
}

export function recordChumWire(store: ObjectStore, opts: { rewriteSent?: (m: Uint8Array) => Uint8Array } = {}): ChumWireRecorder {
  const received: WireMessage[] = [];
  const sent: WireMessage[] = [];
  const watched = new Set<ObjectStore>([store]);
  const original = Chum.prototype.attach;
  Chum.prototype.attach = function (this: Chum, channel: MessageChannel, peer) {
    if (!watched.has(this.store)) return original.call(this, channel, peer);
    const wrapped: MessageChannel = {
      send: (parts) => {
        const m = parts instanceof Uint8Array ? parts : concatBytes(...parts);
        const out = opts.rewriteSent ? opts.rewriteSent(m) : m;
        sent.push({ t: Date.now(), bytes: out.slice() });
        return channel.send(out);
      },
      setHandler: (h) =>
        channel.setHandler(
          h &&
            ((m) => {
              received.push({ t: Date.now(), bytes: m.slice() });
              return h(m);
            }),
        ),
      close: (code, message) => channel.close(code, message),
      closed: channel.closed,
    };
    return original.call(this, wrapped, peer);
  };
  return {
    received,
    sent,
    watch: (s) => void watched.add(s),
    restore: () => {
      Chum.prototype.attach = original;
    },
  };
}
