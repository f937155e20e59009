/**
 * Invite another device: main makes a one-time invitation, shown as a QR code and a link,
 * with its expiry counting down; refresh makes a new one, revoke withdraws it.
 */
import { useState } from 'preact/hooks';
import type { AppController, AppState, InviteView } from '../AppController.js';
import { formatCountdown, formatSas } from './format.js';
import { Screen } from './Screen.js';

const TTL_CHOICES: ReadonlyArray<{ seconds: number; label: string }> = [
  { seconds: 60, label: '1 minute' },
  { seconds: 300, label: '5 minutes' },
  { seconds: 600, label: '10 minutes' },
  { seconds: 3600, label: '1 hour' },
  { seconds: 86400, label: '1 day' },
];

function expiryText(invite: InviteView, nowMs: number): string {
  switch (invite.status) {
    case 'open': {
      const left = invite.expiresAt - nowMs / 1000;
      return left > 0 ? `Expires in ${formatCountdown(left)}` : 'Expired';
    }
    case 'expired':
      return 'Expired';
    case 'used':
      return invite.pairedName ? `Used by ${invite.pairedName}` : 'Used';
    case 'revoked':
      return 'Withdrawn';
    case 'burned':
      return 'Blocked after too many failed attempts';
  }
}

export function InviteScreen({ state, controller }: { state: AppState; controller: AppController }) {
  // The lifetime lives in the controller's state, so it survives a visit to another screen.
  const ttl = state.inviteTtlSeconds;
  const [copied, setCopied] = useState(false);
  const invite = state.invite;
  const open = invite?.status === 'open';
  return (
    <Screen
      name="invite"
      title="Invite a device"
      intro="Show this code to the other device (Accept → Scan), or send it the link. It works once, and only until it expires."
    >
      {!state.companion && <p class="muted">Waiting for the connection to Kith…</p>}
      {invite && (
        <div class={`invite invite-${invite.status}`}>
          {open && <img class="qr" data-testid="invite-qr" src={invite.qr} alt="QR code of the invitation" />}
          <p class="expiry" data-testid="invite-expiry" aria-live="polite">
            {expiryText(invite, state.now)}
          </p>
          {invite.status === 'used' && invite.pairedName && (
            <p class="success" role="status">
              Paired with <strong>{invite.pairedName}</strong>.
              {invite.sas && <> Security code {formatSas(invite.sas)}; it should match the code on the other device.</>}
            </p>
          )}
          {open && (
            <div class="link-box">
              <h2 class="label">Invitation link</h2>
              <code class="link" data-testid="invite-link">
                {invite.link}
              </code>
              <button
                type="button"
                onClick={() => {
                  void navigator.clipboard?.writeText(invite.link).then(
                    () => setCopied(true),
                    () => setCopied(false),
                  );
                }}
              >
                {copied ? 'Copied' : 'Copy link'}
              </button>
            </div>
          )}
        </div>
      )}
      <div class="actions">
        <label for="invite-ttl">Valid for</label>
        <select id="invite-ttl" data-testid="invite-ttl" value={String(ttl)} onChange={(e) => controller.setInviteTtl(Number((e.target as HTMLSelectElement).value))}>
          {TTL_CHOICES.map((c) => (
            <option key={c.seconds} value={String(c.seconds)}>
              {c.label}
            </option>
          ))}
        </select>
        <button
          type="button"
          class="primary"
          data-testid="invite-refresh"
          disabled={!state.companion || state.inviteBusy}
          onClick={() => {
            setCopied(false);
            void controller.refreshInvite(ttl);
          }}
        >
          {invite ? 'New invitation' : 'Create invitation'}
        </button>
        <button type="button" class="danger" data-testid="invite-revoke" disabled={!open} onClick={() => void controller.revokeInvite()}>
          Withdraw
        </button>
      </div>
    </Screen>
  );
}
