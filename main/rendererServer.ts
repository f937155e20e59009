/**
 * Serves the built renderer from the main instance's listener (same origin as its
 * WebSocket endpoint, app brief contracts 1, 3 and 5). The build is read into memory once at
 * start: only the files the build wrote can ever be served (a map lookup, so no path can
 * walk out of it), only with GET or HEAD, and every response — 404 and 405 included —
 * carries the strict Content-Security-Policy and the other security headers.
 *
 * The Host header was already checked by the listener (DNS rebinding), before this runs.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KithError } from '../shared/errors.js';
import { MAX_RENDERER_BUNDLE_BYTES, MAX_RENDERER_FILES } from '../shared/limits.js';

/** One file of the build, ready to send. */
export interface RendererFile {
  readonly body: Buffer;
  readonly contentType: string;
}

/** URL path (`/app.js`) → file. */
export type RendererFiles = ReadonlyMap<string, RendererFile>;

/** Content types of what esbuild and the renderer engineer put into a build; anything else is served as bytes the browser will not sniff. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** Only names a build produces: no dot files, no spaces or escapes, so a URL path names a file exactly or not at all. */
const SERVABLE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Reads every regular file under `dir` (recursively; symlinks and dot files are skipped)
 * into memory. INTERNAL when there is no index.html or the build is implausibly large.
 */
export async function loadRendererFiles(dir: string): Promise<RendererFiles> {
  const files = new Map<string, RendererFile>();
  let total = 0;
  const walk = async (rel: string[]): Promise<void> => {
    const entries = await fsp.readdir(path.join(dir, ...rel), { withFileTypes: true });
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (!SERVABLE_NAME.test(entry.name)) continue;
      const parts = [...rel, entry.name];
      if (entry.isDirectory()) {
        await walk(parts);
        continue;
      }
      if (!entry.isFile()) continue;
      if (files.size >= MAX_RENDERER_FILES) throw new KithError('INTERNAL', `the renderer build has more than ${MAX_RENDERER_FILES} files`);
      const body = await fsp.readFile(path.join(dir, ...parts));
      total += body.length;
      if (total > MAX_RENDERER_BUNDLE_BYTES) throw new KithError('INTERNAL', `the renderer build is larger than ${MAX_RENDERER_BUNDLE_BYTES} bytes`);
      const contentType = CONTENT_TYPES[path.extname(entry.name).toLowerCase()] ?? 'application/octet-stream';
      files.set(`/${parts.join('/')}`, { body, contentType });
    }
  };
  await walk([]);
  if (!files.has('/index.html')) throw new KithError('INTERNAL', `the renderer build in ${dir} has no index.html`);
  return files;
}

/**
 * The Content-Security-Policy of contract 5. Nothing inline, nothing from elsewhere: scripts
 * and styles only from the app's origin, sockets only to it, images also from data:/blob:
 * (QR codes, pictures in messages), media from blob: (the camera preview).
 */
export function contentSecurityPolicy(origin: string): string {
  const ws = `ws://${new URL(origin).host}`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    `connect-src 'self' ${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** Headers every response carries (contract 5). */
export function securityHeaders(origin: string): Record<string, string> {
  return {
    'Content-Security-Policy': contentSecurityPolicy(origin),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    // Not in the contract, and harmless: no other origin may embed our files, and nothing is cached across builds.
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
  };
}

/** The request handler for the listener's plain-HTTP requests. */
export function rendererHandler(files: RendererFiles, origin: string): (req: IncomingMessage, res: ServerResponse) => void {
  const headers = securityHeaders(origin);
  const plain = (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...headers, ...extra, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
  };
  return (req, res) => {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'Method Not Allowed', { Allow: 'GET, HEAD' });
      const target = req.url ?? '';
      // Origin-form only ("/path?query"); the query is ignored, the path is matched as sent (never decoded, never normalized).
      if (!target.startsWith('/')) return plain(res, 400, 'Bad Request');
      const pathname = target.split(/[?#]/, 1)[0]!;
      const file = files.get(pathname === '/' ? '/index.html' : pathname);
      if (!file) return plain(res, 404, 'Not Found');
      res.writeHead(200, { ...headers, 'Content-Type': file.contentType, 'Content-Length': String(file.body.length) });
      res.end(req.method === 'HEAD' ? undefined : file.body);
    } catch {
      // A response that already failed (client gone) is nobody's problem but its own.
      res.destroy();
    }
  };
}
