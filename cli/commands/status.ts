/**
 * `kith status`: whether the node runs and where it listens, each contact instance's
 * connection, per-peer sync progress, and the store's size.
 */
import { defineCommand } from '../args.js';
import { formatFields, sanitizeForTerminal } from '../output.js';
import type { StatusReport } from '../control/NodeService.js';
import { formatMiB } from '../progress.js';


function describe(s: StatusReport): string {
  const lines = [
    formatFields([
      ['node', s.running ? `running, listening on ${s.listening ?? '(nothing)'}` : 'not running (start it with `kith serve`)'],
      ['name', s.identity.name],
      ['person', s.identity.personId],
      ['instance', s.identity.instanceId],
      ['store', `${s.store.objects} objects, ${s.store.chunks} blob chunks, ${formatMiB(s.store.bytes)}`],
    ]),
  ];
  if (s.connections.length) {
    lines.push('Connections:');
    for (const c of s.connections) {
      lines.push(`  ${sanitizeForTerminal(c.name)}  ${c.instanceId.slice(0, 12)}…  ${c.state}${c.failures ? ` (${c.failures} failures${c.lastError ? `, last ${c.lastError}` : ''})` : ''}`);
    }
  }
  if (s.sync.length) {
    lines.push('Sync:');
    for (const p of s.sync) {
      lines.push(
        `  ${p.direction === 'send' ? 'to  ' : 'from'} ${sanitizeForTerminal(p.peer.name)}: ${p.objectsDone}/${p.objectsTotal} objects, ${formatMiB(p.bytesDone)} of ${formatMiB(p.bytesTotal)}${p.caughtUp ? ', caught up' : ''}`,
      );
    }
  }
  return lines.join('\n');
}

export const status = defineCommand({
  summary: 'show connections, sync progress and store size',
  usage: 'kith status',
  details: 'With --json: {running, listening?, identity, connections[], sync[], store}.',
  options: {},
  async run(ctx) {
    const { withNode } = await import('../nodeHome.js');
    const report = await withNode(ctx, ({ node }) => node.status());
    ctx.out.result({ ...report }, describe(report));
  },
});
