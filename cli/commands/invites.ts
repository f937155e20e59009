/**
 * `kith invites` lists the invitations this node remembers (never their links: those exist
 * only when created); `kith invites revoke ID` revokes an open one at once.
 */
import { defineCommand, UsageError } from '../args.js';
import { sanitizeForTerminal } from '../output.js';
import { parseInviteId, type InviteId } from '../../shared/ids.js';
import type { InviteListing } from '../control/NodeService.js';

function line(i: InviteListing): string {
  return `${i.inviteId}  ${i.status.padEnd(7)}  expires ${i.expiresAt}  ${i.failedAttempts} failed attempt${i.failedAttempts === 1 ? '' : 's'}`;
}

export const invites = defineCommand({
  summary: 'list invitations, or revoke one (invites revoke ID)',
  usage: 'kith invites [revoke INVITE_ID]',
  details: 'With --json: one object per invitation per line ({inviteId, purpose, status, createdAt, expiresAt, failedAttempts}).',
  options: {},
  positionals: { min: 0, max: 2 },
  async run(ctx) {
    const [action, id] = ctx.positionals;
    if (action !== undefined && action !== 'revoke') throw new UsageError(`unknown action '${sanitizeForTerminal(action)}' (only 'revoke')`, 'invites');
    if (action === 'revoke' && id === undefined) throw new UsageError('invites revoke: missing INVITE_ID', 'invites');
    let inviteId: InviteId | undefined;
    if (id !== undefined) {
      try {
        inviteId = parseInviteId(id);
      } catch {
        throw new UsageError('INVITE_ID: expected the 32 hex characters `kith invite` printed', 'invites');
      }
    }
    const { withNode } = await import('../nodeHome.js');
    if (inviteId) {
      const revoked = await withNode(ctx, ({ node }) => node.revokeInvite(inviteId));
      ctx.out.result({ revoked }, `revoked invitation ${revoked.inviteId} (now ${revoked.status})`);
      return;
    }
    const list = await withNode(ctx, ({ node }) => node.invites());
    if (ctx.out.json) for (const i of list) ctx.out.result({ ...i });
    else ctx.out.result({}, list.length === 0 ? 'No invitations.' : list.map(line).join('\n'));
  },
});
