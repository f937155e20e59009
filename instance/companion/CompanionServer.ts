/**
 * Main's side of the companion protocol: answers its renderer's requests with the main
 * instance's API and pushes main's state (contacts, connections, pairings, sync progress)
 * as events. Every request's parameters are validated; an invalid request loses the
 * session (only a renderer with our pairing can send one at all).
 */
import type { Instance } from '../Instance.js';
import type { MessageChannel } from '../../connections/SessionMux.js';
import type { InviteId, PersonId } from '../../shared/ids.js';
import {
  COMPANION_EVENT, COMPANION_REQUEST, COMPANION_RESPONSE, CompanionRequest, NoParams, PARAMS, decodeCompanion, encodeCompanion,
  type CompanionEventName, type CompanionMethod,
} from './protocol.js';
import { validateSchema } from '../../shared/schema.js';
import { KithError, toKithError } from '../../shared/errors.js';
import { COMPANION_PROGRESS_INTERVAL_MS, MAX_COMPANION_ERROR_MESSAGE_LENGTH } from '../../shared/limits.js';


export class CompanionServer {
  private readonly offs: Array<() => void> = [];
  private readonly lastProgress = new Map<string, number>();

  constructor(private readonly instance: Instance, private readonly channel: MessageChannel) {
    channel.setHandler((m) => this.onMessage(m));
    const ev = instance.events;
    this.offs.push(
      ev.on('contacts:changed', () => this.pushState()),
      ev.on('connection:opened', () => this.pushConnections()),
      ev.on('connection:closed', () => this.pushConnections()),
      ev.on('pairing:paired', (p) => this.emit('paired', { name: p.contact.name, personId: p.contact.personId, role: p.role, sas: p.sas })),
      ev.on('pairing:failed', (f) => this.emit('pairingFailed', { role: f.role, code: f.code, message: f.message })),
      ev.on('sync:progress', (p) => {
        const key = `${p.peer.instanceId}:${p.direction}`;
        const now = Date.now();
        if (!p.caughtUp && now - (this.lastProgress.get(key) ?? 0) < COMPANION_PROGRESS_INTERVAL_MS) return;
        this.lastProgress.set(key, now);
        this.emit('progress', { ...p });
      }),
    );
    void channel.closed.then(() => this.stop());
    this.pushState();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
  }

  private async onMessage(message: Uint8Array): Promise<void> {
    if (message[0] !== COMPANION_REQUEST) throw new KithError('PROTOCOL_ERROR', 'main accepts only companion requests');
    const request = decodeCompanion(CompanionRequest, message);
    // Requests run without blocking the session: acceptInvite may take a while.
    void this.answer(request.id, request.method, request.params);
  }

  private async answer(id: number, method: CompanionMethod, params: Record<string, unknown>): Promise<void> {
    let body: unknown;
    try {
      body = { id, result: await this.call(method, checkParams(method, params)) };
    } catch (err) {
      const e = toKithError(err);
      body = { id, error: { code: e.code, message: e.message.slice(0, MAX_COMPANION_ERROR_MESSAGE_LENGTH) } };
    }
    await this.channel.send(encodeCompanion(COMPANION_RESPONSE, body)).catch(() => {});
  }

  private async call(method: CompanionMethod, p: Record<string, unknown>): Promise<Record<string, unknown>> {
    const i = this.instance;
    switch (method) {
      case 'status':
        return i.status() as unknown as Record<string, unknown>;
      case 'contacts':
        return { contacts: i.contacts(), connections: i.connectionStates() };
      case 'createInvite': {
        const created = await i.invite({ purpose: 'contact', ttlSeconds: p.ttlSeconds as number | undefined });
        this.emit('invites', { invites: i.invites() });
        return { link: created.link, inviteId: created.inviteId, expiresAt: created.expiresAt };
      }
      case 'listInvites':
        return { invites: i.invites() };
      case 'revokeInvite': {
        const summary = await i.revokeInvite(p.inviteId as InviteId);
        this.emit('invites', { invites: i.invites() });
        return { invite: summary };
      }
      case 'acceptInvite': {
        const paired = await i.acceptInvite(p.link as string);
        return { contact: paired.contact, sas: paired.sas };
      }
      case 'revokeContact':
        return { contact: await i.revokeContact(p.personId as PersonId) };
      case 'unrevokeContact':
        return { contact: await i.unrevokeContact(p.personId as PersonId) };
    }
  }

  private pushState(): void {
    this.emit('contacts', { contacts: this.instance.contacts() });
    this.pushConnections();
  }

  private pushConnections(): void {
    this.emit('connections', { connections: this.instance.connectionStates() });
  }

  private emit(event: CompanionEventName, payload: Record<string, unknown>): void {
    void this.channel.send(encodeCompanion(COMPANION_EVENT, { event, payload })).catch(() => {});
  }
}

/** Validates a request's parameters (a bad one is answered with INVALID_INPUT; the session stays). */
function checkParams(method: CompanionMethod, params: Record<string, unknown>): Record<string, unknown> {
  const schema = PARAMS[method];
  // class-validator refuses classes without decorators as "unknown values": check the empty case directly.
  if (schema === NoParams) {
    if (Object.keys(params).length > 0) throw new KithError('INVALID_INPUT', `${method} takes no parameters`);
    return params;
  }
  return validateSchema(schema as new () => object, params, 'INVALID_INPUT', method) as Record<string, unknown>;
}
