/**
 * A lowdb adapter for small state that must survive crashes and power loss: each write
 * goes to a temporary file (mode 0600), is fsynced, renamed over the old file, and the
 * directory is fsynced. A reader therefore sees the old state or the new one, never half
 * of one. (lowdb's own JSONFile renames without fsync: atomic against a process crash,
 * not against power loss.) The file is parsed through an injected validator, so a damaged
 * or foreign file is reported instead of half-trusted. Temporary files a killed process left
 * behind are removed when the file is next read (at open).
 */
import { open, readdir, rename, mkdir, unlink } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { KithError } from '../errors.js';
import { MAX_STATE_FILE_BYTES } from '../limits.js';

export class DurableJsonFile<T> implements Adapter<T> {
  private seq = 0;

  constructor(
    private readonly path: string,
    private readonly validate: (value: unknown) => T,
    /** Test hook: runs after the temporary file is durable and before the rename (crash simulation). */
    private readonly beforeRename?: () => Promise<void> | void,
  ) {}

  async read(): Promise<T | null> {
    await this.removeStrayTempFiles();
    let text: string;
    try {
      const handle = await open(this.path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > MAX_STATE_FILE_BYTES) throw new KithError('INVALID_INPUT', `${basename(this.path)} is larger than ${MAX_STATE_FILE_BYTES} bytes`);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new KithError('INVALID_INPUT', `${basename(this.path)} is not valid JSON`);
    }
    return this.validate(value);
  }

  /**
   * Deletes this file's temporary files written by processes that no longer run (a write cut
   * off by a kill before its rename). A live writer's files are left alone, whoever it is.
   */
  private async removeStrayTempFiles(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dirname(this.path));
    } catch {
      return;
    }
    const prefix = `.${basename(this.path)}.`;
    for (const name of names) {
      if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
      const pid = Number(name.slice(prefix.length).split('.')[0]);
      if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || isRunning(pid)) continue;
      await unlink(join(dirname(this.path), name)).catch(() => {});
    }
  }

  async write(data: T): Promise<void> {
    const dir = dirname(this.path);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${++this.seq}.tmp`);
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(JSON.stringify(data));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await this.beforeRename?.();
      await rename(tmp, this.path);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  }
}

/** Whether a process with this id exists (EPERM: it does, under another user). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
