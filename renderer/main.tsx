/**
 * The renderer's entry point (bundled as app.js by renderer/build.ts): boots the window and
 * renders the app, the second-tab notice, or why Kith cannot start.
 */
import './styles.css';
import { render } from 'preact';
import { boot } from './boot.js';
import { App, AlreadyOpen, CannotStart } from './views/App.js';
import { adviseError } from './errorText.js';

const root = document.getElementById('app');
if (root) {
  boot(window, (outcome) => {
    // The static "Starting Kith…" placeholder of index.html goes; Preact owns the root from here.
    root.replaceChildren();
    switch (outcome.kind) {
      case 'already-open':
        render(<AlreadyOpen />, root);
        return;
      case 'unsupported':
        render(<CannotStart reason={`this browser does not offer ${outcome.missing}.`} />, root);
        return;
      case 'failed':
        render(<CannotStart reason={adviseError(outcome.code, 'general').text} code={outcome.code} />, root);
        return;
      case 'app': {
        const { controller, startLink, bridge } = outcome;
        render(<App controller={controller} />, root);
        bridge?.onOpenLink((link) => controller.openLink(link));
        void controller.start(startLink);
      }
    }
  });
}
