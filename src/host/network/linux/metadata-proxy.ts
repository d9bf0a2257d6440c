import { spawn } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { Server as NetServer, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inNetns } from '../../exec.js';
import type { Netns } from './netns.js';

/**
 * The metadata proxy: 169.254.169.254:80 inside each router and DHCP
 * namespace, served in-process. A short-lived helper (metadata-listen.js)
 * opens the listening socket inside the namespace and passes it to us over
 * Node's IPC channel; the socket keeps its namespace, so one Stacklet
 * process serves every namespace with no resident helper (a Node process
 * per namespace would cost ~40 MB each, measured).
 *
 * Each request is forwarded to the metadata API (a unix socket or TCP
 * address of the Stacklet process) with headers saying who asked:
 *   X-Forwarded-For: the guest's address as seen in the namespace
 *   X-Stacklet-Router-Id or X-Stacklet-Network-Id: whose namespace it came through
 * Headers of those names sent by the guest are dropped, so a guest cannot
 * claim to be another.
 */

export const METADATA_ADDRESS = '169.254.169.254';
export const METADATA_PORT = 80;

/** Where the metadata API listens. */
export type MetadataUpstream = { socketPath: string } | { host: string; port: number };

/** Whose namespace a listener serves. */
export type MetadataScope = { routerId: string } | { networkId: string };

interface Listener {
  identity: string;
  scope: MetadataScope;
  sockets: NetServer;
  http: HttpServer;
}

const HELPER = fileURLToPath(new URL('./metadata-listen.js', import.meta.url));
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'x-forwarded-for']);

/** Opens a listening socket inside a namespace via the helper; resolves with the server holding it. */
export function listenInNetns(netns: string, host: string, port: number, timeoutMs = 15_000): Promise<NetServer> {
  const [file, ...args] = inNetns(netns, [process.execPath, HELPER, host, String(port)]);
  return new Promise((resolve, reject) => {
    const child = spawn(file ?? '', args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    let done = false;
    const finish = (err: Error | null, server?: NetServer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else if (server) resolve(server);
    };
    const timer = setTimeout(() => finish(new Error(`metadata listener in ${netns} did not start within ${timeoutMs} ms`)), timeoutMs);
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString('utf8');
    });
    child.on('message', (msg: unknown, handle: unknown) => {
      const m = msg as { ok?: boolean; error?: string };
      if (m.ok && handle && typeof (handle as NetServer).on === 'function') finish(null, handle as NetServer);
      else finish(new Error(`metadata listener in ${netns} on ${host}:${port}: ${m.error ?? 'no socket received'}`));
    });
    child.on('error', (err) => finish(err));
    child.on('exit', (code) => {
      // The socket arrives before the helper exits; an exit first is a failure.
      setTimeout(() => finish(new Error(`metadata listener helper in ${netns} exited ${code}: ${stderr.trim()}`)), 50);
    });
  });
}

export class MetadataProxies {
  private readonly listeners = new Map<string, Listener>();

  constructor(
    private readonly netns: Netns,
    private readonly upstream: MetadataUpstream,
    private readonly port = METADATA_PORT,
  ) {}

  /** Serves metadata in the namespace; a listener left in an older namespace of the same name is replaced. */
  async ensure(netnsName: string, scope: MetadataScope): Promise<boolean> {
    const identity = await this.netns.identity(netnsName);
    if (identity === null) throw new Error(`namespace ${netnsName} does not exist`);
    const cur = this.listeners.get(netnsName);
    if (cur && cur.identity === identity && JSON.stringify(cur.scope) === JSON.stringify(scope)) return false;
    if (cur) await this.close(netnsName);
    const sockets = await listenInNetns(netnsName, METADATA_ADDRESS, this.port);
    const http = createHttpServer((req, res) => this.forward(scope, req, res));
    http.keepAliveTimeout = 5_000;
    http.requestTimeout = 30_000;
    sockets.on('connection', (s: Socket) => http.emit('connection', s));
    this.listeners.set(netnsName, { identity, scope, sockets, http });
    return true;
  }

  /** Stops serving in the namespace; true when it was served. */
  async remove(netnsName: string): Promise<boolean> {
    if (!this.listeners.has(netnsName)) return false;
    await this.close(netnsName);
    return true;
  }

  /** Namespaces served now. */
  list(): string[] {
    return [...this.listeners.keys()];
  }

  async closeAll(): Promise<void> {
    for (const name of [...this.listeners.keys()]) await this.close(name);
  }

  private async close(name: string): Promise<void> {
    const l = this.listeners.get(name);
    this.listeners.delete(name);
    if (!l) return;
    l.http.closeAllConnections();
    await new Promise<void>((resolve) => l.sockets.close(() => resolve()));
  }

  private forward(scope: MetadataScope, req: IncomingMessage, res: ServerResponse): void {
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (v === undefined || HOP_BY_HOP.has(k) || k.startsWith('x-stacklet-')) continue;
      headers[k] = v;
    }
    headers['x-forwarded-for'] = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if ('routerId' in scope) headers['x-stacklet-router-id'] = scope.routerId;
    else headers['x-stacklet-network-id'] = scope.networkId;
    const target = 'socketPath' in this.upstream ? { socketPath: this.upstream.socketPath } : { host: this.upstream.host, port: this.upstream.port };
    const up = httpRequest({ ...target, method: req.method, path: req.url, headers, timeout: 30_000 }, (upRes) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
      res.writeHead(upRes.statusCode ?? 502, out);
      upRes.pipe(res);
    });
    up.on('timeout', () => up.destroy(new Error('metadata upstream timed out')));
    up.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('metadata service unavailable\n');
      } else res.destroy();
    });
    req.pipe(up);
  }
}
