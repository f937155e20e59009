/**
 * The composition root (DESIGN §1): one running Kith instance — identity, object store,
 * ConnectionsModel with its one listener and dialer, pairing, and CHUM — behind one small
 * API with typed events. Hosts (the Node CLI and app host, the browser renderer, tests) pass
 * adapters; nothing here imports Node or DOM modules.
 */
import type { Adapter } from 'lowdb';
import type { CryptoProvider } from '../shared/crypto/CryptoProvider.js';
import type { LocalIdentity } from '../shared/identity.js';
import type { ObjectStore } from '../chum/ObjectStore.js';
import type { Transport } from '../connections/Transport.js';
import type { Accepted } from '../connections/Router.js';
import type { InstanceId, InviteId, ObjectHash, PersonId } from '../shared/ids.js';
import { ConnectionsModel, type ConnectionClosed, type ConnectionFailed, type ConnectionOpened } from '../connections/ConnectionsModel.js';
import { Dialer, type DialStatus } from '../connections/Dialer.js';
import { StateDocument } from '../shared/StateDocument.js';
import { emptyPairingDocument, type PairingDocument } from '../pairing/records.js';
import { InvitationRegistry, type CreatedInvite, type InviteSummary } from '../pairing/InvitationRegistry.js';
import { Contacts, type ContactSummary } from '../pairing/Contacts.js';
import { PairingService, type PairedEvent, type PairingFailedEvent, type PairingRequest } from '../pairing/PairingService.js';
import type { InvitePurpose } from '../pairing/invitation.js';
import { Chum } from '../chum/Chum.js';
import { MarkStore, type MarksDocument } from '../chum/sync/marks.js';
import type { SyncProgress } from '../chum/sync/context.js';
import { TypedEmitter } from '../shared/events.js';
import { fromBase64url, toHex } from '../shared/bytes.js';
import type { SecureSession, SessionOptions } from '../connections/SecureSession.js';
import { SessionMux, PROTOCOL_RANGES } from '../connections/SessionMux.js';
import { CompanionServer } from './companion/CompanionServer.js';
import { CompanionClient } from './companion/CompanionClient.js';

/** The one listener, as a host provides it. */
export interface InstanceListener {
  /** The WebSocket URL peers dial (advertised in invitations unless `endpoints` overrides it). */
  readonly url: string;
  close(): Promise<void>;
}

export interface InstanceAdapters {
  readonly crypto: CryptoProvider;
  readonly store: ObjectStore;
  /** Small-state documents (contacts + invitations; sync marks). */
  readonly pairingState: Adapter<PairingDocument>;
  readonly marksState: Adapter<MarksDocument>;
  /** Opens a transport to a peer endpoint; gives up when `signal` aborts (the dialer stopped). */
  readonly dial: (url: string, signal?: AbortSignal) => Promise<Transport>;
  /** Starts the one listener, handing every accepted transport to `accept`. Omit for dial-only instances (a browser). */
  readonly listen?: (accept: (accepted: Accepted & { release?: () => void }) => void) => Promise<InstanceListener>;
  /** Clock in milliseconds. */
  readonly now?: () => number;
}

export interface InstanceOptions {
  readonly identity: LocalIdentity;
  readonly adapters: InstanceAdapters;
  /** Endpoints advertised to peers; defaults to the listener's URL. */
  readonly endpoints?: readonly string[];
  /** Asked before completing a pairing this instance invited ("Pair with NAME?"). */
  readonly confirmPairing?: (request: PairingRequest) => Promise<boolean>;
  /** Dialer backoff bounds (tests shorten them). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /**
   * Keep contacts connected (default true). A command that opens a home for a moment (`kith ls`
   * on a home nobody serves) passes false, so its contacts do not see a connection come and go.
   */
  readonly dial?: boolean;
  readonly session?: SessionOptions;
  readonly handshakeDeadlineMs?: number;
}

export interface ConnectionState {
  readonly personId: PersonId;
  readonly instanceId: InstanceId;
  readonly name: string;
  readonly state: DialStatus['state'];
  readonly failures: number;
  readonly lastError?: string;
}

export interface InstanceEvents {
  [event: string]: unknown;
  'connection:opened': ConnectionOpened;
  'connection:closed': ConnectionClosed;
  'connection:failed': ConnectionFailed;
  'pairing:paired': PairedEvent;
  'pairing:failed': PairingFailedEvent;
  'sync:progress': SyncProgress;
  /** Objects from a peer were verified and stored. */
  'sync:received': { peer: { instanceId: string; personId: string; name: string }; hashes: readonly string[] };
  'contacts:changed': readonly ContactSummary[];
  /** A renderer reached its main: the companion client is ready. */
  'companion:connected': CompanionClient;
}

