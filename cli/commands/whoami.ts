/**
 * `kith whoami`: the person and instance of this home, from the public identity alone
 * (no passphrase), after verifying its certificate and profile signatures.
 */
import { defineCommand } from '../args.js';
import { loadPublicIdentity } from '../home.js';
import { formatFields } from '../output.js';
import { toBase64url } from '../../shared/bytes.js';
import { fingerprint } from '../../shared/ids.js';

export const whoami = defineCommand({
  summary: 'show the person and instance of this home',
  usage: 'kith whoami',
  options: {},
  async run(ctx) {
    const id = await loadPublicIdentity(ctx.home, ctx.crypto);
    const result = { personId: id.personId, instanceId: id.instanceId, name: id.name, staticKey: toBase64url(id.staticKey) };
    ctx.out.result(
      result,
      formatFields([
        ['name', id.name],
        ['person', id.personId],
        ['fingerprint', fingerprint(id.personId)],
        ['instance', `${id.instanceId} (${id.instanceName})`],
        ['static key', result.staticKey],
      ]),
    );
  },
});
