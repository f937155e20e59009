/**
 * Every `kith` command by name. To add one, write `cli/commands/NAME.ts` exporting
 * `defineCommand({ summary, usage, options, run })` and add one line here; `kith --help`,
 * parsing, `--json`, errors and exit codes come from the framework (cli/kith.ts).
 */
import type { AnyCommand, CommandRegistry } from '../args.js';
import { init } from './init.js';
import { whoami } from './whoami.js';
import { serve } from './serve.js';
import { invite } from './invite.js';
import { invites } from './invites.js';
import { accept } from './accept.js';
import { contacts } from './contacts.js';
import { revoke } from './revoke.js';
import { put } from './put.js';
import { get } from './get.js';
import { ls } from './ls.js';
import { status } from './status.js';

export const COMMANDS: CommandRegistry = new Map<string, AnyCommand>([
  ['init', init],
  ['whoami', whoami],
  ['serve', serve],
  ['invite', invite],
  ['invites', invites],
  ['accept', accept],
  ['contacts', contacts],
  ['revoke', revoke],
  ['put', put],
  ['get', get],
  ['ls', ls],
  ['status', status],
]);
