/** First run: the person's name; this window then gets its own keys and pairs with Kith. */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { AppController, AppState } from '../AppController.js';
import { MAX_NAME_LENGTH } from '../../shared/limits.js';
import { Screen } from './Screen.js';

export function FirstRun({ state, controller }: { state: AppState; controller: AppController }) {
  const [name, setName] = useState(state.me?.name ?? state.suggestedName);
  const busy = state.busy;
  const input = useRef<HTMLInputElement>(null);
  // The name field takes the focus (the Screen's heading focus runs first: child effects run before their parents').
  useEffect(() => {
    if (!input.current?.disabled) input.current?.focus();
  }, []);
  // A start link that arrives later (same-tab navigation) brings a suggestion.
  useEffect(() => {
    if (!name && state.suggestedName) setName(state.suggestedName);
  }, [state.suggestedName]);
  return (
    <Screen
      name="first-run"
      title="Welcome to Kith"
      intro="This window gets its own keys, kept in this browser profile, and pairs with the Kith app running on this computer. Your name is shown to the people and devices you pair with."
    >
      <form
        class="stack"
        onSubmit={(e) => {
          e.preventDefault();
          void controller.submitName(name);
        }}
      >
        <label for="name-input">Your name</label>
        <input
          id="name-input"
          data-testid="name-input"
          type="text"
          autoComplete="name"
          maxLength={MAX_NAME_LENGTH}
          required
          value={name}
          disabled={busy || state.me !== undefined}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
          ref={input}
        />
        <button type="submit" class="primary" data-testid="name-submit" disabled={busy}>
          {busy ? 'Starting…' : state.me ? 'Connect to Kith' : 'Start'}
        </button>
      </form>
    </Screen>
  );
}

/** While this window pairs with Kith (after the name, or by itself when it already has one). */
export function Pairing() {
  return (
    <Screen name="pairing" title="Connecting to Kith…" intro="This window is pairing with the Kith app on this computer. It takes a moment.">
      <p class="muted" role="status">
        Exchanging keys…
      </p>
    </Screen>
  );
}
