import { createConnection } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join, normalize } from 'node:path';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { CloudError } from '../../core/errors.js';
import type { CloudContext, ServicePlugin } from '../context.js';
import { keystoneError } from '../errors.js';
import { vncPage } from './page.js';

/** Where an instance's VNC server listens (a unix socket qemu made); undefined when it has none. */
export type VncSocketLocator = (instanceId: string) => Promise<string | undefined>;

export interface ConsoleDeps {
  /** The instance a console token admits to (Nova's console auth), or undefined. */
  redeem: (token: string) => Promise<string | undefined>;
  vncSocket: VncSocketLocator;
}

/** The token in a console URL: `?token=T`, or Nova's `?path=websockify%3Ftoken%3DT`. */
export function tokenOf(query: URLSearchParams): string {
  const direct = query.get('token');
  if (direct) return direct;
  const path = query.get('path');
  if (!path) return '';
  const q = path.indexOf('?');
  return q < 0 ? '' : (new URLSearchParams(path.slice(q + 1)).get('token') ?? '');
}

const WEBSOCKET_PATHS = new Set(['/console/websocket', '/console/websockify']);

const require = createRequire(import.meta.url);
// The package exports only core/rfb.js; the directory above core/ is its root.
const NOVNC_ROOT = dirname(dirname(require.resolve('@novnc/novnc')));
const TYPES: Record<string, string> = { '.js': 'text/javascript; charset=utf-8', '.json': 'application/json' };

/**
 * The browser console: a small noVNC page and a websocket that pipes RFB
 * bytes between the browser and the instance's VNC unix socket. The token in
 * the URL is the only credential (as with Nova's novncproxy), is short-lived
 * and bound to one instance; nothing listens for VNC on a TCP port.
 */
export function consolePlugin(deps: ConsoleDeps): ServicePlugin {
  return {
    type: 'console',
    name: 'stacklet-console',
    prefix: '/console',
    renderError: keystoneError,
    async register(app: FastifyInstance, ctx: CloudContext) {
      const page = async (req: FastifyRequest, reply: FastifyReply) => {
        const token = tokenOf(new URL(req.url, 'http://x').searchParams);
        if (!(await deps.redeem(token))) throw new CloudError('NotFound', 'This console link has expired or is not valid: ask for a new one (openstack console url show --novnc SERVER).');
        return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(vncPage());
      };
      // Nova's URL form, and a short one.
      app.get('/novnc/vnc_lite.html', { config: { public: true } }, page);
      app.get('/vnc.html', { config: { public: true } }, page);

      app.get<{ Params: { '*': string } }>('/novnc/*', { config: { public: true } }, async (req, reply) => {
        const rel = normalize(req.params['*']).replace(/^(\.\.(\/|$))+/, '');
        if (!/^(core|vendor)\//.test(rel) || !rel.endsWith('.js')) throw new CloudError('NotFound', 'No such file.');
        const body = await readFile(join(NOVNC_ROOT, rel)).catch(() => {
          throw new CloudError('NotFound', 'No such file.');
        });
        return reply.type(TYPES['.js'] ?? 'application/octet-stream').header('cache-control', 'public, max-age=86400').send(body);
      });

      const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
      app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (!WEBSOCKET_PATHS.has(url.pathname)) return;
        void (async () => {
          const instanceId = await deps.redeem(tokenOf(url.searchParams));
          const path = instanceId ? await deps.vncSocket(instanceId) : undefined;
          if (!instanceId || !path) {
            socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
            return;
          }
          wss.handleUpgrade(req, socket, head, (ws) => bridge(ws, path, ctx));
        })().catch(() => socket.destroy());
      });
      app.addHook('onClose', async () => {
        for (const c of wss.clients) c.terminate();
        wss.close();
      });
    },
  };
}

function bridge(ws: WebSocket, socketPath: string, ctx: CloudContext): void {
  const vnc = createConnection(socketPath);
  const stream = createWebSocketStream(ws);
  const done = () => {
    vnc.destroy();
    stream.destroy();
  };
  vnc.on('error', (err) => {
    ctx.log.info({ err: err.message }, 'console: VNC socket closed');
    done();
  });
  stream.on('error', done);
  vnc.on('close', done);
  stream.on('close', done);
  stream.pipe(vnc);
  vnc.pipe(stream);
}
