/**
 * Reading QR codes in the browser: from an image file (decoded by the browser, drawn onto an
 * offscreen canvas, pixels handed to `decodeQrFromRgba`) and from the camera (`getUserMedia`
 * into a `<video>`, a frame every QR_SCAN_INTERVAL_MS drawn onto a canvas and decoded; the
 * camera stops as soon as a code is read, or when the scan is stopped).
 */
import { decodeQrFromRgba } from '../pairing/qr.js';
import { KithError } from '../shared/errors.js';
import { MAX_QR_IMAGE_FILE_BYTES, MAX_QR_IMAGE_SIDE, QR_SCAN_INTERVAL_MS } from '../shared/limits.js';

type Canvas2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

/** A 2D canvas of the given size: offscreen when the browser has it. */
function canvas2d(width: number, height: number): Canvas2D {
  if (typeof OffscreenCanvas === 'function') {
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    if (ctx) return ctx;
  }
  const el = document.createElement('canvas');
  el.width = width;
  el.height = height;
  const ctx = el.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new KithError('INTERNAL', 'this browser cannot draw images');
  return ctx;
}

/** Scale that fits a width × height image within MAX_QR_IMAGE_SIDE on both sides. */
function fit(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, MAX_QR_IMAGE_SIDE / Math.max(width, height));
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

function decodeDrawn(source: CanvasImageSource, width: number, height: number): string | undefined {
  const size = fit(width, height);
  const ctx = canvas2d(size.width, size.height);
  ctx.drawImage(source, 0, 0, size.width, size.height);
  const { data } = ctx.getImageData(0, 0, size.width, size.height);
  return decodeQrFromRgba(data, size.width, size.height);
}

/**
 * The text of the QR code in an image file, or undefined when the image holds none.
 * INVALID_INPUT when the file is not an image the browser can decode, or is too large.
 */
export async function decodeQrFile(file: Blob): Promise<string | undefined> {
  if (file.size > MAX_QR_IMAGE_FILE_BYTES) throw new KithError('INVALID_INPUT', 'the picture is too large');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new KithError('INVALID_INPUT', 'the file is not a picture this browser can read');
  }
  try {
    return decodeDrawn(bitmap, bitmap.width, bitmap.height);
  } finally {
    bitmap.close();
  }
}

export interface QrScan {
  /** Stops the camera (idempotent). */
  stop(): void;
}

/**
 * Starts the camera into `video` and reads frames until a QR code is found: then the camera
 * is stopped and `onText` gets the code's text. `onError` gets a KithError when the camera
 * cannot be used (no camera, permission denied).
 */
export async function startQrScan(video: HTMLVideoElement, onText: (text: string) => void, onError: (err: KithError) => void): Promise<QrScan> {
  if (!navigator.mediaDevices?.getUserMedia) throw new KithError('NOT_FOUND', 'this browser offers no camera');
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch {
    throw new KithError('ACCESS_DENIED', 'the camera could not be used (no camera, or permission was denied)');
  }
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer) clearTimeout(timer);
    for (const track of stream.getTracks()) track.stop();
    video.srcObject = null;
  };
  video.srcObject = stream;
  video.muted = true;
  video.playsInline = true;
  try {
    await video.play();
  } catch {
    // Autoplay of a muted camera preview is allowed; frames are read even if play() complained.
  }
  const scan = () => {
    if (stopped) return;
    try {
      if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth > 0) {
        const text = decodeDrawn(video, video.videoWidth, video.videoHeight);
        if (text !== undefined) {
          stop();
          onText(text);
          return;
        }
      }
    } catch (err) {
      stop();
      onError(err instanceof KithError ? err : new KithError('INTERNAL', 'reading the camera failed'));
      return;
    }
    timer = setTimeout(scan, QR_SCAN_INTERVAL_MS);
  };
  timer = setTimeout(scan, QR_SCAN_INTERVAL_MS);
  return { stop };
}
