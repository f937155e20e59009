/** Browser files in and out of channels: a File as a FileSource (streamed in pieces), and saving a received file. */
import type { FileSource } from '../ChannelBook.js';
import { DOWNLOAD_URL_LIFETIME_MS } from '../../shared/limits.js';

/** A File read piece by piece (memory stays at a piece, whatever the file's size). */
export function browserFileSource(file: File): FileSource {
  return {
    name: file.name,
    size: file.size,
    type: file.type,
    pieces: () => readPieces(file),
  };
}

async function* readPieces(file: Blob): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      if (value) yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Offers a file's bytes as a download (an object URL, released once the download started). */
export function saveFile(pieces: readonly Uint8Array[], name: string, mime?: string): void {
  const blob = new Blob(pieces as unknown as BlobPart[], { type: mime ?? 'application/octet-stream' });
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_MS);
}
