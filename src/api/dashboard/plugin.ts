import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { loadStaticFiles, pickEncoding, type StaticFile } from './static-files.js';

/**
 * The dashboard: a single-page app built by Vite into dashboard/dist and
 * served from memory at `/`. It talks to the same public APIs as any client,
 * so this module only serves files; it holds no routes of its own beyond them.
 */

/** dashboard/dist of this checkout, found from the compiled file's place (dist/src/api/dashboard/). */
export function defaultDashboardDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'dashboard'))) return join(dir, 'dashboard', 'dist');
    dir = dirname(dir);
  }
  return join(process.cwd(), 'dashboard', 'dist');
}

/**
 * Page security for the app shell: scripts and styles only from this origin,
 * API calls and console websockets only to it, no framing.
 */
const SHELL_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Stacklet</title></head>
<body><main><h1>Stacklet</h1><p>The dashboard is not built. Build it with <code>scripts/setup.sh</code>
(or <code>cd dashboard &amp;&amp; npm ci &amp;&amp; npm run build</code>) and restart Stacklet.
The APIs work without it.</p></main></body></html>`;

/** Answers a request from the SPA when the router found no route for it; false when it is not the dashboard's to answer. */
export type SpaFallback = (req: FastifyRequest, reply: FastifyReply) => FastifyReply | undefined;

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  void reply.header('etag', file.etag).header('vary', 'accept-encoding').type(file.type);
  void reply.header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (file.type.startsWith('text/html')) void reply.headers(SHELL_HEADERS);
  else void reply.header('x-content-type-options', 'nosniff');
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  const { body, encoding } = pickEncoding(file, req.headers['accept-encoding']);
  if (encoding) void reply.header('content-encoding', encoding);
  void reply.header('content-length', body.length);
  return reply.code(200).send(req.method === 'HEAD' ? undefined : body);
}

/**
 * Registers the dashboard's files at the root scope and returns the SPA
 * fallback for the root not-found handler: a browser navigating to a
 * client-side route (GET, Accept: text/html, not under an API prefix) gets
 * the app shell; anything else keeps the JSON 404.
 */
export async function registerDashboard(app: FastifyInstance, distDir: string, apiPrefixes: string[]): Promise<SpaFallback> {
  const files = existsSync(join(distDir, 'index.html')) ? loadStaticFiles(distDir) : new Map<string, StaticFile>();
  const shell: StaticFile = files.get('/index.html') ?? {
    path: '/index.html',
    type: 'text/html; charset=utf-8',
    etag: '"not-built"',
    raw: Buffer.from(NOT_BUILT),
    immutable: false,
  };
  files.set('/', shell);

  for (const [url, file] of files) {
    app.route({ method: ['GET', 'HEAD'], url, config: { public: true }, handler: async (req, reply) => send(req, reply, file) });
  }

  const isApi = (path: string) => apiPrefixes.some((p) => path === p || path.startsWith(`${p}/`));
  return (req, reply) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    const path = req.url.split('?')[0] ?? '/';
    if (isApi(path) || path.startsWith('/assets/')) return undefined;
    const accept = req.headers.accept ?? '';
    if (!accept.includes('text/html')) return undefined;
    return send(req, reply, shell);
  };
}
