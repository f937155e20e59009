/**
 * QR codes as the tests see them: decoded from a PNG screenshot by an independent decoder
 * (jsQR on pixels from pngjs — not the app's own pairing/qr.ts), and turned into a Y4M video
 * for Chromium's fake camera (`--use-file-for-fake-video-capture`).
 *
 * Y4M ("YUV4MPEG2") is a one-line text header and then raw frames, each "FRAME\n" followed by
 * the Y plane (width × height bytes) and the U and V planes at half resolution (4:2:0). A black
 * and white code needs only luma; chroma is the neutral 128.
 */
import { writeFile } from 'node:fs/promises';
import { PNG } from 'pngjs';
import jsQRModule from 'jsqr';

type JsQR = (data: Uint8ClampedArray, width: number, height: number) => { data: string } | null;
// jsqr is CommonJS with an ES-default typing: the import is the function or a namespace holding it.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as JsQR;

export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export function decodePng(png: Buffer): Rgba {
  const img = PNG.sync.read(png);
  return { width: img.width, height: img.height, data: img.data };
}

/** The text of the QR code in a PNG, or undefined. */
export function readQrFromPng(png: Buffer): string | undefined {
  const { width, height, data } = decodePng(png);
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength), width, height)?.data;
}

/**
 * Writes a Y4M video whose frames show `image` centred on white, scaled (nearest neighbour) to
 * fit `side` pixels, in a `width` × `height` frame (both even, as 4:2:0 needs).
 */
export async function writeQrVideo(file: string, image: Rgba, options: { width?: number; height?: number; side?: number; frames?: number; fps?: number } = {}): Promise<void> {
  const width = options.width ?? 640;
  const height = options.height ?? 480;
  const side = options.side ?? 400;
  const frames = options.frames ?? 4;
  const fps = options.fps ?? 10;
  if (width % 2 || height % 2) throw new Error('Y4M 4:2:0 needs an even width and height');
  const scale = Math.min(side / image.width, side / image.height);
  const w = Math.floor(image.width * scale);
  const h = Math.floor(image.height * scale);
  const left = Math.floor((width - w) / 2);
  const top = Math.floor((height - h) / 2);
  const y = Buffer.alloc(width * height, 255);
  for (let row = 0; row < h; row++) {
    const srcRow = Math.min(image.height - 1, Math.floor(row / scale));
    for (let col = 0; col < w; col++) {
      const srcCol = Math.min(image.width - 1, Math.floor(col / scale));
      const i = (srcRow * image.width + srcCol) * 4;
      const a = image.data[i + 3]! / 255;
      // BT.601 luma, composited over white.
      const luma = 0.299 * image.data[i]! + 0.587 * image.data[i + 1]! + 0.114 * image.data[i + 2]!;
      y[(top + row) * width + left + col] = Math.round(luma * a + 255 * (1 - a));
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, 'ascii');
  const frame = Buffer.concat([Buffer.from('FRAME\n', 'ascii'), y, chroma]);
  await writeFile(file, Buffer.concat([header, ...Array.from({ length: frames }, () => frame)]));
}

/** ANSI SGR sequences (`ESC [ … m`): the terminal QR code sets black on white with them. */
// eslint-disable-next-line no-control-regex
const ANSI_SGR = /\x1b\[[0-9;]*m/g;
/** Each character cell holds two modules, one above the other: which of them are dark. */
const HALF_BLOCKS: Readonly<Record<string, readonly [top: boolean, bottom: boolean]>> = {
  ' ': [false, false],
  '▀': [true, false],
  '▄': [false, true],
  '█': [true, true],
};

/**
 * A QR code drawn in a terminal with half blocks (two modules per character: ▀ ▄ █, and a space
 * for two light ones) turned back into pixels: `scale` pixels per module, with a white margin
 * of `margin` modules. Colour codes are dropped; any other character is an error.
 */
export function terminalQrToRgba(lines: readonly string[], scale = 4, margin = 4): Rgba {
  const cells = lines.map((l) => [...l.replace(ANSI_SGR, '')]);
  const columns = Math.max(...cells.map((c) => c.length));
  const width = (columns + 2 * margin) * scale;
  const height = (cells.length * 2 + 2 * margin) * scale;
  const data = new Uint8Array(width * height * 4).fill(255);
  cells.forEach((row, r) => {
    row.forEach((ch, c) => {
      const halves = HALF_BLOCKS[ch];
      if (!halves) throw new Error(`unexpected character ${JSON.stringify(ch)} in the terminal QR code (line ${r + 1}, column ${c + 1})`);
      halves.forEach((dark, half) => {
        if (!dark) return;
        for (let y = 0; y < scale; y++) {
          const top = ((margin + 2 * r + half) * scale + y) * width;
          for (let x = 0; x < scale; x++) {
            const i = (top + (margin + c) * scale + x) * 4;
            data[i] = data[i + 1] = data[i + 2] = 0;
          }
        }
      });
    });
  });
  return { width, height, data };
}

/** The text of a QR code drawn in a terminal (see terminalQrToRgba), read by jsQR; or undefined. */
export function readQrFromTerminal(lines: readonly string[]): string | undefined {
  const { width, height, data } = terminalQrToRgba(lines);
  return jsQR(new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength), width, height)?.data;
}
