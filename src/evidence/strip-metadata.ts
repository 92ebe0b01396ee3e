/**
 * Removes metadata a customer did not mean to share (camera EXIF with GPS position, editing
 * software comments) from uploaded screenshots before they are stored. Pure byte surgery:
 * the image data itself is untouched.
 */

/** JPEG: drop APP1–APP15 and COM segments before the scan; keep APP0 (JFIF) and everything else. */
export function stripJpeg(input: Buffer): Buffer {
  if (input.length < 4 || input[0] !== 0xff || input[1] !== 0xd8) return input;
  const parts: Buffer[] = [input.subarray(0, 2)];
  let offset = 2;
  while (offset + 4 <= input.length) {
    if (input[offset] !== 0xff) return input; // not a marker where one must be: leave the file alone
    const marker = input[offset + 1] ?? 0;
    if (marker === 0xda) {
      parts.push(input.subarray(offset)); // start of scan: the rest is image data
      return Buffer.concat(parts);
    }
    const length = input.readUInt16BE(offset + 2);
    const end = offset + 2 + length;
    if (length < 2 || end > input.length) return input;
    const droppable = (marker >= 0xe1 && marker <= 0xef) || marker === 0xfe;
    if (!droppable) parts.push(input.subarray(offset, end));
    offset = end;
  }
  return input;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const PNG_METADATA_CHUNKS = new Set(['tEXt', 'iTXt', 'zTXt', 'eXIf', 'tIME']);

/** PNG: drop text, EXIF and time chunks; every other chunk is copied with its CRC. */
export function stripPng(input: Buffer): Buffer {
  if (input.length < 8 || !input.subarray(0, 8).equals(PNG_SIGNATURE)) return input;
  const parts: Buffer[] = [PNG_SIGNATURE];
  let offset = 8;
  while (offset + 12 <= input.length) {
    const length = input.readUInt32BE(offset);
    const type = input.toString('latin1', offset + 4, offset + 8);
    const end = offset + 12 + length;
    if (end > input.length) return input;
    if (!PNG_METADATA_CHUNKS.has(type)) parts.push(input.subarray(offset, end));
    offset = end;
    if (type === 'IEND') return Buffer.concat(parts);
  }
  return input;
}
