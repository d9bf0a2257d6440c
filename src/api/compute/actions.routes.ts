import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../core/auth.js';
import { confirmResize, createImage, lock, rebuild, resize, revertResize, simpleAction, unlock, type SimpleAction } from '../../core/compute/actions.js';
import { consoleOutput, createConsole } from '../../core/compute/consoles.js';
import { changeSecurityGroup } from '../../core/compute/interfaces.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import { deleteServer } from '../../core/compute/servers.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { badRequest, notFound } from '../../core/errors.js';
import { requireAuth } from '../../core/policy.js';
import { mvOf, type Roots } from './common.js';
import { ACTION_SCHEMAS, rebuildSchema, remoteConsoleSchema } from './schemas.js';
import { oneDetail, viewContext } from './servers.routes.js';
import { checkBody } from './validate.js';

/** POST /servers/{id}/action (Nova's server actions) and POST /servers/{id}/remote-consoles. */

type Id = { id: string };
type Handler = (a: { core: ComputeCore; auth: AuthContext; id: string; body: Record<string, unknown>; req: FastifyRequest; reply: FastifyReply; v: Microversion }) => Promise<unknown>;

const SIMPLE: Record<string, SimpleAction> = {
  'os-start': 'start',
  'os-stop': 'stop',
  pause: 'pause',
  unpause: 'unpause',
  suspend: 'suspend',
  resume: 'resume',
};

/** The fields the pre-2.75 rebuild answer shows (a subset of show, plus key_name at 2.54 and user_data at 2.57). */
function rebuildSubset(full: Record<string, unknown>, v: Microversion, userData: string | null): Record<string, unknown> {
  const keep = new Set([
    'id', 'name', 'status', 'tenant_id', 'user_id', 'metadata', 'hostId', 'image', 'flavor', 'created', 'updated', 'addresses',
    'accessIPv4', 'accessIPv6', 'links', 'OS-DCF:diskConfig', 'progress', 'fault', 'locked', 'description', 'tags',
    'trusted_image_certificates', 'server_groups', 'locked_reason',
  ]); // prettier-ignore
  if (atLeast(v, 54)) keep.add('key_name');
  const out = Object.fromEntries(Object.entries(full).filter(([k]) => keep.has(k)));
  if (atLeast(v, 57)) out['user_data'] = userData;
  return out;
}

