/**
 * `kith serve` as a process: one owner per home (HOME_LOCKED), the control socket's file
 * (0600, stale files replaced, planted files refused), a bad control client that only hurts
 * itself, and a clean stop on SIGTERM. Plus the --listen parser.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { access, readFile, stat, writeFile } from 'node:fs/promises';
import { makeTempHome, runCli } from '../support/cli.js';
import { startServe } from '../support/serveProcess.js';
import { homePaths } from '../../cli/home.js';
import { parseListenArg } from '../../cli/commands/serve.js';

const exists = (p: string) => access(p).then(() => true, () => false);

async function initHome(t: { after(fn: () => Promise<void>): void }, name = 'Alice') {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const r = await runCli(['init', '--name', name, '--insecure-plaintext-keys', '--json'], { home: tmp.home });
  assert.equal(r.code, 0, r.stderr);
  return tmp.home;
}

/** A raw client of the control socket: send lines, read lines, with a bounded wait each. */
function rawClient(path: string) {
  const socket = net.connect(path);
  let buffer = '';
  const lines: string[] = [];
  let closed = false;
  const wake = new Set<() => void>();
  socket.setEncoding('utf8').on('data', (d: string) => {
    buffer += d;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) !== -1) {
      lines.push(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
    }
    for (const w of [...wake]) w();
  });
  socket.on('close', () => {
    closed = true;
    for (const w of [...wake]) w();
  });
  socket.on('error', () => {});
  const until = (ok: () => boolean, what: string, ms = 5_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!ok()) return;
        clearTimeout(timer);
        wake.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        wake.delete(check);
        reject(new Error(`control client: no ${what} within ${ms} ms`));
      }, ms);
      wake.add(check);
      check();
    });
  return {
    socket,
    send: (text: string) => socket.write(text),
    async line(): Promise<Record<string, unknown>> {
      await until(() => lines.length > 0, 'line');
      return JSON.parse(lines.shift()!) as Record<string, unknown>;
    },
    closed: () => until(() => closed, 'close'),
  };
}

test('--listen: IPv4, [IPv6], localhost and ports; wildcards and names refused; loopback told apart', () => {
  assert.deepEqual(parseListenArg('127.0.0.1:0'), { host: '127.0.0.1', port: 0, loopback: true });
  assert.deepEqual(parseListenArg('127.0.0.3:8080'), { host: '127.0.0.3', port: 8080, loopback: true });
  assert.deepEqual(parseListenArg('[::1]:443'), { host: '::1', port: 443, loopback: true });
  assert.deepEqual(parseListenArg('localhost:1'), { host: 'localhost', port: 1, loopback: true });
  assert.deepEqual(parseListenArg('192.168.1.20:7000'), { host: '192.168.1.20', port: 7000, loopback: false });
  assert.deepEqual(parseListenArg('[fe80::1]:7000'), { host: 'fe80::1', port: 7000, loopback: false });
  for (const bad of ['', '127.0.0.1', ':80', '127.0.0.1:', '127.0.0.1:65536', '127.0.0.1:-1', '127.0.0.1:08', '0.0.0.0:80', '[::]:80', 'example.com:80', '::1:80', '[127.0.0.1]:80', '127.0.0.1:80 ', 'a b:1']) {
    assert.throws(() => parseListenArg(bad), { code: 'USAGE' }, JSON.stringify(bad));
  }
});

test('one owner per home: a second serve gets HOME_LOCKED; the socket is 0600; SIGTERM removes the socket and frees the lock', { timeout: 120_000 }, async (t) => {
  const home = await initHome(t);
  const paths = homePaths(home);
  const first = await startServe(home);
  t.after(() => first.stop('SIGKILL').then(() => {}, () => {}));
  assert.match(first.url, /^ws:\/\/127\.0\.0\.1:[1-9][0-9]*\/kith\/v1$/, 'loopback by default');
  const st = await stat(paths.controlSocket);
  assert.ok(st.isSocket());
  assert.equal(st.mode & 0o777, 0o600);
  const record = JSON.parse(await readFile(`${paths.state}/serve.json`, 'utf8'));
  assert.equal(record.url, first.url, 'the listen URL is recorded in the home');

  const second = await runCli(['serve', '--json'], { home, timeoutMs: 20_000 });
  assert.equal(second.code, 1);
  assert.equal((second.lines[0] as { error: { code: string } }).error.code, 'HOME_LOCKED');
  assert.match((second.lines[0] as { error: { message: string } }).error.message, new RegExp(`pid ${first.child.pid}`));
  // The first owner is untouched and still answers.
  assert.ok((await stat(paths.controlSocket)).isSocket());
  const status = await runCli(['status', '--json'], { home });
  assert.equal(status.code, 0, status.stderr);
  assert.equal(status.lines[0]!.running, true);

  assert.deepEqual(await first.stop('SIGTERM'), { code: 0, signal: null });
  assert.equal(await exists(paths.controlSocket), false);
  assert.equal(await exists(paths.lock), false);
  // The lock is free: a new owner starts at once.
  const third = await startServe(home);
  assert.deepEqual(await third.stop('SIGTERM'), { code: 0, signal: null });
});

