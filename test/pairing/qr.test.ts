import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { PNG } from 'pngjs';
import { build } from 'esbuild';
import { INVITE_LINK_PREFIX, invitationToLink, parseInvitationLink, type Invitation } from '../../pairing/invitation.js';
import { decodeQrFromRgba, invitationQrDataUrl, invitationQrTerminal, qrVersionFor } from '../../pairing/qr.js';
import { KithError } from '../../shared/errors.js';
import { utf8 } from '../../shared/bytes.js';
import { MAX_ENDPOINT_LENGTH, MAX_INVITE_LINK_LENGTH, MAX_INVITE_QR_VERSION, MAX_NAME_LENGTH, MAX_QR_IMAGE_SIDE, MAX_QR_TEXT_LENGTH } from '../../shared/limits.js';
import { hostileValues } from '../support/hostile.js';

const NOW = 1_900_000_000;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function typical(): Invitation {
  return {
    version: 1,
    purpose: 'contact',
    token: new Uint8Array(32).fill(0x5a),
    inviterKey: new Uint8Array(32).fill(0xa5),
    expiresAt: NOW + 600,
    name: "Ann's laptop",
    endpoints: ['ws://127.0.0.1:45123/kith/v1'],
  };
}

const nonZero32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).filter((b) => b.some((x) => x !== 0));
const arbInvitation: fc.Arbitrary<Invitation> = fc.record({
  version: fc.constant(1 as const),
  purpose: fc.constantFrom('contact' as const, 'renderer' as const),
  token: nonZero32,
  inviterKey: nonZero32,
  expiresAt: fc.integer({ min: NOW, max: 0xffff_ffff }),
  name: fc.constantFrom("Ann's laptop", 'Zoë', '😀 phone', 'x', 'é'.repeat(MAX_NAME_LENGTH / 2), 'Büro-PC (2. Stock)'),
  endpoints: fc.uniqueArray(
    fc.tuple(fc.constantFrom('ws', 'wss'), fc.ipV4(), fc.integer({ min: 1024, max: 65535 })).map(([s, h, p]) => `${s}://${h}:${p}/kith/v1`),
    { maxLength: 2 },
  ),
});

/** Invitations whose link fits (the others are refused by invitationToLink, tested in invitation.test.ts). */
const arbLink = arbInvitation.chain((inv) => {
  try {
    return fc.constant(invitationToLink(inv));
  } catch {
    return fc.constant(invitationToLink({ ...inv, endpoints: [], name: 'x' }));
  }
});

