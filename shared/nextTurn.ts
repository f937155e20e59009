/**
 * A macrotask: lets the event loop serve other sockets and timers before `run`.
 * setImmediate where it exists (Node: a 0 ms timer costs a millisecond there), a 0 ms
 * timer elsewhere (browsers). Portable, so layers below the hosts may use it.
 */
export const nextTurn: (run: () => void) => void =
  typeof globalThis.setImmediate === 'function' ? (run) => void setImmediate(run) : (run) => void setTimeout(run, 0);

/** Resolves on the next macrotask (see nextTurn). */
export function yieldTurn(): Promise<void> {
  return new Promise((resolve) => nextTurn(resolve));
}
