/**
 * The window: header with the connection to main (`connection-status`), navigation
 * (`nav-<screen>`), the error banner, and the current screen. Before pairing, only the
 * first-run screen is shown.
 */
import type { AppController, AppState, ScreenName } from '../AppController.js';
import { useAppState } from './useAppState.js';
import { ErrorBanner } from './ErrorBanner.js';
import { FirstRun, Pairing } from './FirstRun.js';
import { IdentityScreen } from './IdentityScreen.js';
import { DevicesScreen } from './DevicesScreen.js';
import { InviteScreen } from './InviteScreen.js';
import { AcceptScreen } from './AcceptScreen.js';
import { ChannelsScreen } from './ChannelsScreen.js';
import { ActivityScreen } from './ActivityScreen.js';

const NAV: ReadonlyArray<{ screen: ScreenName; label: string }> = [
  { screen: 'channels', label: 'Channels' },
  { screen: 'devices', label: 'Devices' },
  { screen: 'invite', label: 'Invite' },
  { screen: 'accept', label: 'Accept' },
  { screen: 'activity', label: 'Sync activity' },
  { screen: 'identity', label: 'Identity' },
];

function statusText(s: AppState): string {
  const c = s.connection;
  const main = c.mainName ?? 'Kith';
  switch (c.state) {
    case 'unpaired':
      return 'not paired yet';
    case 'pairing':
      return 'pairing with Kith…';
    case 'connected':
      return `connected to ${main}`;
    case 'connecting':
      return `connecting to ${main}…`;
    case 'waiting':
      return `offline, retrying ${main} soon`;
    case 'idle':
      return 'offline';
  }
}

export function ConnectionStatus({ state }: { state: AppState }) {
  return (
    <p class={`status status-${state.connection.state}`} data-testid="connection-status" data-state={state.connection.state} role="status" aria-live="polite">
      <span class="dot" aria-hidden="true" />
      {statusText(state)}
    </p>
  );
}

function Header({ state }: { state: AppState }) {
  return (
    <header class="top">
      <span class="brand">Kith</span>
      {state.me && <span class="who">{state.me.name}</span>}
      <ConnectionStatus state={state} />
    </header>
  );
}

function CurrentScreen({ state, controller }: { state: AppState; controller: AppController }) {
  switch (state.screen) {
    case 'identity':
      return <IdentityScreen state={state} />;
    case 'devices':
      return <DevicesScreen state={state} controller={controller} />;
    case 'invite':
      return <InviteScreen state={state} controller={controller} />;
    case 'accept':
      return <AcceptScreen state={state} controller={controller} />;
    case 'channels':
      return <ChannelsScreen state={state} controller={controller} />;
    case 'activity':
      return <ActivityScreen state={state} />;
  }
}

export function App({ controller }: { controller: AppController }) {
  const state = useAppState(controller);
  if (state.phase === 'starting') {
    return (
      <p class="boot" role="status">
        Starting Kith…
      </p>
    );
  }
  const banner = state.error && <ErrorBanner error={state.error} controller={controller} />;
  if (state.phase !== 'ready') {
    return (
      <div class="shell shell-narrow">
        <Header state={state} />
        <main class="content">
          {banner}
          {state.phase === 'fatal' ? (
            <section class="screen" data-testid="screen-failed">
              <h1>Kith could not start</h1>
            </section>
          ) : state.phase === 'pairing' ? (
            <Pairing />
          ) : (
            <FirstRun state={state} controller={controller} />
          )}
        </main>
      </div>
    );
  }
  return (
    <div class="shell">
      <Header state={state} />
      <nav class="nav" aria-label="Screens">
        {NAV.map((n) => (
          <button
            type="button"
            key={n.screen}
            data-testid={`nav-${n.screen}`}
            aria-current={state.screen === n.screen ? 'page' : undefined}
            onClick={() => controller.navigate(n.screen)}
          >
            {n.label}
          </button>
        ))}
      </nav>
      <main class="content">
        {banner}
        <CurrentScreen state={state} controller={controller} />
      </main>
    </div>
  );
}

/** Shown instead of the app in a second tab of the same profile (contract 4). */
export function AlreadyOpen() {
  return (
    <main class="content notice" data-testid="already-open">
      <h1>Kith is already open in another tab</h1>
      <p>Only one window can be connected to Kith at a time. Switch to the other tab, or close it and reload this one.</p>
    </main>
  );
}

/** Shown when the browser lacks something Kith needs, or the window storage cannot open. */
export function CannotStart({ reason, code }: { reason: string; code?: string }) {
  return (
    <main class="content notice">
      <div class="banner banner-error" role="alert" data-testid="error-banner" data-code={code ?? 'INTERNAL'}>
        <p class="banner-text">Kith cannot start in this window: {reason}</p>
        <p class="banner-next" data-testid="error-action">
          Reload the window; if that does not help, restart Kith.
        </p>
      </div>
    </main>
  );
}
