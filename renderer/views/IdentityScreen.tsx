/** Who this window is, and which Kith app it belongs to, with short fingerprints to compare. */
import type { AppState } from '../AppController.js';
import { fingerprint } from '../../shared/ids.js';
import { Screen } from './Screen.js';

export function IdentityScreen({ state }: { state: AppState }) {
  const me = state.me;
  const main = state.main;
  return (
    <Screen
      name="identity"
      title="Identity"
      intro="This window acts for you with keys of its own; the Kith app on this computer has separate keys. Compare fingerprints when you check a pairing in person."
    >
      {me && (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{me.name}</dd>
          <dt>Fingerprint</dt>
          <dd class="fingerprint" data-testid="fingerprint">
            {fingerprint(me.personId)}
          </dd>
          <dt>Person id</dt>
          <dd>
            <code data-testid="person-id">{me.personId}</code>
          </dd>
          <dt>Instance id (this window)</dt>
          <dd>
            <code data-testid="instance-id">{me.instanceId}</code>
            <span class="muted"> · {fingerprint(me.instanceId)}</span>
          </dd>
        </dl>
      )}
      {main && (
        <>
          <h2>Kith app on this computer</h2>
          <dl class="facts">
            <dt>Name</dt>
            <dd>{main.name}</dd>
            <dt>Fingerprint</dt>
            <dd class="fingerprint">{fingerprint(main.personId)}</dd>
            <dt>Person id</dt>
            <dd>
              <code data-testid="main-person-id">{main.personId}</code>
            </dd>
          </dl>
        </>
      )}
    </Screen>
  );
}
