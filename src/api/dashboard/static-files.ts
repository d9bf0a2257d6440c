import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { extname, join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlib, gzip } from 'node:zlib';

/** One built file of the dashboard, held in memory with its compressed forms. */
export interface StaticFile {
  /** URL path, e.g. "/assets/index-3f2a.js". */
  path: string;
  type: string;
  etag: string;
  raw: Buffer;
  gzip?: Buffer;
  br?: Buffer;
  /** Vite names files under assets/ by content hash: they never change under one name. */
  immutable: boolean;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json',
};

const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.svg', '.txt', '.map']);

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...walk(full));
    else out.push(full);
  }
  return out;
}

/** Encodings the setup script writes beside each file (scripts/precompress.mjs). */
const PRECOMPRESSED = new Set(['.br', '.gz']);

function sibling(full: string, ext: string): Buffer | undefined {
  return existsSync(full + ext) ? readFileSync(full + ext) : undefined;
}

/**
 * Reads a built dashboard (Vite's dist/) into memory so each request is a
 * buffer write. The compressed forms come from the build (NAME.br, NAME.gz
 * beside NAME); a dist built without them is compressed once, in the
 * background. The bundle is a few hundred kilobytes; source maps are left out.
 */
export function loadStaticFiles(distDir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  const all = walk(distDir);
  const present = new Set(all);
  for (const full of all) {
    const ext = extname(full).toLowerCase();
    if (ext === '.map') continue;
    if (PRECOMPRESSED.has(ext) && present.has(full.slice(0, -ext.length))) continue;
    const rel = relative(distDir, full).split(sep).join('/');
    const raw = readFileSync(full);
    const file: StaticFile = {
      path: `/${rel}`,
      type: TYPES[ext] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(raw).digest('base64url').slice(0, 27)}"`,
      raw,
      immutable: rel.startsWith('assets/'),
    };
    const br = sibling(full, '.br');
    const gz = sibling(full, '.gz');
    if (br) file.br = br;
    if (gz) file.gzip = gz;
    if (COMPRESSIBLE.has(ext) && raw.length > 512 && !(br && gz)) compressInBackground(file);
    files.set(file.path, file);
  }
  return files;
}

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/**
 * Brotli at quality 11 takes seconds for the bundle: done inline it held
 * start-up to healthy far past a second. It runs on the thread pool instead,
 * and each encoding is served from the moment it is ready (raw until then).
 */
function compressInBackground(file: StaticFile): void {
  const raw = file.raw;
  // Later still, so the start-up itself does not share the CPU with it.
  setTimeout(() => {
    void gzipAsync(raw, { level: 9 }).then(
      (b) => (file.gzip = b),
      () => undefined,
    );
    void brotliAsync(raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 11, [zlib.BROTLI_PARAM_SIZE_HINT]: raw.length } }).then(
      (b) => (file.br = b),
      () => undefined,
    );
  }, 3000).unref();
}

/** Picks the smallest encoding the client accepts: br, then gzip, then identity. */
export function pickEncoding(file: StaticFile, acceptEncoding: string | undefined): { body: Buffer; encoding?: 'br' | 'gzip' } {
  const accepted = new Set(
    (acceptEncoding ?? '')
      .split(',')
      .map((s) => s.trim().split(';'))
      .filter((parts) => !parts.slice(1).some((p) => /^\s*q=0(\.0*)?\s*$/.test(p)))
      .map((parts) => (parts[0] ?? '').trim().toLowerCase()),
  );
  if (file.br && accepted.has('br')) return { body: file.br, encoding: 'br' };
  if (file.gzip && accepted.has('gzip')) return { body: file.gzip, encoding: 'gzip' };
  return { body: file.raw };
}
