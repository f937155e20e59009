/**
 * One CHUM session with one peer: an Exporter (what we send) and an Importer (what we
 * receive) over one secure session. Both sides send HELLO at once, so learning what is new
 * takes one round trip.
 *
 * The message handler never waits on its own sends: if both peers blocked on a full socket
 * while neither read, they would deadlock. Work is handed to two sequential task queues
 * (one per direction) whose length is bounded; memory is bounded by the protocol's windows
 * (batches, chunks), and a peer that ignores them is cut off.
 */
import type { SyncContext, SyncPeer } from './context.js';
import { Exporter } from './Exporter.js';
import { Importer } from './Importer.js';
import { Msg, decodeMessage, encodeHello, SYNC_PROTOCOL_VERSION } from './wire.js';
import { toKithError } from '../../shared/errors.js';
import { KithError } from '../../shared/errors.js';
import { MAX_SYNC_PENDING_TASKS } from '../../shared/limits.js';
import type { MessageChannel } from '../../connections/SessionMux.js';
import type { MessageParts } from '../../connections/SecureSession.js';

export type { MessageChannel };

class TaskQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;
  constructor(private readonly onError: (err: unknown) => void) {}
  push(task: () => Promise<void>): void {
    if (++this.pending > MAX_SYNC_PENDING_TASKS) throw new KithError('SYNC_PROTOCOL_ERROR', 'too many requests in flight');
    this.tail = this.tail.then(task).catch(this.onError).finally(() => this.pending--);
  }
}

export class SyncSession {
  private readonly exporter: Exporter;
  private readonly importer: Importer;
  private readonly outgoing: TaskQueue;
  private readonly incoming: TaskQueue;
  private closed = false;

  constructor(
    private readonly ctx: SyncContext,
    private readonly channel: MessageChannel,
    readonly peer: SyncPeer,
  ) {
    const fail = (err: unknown) => this.fail(err);
    // A send that fails (the session closed under us) ends this sync session; callers just stop.
    const send = (m: Uint8Array | MessageParts) => (this.closed ? Promise.resolve() : this.channel.send(m).catch(fail));
    this.exporter = new Exporter(ctx, peer, send, fail);
    this.importer = new Importer(ctx, peer, send, fail);
    this.outgoing = new TaskQueue(fail);
    this.incoming = new TaskQueue(fail);
    void channel.closed.then(() => this.stop());
  }

  /** Sends our HELLO and starts handling the peer's messages. */
  start(): void {
    this.channel.setHandler((message) => this.dispatch(message));
    const mark = this.ctx.marks.get(this.peer.instanceId);
    void this.channel
      .send(encodeHello({ v: SYNC_PROTOCOL_VERSION, epoch: this.ctx.store.epoch, count: this.ctx.store.stats().objects, mark }))
      .catch((err) => this.fail(err));
  }

  /** Stops both halves (the channel is closed by its owner). */
  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.exporter.close();
    this.importer.close();
  }

  private dispatch(message: Uint8Array): void {
    if (this.closed) return;
    try {
      const m = decodeMessage(message);
      switch (m.type) {
        case Msg.Hello:
          this.importer.onHello(m.hello);
          this.outgoing.push(() => this.exporter.onHello(m.hello));
          return;
        case Msg.Ack:
          this.exporter.onAck();
          return;
        case Msg.Want:
          this.outgoing.push(() => this.exporter.onWant(m.hashes));
          return;
        case Msg.ChunkReq:
          this.exporter.chunksRequested(m.hashes);
          this.outgoing.push(() => this.exporter.onChunkRequest(m.hashes));
          return;
        case Msg.ReconImp:
          this.outgoing.push(() => this.exporter.onRecon(m.recon));
          return;
        case Msg.Plan:
          this.importer.onPlan(m.plan);
          return;
        case Msg.Batch:
          this.importer.onBatch(m.batch);
          return;
        case Msg.Chunk:
          this.importer.onChunk(m.chunk.hash, m.chunk.bytes);
          return;
        case Msg.Missing:
          this.importer.onMissing(m.hashes);
          return;
        case Msg.Offer:
          this.importer.onOffer(m.hashes);
          return;
        case Msg.ReconExp:
          this.incoming.push(() => this.importer.onRecon(m.recon));
          return;
      }
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (this.closed) return;
    const e = toKithError(err, 'SYNC_PROTOCOL_ERROR');
    if (e.code === 'CLOSED') return this.stop();
    this.stop();
    this.channel.close(e.code, e.message);
  }
}
