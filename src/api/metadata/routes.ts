import { chmod, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import {
  EC2_VERSIONS,
  ec2MetaData,
  guestView,
  metaDataJson,
  networkDataJson,
  OPENSTACK_VERSIONS,
  serverForRequest,
  userDataBytes,
  type Ec2Tree,
  type GuestView,
} from '../../core/compute/metadata.js';
import type { ComputeCore } from '../../core/compute/service.js';

/**
 * The metadata service guests reach at 169.254.169.254, through the proxy
 * in each router/DHCP namespace. It is not on the public port: the daemon
 * serves this app on a unix socket the proxies forward to. The proxy says
 * which network or router and which source address asked
 * (X-Stacklet-Network-Id / X-Stacklet-Router-Id, X-Forwarded-For); only the
 * server owning that port is answered.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IP = /^[0-9a-fA-F:.]{2,45}$/;

function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function text(reply: FastifyReply, status: number, body: string | Buffer, type = 'text/plain; charset=UTF-8'): FastifyReply {
  return reply.code(status).type(type).send(body);
}

const json = (reply: FastifyReply, body: unknown) => text(reply, 200, JSON.stringify(body), 'application/json');
const notFound = (reply: FastifyReply) => text(reply, 404, '404 Not Found\n\nThe resource could not be found.\n');

/** Lists a directory as EC2 does: subdirectories end in "/", leaves do not. */
function listing(tree: Ec2Tree): string {
  return Object.entries(tree)
    // EC2 lists public keys as "0=name" (no slash) though each is a directory.
    .map(([k, v]) => (typeof v === 'string' || k.includes('=') ? k : `${k}/`))
    .join('\n');
}

function ec2Walk(tree: Ec2Tree, parts: string[]): string | Ec2Tree | undefined {
  let cur: string | Ec2Tree = tree;
  for (const p of parts) {
    if (typeof cur === 'string') return undefined;
    // public-keys/0/ is the key "0=name" in the tree, as EC2 lists it.
    const key: string | undefined = p in cur ? p : Object.keys(cur).find((k) => k.split('=')[0] === p);
    if (key === undefined) return undefined;
    cur = cur[key] as string | Ec2Tree;
  }
  return cur;
}

function openstackFiles(g: GuestView, version: string): string[] {
  const files = ['meta_data.json'];
  if (userDataBytes(g.server)) files.push('user_data');
  if (version === 'latest' || version >= '2013-04-04') files.push('vendor_data.json');
  if (version === 'latest' || version >= '2015-10-15') files.push('network_data.json');
  if (version === 'latest' || version >= '2016-10-06') files.push('vendor_data2.json');
  return files;
}

/** Registers the metadata routes on `app` (a Fastify instance of its own, not the public API). */
export function registerMetadataRoutes(app: FastifyInstance, core: ComputeCore): void {
  app.get('/*', async (req, reply) => {
    const ip = (header(req, 'x-forwarded-for') ?? '').split(',')[0]?.trim() ?? '';
    const networkId = header(req, 'x-stacklet-network-id');
    const routerId = header(req, 'x-stacklet-router-id');
    if (!IP.test(ip) || (networkId === undefined && routerId === undefined) || (networkId !== undefined && !UUID.test(networkId)) || (routerId !== undefined && !UUID.test(routerId))) {
      return text(reply, 400, '400 Bad Request\n\nThe metadata proxy must say which address and network asked.\n');
    }
    const server = await serverForRequest(core, networkId !== undefined ? { networkId } : { routerId: routerId ?? '' }, ip);
    if (!server) return notFound(reply);
    const path = (req.url.split('?')[0] ?? '/').replace(/\/{2,}/g, '/');
    const parts = path.split('/').filter((p) => p !== '');
    const g = await guestView(core, server);

    if (parts.length === 0) return text(reply, 200, [...EC2_VERSIONS, 'latest', 'openstack'].join('\n'));
    const [first, second, third, ...rest] = parts;

    if (first === 'openstack') {
      if (second === undefined) return text(reply, 200, [...OPENSTACK_VERSIONS, 'latest'].join('\n'));
      if (second !== 'latest' && !OPENSTACK_VERSIONS.includes(second)) return notFound(reply);
      const files = openstackFiles(g, second);
      if (third === undefined) return text(reply, 200, files.join('\n'));
      if (rest.length > 0 || !files.includes(third)) return notFound(reply);
      switch (third) {
        case 'meta_data.json':
          return json(reply, metaDataJson(g));
        case 'network_data.json':
          return json(reply, networkDataJson(g));
        case 'vendor_data.json':
        case 'vendor_data2.json':
          return json(reply, {});
        case 'user_data':
          return text(reply, 200, userDataBytes(server) ?? Buffer.alloc(0), 'application/octet-stream');
        default:
          return notFound(reply);
      }
    }

    if (first !== undefined && (first === 'latest' || EC2_VERSIONS.includes(first))) {
      if (second === undefined) return text(reply, 200, userDataBytes(server) ? 'meta-data/\nuser-data' : 'meta-data/');
      if (second === 'user-data' && third === undefined) {
        const ud = userDataBytes(server);
        return ud ? text(reply, 200, ud, 'application/octet-stream') : notFound(reply);
      }
      if (second === 'meta-data') {
        const node = ec2Walk(ec2MetaData(g), parts.slice(2));
        if (node === undefined) return notFound(reply);
        return text(reply, 200, typeof node === 'string' ? node : listing(node));
      }
    }
    return notFound(reply);
  });
}

/** A Fastify app holding only the metadata routes, for the daemon to serve on a unix socket. */
export async function buildMetadataApp(core: ComputeCore, log?: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    ...(log ? { loggerInstance: log as unknown as FastifyBaseLogger } : { logger: false }),
    exposeHeadRoutes: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setErrorHandler((err, req, reply) => {
    req.log.error({ err }, 'metadata request failed');
    return text(reply, 500, '500 Internal Server Error\n');
  });
  registerMetadataRoutes(app, core);
  await app.ready();
  return app;
}

/**
 * Serves the metadata app on a unix socket (mode 0600; the proxies run in
 * this process or as root), replacing a stale socket file from an earlier
 * run. Returns the app; close() stops it.
 */
export async function listenMetadata(core: ComputeCore, socketPath: string, log?: Logger): Promise<FastifyInstance> {
  const app = await buildMetadataApp(core, log);
  await mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
  await rm(socketPath, { force: true });
  await app.listen({ path: socketPath });
  await chmod(socketPath, 0o600);
  return app;
}