function expectInvalid(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KithError, `expected KithError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_INPUT', err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

async function expectInvalidAsync(promise: Promise<unknown>, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof KithError, `expected KithError, got ${String(err)}`);
    assert.equal(err.code, 'INVALID_INPUT', err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

function pngToRgba(dataUrl: string): { rgba: Uint8ClampedArray; width: number; height: number } {
  const match = /^data:image\/png;base64,([A-Za-z0-9+/]+={0,2})$/.exec(dataUrl);
  assert.ok(match, 'a base64 PNG data URL');
  // pngjs checks every chunk CRC, and zlib the Adler-32 of the image data.
  const png = PNG.sync.read(Buffer.from(match[1]!, 'base64'));
  return { rgba: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), width: png.width, height: png.height };
}

/** Parses the terminal rendering back into modules (2 per character cell) and paints them, 4 px each. */
function terminalToRgba(text: string): { rgba: Uint8ClampedArray; width: number; height: number } {
  const rows: boolean[][] = [];
  for (const line of text.split('\n')) {
    assert.ok(line.startsWith('\x1b[30;47m') && line.endsWith('\x1b[0m'), 'each line sets black on white and resets');
    const cells = [...line.replace(/\x1b\[[0-9;]*m/g, '')];
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (const c of cells) {
      assert.ok(' ▀▄█'.includes(c), `unexpected character ${JSON.stringify(c)}`);
      top.push(c === '█' || c === '▀');
      bottom.push(c === '█' || c === '▄');
    }
    rows.push(top, bottom);
  }
  const scale = 4;
  const margin = 2;
  const width = (rows[0]!.length + 2 * margin) * scale;
  const height = (rows.length + 2 * margin) * scale;
  const rgba = new Uint8ClampedArray(width * height * 4).fill(255);
  rows.forEach((row, r) =>
    row.forEach((dark, c) => {
      if (!dark) return;
      for (let y = 0; y < scale; y++) {
        for (let x = 0; x < scale; x++) {
          const i = (((r + margin) * scale + y) * width + (c + margin) * scale + x) * 4;
          rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
        }
      }
    }),
  );
  return { rgba, width, height };
}

test('a typical invitation link needs QR version ≤ 10 (measurement)', async (t) => {
  const link = invitationToLink(typical());
  const version = qrVersionFor(link);
  assert.ok(version <= MAX_INVITE_QR_VERSION);
  assert.equal(version, 9);
  const url = await invitationQrDataUrl(link);
  t.diagnostic(`typical link: ${link.length} characters, QR version ${version} (level M), PNG data URL ${url.length} characters`);
});

test('random invitations round-trip: link → PNG data URL → pngjs → decodeQrFromRgba → same link', async () => {
  await fc.assert(
    fc.asyncProperty(arbLink, async (link) => {
      const { rgba, width, height } = pngToRgba(await invitationQrDataUrl(link));
      assert.equal(width, height);
      assert.equal(decodeQrFromRgba(rgba, width, height), link);
      parseInvitationLink(link, { nowSeconds: NOW });
    }),
    { numRuns: 12 },
  );
});

test('random invitations round-trip through the terminal rendering', async () => {
  await fc.assert(
    fc.asyncProperty(arbLink, async (link) => {
      const text = await invitationQrTerminal(link);
      const version = qrVersionFor(link);
      const lines = text.split('\n');
      // Two modules per line, plus a 2-module quiet zone on each side.
      assert.equal(lines.length, Math.ceil((17 + 4 * version + 4) / 2));
      const { rgba, width, height } = terminalToRgba(text);
      assert.equal(decodeQrFromRgba(rgba, width, height), link);
    }),
    { numRuns: 8 },
  );
});

test('every link invitationToLink produces fits version ≤ 10', () => {
  fc.assert(
    fc.property(arbLink, (link) => {
      assert.ok(link.length <= MAX_INVITE_LINK_LENGTH);
      assert.ok(qrVersionFor(link) <= MAX_INVITE_QR_VERSION);
    }),
    { numRuns: 300 },
  );
  // The worst case is any 213-character link, whatever its characters.
  fc.assert(
    fc.property(fc.string({ unit: fc.constantFrom(...B64URL), minLength: MAX_INVITE_LINK_LENGTH - INVITE_LINK_PREFIX.length, maxLength: MAX_INVITE_LINK_LENGTH - INVITE_LINK_PREFIX.length }), (payload) => {
      assert.ok(qrVersionFor(INVITE_LINK_PREFIX + payload) <= MAX_INVITE_QR_VERSION);
    }),
    { numRuns: 200 },
  );
});

test('the maximal invitation never yields a QR code above version 10', async () => {
  const maximal: Invitation = {
    ...typical(),
    name: 'é'.repeat(MAX_NAME_LENGTH / 2),
    endpoints: [1, 2, 3].map((i) => `wss://${String(i).repeat(MAX_ENDPOINT_LENGTH - 28)}.example:65535/kith/v1`),
  };
  assert.equal(utf8(maximal.name).length, MAX_NAME_LENGTH);
  assert.ok(maximal.endpoints.every((e) => e.length === MAX_ENDPOINT_LENGTH));
  let link: string | undefined;
  try {
    link = invitationToLink(maximal);
  } catch (err) {
    assert.ok(err instanceof KithError && err.code === 'INVALID_INPUT', String(err));
  }
  if (link !== undefined) assert.ok(qrVersionFor(link) <= MAX_INVITE_QR_VERSION);
  assert.equal(link, undefined, 'with 64-byte names and three 100-byte endpoints the link cannot fit; it must be refused');

  // Text that would need version 11 is refused by both renderers.
  const tooLong = INVITE_LINK_PREFIX + 'a'.repeat(MAX_INVITE_LINK_LENGTH + 1 - INVITE_LINK_PREFIX.length);
  assert.ok(qrVersionFor(tooLong) > MAX_INVITE_QR_VERSION);
  await expectInvalidAsync(invitationQrDataUrl(tooLong), /needs version 11, at most 10/);
  await expectInvalidAsync(invitationQrTerminal(tooLong), /needs version 11/);
});

