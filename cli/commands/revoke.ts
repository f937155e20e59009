/**
 * `kith revoke PERSON_ID`: revokes a contact. Their sessions close now, their instances are
 * refused from then on (durably, across restarts), and pairing again does not undo it.
 */
import { defineCommand, UsageError } from '../args.js';
import { sanitizeForTerminal } from '../output.js';
import { parsePersonId, type PersonId } from '../../shared/ids.js';

export const revoke = defineCommand({
  summary: 'revoke a contact: close and refuse their connections from now on',
  usage: 'kith revoke PERSON_ID',
  details: 'PERSON_ID is the 64 hex characters `kith contacts` shows.',
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    let personId: PersonId;
    try {
      personId = parsePersonId(ctx.positionals[0]);
    } catch {
      throw new UsageError('PERSON_ID: expected 64 lowercase hex characters (see `kith contacts`)', 'revoke');
    }
    const { withNode } = await import('../nodeHome.js');
    const revoked = await withNode(ctx, ({ node }) => node.revoke(personId));
    ctx.out.result(
      { revoked: { personId: revoked.personId, name: revoked.name } },
      `Revoked ${sanitizeForTerminal(revoked.name)} (${revoked.personId}): their instances are refused from now on.`,
    );
  },
});
