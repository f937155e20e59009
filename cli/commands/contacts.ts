/**
 * `kith contacts`: the people this node paired with and their instances — with each
 * instance's live connection state when `kith serve` runs for this home.
 */
import { defineCommand } from '../args.js';
import { sanitizeForTerminal } from '../output.js';
import type { ContactListing } from '../control/NodeService.js';

function describe(c: ContactListing): string {
  const head = `${sanitizeForTerminal(c.name)}  ${c.personId}${c.relation === 'contact' ? '' : `  (${c.relation})`}${c.revoked ? '  REVOKED' : ''}`;
  const rows = c.instances.map((i) => {
    const state = i.state === undefined ? '' : `  ${i.state}${i.failures ? ` after ${i.failures} failure${i.failures === 1 ? '' : 's'}` : ''}${i.lastError ? ` (${i.lastError})` : ''}`;
    return `  ${sanitizeForTerminal(i.name)}  ${i.instanceId}${state}`;
  });
  return [head, ...rows].join('\n');
}

export const contacts = defineCommand({
  summary: 'list contacts, with connection state when the node runs',
  usage: 'kith contacts',
  details: 'With --json: one object per contact per line ({personId, name, relation, revoked, pairedAt, instances[]}).',
  options: {},
  async run(ctx) {
    const { withNode } = await import('../nodeHome.js');
    const { list, served } = await withNode(ctx, async ({ node, served }) => ({ list: await node.contacts(), served }));
    if (ctx.out.json) {
      for (const c of list) ctx.out.result({ ...c });
      return;
    }
    const note = served ? '' : '\n(the node is not running: no connection states)';
    ctx.out.result({}, list.length === 0 ? 'No contacts yet: `kith invite` or `kith accept URL`.' : `${list.map(describe).join('\n')}${note}`);
  },
});
