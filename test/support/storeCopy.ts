/** A new memory store (new epoch, as after a reset or a restore) holding every entry of `from`, in its order. */
import { openMemoryStore } from '../../chum/stores/memoryStore.js';
import type { ObjectStore } from '../../chum/ObjectStore.js';
import { crypto } from './peers.js';

export async function copyStore(from: ObjectStore): Promise<ObjectStore> {
  const fresh = await openMemoryStore({ crypto });
  for (let after = 0; ; ) {
    const page = from.since(after, 500);
    if (page.length === 0) break;
    const bytes = await Promise.all(page.map((m) => from.get(m.hash)));
    await fresh.put(page.map((m, i) => ({ hash: m.hash, kind: m.kind, type: m.type, bytes: bytes[i]!, refs: m.refs, author: m.author, idHash: m.idHash })));
    after = page[page.length - 1]!.seq;
  }
  return fresh;
}
