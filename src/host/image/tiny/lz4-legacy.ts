/**
 * LZ4 "legacy frame" compression: the only LZ4 container the kernel's
 * initramfs unpacker reads (magic 0x184C2102, then chunks of at most 8 MiB
 * uncompressed, each a little-endian compressed length + one LZ4 block).
 * Under TCG the guest inflates gzip several times slower than it decodes
 * LZ4, and the unpacking sits on the boot path, so the initramfs is LZ4.
 * A greedy single-probe matcher: ratio close to `lz4 -1`, no host tool.
 */

const LEGACY_MAGIC = 0x184c2102;
const CHUNK = 8 * 1024 * 1024;
const MIN_MATCH = 4;
/** The last match must start at least this far from the end of the block. */
const MF_LIMIT = 12;
/** The block always ends with at least this many literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const HASH_BITS = 16;

function hash4(v: number): number {
  return Math.imul(v, 2654435761) >>> (32 - HASH_BITS);
}

function writeLength(out: Uint8Array, pos: number, len: number): number {
  let rest = len;
  while (rest >= 255) {
    out[pos++] = 255;
    rest -= 255;
  }
  out[pos++] = rest;
  return pos;
}

/** Compresses one block (input ≤ 8 MiB) into the raw LZ4 block format. */
export function lz4CompressBlock(src: Uint8Array): Uint8Array {
  const n = src.length;
  // Worst case: incompressible input grows by 1/255 plus a few bytes.
  const out = new Uint8Array(n + Math.ceil(n / 255) + 16);
  const table = new Int32Array(1 << HASH_BITS).fill(-1);
  const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
  let op = 0;
  let anchor = 0;
  let ip = 0;
  const matchLimit = n - MF_LIMIT;

  const emit = (litEnd: number, matchLen: number, offset: number): void => {
    const litLen = litEnd - anchor;
    const tokenPos = op++;
    let token = (litLen >= 15 ? 15 : litLen) << 4;
    if (litLen >= 15) op = writeLength(out, op, litLen - 15);
    out.set(src.subarray(anchor, litEnd), op);
    op += litLen;
    if (matchLen > 0) {
      out[op++] = offset & 0xff;
      out[op++] = offset >>> 8;
      const ml = matchLen - MIN_MATCH;
      token |= ml >= 15 ? 15 : ml;
      if (ml >= 15) op = writeLength(out, op, ml - 15);
    }
    out[tokenPos] = token;
  };

  while (ip < matchLimit) {
    const seq = view.getUint32(ip, true);
    const h = hash4(seq);
    const ref = table[h] ?? -1;
    table[h] = ip;
    if (ref < 0 || ip - ref > MAX_OFFSET || view.getUint32(ref, true) !== seq) {
      ip++;
      continue;
    }
    let len = MIN_MATCH;
    const maxLen = n - LAST_LITERALS - ip;
    while (len < maxLen && src[ip + len] === src[ref + len]) len++;
    emit(ip, len, ip - ref);
    ip += len;
    anchor = ip;
  }
  emit(n, 0, 0);
  return out.subarray(0, op);
}

/** Wraps data in the legacy LZ4 frame the kernel decompresses. */
export function lz4LegacyFrame(data: Uint8Array): Buffer {
  const parts: Uint8Array[] = [];
  const magic = Buffer.alloc(4);
  magic.writeUInt32LE(LEGACY_MAGIC, 0);
  parts.push(magic);
  for (let at = 0; at < data.length; at += CHUNK) {
    const block = lz4CompressBlock(data.subarray(at, Math.min(data.length, at + CHUNK)));
    const size = Buffer.alloc(4);
    size.writeUInt32LE(block.length, 0);
    parts.push(size, block);
  }
  return Buffer.concat(parts);
}
