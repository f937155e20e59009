/**
 * All of a byte stream in one buffer, for inputs that must be whole before use (a JSON
 * object, a pasted link): the size is checked as pieces arrive, so an endless or huge
 * input is refused after `max` bytes instead of filling memory.
 */
import type { KithError } from '../shared/errors.js';

export async function readAllBounded(source: AsyncIterable<Uint8Array>, max: number, tooLarge: () => KithError): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const piece of source) {
    total += piece.length;
    if (total > max) throw tooLarge();
    parts.push(piece);
  }
  return Buffer.concat(parts, total);
}
