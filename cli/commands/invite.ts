/**
 * `kith invite [--ttl SECONDS] [--qr]`: creates a one-time contact invitation and prints its
 * link (`{ url, inviteId, expiresAt }`). The link carries a secret token: it is printed as
 * this command's result and nowhere else. With `--qr` the link is also drawn as a QR code —
 * under the link for people, on stderr in JSON mode so the JSON line stays one object.
 */
import { defineCommand, parseIntegerArg } from '../args.js';
import { formatFields } from '../output.js';
import { INVITE_DEFAULT_TTL_SECONDS, INVITE_MAX_TTL_SECONDS } from '../../shared/limits.js';

export const invite = defineCommand({
  summary: 'create a one-time invitation link for a new contact',
  usage: 'kith invite [--ttl SECONDS] [--qr]',
  details: [
    'Options:',
    `  --ttl SECONDS  how long the invitation stays valid (default ${INVITE_DEFAULT_TTL_SECONDS}, at most ${INVITE_MAX_TTL_SECONDS})`,
    '  --qr           also draw the link as a QR code in the terminal',
    '',
    'The link works once, and only while this node runs (`kith serve`). Treat it like a password',
    'until it is used: whoever redeems it first becomes your contact.',
  ].join('\n'),
  options: { ttl: { type: 'string' }, qr: { type: 'boolean' } },
  async run(ctx) {
    const ttlSeconds = ctx.values.ttl === undefined ? undefined : parseIntegerArg(ctx.values.ttl, '--ttl', { min: 1, max: INVITE_MAX_TTL_SECONDS });
    const { withNode } = await import('../nodeHome.js');
    const created = await withNode(ctx, ({ node }) => node.invite({ ttlSeconds }), { advertiseLastListen: true });
    if (created.warning) ctx.out.warn(created.warning);
    const qr = ctx.values.qr ? await (await import('../../pairing/qr.js')).invitationQrTerminal(created.url) : undefined;
    if (qr && ctx.out.json) ctx.stderr.write(`${qr}\n`);
    ctx.out.result(
      { url: created.url, inviteId: created.inviteId, expiresAt: created.expiresAt, ...(created.warning ? { warning: created.warning } : {}) },
      [
        created.url,
        ...(qr ? ['', qr, ''] : []),
        formatFields([
          ['invite id', created.inviteId],
          ['expires', created.expiresAt],
        ]),
        'Send the link to the person (or let them scan the code). It works once.',
      ].join('\n'),
    );
  },
});
