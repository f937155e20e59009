import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentSecurityPolicy, loadRendererFiles, rendererHandler, securityHeaders } from '../../main/rendererServer.js';
import { hasCode } from '../../shared/errors.js';

const ORIGIN = 'http://127.0.0.1:4100';
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self' ws://127.0.0.1:4100; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async function fixture(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kith-renderer-files-'));
  const outside = await mkdtemp(join(tmpdir(), 'kith-renderer-outside-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><script src="/app.js" type="module"></script>');
  await writeFile(join(dir, 'app.js'), 'console.log(1)');
  await writeFile(join(dir, 'app.css'), 'body{}');
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'assets', 'logo.svg'), '<svg/>');
  await writeFile(join(dir, '.secret'), 'dot files are never served');
  await writeFile(join(outside, 'outside.txt'), 'outside');
  await symlink(join(outside, 'outside.txt'), join(dir, 'link.txt'));
  return {
    dir,
    cleanup: async () => {
      await rm(dir, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    },
  };
}

function serve(handler: ReturnType<typeof rendererHandler>): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })));
}

/** A raw request: the path is sent exactly as given (no URL normalization by a client library). */
function get(port: number, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('the CSP is exactly contract 5, with the socket address of the origin', () => {
  assert.equal(contentSecurityPolicy(ORIGIN), CSP);
  assert.match(contentSecurityPolicy('http://[::1]:9'), /connect-src 'self' ws:\/\/\[::1\]:9;/);
  const h = securityHeaders(ORIGIN);
  assert.equal(h['X-Content-Type-Options'], 'nosniff');
  assert.equal(h['Referrer-Policy'], 'no-referrer');
  assert.equal(h['Cross-Origin-Opener-Policy'], 'same-origin');
});

test('loads only regular, plainly named files of the build', async () => {
  const f = await fixture();
  try {
    const files = await loadRendererFiles(f.dir);
    assert.deepEqual([...files.keys()].sort(), ['/app.css', '/app.js', '/assets/logo.svg', '/index.html']);
    assert.equal(files.get('/app.js')!.contentType, 'text/javascript; charset=utf-8');
    assert.equal(files.get('/assets/logo.svg')!.contentType, 'image/svg+xml');
  } finally {
    await f.cleanup();
  }
});

test('a build without index.html is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'kith-renderer-empty-'));
  try {
    await writeFile(join(dir, 'app.js'), '');
    await assert.rejects(loadRendererFiles(dir), (err) => hasCode(err, 'INTERNAL') && /index\.html/.test((err as Error).message));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serves known files with the security headers; everything else is 404/405 with the same headers', async () => {
  const f = await fixture();
  const { server, port } = await serve(rendererHandler(await loadRendererFiles(f.dir), ORIGIN));
  try {
    const index = await get(port, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /app\.js/);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(index.headers['content-security-policy'], CSP);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    assert.equal(index.headers['referrer-policy'], 'no-referrer');
    assert.equal(index.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal((await get(port, '/index.html?x=1')).status, 200);
    assert.equal((await get(port, '/app.css')).headers['content-type'], 'text/css; charset=utf-8');

    const head = await get(port, '/app.js', 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String('console.log(1)'.length));

    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']) {
      const r = await get(port, '/', method);
      assert.equal(r.status, 405, method);
      assert.equal(r.headers.allow, 'GET, HEAD');
      assert.equal(r.headers['content-security-policy'], CSP);
    }
    for (const path of ['/../index.html', '/%2e%2e/index.html', '/assets/../app.js', '/.secret', '/link.txt', '/assets', '/assets/', '//index.html', '/index.html/', '/APP.JS', '/app.js%00', '/..%2fetc%2fpasswd', '/etc/passwd']) {
      const r = await get(port, path);
      assert.equal(r.status, 404, path);
      assert.equal(r.headers['content-security-policy'], CSP, path);
      assert.doesNotMatch(r.body, /outside|dot files|console/, path);
    }
  } finally {
    server.close();
    await f.cleanup();
  }
});
