#!/usr/bin/env node
// Writes NAME.br and NAME.gz beside every compressible file of a built
// dashboard, once, at build time: brotli at quality 11 costs seconds of CPU
// and tens of MB of encoder memory, which the daemon would otherwise spend
// on every start.
//   node scripts/precompress.mjs dashboard/dist
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt']);
const dir = process.argv[2];
if (!dir) {
  console.error('usage: precompress.mjs DIR');
  process.exit(2);
}

function walk(d) {
  return readdirSync(d).flatMap((n) => {
    const full = join(d, n);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

let count = 0;
for (const file of walk(dir)) {
  if (!COMPRESSIBLE.has(extname(file).toLowerCase())) continue;
  const raw = readFileSync(file);
  if (raw.length <= 512) continue;
  writeFileSync(`${file}.gz`, gzipSync(raw, { level: 9 }));
  writeFileSync(`${file}.br`, brotliCompressSync(raw, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length } }));
  count++;
}
console.error(`[setup] precompressed ${count} dashboard files`);