export class Instance {
  readonly events = new TypedEmitter<InstanceEvents>();
  private dialer!: Dialer;
  private listener: InstanceListener | undefined;
  private readonly offs: Array<() => void> = [];
  /** The protocol multiplexer of every open session (CHUM, companion RPC, application protocols). */
  readonly muxes = new Map<SecureSession, SessionMux>();
  /** On a renderer: the client of its main's companion protocol, once connected. */
  companion: CompanionClient | undefined;
  private readonly companionServers = new Set<CompanionServer>();
  private closed = false;

  private constructor(
    readonly identity: LocalIdentity,
    private readonly adapters: InstanceAdapters,
    readonly connections: ConnectionsModel,
    readonly contactsStore: Contacts,
    readonly registry: InvitationRegistry,
    readonly pairing: PairingService,
    readonly chum: Chum,
    private endpointList: readonly string[],
  ) {}

  static async open(opts: InstanceOptions): Promise<Instance> {
    const { adapters, identity } = opts;
    const now = adapters.now ?? Date.now;
    const crypto = adapters.crypto;
    const staticKeyPair = { publicKey: fromBase64url(identity.public.instance.staticKey), secretKey: identity.instanceSecrets.staticSecret };
    const pairingState = await StateDocument.open(adapters.pairingState, emptyPairingDocument);
    const contacts = new Contacts(pairingState, now);
    let endpoints: readonly string[] = opts.endpoints ?? [];
    const registry = new InvitationRegistry(pairingState, {
      crypto,
      staticPublicKey: staticKeyPair.publicKey,
      staticSecret: staticKeyPair.secretKey,
      name: () => identity.public.profile.name,
      endpoints: () => endpoints,
      now,
    });
    let model: ConnectionsModel | undefined;
    const pairing = new PairingService({
      crypto,
      identity,
      state: pairingState,
      registry,
      contacts,
      model: () => model!,
      endpoints: () => endpoints,
      now,
      confirm: opts.confirmPairing,
    });
    model = new ConnectionsModel({
      crypto,
      staticKeyPair,
      peers: contacts,
      pairing,
      dial: adapters.dial,
      handshakeDeadlineMs: opts.handshakeDeadlineMs,
      session: opts.session,
      // Deadlines run on the real clock; the injectable `now` is wall-clock time for expiry and timestamps.
    });
    const marks = await MarkStore.open(adapters.marksState, now);
    const chum = await Chum.open({
      crypto,
      store: adapters.store,
      marks,
      identity,
      now,
      isCompanion: (person) => {
        const c = contacts.record(person);
        return !!c && c.revokedAt === undefined && (c.relation === 'renderer' || c.relation === 'main');
      },
    });
    const instance = new Instance(identity, adapters, model, contacts, registry, pairing, chum, endpoints);
    if (adapters.listen) {
      instance.listener = await adapters.listen((accepted) => void model!.accept(accepted));
      if (!opts.endpoints) endpoints = [instance.listener.url];
    }
    instance.endpointList = endpoints;
    instance.wire(pairingState, opts);
    return instance;
  }

  private wire(pairingState: StateDocument<PairingDocument>, opts: InstanceOptions): void {
    const e = this.events;
    this.offs.push(
      this.connections.events.on('opened', (o) => {
        const mux = new SessionMux(o.session);
        this.muxes.set(o.session, mux);
        void o.session.closed.then(() => this.muxes.delete(o.session));
        this.chum.attach(mux.channel(...PROTOCOL_RANGES.chum), { instanceId: o.peer.instanceId, personId: o.peer.personId, name: o.peer.name });
        // Only companions (an app's renderer and its main) speak the companion protocol.
        const relation = this.contactsStore.record(o.peer.personId)?.relation;
        if (relation === 'renderer') this.companionServers.add(new CompanionServer(this, mux.channel(...PROTOCOL_RANGES.companion)));
        if (relation === 'main') {
          this.companion = new CompanionClient(mux.channel(...PROTOCOL_RANGES.companion));
          e.emit('companion:connected', this.companion);
        }
        e.emit('connection:opened', o);
      }),
      this.connections.events.on('closed', (c) => e.emit('connection:closed', c)),
      this.connections.events.on('failed', (f) => e.emit('connection:failed', f)),
      this.pairing.events.on('paired', (p) => e.emit('pairing:paired', p)),
      this.pairing.events.on('failed', (f) => e.emit('pairing:failed', f)),
      this.chum.events.on('progress', (p) => e.emit('sync:progress', p)),
      this.chum.events.on('received', (r) => e.emit('sync:received', r)),
      pairingState.onChange(() => {
        this.dialer.refresh();
        e.emit('contacts:changed', this.contactsStore.list());
      }),
    );
    this.dialer = new Dialer({
      model: this.connections,
      targets: () => this.contactsStore.dialTargets(),
      backoffMinMs: opts.backoff?.minMs,
      backoffMaxMs: opts.backoff?.maxMs,
      localStaticKey: this.connections.staticKey,
    });
    if (opts.dial !== false) this.dialer.start();
  }

