/**
 * `kith put FILE|- [--share PERSON_ID]… [--json-object]`: stores a file (or stdin) in this
 * node's object store — as a blob by default, or with `--json-object` as one JSON object
 * (validated and stored canonically) — and grants each `--share` person access, so CHUM sends
 * it to them. Prints `{ hash }` (plus kind, type, size, shared, grant). Large inputs show
 * progress on stderr.
 */
import { promises as fsp } from 'node:fs';
import { defineCommand, parsePathArg, UsageError } from '../args.js';
import { formatFields } from '../output.js';
import { withProgress } from '../progress.js';
import { KithError } from '../../shared/errors.js';
import { parsePersonId, type PersonId } from '../../shared/ids.js';
import { BLOB_CHUNK_BYTES, MAX_JSON_OBJECT_FILE_BYTES, TYPE_LIMITS } from '../../shared/limits.js';

function parseShare(values: readonly string[]): PersonId[] {
  if (values.length > TYPE_LIMITS.maxGrantPersons) throw new UsageError(`--share: at most ${TYPE_LIMITS.maxGrantPersons} persons`, 'put');
  return [
    ...new Set(
      values.map((v) => {
        try {
          return parsePersonId(v);
        } catch {
          throw new UsageError('--share: expected a person id (64 lowercase hex characters, see `kith contacts`)', 'put');
        }
      }),
    ),
  ];
}

/** Opens FILE for reading, with errors that name the problem. */
async function openInput(file: string, kind: 'blob' | 'object'): Promise<{ handle: fsp.FileHandle; size?: number }> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new KithError('NOT_FOUND', `no such file: ${file}`);
    throw new KithError('INVALID_INPUT', `cannot read ${file} (${code ?? 'I/O error'})`);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new KithError('INVALID_INPUT', `${file} is a directory`);
    if (kind === 'object' && st.isFile() && st.size > MAX_JSON_OBJECT_FILE_BYTES) {
      throw new KithError('OBJECT_TOO_LARGE', `a JSON object file may hold at most ${MAX_JSON_OBJECT_FILE_BYTES} bytes`);
    }
    return { handle, ...(st.isFile() ? { size: st.size } : {}) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

export const put = defineCommand({
  summary: 'store a file or stdin (blob, or JSON object) and share it with contacts',
  usage: 'kith put FILE|- [--share PERSON_ID]... [--json-object]',
  details: [
    'Options:',
    '  --share PERSON_ID  grant this contact access (repeat for several); it syncs to them',
    '  --json-object      store the input as one JSON object (needs a "$type"; numbers must be integers)',
    '',
    'Prints the hash to `kith get` it with. - reads stdin.',
  ].join('\n'),
  options: { share: { type: 'string', multiple: true }, 'json-object': { type: 'boolean' } },
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const share = parseShare(ctx.values.share ?? []);
    const kind = ctx.values['json-object'] ? 'object' : 'blob';
    const arg = ctx.positionals[0]!;
    const input = arg === '-' ? undefined : await openInput(parsePathArg(arg, 'FILE', ctx.cwd), kind);
    try {
      const raw = input ? input.handle.createReadStream({ highWaterMark: BLOB_CHUNK_BYTES, autoClose: false }) : ctx.stdinBytes();
      const source = withProgress(raw, ctx.out, { verb: 'stored', total: input?.size, now: ctx.now });
      const { withNode } = await import('../nodeHome.js');
      const stored = await withNode(ctx, ({ node }) => node.put(source, { kind, share }));
      ctx.out.result(
        { ...stored },
        formatFields([
          ['hash', stored.hash],
          ['stored', `${stored.kind === 'blob' ? 'blob' : `object (${stored.type})`}, ${stored.size} bytes`],
          ...(stored.shared.length ? ([['shared with', stored.shared.join(', ')]] as const) : []),
        ]),
      );
    } finally {
      await input?.handle.close();
    }
  },
});