test('a garbage line on the control socket gets an error and loses only its own connection', { timeout: 120_000 }, async (t) => {
  const home = await initHome(t);
  const serve = await startServe(home);
  t.after(() => serve.stop('SIGKILL').then(() => {}, () => {}));
  const path = homePaths(home).controlSocket;

  const good = rawClient(path);
  t.after(() => good.socket.destroy());
  good.send('{"id":1,"command":"hello","args":{}}\n');
  const hello = await good.line();
  assert.equal((hello.result as { protocol: number }).protocol, 1);

  const bad = rawClient(path);
  bad.send('this is not json at all\n');
  const error = await bad.line();
  assert.equal(error.id, null);
  assert.equal((error.error as { code: string }).code, 'PROTOCOL_ERROR');
  await bad.closed();

  const unknown = rawClient(path);
  unknown.send('{"id":7,"command":"read-keys","args":{}}\n');
  assert.equal(((await unknown.line()).error as { code: string }).code, 'PROTOCOL_ERROR', 'only the listed commands exist');
  await unknown.closed();

  // Bad arguments are refused for that request; the connection itself is fine.
  good.send('{"id":2,"command":"get","args":{"hash":"../../etc/passwd"}}\n');
  const refused = await good.line();
  assert.equal(refused.id, 2);
  assert.equal((refused.error as { code: string }).code, 'INVALID_INPUT');
  good.send('{"id":3,"command":"status","args":{}}\n');
  const status = await good.line();
  assert.equal(status.id, 3);
  assert.equal((status.result as { running: boolean }).running, true);

  const cli = await runCli(['contacts', '--json'], { home });
  assert.equal(cli.code, 0, cli.stderr);
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
});

test('a stale socket file is replaced by the next owner and ignored by commands; a planted non-socket file is refused', { timeout: 120_000 }, async (t) => {
  const home = await initHome(t);
  const paths = homePaths(home);
  // A process that dies without cleaning up leaves its socket file behind.
  const leftover = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(paths.controlSocket)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((resolve) => leftover.on('exit', resolve));
  assert.ok((await stat(paths.controlSocket)).isSocket(), 'stale socket in place');

  const direct = await runCli(['status', '--json'], { home });
  assert.equal(direct.code, 0, direct.stderr);
  assert.equal(direct.lines[0]!.running, false, 'nobody answers the stale socket: the command opened the home itself');

  const serve = await startServe(home);
  const answered = await runCli(['status', '--json'], { home });
  assert.equal(answered.lines[0]!.running, true);
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });

  await writeFile(paths.controlSocket, 'not a socket');
  const refused = await runCli(['serve', '--json'], { home, timeoutMs: 20_000 });
  assert.equal(refused.code, 1);
  assert.match((refused.lines[0] as { error: { message: string } }).error.message, /not a socket/);
  assert.equal(await readFile(paths.controlSocket, 'utf8'), 'not a socket', 'the planted file is left alone');
  assert.equal(await exists(paths.lock), false, 'the failed serve released the lock');
});

test('serve without an identity: HOME_NOT_FOUND; a bad --listen: USAGE before anything starts', async (t) => {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const [missing, wildcard] = await Promise.all([runCli(['serve', '--json'], { home: tmp.home }), runCli(['serve', '--listen', '0.0.0.0:0', '--json'], { home: tmp.home })]);
  assert.equal(missing.code, 1);
  assert.equal((missing.lines[0] as { error: { code: string } }).error.code, 'HOME_NOT_FOUND');
  assert.equal(wildcard.code, 2);
  assert.equal((wildcard.lines[0] as { error: { code: string } }).error.code, 'USAGE');
  assert.equal(await exists(tmp.home), false);
});

test('a passphrase-protected home: a wrong KITH_PASSPHRASE fails and frees the lock; the right one serves without the plaintext warning', { timeout: 120_000 }, async (t) => {
  const tmp = await makeTempHome();
  t.after(tmp.cleanup);
  const home = tmp.home;
  const passphrase = 'correct horse battery staple';
  const init = await runCli(['init', '--name', 'Alice', '--json'], { home, env: { KITH_PASSPHRASE: passphrase } });
  assert.equal(init.code, 0, init.stderr);

  const [wrong, none] = await Promise.all([
    runCli(['serve', '--json'], { home, env: { KITH_PASSPHRASE: 'not it' }, timeoutMs: 20_000 }),
    runCli(['contacts', '--json'], { home, timeoutMs: 20_000 }),
  ]);
  assert.equal(wrong.code, 1);
  assert.equal((wrong.lines[0] as { error: { code: string } }).error.code, 'WRONG_PASSPHRASE');
  assert.equal((none.lines[0] as { error: { code: string } }).error.code, 'PASSPHRASE_REQUIRED', 'no terminal, no variable: the command says so instead of hanging');
  assert.equal(await exists(homePaths(home).lock), false);

  const serve = await startServe(home, { env: { KITH_PASSPHRASE: passphrase } });
  t.after(() => serve.stop('SIGKILL').then(() => {}, () => {}));
  assert.equal(serve.lines[0]!.warning, undefined);
  assert.equal(serve.stderr(), '');
  // A command on a served home needs no passphrase: the owner holds the keys.
  const contacts = await runCli(['status', '--json'], { home });
  assert.equal(contacts.code, 0, contacts.stderr);
  assert.ok(!(serve.stderr() + JSON.stringify(serve.lines) + contacts.stdout).includes(passphrase));
  assert.deepEqual(await serve.stop('SIGTERM'), { code: 0, signal: null });
});