  // ---- identity -----------------------------------------------------------------------

  whoami(): { personId: PersonId; instanceId: InstanceId; name: string; staticKey: string; endpoints: readonly string[] } {
    return {
      personId: this.identity.personId,
      instanceId: this.identity.instanceId,
      name: this.identity.public.profile.name,
      staticKey: this.identity.public.instance.staticKey,
      endpoints: this.endpointList,
    };
  }

  /** The listener's URL, when this instance listens. */
  get url(): string | undefined {
    return this.listener?.url;
  }

  // ---- pairing ------------------------------------------------------------------------

  invite(options: { purpose?: InvitePurpose; ttlSeconds?: number } = {}): Promise<CreatedInvite> {
    return this.registry.create(options);
  }

  invites(): InviteSummary[] {
    return this.registry.list();
  }

  revokeInvite(inviteId: InviteId): Promise<InviteSummary> {
    return this.registry.revoke(inviteId);
  }

  acceptInvite(link: string): Promise<PairedEvent> {
    return this.pairing.acceptInvitation(link);
  }

  contacts(): ContactSummary[] {
    return this.contactsStore.list();
  }

  /** Revokes a person: closes its sessions now and refuses it from then on (durably). */
  async revokeContact(personId: PersonId, reason?: string): Promise<ContactSummary> {
    const summary = await this.contactsStore.revoke(personId, reason);
    for (const inst of summary.instances) this.connections.disconnect(fromBase64url(inst.staticKey), 'CONTACT_REVOKED');
    return summary;
  }

  unrevokeContact(personId: PersonId): Promise<ContactSummary> {
    return this.contactsStore.unrevoke(personId);
  }

  /** Connection state of every contact instance. */
  connectionStates(): ConnectionState[] {
    const out: ConnectionState[] = [];
    for (const c of this.contactsStore.list()) {
      for (const inst of c.instances) {
        const key = fromBase64url(inst.staticKey);
        const s = c.revoked ? { state: 'idle' as const, failures: 0 } : this.dialer.status(key);
        out.push({ personId: c.personId, instanceId: inst.instanceId as InstanceId, name: c.name, state: s.state, failures: s.failures, ...(s.lastError ? { lastError: s.lastError } : {}) });
      }
    }
    return out;
  }

  /** A snapshot for `kith status` and the UI. */
  status(): {
    identity: ReturnType<Instance['whoami']>;
    connections: ConnectionState[];
    sync: SyncProgress[];
    store: { objects: number; chunks: number; bytes: number; epoch: string; lastSeq: number };
  } {
    const s = this.adapters.store.stats();
    return {
      identity: this.whoami(),
      connections: this.connectionStates(),
      sync: this.chum.progress(),
      store: { ...s, epoch: this.adapters.store.epoch, lastSeq: this.adapters.store.lastSeq },
    };
  }

  /** Waits until this instance's objects are indexed (tests and tools that need a settled view). */
  async settled(): Promise<void> {
    await this.chum.access.settled();
  }

  /** Stops dialing and listening, closes every session and the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.offs) off();
    for (const server of this.companionServers) server.stop();
    const stopping = this.dialer.stop();
    await this.listener?.close();
    await this.connections.close();
    await stopping;
    await this.chum.close();
    await this.adapters.store.close();
  }

  /** Hex of a contact instance's static key (for logs). */
  static keyTag(staticKey: string): string {
    return toHex(fromBase64url(staticKey)).slice(0, 8);
  }
}

export type { ObjectHash };
