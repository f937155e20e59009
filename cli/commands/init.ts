/**
 * `kith init --name NAME`: creates a person, this instance, its certificate and profile
 * in the home. Refuses a home that already holds an identity; asks for the passphrase
 * only after that check, so nobody types it twice for nothing.
 */
import * as os from 'node:os';
import { defineCommand, parseEmailArg, parseNameArg, requireOption } from '../args.js';
import { createHome, homeExists, homePaths, wipeLocalIdentity, PLAINTEXT_KEYS_WARNING } from '../home.js';
import { formatFields } from '../output.js';
import { KithError, hasCode } from '../../shared/errors.js';
import { MAX_NAME_LENGTH } from '../../shared/limits.js';

/** The host name when it makes a valid instance name (it tells a person's devices apart), else "kith". */
function defaultInstanceName(): string {
  try {
    return parseNameArg(os.hostname().slice(0, MAX_NAME_LENGTH), 'hostname');
  } catch {
    return 'kith';
  }
}

export const init = defineCommand({
  summary: 'create a person and this instance in the home',
  usage: 'kith init --name NAME [--instance-name NAME] [--email EMAIL] [--insecure-plaintext-keys]',
  details: [
    'Options:',
    '  --name NAME                your display name',
    '  --instance-name NAME       this instance (default: the host name)',
    '  --email EMAIL              shown to your contacts',
    '  --insecure-plaintext-keys  store the secret keys unencrypted (mode 0600) instead of under a passphrase',
    '',
    'The passphrase comes from KITH_PASSPHRASE, else a prompt on the terminal.',
  ].join('\n'),
  options: {
    name: { type: 'string' },
    'instance-name': { type: 'string' },
    email: { type: 'string' },
    'insecure-plaintext-keys': { type: 'boolean' },
  },
  async run(ctx) {
    const name = parseNameArg(requireOption(ctx.values.name, '--name'), '--name');
    const instanceOption = ctx.values['instance-name'];
    const instanceName = instanceOption === undefined ? defaultInstanceName() : parseNameArg(instanceOption, '--instance-name');
    const email = ctx.values.email === undefined ? undefined : parseEmailArg(ctx.values.email, '--email');
    const insecurePlaintext = ctx.values['insecure-plaintext-keys'] === true;
    const home = homePaths(ctx.home).root;

    if (await homeExists(home)) throw new KithError('HOME_EXISTS', `${home} already holds an identity`);
    let passphrase: string | undefined;
    if (!insecurePlaintext) {
      try {
        passphrase = await ctx.passphrase({ confirm: true });
      } catch (err) {
        if (!hasCode(err, 'PASSPHRASE_REQUIRED')) throw err;
        throw new KithError('PASSPHRASE_REQUIRED', 'init needs a passphrase to protect the keys: set KITH_PASSPHRASE, run it in a terminal, or pass --insecure-plaintext-keys');
      }
    }

    const local = await createHome(home, { name, instanceName, email, passphrase, insecurePlaintext, crypto: ctx.crypto, now: ctx.now() });
    wipeLocalIdentity(local);
    const result = {
      personId: local.personId,
      instanceId: local.instanceId,
      name: local.public.profile.name,
      staticKey: local.public.instance.staticKey,
      home,
      ...(insecurePlaintext ? { warning: PLAINTEXT_KEYS_WARNING } : {}),
    };
    if (insecurePlaintext) ctx.out.warn(PLAINTEXT_KEYS_WARNING);
    ctx.out.result(
      result,
      [
        `Created an identity in ${home}`,
        formatFields([
          ['name', result.name],
          ['person', result.personId],
          ['instance', `${result.instanceId} (${instanceName})`],
          ['static key', result.staticKey],
          ['keys', insecurePlaintext ? 'UNENCRYPTED (mode 0600)' : 'protected by your passphrase'],
        ]),
      ].join('\n'),
    );
  },
});
