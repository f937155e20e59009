/**
 * Every `kith` command by name. To add one, write `cli/commands/NAME.ts` exporting
 * `defineCommand({ summary, usage, options, run })` and add one line here; `kith --help`,
 * parsing, `--json`, errors and exit codes come from the framework (cli/kith.ts).
 */
import type { AnyCommand, CommandRegistry } from '../args.js';
import { init } from './init.js';
import { whoami } from './whoami.js';

export const COMMANDS: CommandRegistry = new Map<string, AnyCommand>([
  ['init', init],
  ['whoami', whoami],
]);
