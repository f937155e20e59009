/**
 * Single writer within one JavaScript realm: a store's sequences stay dense only if one
 * open store appends to its files or database. Two opens of the same location in one process
 * are a bug, so the second fails with STORE_LOCKED instead of silently interleaving writes.
 * (Between processes the home's lock file decides who owns it; between browser tabs an
 * IndexedDB store would need the Web Locks API.)
 *
 * This registry is deliberately module state: the guard is about the whole realm, and an
 * injected registry could be forgotten by exactly the caller that opens a store twice.
 */
import { KithError } from '../../shared/errors.js';

const claims = new WeakMap<object, Set<string>>();

/**
 * Claims `key` within `scope` (a path namespace, an IDBFactory …); returns the release
 * function. Throws STORE_LOCKED when the key is already claimed.
 */
export function claimStore(scope: object, key: string, what: string): () => void {
  let keys = claims.get(scope);
  if (!keys) claims.set(scope, (keys = new Set()));
  if (keys.has(key)) throw new KithError('STORE_LOCKED', `${what} is already open in this process`);
  keys.add(key);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    keys.delete(key);
  };
}
