/**
 * The plain-language error banner (`error-banner`, `data-code` = the Kith code) with the next
 * step (`error-action`): a button when the app can do it, a sentence when the person must.
 */
import type { AppController, ShownError } from '../AppController.js';

export function ErrorBanner({ error, controller }: { error: ShownError; controller: AppController }) {
  return (
    <div class="banner banner-error" role="alert" data-testid="error-banner" data-code={error.code}>
      <p class="banner-text">{error.text}</p>{' '}
      {error.next &&
        (error.action ? (
          <button type="button" class="primary" data-testid="error-action" onClick={() => void controller.runErrorAction()}>
            {error.next}
          </button>
        ) : (
          <p class="banner-next" data-testid="error-action">
            {error.next}
          </p>
        ))}
      <button type="button" class="banner-close" aria-label="Dismiss this message" onClick={() => controller.dismissError()}>
        ×
      </button>
    </div>
  );
}
