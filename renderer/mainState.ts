/**
 * Main's state as its companion events and answers carry it (contacts, connection states,
 * invitations, sync progress), read into the small shapes the screens show. Main is a
 * companion, but its payloads still cross a process boundary as JSON: every field is checked
 * and an entry that does not hold together is dropped rather than shown half-read.
 */
import type { PersonId } from '../shared/ids.js';
import { HASH_HEX_RE } from '../shared/schema.js';
import { MAX_MAIN_STATE_LIST_ENTRIES, MAX_MAIN_STATE_TEXT_LENGTH } from '../shared/limits.js';

export type LinkState = 'connected' | 'connecting' | 'waiting' | 'idle';
export type ContactRelation = 'contact' | 'renderer' | 'main';

/** One contact of main as the Devices screen shows it. */
export interface MainContact {
  /** The contact's person id. */
  readonly personId: PersonId;
  /** Its display name. */
  readonly name: string;
  /** Another person's device, this app's window (`renderer`), or (never, on main) `main`. */
  readonly relation: ContactRelation;
  /** Refused until restored. */
  readonly revoked: boolean;
  /** When it was paired (ms). */
  readonly pairedAt: number;
  /** Names of its instances (devices). */
  readonly instances: readonly string[];
}

/** Connection state of one of main's contact instances. */
export interface MainConnection {
  /** The contact the instance belongs to. */
  readonly personId: PersonId;
  /** The contact instance. */
  readonly instanceId: string;
  /** Main's dialer state for it. */
  readonly state: LinkState;
}

export interface InviteStatusInfo {
  /** Main's id for the invitation. */
  readonly inviteId: string;
  /** Its state on main's clock. */
  readonly status: 'open' | 'used' | 'revoked' | 'burned' | 'expired';
  /** Seconds since the epoch. */
  readonly expiresAt: number;
}

/** Sync progress of one peer and direction (main's `progress` events and the renderer's own). */
export interface ProgressInfo {
  /** The peer instance of the session. */
  readonly peerInstanceId: string;
  /** Its display name. */
  readonly peerName: string;
  /** What flows: to the peer, or from it. */
  readonly direction: 'send' | 'receive';
  /** Objects of the current backlog done / in it. */
  readonly objectsDone: number;
  readonly objectsTotal: number;
  /** Bytes of the current backlog done / in it. */
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The backlog is through; only live updates remain. */
  readonly caughtUp: boolean;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_MAIN_STATE_TEXT_LENGTH;
const isHashText = (v: unknown): v is string => typeof v === 'string' && HASH_HEX_RE.test(v);
const LINK_STATES: readonly string[] = ['connected', 'connecting', 'waiting', 'idle'];
const RELATIONS: readonly string[] = ['contact', 'renderer', 'main'];
const INVITE_STATES: readonly string[] = ['open', 'used', 'revoked', 'burned', 'expired'];

function listOf<T>(value: unknown, read: (item: unknown) => T | undefined): T[] {
  if (!Array.isArray(value)) return [];
  const out: T[] = [];
  for (const item of value.slice(0, MAX_MAIN_STATE_LIST_ENTRIES)) {
    const parsed = read(item);
    if (parsed !== undefined) out.push(parsed);
  }
  return out;
}

export function readContact(v: unknown): MainContact | undefined {
  if (!isRecord(v) || !isHashText(v.personId) || !isText(v.name) || !RELATIONS.includes(v.relation as string)) return undefined;
  return {
    personId: v.personId as PersonId,
    name: v.name,
    relation: v.relation as ContactRelation,
    revoked: v.revoked === true,
    pairedAt: isCount(v.pairedAt) ? v.pairedAt : 0,
    instances: listOf(v.instances, (i) => (isRecord(i) && isText(i.name) ? i.name : undefined)),
  };
}

/** `{ contacts: [...] }` (the `contacts` event and the answer to `contacts`). */
export function readContacts(payload: unknown): MainContact[] {
  return isRecord(payload) ? listOf(payload.contacts, readContact) : [];
}

/** `{ connections: [...] }` (the `connections` event and the answer to `contacts`). */
export function readConnections(payload: unknown): MainConnection[] {
  if (!isRecord(payload)) return [];
  return listOf(payload.connections, (c) =>
    isRecord(c) && isHashText(c.personId) && isHashText(c.instanceId) && LINK_STATES.includes(c.state as string)
      ? { personId: c.personId as PersonId, instanceId: c.instanceId, state: c.state as LinkState }
      : undefined,
  );
}

/** `{ invites: [...] }` (the `invites` event and the answer to `listInvites`). */
export function readInvites(payload: unknown): InviteStatusInfo[] {
  if (!isRecord(payload)) return [];
  return listOf(payload.invites, (i) =>
    isRecord(i) && typeof i.inviteId === 'string' && /^[0-9a-f]{32}$/.test(i.inviteId) && INVITE_STATES.includes(i.status as string) && isCount(i.expiresAt)
      ? { inviteId: i.inviteId, status: i.status as InviteStatusInfo['status'], expiresAt: i.expiresAt }
      : undefined,
  );
}

/** One SyncProgress (a `progress` event payload, or the renderer's own `sync:progress`). */
export function readProgress(p: unknown): ProgressInfo | undefined {
  if (!isRecord(p) || !isRecord(p.peer)) return undefined;
  const { peer } = p;
  if (!isHashText(peer.instanceId) || !isText(peer.name) || (p.direction !== 'send' && p.direction !== 'receive')) return undefined;
  if (!isCount(p.objectsDone) || !isCount(p.objectsTotal) || !isCount(p.bytesDone) || !isCount(p.bytesTotal)) return undefined;
  return {
    peerInstanceId: peer.instanceId,
    peerName: peer.name,
    direction: p.direction,
    objectsDone: p.objectsDone,
    objectsTotal: p.objectsTotal,
    bytesDone: p.bytesDone,
    bytesTotal: p.bytesTotal,
    caughtUp: p.caughtUp === true,
  };
}

/** The state shown for a contact: the best state of any of its instances. */
export function contactLinkState(personId: PersonId, connections: readonly MainConnection[]): LinkState {
  let best = LINK_STATES.length;
  for (const c of connections) if (c.personId === personId) best = Math.min(best, LINK_STATES.indexOf(c.state));
  return (LINK_STATES[best] as LinkState | undefined) ?? 'idle';
}
