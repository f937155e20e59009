/**
 * Channels: create one shared with chosen contacts of main, read its messages (author, and
 * whether the signature verified), send text and files, download received files.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AppController, AppState } from '../AppController.js';
import type { FileView, MessageView } from '../ChannelBook.js';
import { MAX_NAME_LENGTH } from '../../shared/limits.js';
import { browserFileSource, saveFile } from './files.js';
import { formatBytes } from './format.js';
import { Screen } from './Screen.js';

function CreateChannel({ state, controller }: { state: AppState; controller: AppController }) {
  const [name, setName] = useState('');
  const [members, setMembers] = useState<ReadonlySet<string>>(new Set());
  const [busy, setBusy] = useState(false);
  const candidates = state.contacts.filter((c) => c.relation === 'contact' && !c.revoked);
  const toggle = (personId: string, on: boolean) => {
    const next = new Set(members);
    if (on) next.add(personId);
    else next.delete(personId);
    setMembers(next);
  };
  return (
    <form
      class="stack create-channel"
      aria-label="New channel"
      onSubmit={async (e) => {
        e.preventDefault();
        if (busy) return;
        setBusy(true);
        await controller.createChannel(name, [...members]);
        setBusy(false);
        setName('');
        setMembers(new Set());
      }}
    >
      <h2>New channel</h2>
      <label for="channel-name">Name</label>
      <input id="channel-name" data-testid="channel-create-name" type="text" maxLength={MAX_NAME_LENGTH} required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <fieldset>
        <legend>Share with</legend>
        {candidates.length === 0 && <p class="muted">Only your own devices. Pair with someone (Invite or Accept) to add them.</p>}
        {candidates.map((c) => (
          <label key={c.personId} class="check">
            <input type="checkbox" data-testid="channel-member" data-name={c.name} checked={members.has(c.personId)} onChange={(e) => toggle(c.personId, (e.target as HTMLInputElement).checked)} />
            {c.name}
          </label>
        ))}
      </fieldset>
      <button type="submit" class="primary" data-testid="channel-create" disabled={busy || name.trim() === ''}>
        Create channel
      </button>
    </form>
  );
}

function FileLink({ file, controller }: { file: FileView; controller: AppController }) {
  if (!file.ready) {
    return (
      <span class="file pending">
        {file.name} · receiving {file.chunksHave} of {file.chunksTotal} parts
        <progress data-testid="transfer-progress" max={file.chunksTotal} value={file.chunksHave} aria-label={`Receiving ${file.name}`} />
      </span>
    );
  }
  return (
    <a
      class="file"
      href="#"
      data-testid="message-file"
      onClick={async (e) => {
        e.preventDefault();
        const pieces = await controller.readFile(file.manifest);
        if (pieces) saveFile(pieces, file.name, file.mime);
      }}
    >
      {file.name}
      <span class="muted"> · {formatBytes(file.size)}</span>
    </a>
  );
}

function Message({ m, controller }: { m: MessageView; controller: AppController }) {
  return (
    <li class={`message${m.mine ? ' mine' : ''}`} data-testid="message" data-author={m.authorName} data-verified={String(m.verified)}>
      <p class="message-head">
        <strong>{m.authorName}</strong>
        <span class={m.verified ? 'verified' : 'unverified'} title={m.verified ? 'The signature of this message verified' : 'The signature of this message did NOT verify'}>
          {m.verified ? '✓ signature verified' : '⚠ signature not verified'}
        </span>
        <time class="muted" dateTime={new Date(m.hlc).toISOString()}>
          {new Date(m.hlc).toLocaleString()}
        </time>
      </p>
      {m.text !== undefined && (
        <p class="message-text" data-testid="message-text">
          {m.text}
        </p>
      )}
      {m.file && <FileLink file={m.file} controller={controller} />}
    </li>
  );
}

function Conversation({ state, controller }: { state: AppState; controller: AppController }) {
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  const { messages, selected, uploads, hiddenOlder } = state.channels;
  const channel = state.channels.channels.find((c) => c.hash === selected);
  useEffect(() => {
    list.current?.scrollTo({ top: list.current.scrollHeight });
  }, [messages.length, selected]);
  if (!channel) return <p class="muted conversation-empty">Choose a channel, or create one.</p>;
  const send = async () => {
    if (text.trim() === '') return;
    if (await controller.sendText(text)) setText('');
  };
  return (
    <section class="conversation" aria-label={`Channel ${channel.name}`}>
      <h2>{channel.name}</h2>
      {hiddenOlder > 0 && <p class="muted">{hiddenOlder} older messages are not shown.</p>}
      <ol class="messages" ref={list} aria-live="polite">
        {messages.map((m) => (
          <Message key={m.hash} m={m} controller={controller} />
        ))}
        {messages.length === 0 && <li class="muted">No messages yet.</li>}
      </ol>
      {uploads
        .filter((u) => u.channel === selected)
        .map((u) => (
          <p key={u.id} class="upload">
            Sending {u.name} · {formatBytes(u.bytesDone)} of {formatBytes(u.bytesTotal)}
            <progress data-testid="transfer-progress" max={Math.max(1, u.bytesTotal)} value={u.bytesDone} aria-label={`Sending ${u.name}`} />
          </p>
        ))}
      <form
        class="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <label for="message-input" class="visually-hidden">
          Message
        </label>
        <input id="message-input" data-testid="message-input" type="text" placeholder={`Message ${channel.name}`} autoComplete="off" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" data-testid="message-send" disabled={text.trim() === ''}>
          Send
        </button>
        <label class="file-button">
          Send a file
          <input
            type="file"
            data-testid="file-input"
            onChange={(e) => {
              const input = e.target as HTMLInputElement;
              const files = [...(input.files ?? [])];
              input.value = '';
              for (const f of files) void controller.sendFile(browserFileSource(f));
            }}
          />
        </label>
      </form>
    </section>
  );
}

export function ChannelsScreen({ state, controller }: { state: AppState; controller: AppController }) {
  const { channels, selected } = state.channels;
  return (
    <Screen name="channels" title="Channels">
      <div class="channels">
        <aside class="channel-list">
          <ul aria-label="Channels">
            {channels.map((c) => (
              <li key={c.hash}>
                <button type="button" data-testid="channel-item" data-name={c.name} aria-current={c.hash === selected ? 'true' : undefined} onClick={() => void controller.selectChannel(c.hash)}>
                  {c.name}
                </button>
              </li>
            ))}
          </ul>
          {channels.length === 0 && <p class="muted">No channels yet.</p>}
          <CreateChannel state={state} controller={controller} />
        </aside>
        <Conversation state={state} controller={controller} />
      </div>
    </Screen>
  );
}
