/** The controller's state as a Preact hook: re-renders on every change. */
import { useEffect, useState } from 'preact/hooks';
import type { AppController, AppState } from '../AppController.js';

export function useAppState(controller: AppController): AppState {
  const [state, setState] = useState(controller.state);
  useEffect(() => {
    setState(controller.state);
    const off = controller.subscribe(setState);
    return () => void off();
  }, [controller]);
  return state;
}
