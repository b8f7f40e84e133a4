/**
 * What an uploaded file really is: the image type from its first bytes (PNG, JPEG, GIF, WebP) and
 * its size in pixels when the header says it. The upload endpoint accepts a file only when these
 * bytes agree with the declared content type, so nothing else is ever served as an image.
 */

export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';

export const IMAGE_TYPES: readonly ImageType[] = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
];

export interface ImageInfo {
  type: ImageType;
  width?: number;
  height?: number;
}

const ascii = (b: Buffer, at: number, text: string) =>
  b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;

/** The image type and size of `b`, or `undefined` when it is none of the four types. */
export function sniffImage(b: Buffer): ImageInfo | undefined {
  if (b.length >= 24 && b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) {
    return ascii(b, 12, 'IHDR')
      ? { type: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) }
      : { type: 'image/png' };
  }
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) {
    return b.length >= 10
      ? { type: 'image/gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) }
      : { type: 'image/gif' };
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) {
    return { type: 'image/jpeg', ...jpegSize(b) };
  }
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return { type: 'image/webp', ...webpSize(b) };
  return undefined;
}

/** Walks the JPEG segments up to the first start-of-frame marker (SOF0..SOF15 but 4, 8, 12). */
function jpegSize(b: Buffer): { width?: number; height?: number } {
  let at = 2;
  while (at + 9 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1]!;
    const length = b.readUInt16BE(at + 2);
    const sof = marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker);
    if (sof) return { height: b.readUInt16BE(at + 5), width: b.readUInt16BE(at + 7) };
    if (length < 2) return {};
    at += 2 + length;
  }
  return {};
}

function webpSize(b: Buffer): { width?: number; height?: number } {
  if (ascii(b, 12, 'VP8X') && b.length >= 30) {
    return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
  }
  if (ascii(b, 12, 'VP8L') && b.length >= 25) {
    const bits = b.readUInt32LE(21);
    return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >>> 14) & 0x3fff) };
  }
  if (ascii(b, 12, 'VP8 ') && b.length >= 30) {
    return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
  }
  return {};
}