test('the PNG is a well-formed, deterministic 1-bit greyscale image with a quiet zone', async () => {
  const link = invitationToLink(typical());
  const url = await invitationQrDataUrl(link);
  assert.equal(await invitationQrDataUrl(link), url);
  const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(bytes.toString('latin1', 12, 16), 'IHDR');
  assert.equal(bytes[24], 1, 'bit depth 1');
  assert.equal(bytes[25], 0, 'greyscale');
  const { rgba, width } = pngToRgba(url);
  const modules = 17 + 4 * 9;
  assert.equal(width, (modules + 8) * 4);
  // The 4-module quiet zone (16 px) is white all round; the finder pattern's corner is black.
  for (let i = 0; i < 16; i++) {
    assert.equal(rgba[(i * width + i) * 4], 255);
    assert.equal(rgba[((width - 1 - i) * width + i) * 4], 255);
  }
  assert.equal(rgba[(16 * width + 16) * 4], 0);
});

test('qrVersionFor refuses what no QR code can hold', () => {
  assert.equal(qrVersionFor('x'), 1);
  expectInvalid(() => qrVersionFor(''), /empty/);
  expectInvalid(() => qrVersionFor('a'.repeat(3000)), /do not fit/);
  expectInvalid(() => qrVersionFor('1'.repeat(MAX_QR_TEXT_LENGTH + 1)), /cannot fit/);
  expectInvalid(() => qrVersionFor('A'.repeat(10_000_000)), /cannot fit/);
  for (const { name, value } of hostileValues()) {
    if (typeof value === 'string') continue;
    assert.throws(() => qrVersionFor(value as string), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', name);
  }
});

test('decodeQrFromRgba refuses malformed and oversized images with INVALID_INPUT', () => {
  const small = new Uint8ClampedArray(4 * 4 * 4);
  for (const { name, value } of hostileValues()) {
    assert.throws(() => decodeQrFromRgba(value as Uint8ClampedArray, 4, 4), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', `rgba ${name}`);
    assert.throws(() => decodeQrFromRgba(small, value as number, 4), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', `width ${name}`);
    assert.throws(() => decodeQrFromRgba(small, 4, value as number), (e: unknown) => e instanceof KithError && e.code === 'INVALID_INPUT', `height ${name}`);
  }
  expectInvalid(() => decodeQrFromRgba(small, 4, 3), /expected 48 bytes/);
  expectInvalid(() => decodeQrFromRgba(new Uint8ClampedArray(8), MAX_QR_IMAGE_SIDE + 1, 1), /width/);
  expectInvalid(() => decodeQrFromRgba(new Uint8ClampedArray(8), 1, MAX_QR_IMAGE_SIDE + 1), /height/);
  expectInvalid(() => decodeQrFromRgba(new Uint8ClampedArray(0), 0, 0), /width/);
  expectInvalid(() => decodeQrFromRgba(new Uint8Array(64) as unknown as Uint8ClampedArray, 4, 4), /Uint8ClampedArray/);
});

test('decodeQrFromRgba returns undefined for images without a code, in bounded time', () => {
  assert.equal(decodeQrFromRgba(new Uint8ClampedArray(64 * 64 * 4).fill(255), 64, 64), undefined);
  assert.equal(decodeQrFromRgba(new Uint8ClampedArray(64 * 64 * 4), 64, 64), undefined);
  assert.equal(decodeQrFromRgba(new Uint8ClampedArray(4).fill(255), 1, 1), undefined);
  const side = 256;
  const noise = new Uint8ClampedArray(side * side * 4);
  let x = 7;
  for (let i = 0; i < noise.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    noise[i] = x & 0xff;
  }
  const started = performance.now();
  const found = decodeQrFromRgba(noise, side, side);
  assert.ok(found === undefined || typeof found === 'string');
  assert.ok(performance.now() - started < 10_000, 'noise decoding is bounded');
});

test('decodeQrFromRgba reads inverted codes and downscales large images', async () => {
  const link = invitationToLink(typical());
  const { rgba, width, height } = pngToRgba(await invitationQrDataUrl(link));
  const inverted = rgba.map((v, i) => (i % 4 === 3 ? v : 255 - v));
  assert.equal(decodeQrFromRgba(inverted, width, height), link);

  // A 2000×1800 "screenshot" with the code drawn at 2× somewhere inside: downscaled to ≤ 1 MP first.
  const bigW = 2000;
  const bigH = 1800;
  const big = new Uint8ClampedArray(bigW * bigH * 4).fill(255);
  for (let y = 0; y < height * 2; y++) {
    for (let x = 0; x < width * 2; x++) {
      const from = ((y >> 1) * width + (x >> 1)) * 4;
      const to = ((y + 700) * bigW + x + 900) * 4;
      big[to] = rgba[from]!;
      big[to + 1] = rgba[from + 1]!;
      big[to + 2] = rgba[from + 2]!;
    }
  }
  assert.equal(decodeQrFromRgba(big, bigW, bigH), link);
  // The largest accepted image is scanned in bounded time too (downscaled 4×).
  const started = performance.now();
  assert.equal(decodeQrFromRgba(new Uint8ClampedArray(MAX_QR_IMAGE_SIDE * MAX_QR_IMAGE_SIDE * 4).fill(255), MAX_QR_IMAGE_SIDE, MAX_QR_IMAGE_SIDE), undefined);
  assert.ok(performance.now() - started < 10_000);
});

test('pairing/invitation.ts and pairing/qr.ts bundle for the browser without Node modules, and work', async (t) => {
  const entry = `export * from ${JSON.stringify(fileURLToPath(new URL('../../pairing/invitation.ts', import.meta.url)))};
export * from ${JSON.stringify(fileURLToPath(new URL('../../pairing/qr.ts', import.meta.url)))};`;
  const result = await build({
    stdin: { contents: entry, resolveDir: fileURLToPath(new URL('../..', import.meta.url)), loader: 'ts' },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  assert.equal(result.errors.length, 0);
  const code = result.outputFiles[0]!.text;
  assert.ok(!/\brequire\(["'](fs|zlib|stream|buffer|path|crypto|node:[a-z]+)["']\)/.test(code), 'no Node module is required');
  t.diagnostic(`browser bundle of invitation.ts + qr.ts: ${(code.length / 1024).toFixed(0)} KiB minified`);
  const mod = (await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`)) as typeof import('../../pairing/qr.js') &
    typeof import('../../pairing/invitation.js');
  const link = mod.invitationToLink(typical());
  assert.equal(link, invitationToLink(typical()));
  const { rgba, width, height } = pngToRgba(await mod.invitationQrDataUrl(link));
  assert.equal(mod.decodeQrFromRgba(rgba, width, height), link);
  assert.equal(mod.parseInvitationLink(link, { nowSeconds: NOW }).name, "Ann's laptop");
});
