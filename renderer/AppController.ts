/**
 * The renderer's application state and actions, without DOM (issue 6): first run (name →
 * identity → pairing with main through the start link), later runs (main is a stored contact
 * and is dialed by itself), the connection to main, main's contacts and their connection
 * states, invitations made through main, accepting other devices' invitations, channels and
 * sync activity, and every error as plain-language advice with a next step.
 *
 * Screens read `state` (appState.ts: a new immutable snapshot after every change) and call the actions.
 * Hosts pass an environment (identity storage, the instance opener, the clock), so Node tests
 * run the whole controller against memory instances.
 */
import type { LocalIdentity } from '../shared/identity.js';
import type { Instance } from '../instance/Instance.js';
import type { CompanionClient } from '../instance/companion/CompanionClient.js';
import type { ObjectHash, PersonId } from '../shared/ids.js';
import { KithError, toKithError, type ErrorCode } from '../shared/errors.js';
import { parseInvitationLink, invitationName, type Invitation } from '../pairing/invitation.js';
import { invitationQrDataUrl } from '../pairing/qr.js';
import { COMPANION_MIN_INVITE_TTL_SECONDS, INVITE_DEFAULT_TTL_SECONDS, INVITE_MAX_TTL_SECONDS, MAX_INVITE_LINK_INPUT_LENGTH, RENDERER_TICK_MS } from '../shared/limits.js';
import { adviseError, type ErrorContext } from './errorText.js';
import { contactLinkState, readContact, readConnections, readContacts, readInvites, readProgress, type LinkState, type MainConnection, type MainContact } from './mainState.js';
import { ChannelBook, type FileSource } from './ChannelBook.js';
import { SyncActivity } from './SyncActivity.js';
import { EMPTY_CHANNELS, SCREENS, type AppState, type InviteView, type RendererEnvironment, type ScreenName, type ShownError } from './appState.js';

export { SCREENS };
export type { AcceptView, AppState, ConnectionView, ContactView, InviteView, Phase, RendererEnvironment, ScreenName, ShownError } from './appState.js';

export class AppController {
  private current: AppState;
  private readonly listeners = new Set<(s: AppState) => void>();
  private instance: Instance | undefined;
  private identity: LocalIdentity | undefined;
  private book: ChannelBook | undefined;
  private activity: SyncActivity | undefined;
  private client: CompanionClient | undefined;
  private link: string | null = null;
  private mainContacts: MainContact[] = [];
  private mainConnections: MainConnection[] = [];
  private retry: (() => Promise<void>) | undefined;
  private readonly offs: Array<() => void> = [];
  private clientOffs: Array<() => void> = [];
  private ticker: ReturnType<typeof setInterval> | undefined;
  private closed = false;

  constructor(private readonly env: RendererEnvironment) {
    this.current = {
      phase: 'starting',
      screen: 'channels',
      busy: false,
      suggestedName: '',
      hasStartLink: false,
      connection: { state: 'unpaired' },
      companion: false,
      contacts: [],
      inviteBusy: false,
      inviteTtlSeconds: INVITE_DEFAULT_TTL_SECONDS,
      accept: { draft: '', busy: false },
      channels: EMPTY_CHANNELS,
      activity: [],
      now: env.now(),
    };
  }

  get state(): AppState {
    return this.current;
  }

