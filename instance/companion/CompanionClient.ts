/**
 * The renderer's side of the companion protocol: `call(method, params)` asks main to act and
 * resolves with its answer; main's events arrive as typed events. Isomorphic (runs in the
 * browser renderer).
 */
import type { MessageChannel } from '../../connections/SessionMux.js';
import {
  COMPANION_EVENT, COMPANION_REQUEST, COMPANION_RESPONSE, CompanionEvent, CompanionResponse, decodeCompanion, encodeCompanion,
  type CompanionEventName, type CompanionMethod,
} from './protocol.js';
import { TypedEmitter } from '../../shared/events.js';
import { KithError } from '../../shared/errors.js';
import { COMPANION_CALL_TIMEOUT_MS, MAX_COMPANION_PENDING_CALLS } from '../../shared/limits.js';


export type CompanionEvents = { [K in CompanionEventName]: Record<string, unknown> } & { [event: string]: unknown };

export class CompanionClient {
  readonly events = new TypedEmitter<CompanionEvents>();
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: Record<string, unknown>) => void; reject: (e: unknown) => void; timer: ReturnType<typeof setTimeout> }>();

  constructor(private readonly channel: MessageChannel) {
    channel.setHandler((m) => this.onMessage(m));
    void channel.closed.then(() => {
      for (const p of this.pending.values()) {
        clearTimeout(p.timer);
        p.reject(new KithError('CLOSED', 'the connection to the app closed'));
      }
      this.pending.clear();
    });
  }

  call(method: CompanionMethod, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (this.pending.size >= MAX_COMPANION_PENDING_CALLS) return Promise.reject(new KithError('BUSY', 'too many requests in flight'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new KithError('TIMEOUT', `main did not answer ${method}`));
      }, COMPANION_CALL_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
      this.channel.send(encodeCompanion(COMPANION_REQUEST, { id, method, params })).catch((err) => {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(err);
      });
    });
  }

  private onMessage(message: Uint8Array): void {
    if (message[0] === COMPANION_RESPONSE) {
      const r = decodeCompanion(CompanionResponse, message);
      const p = this.pending.get(r.id);
      if (!p) throw new KithError('PROTOCOL_ERROR', 'a response to no request');
      this.pending.delete(r.id);
      clearTimeout(p.timer);
      if (r.error) p.reject(new KithError(r.error.code, r.error.message));
      else p.resolve(r.result ?? {});
      return;
    }
    if (message[0] === COMPANION_EVENT) {
      const e = decodeCompanion(CompanionEvent, message);
      this.events.emit(e.event, e.payload);
      return;
    }
    throw new KithError('PROTOCOL_ERROR', 'unexpected companion message');
  }
}
