/**
 * Where a home's control socket lives: `control.sock` in the home (a Unix domain socket),
 * or on Windows a named pipe whose name is derived from the home's path (named pipes live
 * in their own namespace, not in the filesystem).
 */
import { createHash } from 'node:crypto';
import { homePaths } from '../home.js';
import { KithError } from '../../shared/errors.js';
import { MAX_CONTROL_SOCKET_PATH_BYTES } from '../../shared/limits.js';

export interface ControlSocketAddress {
  /** What net.listen / net.connect take. */
  readonly path: string;
  /** True for a filesystem socket (mode, owner and stale files apply); false for a Windows pipe. */
  readonly isFile: boolean;
}

export function controlSocketAddress(home: string, platform: NodeJS.Platform = process.platform): ControlSocketAddress {
  const paths = homePaths(home);
  if (platform === 'win32') {
    const tag = createHash('sha256').update(paths.root.toLowerCase()).digest('hex').slice(0, 32);
    return { path: `\\\\.\\pipe\\kith-${tag}`, isFile: false };
  }
  if (Buffer.byteLength(paths.controlSocket) > MAX_CONTROL_SOCKET_PATH_BYTES) {
    throw new KithError(
      'INVALID_INPUT',
      `the home's path is too long for its control socket (${Buffer.byteLength(paths.controlSocket)} bytes, the system allows ${MAX_CONTROL_SOCKET_PATH_BYTES}): use a shorter --home`,
    );
  }
  return { path: paths.controlSocket, isFile: true };
}