  /** The start link not yet redeemed (mirrored into the state as `hasStartLink`). */
  private get startLink(): string | null {
    return this.link;
  }
  private set startLink(link: string | null) {
    this.link = link;
    if (this.current.hasStartLink !== (link !== null)) this.set({ hasStartLink: link !== null });
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  subscribe(listener: (s: AppState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- start and first run ----------------------------------------------------------------

  /**
   * Starts the window. `startLink` is the renderer invitation handed over by the host (used
   * only while this window has not paired with main yet; ignored and dropped afterwards).
   */
  async start(startLink: string | null): Promise<void> {
    this.startLink = startLink;
    this.ticker = setInterval(() => this.tick(), RENDERER_TICK_MS);
    (this.ticker as { unref?: () => void }).unref?.();
    try {
      const identity = await this.env.loadIdentity();
      if (!identity) {
        this.set({ phase: 'first-run', suggestedName: suggestName(startLink, this.env.now()) });
        if (!startLink) this.showError('NOT_FOUND', 'start', 'first-run');
        return;
      }
      await this.openInstance(identity);
      if (this.mainContact()) {
        this.startLink = null;
        await this.enterReady();
        return;
      }
      if (!startLink) {
        this.set({ phase: 'first-run', suggestedName: identity.public.profile.name });
        this.showError('NOT_FOUND', 'start', 'first-run');
        return;
      }
      await this.pair();
    } catch (err) {
      this.set({ phase: 'fatal' });
      this.fail(err, 'general', 'global');
    }
  }

  /** First-run screen: creates this window's identity for `name` and pairs with main. */
  async submitName(name: string): Promise<void> {
    if (this.current.phase !== 'first-run' || this.current.busy) return;
    this.clearError();
    let clean: string;
    try {
      clean = invitationName(name);
    } catch {
      this.showError('INVALID_INPUT', 'general', 'first-run', 'Please enter your name (letters, digits, spaces).');
      return;
    }
    if (!this.startLink) {
      this.showError('NOT_FOUND', 'start', 'first-run');
      return;
    }
    this.set({ busy: true });
    try {
      if (!this.instance) await this.openInstance(await this.env.createIdentity(clean));
    } catch (err) {
      this.set({ busy: false });
      this.fail(err, 'start', 'first-run');
      return;
    }
    await this.pair();
  }

  /**
   * A start link that arrived after the window started (the URL with `#invite=` opened in
   * this tab again). Used only while the window has not paired yet; ignored afterwards.
   */
  provideStartLink(link: string | null): void {
    if (!link || this.current.phase !== 'first-run' || this.current.busy) return;
    this.startLink = link;
    if (this.current.error?.screen === 'first-run') this.clearError();
    if (!this.current.suggestedName) this.set({ suggestedName: suggestName(link, this.env.now()) });
  }

  private async openInstance(identity: LocalIdentity): Promise<void> {
    this.identity = identity;
    const instance = await this.env.openInstance(identity);
    this.instance = instance;
    this.activity = new SyncActivity(identity.instanceId);
    this.set({ me: { personId: identity.personId, instanceId: identity.instanceId, name: identity.public.profile.name } });
    const ev = instance.events;
    this.offs.push(
      ev.on('connection:opened', () => this.updateConnection()),
      ev.on('connection:closed', (c) => {
        if (c.peer.personId === this.current.main?.personId && !c.stillConnected) this.detachCompanion();
        this.updateConnection();
      }),
      ev.on('connection:failed', () => this.updateConnection()),
      ev.on('companion:connected', (client) => this.attachCompanion(client)),
      ev.on('sync:progress', (p) => {
        const info = readProgress(p);
        if (info && this.activity?.update('window', info)) this.set({ activity: this.activity.list() });
      }),
    );
    if (instance.companion && this.mainContact()) this.attachCompanion(instance.companion);
  }

  /** Redeems the start link with main (first run, or a run after a failed first pairing). */
  private async pair(): Promise<void> {
    const link = this.startLink;
    const instance = this.instance;
    if (!link || !instance) return;
    this.set({ phase: 'pairing', busy: true, connection: { state: 'pairing' } });
    try {
      const invitation = parseInvitationLink(link, { nowSeconds: Math.floor(this.env.now() / 1000) });
      if (invitation.purpose !== 'renderer') throw new KithError('INVITE_MALFORMED', 'this is an invitation from another device, not the start link of this window');
      await instance.acceptInvite(link);
      this.startLink = null;
      await this.enterReady();
    } catch (err) {
      const code = toKithError(err).code;
      // A link that was refused stays refused; only a failed connection is worth retrying.
      const retryable = code === 'UNREACHABLE' || code === 'PEER_CLOSED' || code === 'HANDSHAKE_TIMEOUT' || code === 'TIMEOUT';
      if (!retryable) this.startLink = null;
      this.set({ phase: 'first-run', busy: false, connection: { state: 'unpaired' }, suggestedName: this.identity?.public.profile.name ?? this.current.suggestedName });
      this.fail(err, 'start', 'first-run', retryable ? () => this.pair() : undefined);
    }
  }

  private async enterReady(): Promise<void> {
    const main = this.mainContact()!;
    const mainInstance = this.instance!.contacts().find((c) => c.personId === main.personId)?.instances[0];
    this.set({
      phase: 'ready',
      busy: false,
      main: { personId: main.personId, instanceId: mainInstance?.instanceId ?? '', name: main.name },
    });
    this.clearError();
    this.book = new ChannelBook({
      chum: this.instance!.chum,
      crypto: this.env.crypto,
      identity: this.identity!,
      onChange: () => this.set({ channels: this.book!.snapshot() }),
      onError: (err) => this.fail(err, 'channels', 'channels'),
    });
    await this.book.start();
    this.updateConnection();
  }

  private mainContact(): { personId: PersonId; name: string } | undefined {
    const c = this.instance?.contacts().find((x) => x.relation === 'main' && !x.revoked);
    return c ? { personId: c.personId, name: c.name } : undefined;
  }

  // ---- main: connection and companion ----------------------------------------------------

  private updateConnection(): void {
    const main = this.current.main;
    if (!this.instance || !main) return;
    const states = this.instance.connectionStates().filter((s) => s.personId === main.personId);
    const state: LinkState = states.some((s) => s.state === 'connected')
      ? 'connected'
      : states.some((s) => s.state === 'connecting')
        ? 'connecting'
        : states.some((s) => s.state === 'waiting')
          ? 'waiting'
          : 'idle';
    const prev = this.current.connection;
    if (prev.state !== state || prev.mainName !== main.name) this.set({ connection: { state, mainName: main.name } });
  }

  private attachCompanion(client: CompanionClient): void {
    this.detachCompanion();
    this.client = client;
    const ev = client.events;
    this.clientOffs.push(
      ev.on('contacts', (p) => {
        this.mainContacts = readContacts(p);
        this.publishContacts();
      }),
      ev.on('connections', (p) => {
        this.mainConnections = readConnections(p);
        this.publishContacts();
      }),
      ev.on('invites', (p) => this.applyInviteStatuses(readInvites(p))),
      ev.on('paired', (p) => void this.onMainPaired(p)),
      ev.on('progress', (p) => {
        const info = readProgress(p);
        if (info && this.activity?.update('main', info)) this.set({ activity: this.activity.list() });
      }),
    );
    this.set({ companion: true });
    void this.refreshFromMain();
  }

  private detachCompanion(): void {
    for (const off of this.clientOffs.splice(0)) off();
    this.client = undefined;
    if (this.current.companion) this.set({ companion: false });
  }

  /** Snapshot of main's contacts and invitations (events keep them current afterwards). */
  private async refreshFromMain(): Promise<void> {
    const client = this.client;
    if (!client) return;
    try {
      const answer = await client.call('contacts');
      if (client !== this.client) return;
      this.mainContacts = readContacts(answer);
      this.mainConnections = readConnections(answer);
      this.publishContacts();
      this.applyInviteStatuses(readInvites(await client.call('listInvites')));
      if (this.current.screen === 'invite' && !this.current.invite) await this.createInvite();
    } catch {
      // The session closed meanwhile; the next connection refreshes again.
    }
  }

  private publishContacts(): void {
    const me = this.identity?.personId;
    const contacts = this.mainContacts.map((c) => ({ ...c, state: c.revoked ? ('idle' as const) : contactLinkState(c.personId, this.mainConnections), self: c.personId === me }));
    this.set({ contacts });
  }

  private requireClient(): CompanionClient {
    if (!this.client) throw new KithError('CLOSED', 'not connected to Kith');
    return this.client;
  }

  // ---- navigation and errors -----------------------------------------------------------

  navigate(screen: ScreenName): void {
    if (!SCREENS.includes(screen) || this.current.phase !== 'ready') return;
    this.set({ screen });
    if (this.current.error?.screen !== 'global') this.clearError();
    if (screen === 'invite') {
      const invite = this.current.invite;
      // Without main right now, the invitation is made once it is back (refreshFromMain).
      if (!invite && this.client) void this.createInvite();
      else if (invite) this.showInviteProblem(invite);
    }
  }

  /** Runs the action the error banner offers. */
  async runErrorAction(): Promise<void> {
    const action = this.current.error?.action;
    if (!action) return;
    if (action === 'new-invite') return this.createInvite();
    if (action === 'reload') return this.env.reload?.();
    const retry = this.retry;
    this.clearError();
    if (retry) await retry();
  }

  dismissError(): void {
    this.clearError();
  }

  private clearError(): void {
    this.retry = undefined;
    if (this.current.error) this.set({ error: undefined });
  }

  private showError(code: ErrorCode, context: ErrorContext, screen: ShownError['screen'], text?: string, retry?: () => Promise<void>): void {
    const advice = adviseError(code, context, this.env.host);
    const shown: ShownError = { ...advice, ...(text ? { text } : {}), screen };
    // A retry is offered only when there is something to retry.
    this.retry = retry;
    this.set({ error: shown.action === 'retry' && !retry ? { ...shown, action: undefined } : shown });
  }

  private fail(err: unknown, context: ErrorContext, screen: ShownError['screen'], retry?: () => Promise<void>): void {
    this.showError(toKithError(err).code, context, screen, undefined, retry);
  }

  // ---- invitations (made by main, for another device) ---------------------------------

  /** Remembers the lifetime chosen for the next invitation (whole seconds within what main accepts; anything else is ignored). */
  setInviteTtl(seconds: number): void {
    if (!Number.isSafeInteger(seconds) || seconds < COMPANION_MIN_INVITE_TTL_SECONDS || seconds > INVITE_MAX_TTL_SECONDS) return;
    this.set({ inviteTtlSeconds: seconds });
  }

  /** Asks main for a new invitation (replacing the one shown) and shows its QR code. */
  async createInvite(ttlSeconds?: number): Promise<void> {
    if (this.current.inviteBusy) return;
    this.set({ inviteBusy: true });
    this.clearError();
    try {
      const answer = await this.requireClient().call('createInvite', ttlSeconds === undefined ? {} : { ttlSeconds });
      const link = typeof answer.link === 'string' ? answer.link : '';
      const inviteId = typeof answer.inviteId === 'string' ? answer.inviteId : '';
      const expiresAt = typeof answer.expiresAt === 'number' ? answer.expiresAt : 0;
      if (!link || !inviteId) throw new KithError('PROTOCOL_ERROR', 'main answered createInvite without a link');
      const qr = await invitationQrDataUrl(link);
      this.set({ invite: { inviteId, link, qr, expiresAt, status: 'open' } });
    } catch (err) {
      this.fail(err, 'invite', 'invite', () => this.createInvite(ttlSeconds));
    } finally {
      this.set({ inviteBusy: false });
    }
  }

  /** Withdraws the invitation shown and makes a new one. */
  async refreshInvite(ttlSeconds?: number): Promise<void> {
    const invite = this.current.invite;
    if (invite?.status === 'open') await this.revokeInviteQuietly(invite.inviteId);
    await this.createInvite(ttlSeconds);
  }

  /** Withdraws the invitation shown: nobody can pair with it any more. */
  async revokeInvite(): Promise<void> {
    const invite = this.current.invite;
    if (!invite || invite.status !== 'open') return;
    try {
      await this.requireClient().call('revokeInvite', { inviteId: invite.inviteId });
      this.setInvite({ status: 'revoked' });
      this.showInviteProblem(this.current.invite!);
    } catch (err) {
      this.fail(err, 'invite', 'invite', () => this.revokeInvite());
    }
  }

  private async revokeInviteQuietly(inviteId: string): Promise<void> {
    try {
      await this.requireClient().call('revokeInvite', { inviteId });
    } catch {
      // Already used, expired or gone: nothing left to withdraw.
    }
  }

  private setInvite(patch: Partial<InviteView>): void {
    const invite = this.current.invite;
    if (invite) this.set({ invite: { ...invite, ...patch } });
  }

  private applyInviteStatuses(list: ReturnType<typeof readInvites>): void {
    const invite = this.current.invite;
    const mine = invite && list.find((i) => i.inviteId === invite.inviteId);
    if (!invite || !mine || mine.status === invite.status) return;
    this.setInvite({ status: mine.status });
    if (this.current.screen === 'invite') this.showInviteProblem(this.current.invite!);
  }

  private showInviteProblem(invite: InviteView): void {
    const code: ErrorCode | undefined =
      invite.status === 'expired' ? 'INVITE_EXPIRED' : invite.status === 'revoked' ? 'INVITE_REVOKED' : invite.status === 'burned' ? 'TOO_MANY_ATTEMPTS' : undefined;
    if (code) this.showError(code, 'invite', 'invite');
    else if (this.current.error?.screen === 'invite') this.clearError();
  }

  /** Main paired as the inviter: if it was through the invitation shown, show who paired. */
  private async onMainPaired(payload: Record<string, unknown>): Promise<void> {
    const name = typeof payload.name === 'string' ? payload.name : undefined;
    const sas = typeof payload.sas === 'string' ? payload.sas : undefined;
    const invite = this.current.invite;
    const client = this.client;
    if (payload.role !== 'inviter' || !name || !client || invite?.status !== 'open') return;
    try {
      // The event does not name the invitation; main's list says whether it was ours.
      const mine = readInvites(await client.call('listInvites')).find((i) => i.inviteId === invite.inviteId);
      if (mine?.status !== 'used' || this.current.invite?.inviteId !== invite.inviteId) return;
    } catch {
      return;
    }
    this.setInvite({ status: 'used', pairedName: name, ...(sas ? { sas } : {}) });
    if (this.current.error?.screen === 'invite') this.clearError();
  }

  // ---- accepting another device's invitation ------------------------------------------

  /** Fills the link field (typing, or a kith:// link the OS opened); never redeems. */
  setAcceptDraft(text: string): void {
    this.set({ accept: { ...this.current.accept, draft: text } });
  }

  /** A kith:// link the OS opened: shows the Accept screen with it filled in. */
  openLink(link: string): void {
    if (typeof link !== 'string') return;
    this.setAcceptDraft(link.slice(0, MAX_INVITE_LINK_INPUT_LENGTH));
    if (this.current.phase === 'ready') this.navigate('accept');
  }

  /** Main pairs with the device whose invitation `link` is (pasted, or read from a QR code). */
  async acceptLink(link: string = this.current.accept.draft): Promise<void> {
    if (this.current.accept.busy) return;
    const text = link.trim();
    this.clearError();
    let invitation: Invitation;
    try {
      // Checked here first: a malformed or clearly stale link never costs main a connection.
      invitation = parseInvitationLink(text, { nowSeconds: Math.floor(this.env.now() / 1000) });
    } catch (err) {
      this.set({ accept: { draft: text, busy: false } });
      this.fail(err, 'accept', 'accept');
      return;
    }
    if (invitation.purpose !== 'contact') {
      this.set({ accept: { draft: text, busy: false } });
      this.showError('INVITE_MALFORMED', 'accept', 'accept', 'This is the start link of a Kith window, not an invitation from another device.');
      return;
    }
    this.set({ accept: { draft: text, busy: true } });
    try {
      const answer = await this.requireClient().call('acceptInvite', { link: text });
      const contact = readContact(answer.contact);
      if (!contact) throw new KithError('PROTOCOL_ERROR', 'main answered acceptInvite without the contact');
      const sas = typeof answer.sas === 'string' ? answer.sas : undefined;
      this.set({ accept: { draft: '', busy: false, result: { name: contact.name, personId: contact.personId, ...(sas ? { sas } : {}) } } });
    } catch (err) {
      this.set({ accept: { draft: text, busy: false } });
      this.fail(err, 'accept', 'accept', () => this.acceptLink(text));
    }
  }

  // ---- devices -------------------------------------------------------------------------

  async revokeContact(personId: string): Promise<void> {
    try {
      await this.requireClient().call('revokeContact', { personId });
    } catch (err) {
      this.fail(err, 'devices', 'devices', () => this.revokeContact(personId));
    }
  }

  async unrevokeContact(personId: string): Promise<void> {
    try {
      await this.requireClient().call('unrevokeContact', { personId });
    } catch (err) {
      this.fail(err, 'devices', 'devices', () => this.unrevokeContact(personId));
    }
  }

  // ---- channels ------------------------------------------------------------------------

  /** Creates a channel shared with main and the chosen contacts of main (their person ids). */
  async createChannel(name: string, members: readonly string[]): Promise<void> {
    const main = this.current.main;
    if (!this.book || !main) return;
    const allowed = new Set(this.mainContacts.filter((c) => c.relation === 'contact' && !c.revoked).map((c) => c.personId as string));
    try {
      const chosen = members.filter((m) => allowed.has(m)) as PersonId[];
      await this.book.create(name, main.personId, chosen);
      this.clearError();
    } catch (err) {
      this.fail(err, 'channels', 'channels');
    }
  }

  async selectChannel(channel: string | undefined): Promise<void> {
    await this.book?.select(channel as ObjectHash | undefined);
  }

  /** Posts a message; resolves true when it was stored. */
  async sendText(text: string): Promise<boolean> {
    if (!this.book) return false;
    try {
      await this.book.sendText(text);
      this.clearError();
      return true;
    } catch (err) {
      this.fail(err, 'channels', 'channels');
      return false;
    }
  }

  async sendFile(file: FileSource): Promise<boolean> {
    if (!this.book) return false;
    try {
      await this.book.sendFile(file);
      this.clearError();
      return true;
    } catch (err) {
      this.fail(err, 'channels', 'channels');
      return false;
    }
  }

  /** A file's bytes (for a download), or undefined after showing why not. */
  async readFile(manifest: string): Promise<Uint8Array[] | undefined> {
    try {
      return await this.book!.readFile(manifest as ObjectHash);
    } catch (err) {
      this.fail(err, 'channels', 'channels');
      return undefined;
    }
  }

  // ---- lifecycle -----------------------------------------------------------------------

  private tick(): void {
    const now = this.env.now();
    this.set({ now });
    this.updateConnection();
    const invite = this.current.invite;
    if (invite?.status === 'open' && now >= invite.expiresAt * 1000) {
      this.setInvite({ status: 'expired' });
      if (this.current.screen === 'invite') this.showInviteProblem(this.current.invite!);
    }
  }

  /** Stops listening and closes the instance (tests; a page simply goes away). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ticker) clearInterval(this.ticker);
    for (const off of this.offs.splice(0)) off();
    this.detachCompanion();
    this.book?.close();
    await this.instance?.close();
  }

  private set(patch: Partial<AppState>): void {
    if (this.closed) return;
    this.current = { ...this.current, ...patch };
    for (const l of this.listeners) {
      try {
        l(this.current);
      } catch {
        // A broken view must not stop the controller.
      }
    }
  }
}

/** The name to offer on first run: main's display name ("node-ann") without its prefix. */
function suggestName(link: string | null, nowMs: number): string {
  if (!link) return '';
  try {
    const name = parseInvitationLink(link, { nowSeconds: Math.floor(nowMs / 1000), skewSeconds: Number.MAX_SAFE_INTEGER }).name;
    return name.startsWith('node-') ? name.slice(5) : '';
  } catch {
    return '';
  }
}
