/**
 * Node wiring of the connections layer: a ConnectionsModel that dials with `ws`, plus the
 * one listener (WsListener) feeding every accepted socket to the model's router.
 */
import { ConnectionsModel, type ConnectionsModelOptions } from '../ConnectionsModel.js';
import { WsListener, type ListenerOptions } from './WsListener.js';
import { dialWebSocket } from '../transports/wsTransport.js';
import { HANDSHAKE_DEADLINE_MS, MAX_WS_PAYLOAD } from '../../shared/limits.js';
import type { ErrorCode } from '../../shared/errors.js';

export interface NodeConnectionsOptions extends Omit<ConnectionsModelOptions, 'dial'> {
  /** Where to listen; omit for a dial-only instance. */
  readonly listen?: Omit<ListenerOptions, 'handshakeDeadlineMs' | 'now'>;
  /** Local address to dial from (tests use 127.0.0.x as separate "devices"). */
  readonly localAddress?: string;
  /** Called for connections refused before any handshake (Host, Origin, rate, capacity, deadline). */
  readonly onRefused?: (info: { remoteAddress: string | undefined; code: ErrorCode }) => void;
}

export interface NodeConnections {
  readonly model: ConnectionsModel;
  readonly listener: WsListener | undefined;
  /** Stops listening and closes every session. */
  close(): Promise<void>;
}

export async function startNodeConnections(opts: NodeConnectionsOptions): Promise<NodeConnections> {
  const deadline = opts.handshakeDeadlineMs ?? HANDSHAKE_DEADLINE_MS;
  const model = new ConnectionsModel({
    ...opts,
    dial: (url, signal) => dialWebSocket(url, { maxPayload: MAX_WS_PAYLOAD, handshakeTimeoutMs: deadline, localAddress: opts.localAddress, signal }),
  });
  const listener = opts.listen
    ? await WsListener.listen(
        { ...opts.listen, handshakeDeadlineMs: deadline, now: opts.now },
        (accepted) => void model.accept(accepted),
        (info) => {
          opts.onRefused?.(info);
          model.events.emit('failed', { direction: 'inbound', code: info.code, message: info.code, remoteAddress: info.remoteAddress });
        },
      )
    : undefined;
  return {
    model,
    listener,
    async close() {
      await listener?.close();
      await model.close();
    },
  };
}
