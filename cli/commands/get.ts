/**
 * `kith get HASH [-o FILE] [--force]`: writes a stored object (its canonical JSON) or a
 * blob (its bytes) — to FILE, or to stdout. FILE is written next to its final name and
 * moved into place only when complete, and an existing FILE is kept unless `--force`.
 * With `--json` and no FILE, an object is printed as `{ hash, type, object }`; a blob then
 * needs `-o` (raw bytes are not a JSON line).
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { defineCommand, parsePathArg, UsageError, type CommandContext } from '../args.js';
import { withProgress } from '../progress.js';
import { readAllBounded } from '../readAll.js';
import { KithError } from '../../shared/errors.js';
import { parseJson } from '../../shared/canonical.js';
import { parseObjectHash, type ObjectHash } from '../../shared/ids.js';
import { MAX_OBJECT_BYTES } from '../../shared/limits.js';
import type { ObjectHeader } from '../control/NodeService.js';

const exists = (p: string) => fsp.lstat(p).then(() => true, () => false);

/** Hard links are missing on some filesystems; there an existence check plus rename has to do. */
const NO_LINK = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV']);

/** Streams `body` into a temp file beside `target`, then publishes it (never over an existing file without `force`). */
async function writeFile(target: string, body: AsyncIterable<Uint8Array>, force: boolean): Promise<void> {
  const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${Date.now()}.kith-get.tmp`);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(tmp, 'wx', 0o644);
  } catch (err) {
    throw new KithError('INVALID_INPUT', `cannot write in ${path.dirname(target)} (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`);
  }
  try {
    try {
      for await (const piece of body) await handle.write(piece);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (force) {
      await fsp.rename(tmp, target);
      return;
    }
    try {
      await fsp.link(tmp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (!NO_LINK.has(code) && code !== 'EEXIST') throw err;
      if (code === 'EEXIST' || (await exists(target))) throw new KithError('ALREADY_EXISTS', `${target} exists: pass --force to overwrite it`);
      await fsp.rename(tmp, target);
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}

type GetContext = CommandContext<{ readonly output?: string; readonly force?: boolean }>;

async function deliver(ctx: GetContext, hash: ObjectHash, header: ObjectHeader, body: AsyncIterable<Uint8Array>, target: string | undefined): Promise<void> {
  if (target !== undefined) {
    await writeFile(target, withProgress(body, ctx.out, { verb: 'written', total: header.size, now: ctx.now }), ctx.values.force === true);
    ctx.out.result({ hash, kind: header.kind, type: header.type, size: header.size, file: target }, `wrote ${header.size} bytes (${header.kind === 'blob' ? 'blob' : header.type}) to ${target}`);
    return;
  }
  if (ctx.out.json) {
    if (header.kind === 'blob') throw new UsageError('this hash is a blob (raw bytes): with --json, write it to a file with -o FILE', 'get');
    const object = parseJson(await readAllBounded(body, MAX_OBJECT_BYTES, () => new KithError('OBJECT_TOO_LARGE')), { integersOnly: true });
    ctx.out.result({ hash, type: header.type, object });
    return;
  }
  for await (const piece of body) await ctx.writeStdout(piece);
  // A JSON object is text: end it with a newline on a terminal or in a pipe (files get the exact canonical bytes).
  if (header.kind === 'object') await ctx.writeStdout(new Uint8Array([0x0a]));
}

export const get = defineCommand({
  summary: 'write a stored object or blob to a file or stdout',
  usage: 'kith get HASH [-o FILE] [--force]',
  details: [
    'Options:',
    '  -o, --output FILE  write to FILE (exact bytes: canonical JSON for objects) instead of stdout',
    '  --force            replace FILE if it exists',
  ].join('\n'),
  options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    let hash: ObjectHash;
    try {
      hash = parseObjectHash(ctx.positionals[0]);
    } catch {
      throw new UsageError('HASH: expected 64 lowercase hex characters (as `kith put` or `kith ls` print)', 'get');
    }
    const target = ctx.values.output === undefined ? undefined : parsePathArg(ctx.values.output, '-o', ctx.cwd);
    if (target !== undefined && ctx.values.force !== true && (await exists(target))) {
      throw new KithError('ALREADY_EXISTS', `${target} exists: pass --force to overwrite it`);
    }
    const { withNode } = await import('../nodeHome.js');
    await withNode(ctx, async ({ node }) => {
      const { header, body } = await node.get(hash);
      await deliver(ctx, hash, header, body, target);
    });
  },
});
