/**
 * A minimal typed event emitter that works in Node and the browser (Node's EventEmitter
 * is not available in the renderer). A listener that throws is reported through the
 * `onListenerError` hook instead of unwinding into whoever emitted — a socket callback
 * must never throw because a UI listener did.
 */
export type EventMap = { [event: string]: unknown };
export type Listener<T> = (payload: T) => void;

export class TypedEmitter<E extends EventMap> {
  private readonly listeners = new Map<keyof E, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (err: unknown, event: keyof E) => void = defaultListenerError) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(listener as Listener<never>);
  }

  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(payload);
      } catch (err) {
        this.onListenerError(err, event);
      }
    }
  }

  listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  removeAllListeners(): void {
    this.listeners.clear();
  }
}

function defaultListenerError(err: unknown, event: PropertyKey): void {
  // Reported asynchronously so the emitter's caller keeps running.
  queueMicrotask(() => {
    throw Object.assign(new Error(`listener for "${String(event)}" threw`), { cause: err });
  });
}