export function registerServerActionRoutes(app: FastifyInstance, core: ComputeCore, roots: Roots, baseUrl: string): void {
  const handlers: Record<string, Handler> = {
    reboot: async ({ auth, id, body, reply, req }) => {
      const type = String((body['reboot'] as { type: string }).type).toUpperCase();
      await simpleAction(core, auth, id, type === 'HARD' ? 'reboot_hard' : 'reboot', req.id);
      return reply.code(202).send();
    },
    rebuild: async ({ auth, id, body, req, reply, v }) => {
      const r = body['rebuild'] as Record<string, unknown>;
      const s = await rebuild(
        core,
        auth,
        id,
        {
          imageRef: String(r['imageRef']),
          name: r['name'] as string | undefined,
          metadata: r['metadata'] as Record<string, string> | undefined,
          description: r['description'] as string | null | undefined,
          keyName: r['key_name'] as string | null | undefined,
          userData: r['user_data'] as string | null | undefined,
          accessIPv4: r['accessIPv4'] as string | undefined,
          accessIPv6: r['accessIPv6'] as string | undefined,
          diskConfig: r['OS-DCF:diskConfig'] as string | undefined,
          trustedCerts: r['trusted_image_certificates'] as string[] | null | undefined,
        },
        req.id,
      );
      const fresh = await core.visibleServer(auth, s.id);
      const full = await oneDetail(core, await viewContext(core, req, roots, auth), fresh);
      if (!full) throw notFound(`Instance ${id} could not be found.`);
      let server: Record<string, unknown>;
      if (atLeast(v, 75)) {
        server = { ...full, user_data: fresh.user_data };
        delete server['OS-EXT-SRV-ATTR:user_data'];
      } else server = rebuildSubset(full, v, fresh.user_data);
      return reply.code(202).send({ server });
    },
    lock: async ({ auth, id, body, req, reply, v }) => {
      const arg = body['lock'] as { locked_reason?: string } | null | undefined;
      await lock(core, auth, id, atLeast(v, 73) ? arg?.locked_reason : undefined, req.id);
      return reply.code(202).send();
    },
    unlock: async ({ auth, id, req, reply }) => {
      await unlock(core, auth, id, req.id);
      return reply.code(202).send();
    },
    createImage: async ({ auth, id, body, req, reply, v }) => {
      const c = body['createImage'] as { name: string; metadata?: Record<string, unknown> };
      const meta = Object.fromEntries(Object.entries(c.metadata ?? {}).map(([k, val]) => [k, typeof val === 'string' ? val : JSON.stringify(val)]));
      const imageId = await createImage(core, auth, id, c.name, meta, req.id);
      if (atLeast(v, 45)) return reply.code(202).send({ image_id: imageId });
      void reply.header('location', `${baseUrl}/image/v2/images/${imageId}`);
      return reply.code(202).send();
    },
    resize: async ({ auth, id, body, req, reply }) => {
      await resize(core, auth, id, (body['resize'] as { flavorRef: string | number }).flavorRef, req.id);
      return reply.code(202).send();
    },
    confirmResize: async ({ auth, id, req, reply }) => {
      await confirmResize(core, auth, id, req.id);
      return reply.code(204).send();
    },
    revertResize: async ({ auth, id, req, reply }) => {
      await revertResize(core, auth, id, req.id);
      return reply.code(202).send();
    },
    forceDelete: async ({ auth, id, req, reply }) => {
      await deleteServer(core, auth, id, req.id, true);
      return reply.code(202).send();
    },
    'os-getConsoleOutput': async ({ auth, id, body }) => {
      const raw = (body['os-getConsoleOutput'] as { length?: number | string | null }).length;
      const n = raw === undefined || raw === null ? undefined : Number(raw);
      return { output: await consoleOutput(core, auth, id, n === undefined || n < 0 ? undefined : n) };
    },
    'os-getVNCConsole': async ({ auth, id, body, v }) => {
      if (atLeast(v, 6)) throw notFound('os-getVNCConsole was removed in microversion 2.6: use POST /servers/{server_id}/remote-consoles.');
      const type = (body['os-getVNCConsole'] as { type: string }).type;
      const c = await createConsole(core, auth, id, 'vnc', type, baseUrl);
      return { console: { type: c.type, url: c.url } };
    },
    addSecurityGroup: async ({ auth, id, body, reply }) => {
      await changeSecurityGroup(core, auth, id, (body['addSecurityGroup'] as { name: string }).name, true);
      return reply.code(202).send();
    },
    removeSecurityGroup: async ({ auth, id, body, reply }) => {
      await changeSecurityGroup(core, auth, id, (body['removeSecurityGroup'] as { name: string }).name, false);
      return reply.code(202).send();
    },
  };
  for (const [action, kind] of Object.entries(SIMPLE)) {
    handlers[action] = async ({ auth, id, req, reply }) => {
      await simpleAction(core, auth, id, kind, req.id);
      return reply.code(202).send();
    };
  }

  app.post<{ Params: Id }>('/v2.1/servers/:id/action', async (req, reply) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const raw = req.body;
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw badRequest('Malformed request body: send a JSON object naming one action, e.g. {"os-stop": null}.');
    const keys = Object.keys(raw);
    const action = keys[0];
    if (keys.length !== 1 || action === undefined) throw badRequest(`Malformed request body: name exactly one action (got ${keys.length === 0 ? 'none' : keys.join(', ')}).`);
    const handler = handlers[action];
    if (!handler) throw badRequest(`There is no such action: ${action}`);
    const schema = action === 'rebuild' ? rebuildSchema(v) : ACTION_SCHEMAS[action]?.(v);
    const body = schema ? checkBody<Record<string, unknown>>(schema, raw) : (raw as Record<string, unknown>);
    return handler({ core, auth, id: req.params.id, body, req, reply, v });
  });

  app.post<{ Params: Id }>('/v2.1/servers/:id/remote-consoles', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    if (!atLeast(v, 6)) throw notFound('remote-consoles needs microversion 2.6 or later; before it, use the os-getVNCConsole action.');
    const b = checkBody<{ remote_console: { protocol: string; type: string } }>(remoteConsoleSchema, req.body).remote_console;
    return { remote_console: await createConsole(core, auth, req.params.id, b.protocol, b.type, baseUrl) };
  });
}
