/**
 * QR codes for invitation links (DESIGN §4): size check, PNG data URL for the renderer,
 * a compact terminal rendering for the CLI, and decoding from camera/screenshot pixels.
 *
 * Isomorphic. Only `create()` is taken from `qrcode` (the symbol's module matrix): it is
 * pure JS and exported by both of the package's entries, while its renderers are not
 * portable (the Node entry's PNG writer needs pngjs/zlib/fs, the browser entry's
 * `toDataURL` needs a DOM canvas and has no terminal output). Rendering a module matrix is
 * a few lines, so we do it here and get identical bytes in Node, the renderer and workers.
 * Decoding uses jsQR, which is pure JS.
 */
import QRCode from 'qrcode';
import jsQRModule from 'jsqr';
import { KithError } from '../shared/errors.js';
import { concatBytes, describe, toBase64url } from '../shared/bytes.js';
import { MAX_INVITE_QR_VERSION, MAX_QR_DECODE_PIXELS, MAX_QR_IMAGE_SIDE, MAX_QR_TEXT_LENGTH } from '../shared/limits.js';

/** Error correction M (~15% recoverable): survives glare and a dirty screen, and keeps links ≤ 213 chars at version 10. */
const ERROR_CORRECTION = 'M';
/** ISO/IEC 18004 asks for 4 light modules around the symbol; scanners miss codes flush against dark UI. */
const PNG_QUIET_ZONE_MODULES = 4;
/** Pixels per module in the PNG: 260 px for a version-10 code, crisp when CSS scales it with `image-rendering: pixelated`. */
const PNG_PIXELS_PER_MODULE = 4;
/** The terminal has explicit white around it (ANSI background), so 2 modules suffice and keep the code narrow. */
const TERMINAL_QUIET_ZONE_MODULES = 2;

type ModuleMatrix = QRCode.BitMatrix;
type JsQR = (data: Uint8ClampedArray, width: number, height: number, options?: { inversionAttempts?: 'attemptBoth' }) => { data: string } | null;

// jsqr is a CommonJS bundle whose typings declare an ES default export: depending on the loader
// the import is the function itself or a namespace holding it as `default`.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as JsQR;

function symbolFor(text: string): QRCode.QRCode {
  if (typeof text !== 'string') throw new KithError('INVALID_INPUT', `QR text: expected a string, got ${describe(text)}`);
  if (text.length === 0) throw new KithError('INVALID_INPUT', 'QR text: empty');
  if (text.length > MAX_QR_TEXT_LENGTH) throw new KithError('INVALID_INPUT', `QR text: ${text.length} characters cannot fit any QR code`);
  try {
    return QRCode.create(text, { errorCorrectionLevel: ERROR_CORRECTION });
  } catch {
    // qrcode's only failure for a string is "too big"; its message would not add anything.
    throw new KithError('INVALID_INPUT', `QR text: ${text.length} characters do not fit a QR code at level ${ERROR_CORRECTION}`);
  }
}

function invitationSymbol(link: string): QRCode.QRCode {
  const symbol = symbolFor(link);
  if (symbol.version > MAX_INVITE_QR_VERSION) {
    throw new KithError('INVALID_INPUT', `invitation QR: needs version ${symbol.version}, at most ${MAX_INVITE_QR_VERSION} scans reliably`);
  }
  return symbol;
}

/** The QR version (1..40) `text` needs at error correction M. INVALID_INPUT if it fits none. */
export function qrVersionFor(text: string): number {
  return symbolFor(text).version;
}

/** A `data:image/png;base64,…` URL of the link's QR code (level M, version ≤ 10, dark on white). */
export async function invitationQrDataUrl(link: string): Promise<string> {
  const png = encodePng(invitationSymbol(link).modules);
  // Standard base64 with padding, derived from the shared base64url encoder.
  const b64 = toBase64url(png).replace(/-/g, '+').replace(/_/g, '/');
  return `data:image/png;base64,${b64}${'='.repeat((4 - (b64.length % 4)) % 4)}`;
}

/**
 * The link's QR code as text for a terminal: two modules per character cell (half blocks),
 * black on white set explicitly with ANSI colours so dark terminal themes do not invert it.
 */
export async function invitationQrTerminal(link: string): Promise<string> {
  const { size, data } = invitationSymbol(link).modules;
  const q = TERMINAL_QUIET_ZONE_MODULES;
  const dark = (row: number, col: number): boolean => row >= 0 && row < size && col >= 0 && col < size && data[row * size + col] === 1;
  const lines: string[] = [];
  for (let row = -q; row < size + q; row += 2) {
    let line = '\x1b[30;47m';
    for (let col = -q; col < size + q; col++) {
      const top = dark(row, col);
      const bottom = row + 1 < size + q && dark(row + 1, col);
      line += top ? (bottom ? '█' : '▀') : bottom ? '▄' : ' ';
    }
    lines.push(`${line}\x1b[0m`);
  }
  return lines.join('\n');
}

/**
 * Reads a QR code from RGBA pixels (a canvas ImageData, a decoded PNG). Returns its text, or
 * undefined when no code is found. INVALID_INPUT for a malformed or oversized image.
 * Images above MAX_QR_DECODE_PIXELS are downscaled first, which bounds the time a hostile
 * (noisy) image can cost.
 */
