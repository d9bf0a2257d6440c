import { CloudError } from '../errors.js';

/** A byte range of a download, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Reads a single-range `Range: bytes=...` header against the data size.
 * Returns undefined when the whole file should be sent (no header, a
 * header we do not understand, or several ranges: RFC 9110 lets a server
 * ignore those), and throws 416 with `Content-Range: bytes * /size` when the
 * range cannot be satisfied.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!m) return undefined;
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return undefined;
  const unsatisfiable = () =>
    new CloudError('RangeNotSatisfiable', `Requested range ${header.trim()} is not satisfiable: the image data is ${size} bytes.`, {
      headers: { 'Content-Range': `bytes */${size}` },
    });
  if (a === '') {
    const n = Number(b);
    if (!Number.isSafeInteger(n) || n === 0 || size === 0) throw unsatisfiable();
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) throw unsatisfiable();
  if (start >= size) throw unsatisfiable();
  if (end < start) return undefined;
  return { start, end: Math.min(end, size - 1) };
}
