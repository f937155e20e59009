/**
 * `kith ls`: the objects in this node's store (not the raw chunks of blobs), oldest first,
 * with type, size and author — the author's name when it is this node or a contact.
 */
import { defineCommand } from '../args.js';
import { sanitizeForTerminal } from '../output.js';
import type { ObjectListing } from '../control/NodeService.js';

function row(o: ObjectListing): string {
  const author = o.author === undefined ? '' : `  ${o.authorName !== undefined ? sanitizeForTerminal(o.authorName) : `${o.author.slice(0, 12)}…`}`;
  return `${o.hash}  ${sanitizeForTerminal(o.type).padEnd(20)} ${String(o.size).padStart(9)}${author}`;
}

export const ls = defineCommand({
  summary: 'list stored objects with type, size and author',
  usage: 'kith ls',
  details: 'With --json: one object per line ({hash, type, size, seq, author?, authorName?}).',
  options: {},
  async run(ctx) {
    const { withNode } = await import('../nodeHome.js');
    await withNode(ctx, async ({ node }) => {
      let count = 0;
      for await (const o of node.ls()) {
        count++;
        if (ctx.out.json) ctx.out.result({ ...o });
        else ctx.out.result({}, row(o));
      }
      if (count === 0 && !ctx.out.json) ctx.out.result({}, 'The store is empty.');
    });
  },
});