export function decodeQrFromRgba(rgba: Uint8ClampedArray, width: number, height: number): string | undefined {
  if (!(rgba instanceof Uint8ClampedArray)) throw new KithError('INVALID_INPUT', `QR image: expected Uint8ClampedArray pixels, got ${describe(rgba)}`);
  for (const [title, side] of [['width', width], ['height', height]] as const) {
    if (typeof side !== 'number' || !Number.isSafeInteger(side) || side < 1 || side > MAX_QR_IMAGE_SIDE) {
      throw new KithError('INVALID_INPUT', `QR image: ${title} must be a whole number from 1 to ${MAX_QR_IMAGE_SIDE}`);
    }
  }
  if (rgba.length !== width * height * 4) {
    throw new KithError('INVALID_INPUT', `QR image: expected ${width * height * 4} bytes of RGBA for ${width}×${height}, got ${rgba.length}`);
  }
  const image = downscaleToBudget(rgba, width, height);
  let found: ReturnType<JsQR>;
  try {
    // Both polarities: a phone photo of a terminal or a dark-mode screen may be light on dark.
    found = jsQR(image.rgba, image.width, image.height, { inversionAttempts: 'attemptBoth' });
  } catch {
    // jsQR can trip over degenerate finder-pattern geometry; for the caller that is "no code here".
    return undefined;
  }
  return found ? found.data : undefined;
}

/** Averages k×k blocks (smallest k that fits MAX_QR_DECODE_PIXELS); the image itself when it already fits. */
function downscaleToBudget(rgba: Uint8ClampedArray, width: number, height: number): { rgba: Uint8ClampedArray; width: number; height: number } {
  let k = 1;
  while (Math.floor(width / k) * Math.floor(height / k) > MAX_QR_DECODE_PIXELS) k++;
  if (k === 1) return { rgba, width, height };
  const w = Math.floor(width / k);
  const h = Math.floor(height / k);
  const out = new Uint8ClampedArray(w * h * 4);
  const area = k * k;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let dy = 0; dy < k; dy++) {
        let i = ((y * k + dy) * width + x * k) * 4;
        for (let dx = 0; dx < k; dx++, i += 4) {
          r += rgba[i]!;
          g += rgba[i + 1]!;
          b += rgba[i + 2]!;
        }
      }
      const o = (y * w + x) * 4;
      out[o] = r / area;
      out[o + 1] = g / area;
      out[o + 2] = b / area;
      out[o + 3] = 255;
    }
  }
  return { rgba: out, width: w, height: h };
}

// ---- PNG (1-bit greyscale, stored deflate: no compressor needed, ~9 KB for version 10) ----

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Largest stored (uncompressed) deflate block. */
const STORED_BLOCK_MAX = 0xffff;

function encodePng(modules: ModuleMatrix): Uint8Array {
  const side = (modules.size + 2 * PNG_QUIET_ZONE_MODULES) * PNG_PIXELS_PER_MODULE;
  const rowBytes = 1 + Math.ceil(side / 8);
  // Filter byte 0 ("none") then pixels, 1 bit each, MSB first; 1 is white.
  const raw = new Uint8Array(rowBytes * side).fill(0xff);
  for (let y = 0; y < side; y++) {
    raw[y * rowBytes] = 0;
    const row = Math.floor(y / PNG_PIXELS_PER_MODULE) - PNG_QUIET_ZONE_MODULES;
    if (row < 0 || row >= modules.size) continue;
    for (let x = 0; x < side; x++) {
      const col = Math.floor(x / PNG_PIXELS_PER_MODULE) - PNG_QUIET_ZONE_MODULES;
      if (col >= 0 && col < modules.size && modules.data[row * modules.size + col] === 1) {
        raw[y * rowBytes + 1 + (x >> 3)]! &= ~(0x80 >> (x & 7));
      }
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, side);
  view.setUint32(4, side);
  header[8] = 1; // bit depth
  header[9] = 0; // greyscale; compression, filter and interlace methods stay 0
  return concatBytes(new Uint8Array(PNG_SIGNATURE), chunk('IHDR', header), chunk('IDAT', zlibStored(raw)), chunk('IEND', new Uint8Array(0)));
}

function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / STORED_BLOCK_MAX));
  const out = new Uint8Array(2 + blocks * 5 + data.length + 4);
  out[0] = 0x78; // deflate, 32 KiB window
  out[1] = 0x01; // no preset dictionary, fastest; (0x78 << 8 | 0x01) % 31 === 0 as RFC 1950 requires
  let o = 2;
  for (let i = 0; i < blocks; i++) {
    const part = data.subarray(i * STORED_BLOCK_MAX, (i + 1) * STORED_BLOCK_MAX);
    out[o++] = i === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00 (stored)
    out[o++] = part.length & 0xff;
    out[o++] = part.length >> 8;
    out[o++] = ~part.length & 0xff;
    out[o++] = (~part.length >> 8) & 0xff;
    out.set(part, o);
    o += part.length;
  }
  new DataView(out.buffer).setUint32(o, adler32(data));
  return out;
}

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out.subarray(4, 8 + body.length)));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= bytes[i]!;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ 0xffffffff) >>> 0;
}

function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}
