/**
 * `kith accept URL|-`: redeems an invitation link — connects to the inviter, proves who we
 * are, checks that the inviter holds the key the link names, and stores the contact on both
 * sides. `-` reads the link from stdin, which keeps it out of the process list and the shell
 * history. Failures carry the inviter's reason (INVITE_EXPIRED, INVITE_USED, …).
 */
import { defineCommand, UsageError } from '../args.js';
import { formatFields, sanitizeForTerminal } from '../output.js';
import { MAX_INVITE_LINK_INPUT_LENGTH } from '../../shared/limits.js';
import { readAllBounded } from '../readAll.js';

export const accept = defineCommand({
  summary: 'accept an invitation link and pair with its inviter',
  usage: 'kith accept URL|-',
  details: [
    'URL is the kith://pair/v1#… link from `kith invite`; - reads it from stdin (keeps it out of `ps`).',
    'Works whether or not `kith serve` runs for this home; without it the node pairs, then stops.',
  ].join('\n'),
  options: {},
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const arg = ctx.positionals[0]!;
    // UTF-8 needs at least one byte per character, so 4 bytes per character bounds any link we would accept.
    const raw =
      arg === '-'
        ? Buffer.from(await readAllBounded(ctx.stdinBytes(), 4 * MAX_INVITE_LINK_INPUT_LENGTH, () => new UsageError(`the link on stdin is longer than ${MAX_INVITE_LINK_INPUT_LENGTH} characters`, 'accept'))).toString('utf8')
        : arg;
    // Never echo the link: it holds the invitation's secret.
    if (raw.length > MAX_INVITE_LINK_INPUT_LENGTH) throw new UsageError(`URL: longer than ${MAX_INVITE_LINK_INPUT_LENGTH} characters`, 'accept');
    const link = raw.trim();
    if (link.length === 0) throw new UsageError('URL: empty', 'accept');
    const { withNode } = await import('../nodeHome.js');
    const paired = await withNode(ctx, ({ node }) => node.accept(link));
    ctx.out.result(
      { contact: paired.contact, sas: paired.sas },
      [
        `Paired with ${sanitizeForTerminal(paired.contact.name)}.`,
        formatFields([
          ['person', paired.contact.personId],
          ['instance', paired.contact.instanceId],
          ['security code', `${paired.sas} (should match the inviter's)`],
        ]),
      ].join('\n'),
    );
  },
});
