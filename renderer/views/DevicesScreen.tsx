/** Main's contacts (this window, other devices and people) with live connection state, revoke and restore. */
import type { AppController, AppState, ContactView } from '../AppController.js';
import { fingerprint } from '../../shared/ids.js';
import { Screen } from './Screen.js';

const STATE_TEXT: Record<ContactView['state'], string> = {
  connected: 'connected',
  connecting: 'connecting…',
  waiting: 'offline, retrying',
  idle: 'offline',
};

function relationText(c: ContactView): string {
  if (c.self) return 'this window';
  if (c.relation === 'renderer') return 'a Kith window';
  if (c.relation === 'main') return 'Kith app';
  return 'device';
}

export function DevicesScreen({ state, controller }: { state: AppState; controller: AppController }) {
  const contacts = state.contacts;
  return (
    <Screen name="devices" title="Devices and contacts" intro={`Everyone ${state.main?.name ?? 'the Kith app'} is paired with, and whether they are connected right now.`}>
      {!state.companion && <p class="muted">Waiting for the connection to Kith…</p>}
      {state.companion && contacts.length === 0 && <p class="muted">No contacts yet. Use Invite or Accept to pair with another device.</p>}
      <ul class="rows">
        {contacts.map((c) => (
          <li
            key={c.personId}
            class={`row contact${c.revoked ? ' revoked' : ''}`}
            data-testid="contact-row"
            data-name={c.name}
            data-state={c.state}
            data-revoked={String(c.revoked)}
          >
            <span class={`dot dot-${c.revoked ? 'revoked' : c.state}`} aria-hidden="true" />
            <span class="row-main">
              <strong>{c.name}</strong>
              <span class="muted">
                {' '}
                · {relationText(c)} · {fingerprint(c.personId)}
              </span>
            </span>
            <span class="row-state">{c.revoked ? 'revoked' : STATE_TEXT[c.state]}</span>
            {!c.self &&
              (c.revoked ? (
                <button type="button" onClick={() => void controller.unrevokeContact(c.personId)} aria-label={`Restore ${c.name}`}>
                  Restore
                </button>
              ) : (
                <button type="button" class="danger" data-testid="revoke-contact" onClick={() => void controller.revokeContact(c.personId)} aria-label={`Revoke ${c.name}`}>
                  Revoke
                </button>
              ))}
          </li>
        ))}
      </ul>
    </Screen>
  );
}
