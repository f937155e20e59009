/**
 * What `kith` commands ask of a node, whoever runs it: the process that owns the home
 * answers through the control socket (ControlClient), and a command that finds nobody
 * there opens the home itself (LocalNodeService). Both implement this one interface, so
 * every command has a single code path. Values are plain JSON, ready to print.
 */
import type { InviteId, ObjectHash, PersonId } from '../../shared/ids.js';

/** `hello`: who answers. */
export interface HelloResult {
  /** The control protocol version (CONTROL_PROTOCOL_VERSION). */
  readonly protocol: number;
  /** The instance this node runs, so a client can tell it reached the right home. */
  readonly instanceId: string;
  /** The process id of the owner. */
  readonly pid: number;
  /** Where the owner listens for peers. */
  readonly listening?: string;
}

export interface InviteResult {
  /** The invitation link: a secret, shown once, never logged. */
  readonly url: string;
  readonly inviteId: string;
  /** ISO 8601, on the inviter's clock. */
  readonly expiresAt: string;
  /** Present when nobody serves the home: the link names where `kith serve` last listened. */
  readonly warning?: string;
}

export interface InviteListing {
  readonly inviteId: string;
  readonly purpose: string;
  /** open, used, revoked, burned or expired. */
  readonly status: string;
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601. */
  readonly expiresAt: string;
  readonly failedAttempts: number;
}

export interface ContactInstanceListing {
  readonly instanceId: string;
  readonly name: string;
  readonly endpoints: readonly string[];
  /** Live connection state; only when a serving node answers. */
  readonly state?: string;
  /** Failed connection attempts in a row; only when a serving node answers. */
  readonly failures?: number;
  /** The last failure's code; only when a serving node answers. */
  readonly lastError?: string;
}

export interface ContactListing {
  readonly personId: string;
  readonly name: string;
  /** contact, renderer or main. */
  readonly relation: string;
  readonly revoked: boolean;
  /** ISO 8601. */
  readonly pairedAt: string;
  readonly instances: readonly ContactInstanceListing[];
}

export interface AcceptResult {
  /** The inviter, now a contact. */
  readonly contact: { readonly personId: string; readonly instanceId: string; readonly name: string };
  /** Six digits both sides can compare to rule out a man in the middle. */
  readonly sas: string;
}

export interface PutResult {
  /** The object's hash, or the blob's manifest hash. */
  readonly hash: string;
  readonly kind: 'blob' | 'object';
  /** The object's `$type` (BlobManifest for blobs). */
  readonly type: string;
  /** Bytes stored: the blob's length, or the canonical object's. */
  readonly size: number;
  /** Persons granted access. */
  readonly shared: readonly string[];
  /** The Access grant's hash, when shared. */
  readonly grant?: string;
}

export interface ObjectHeader {
  readonly hash: string;
  readonly kind: 'blob' | 'object';
  readonly type: string;
  /** Bytes that follow: the blob's length, or the canonical object's. */
  readonly size: number;
}

export interface ObjectListing {
  readonly hash: string;
  readonly type: string;
  /** Bytes stored for the object itself (a blob manifest's `size` field holds the blob's). */
  readonly size: number;
  /** Local insert sequence. */
  readonly seq: number;
  /** The signing instance, for signed objects. */
  readonly author?: string;
  /** That instance's person's name, when known (this node or a contact). */
  readonly authorName?: string;
}

export interface StatusReport {
  /** True when a serving node answered (connections are live). */
  readonly running: boolean;
  readonly listening?: string;
  readonly identity: { readonly personId: string; readonly instanceId: string; readonly name: string };
  readonly connections: ReadonlyArray<{ personId: string; instanceId: string; name: string; state: string; failures: number; lastError?: string }>;
  readonly sync: ReadonlyArray<{
    peer: { instanceId: string; personId: string; name: string };
    direction: string;
    objectsDone: number;
    objectsTotal: number;
    bytesDone: number;
    bytesTotal: number;
    caughtUp: boolean;
  }>;
  readonly store: { readonly objects: number; readonly chunks: number; readonly bytes: number; readonly epoch: string; readonly lastSeq: number };
}

export interface NodeService {
  /** Who answers (protocol version, instance, pid, listen URL). */
  hello(): Promise<HelloResult>;
  /** Creates a contact invitation. */
  invite(options: { ttlSeconds?: number }): Promise<InviteResult>;
  /** Invitations still remembered, newest first. */
  invites(): Promise<InviteListing[]>;
  /** Revokes an open invitation (INVITE_UNKNOWN if there is none). */
  revokeInvite(inviteId: InviteId): Promise<InviteListing>;
  /** Redeems an invitation link; fails with the inviter's code (INVITE_EXPIRED, INVITE_USED, KEY_MISMATCH, UNREACHABLE …). */
  accept(link: string): Promise<AcceptResult>;
  /** Contacts, with live connection state when the node is serving. */
  contacts(): Promise<ContactListing[]>;
  /** Revokes a person: closes their sessions and refuses them from now on. */
  revoke(personId: PersonId): Promise<ContactListing>;
  /** Stores a blob or a JSON object read from `source`, then grants `share` access to it. */
  put(source: AsyncIterable<Uint8Array>, options: { kind: 'blob' | 'object'; share: readonly PersonId[] }): Promise<PutResult>;
  /** An object's canonical bytes or a blob's bytes, after a header; NOT_FOUND when absent or incomplete. */
  get(hash: ObjectHash): Promise<{ header: ObjectHeader; body: AsyncIterable<Uint8Array> }>;
  /** Every stored object (not blob chunks), in insert order. */
  ls(): AsyncIterable<ObjectListing>;
  /** Connections, per-peer sync progress, store size. */
  status(): Promise<StatusReport>;
  /** Releases what this handle holds (a socket, or the opened home). */
  close(): Promise<void>;
}
