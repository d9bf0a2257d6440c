import type { FastifyInstance } from 'fastify';
import { createGroup, deleteGroup, getGroup, listGroups, type ServerGroup } from '../../core/compute/groups.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { badRequest } from '../../core/errors.js';
import { requireAuth } from '../../core/policy.js';
import { mvOf, qBool, qOne, type Query } from './common.js';
import { serverGroupCreateSchema } from './schemas.js';
import { checkBody } from './validate.js';

/** os-server-groups: 2.13 adds project/user, 2.64 replaces policies/metadata by policy/rules. */

function groupView(v: Microversion, g: ServerGroup) {
  const base = { id: g.id, name: g.name, members: g.members };
  const owner = atLeast(v, 13) ? { project_id: g.project_id, user_id: g.user_id } : {};
  if (atLeast(v, 64)) return { ...base, ...owner, policy: g.policy, rules: JSON.parse(g.rules) as Record<string, number> };
  return { ...base, ...owner, policies: [g.policy], metadata: {} };
}

export function registerServerGroupRoutes(app: FastifyInstance, core: ComputeCore): void {
  app.get<{ Querystring: Query }>('/v2.1/os-server-groups', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    let rows = await listGroups(core, auth, qBool(req.query, 'all_projects') === true);
    const offset = qOne(req.query, 'offset');
    const limit = qOne(req.query, 'limit');
    for (const [k, val] of [
      ['offset', offset],
      ['limit', limit],
    ] as const) {
      if (val !== undefined && !/^\d+$/.test(val)) throw badRequest(`${k} param must be an integer (got "${val}").`);
    }
    rows = rows.slice(Number(offset ?? 0), limit === undefined ? undefined : Number(offset ?? 0) + Number(limit));
    return { server_groups: rows.map((g) => groupView(v, g)) };
  });

  app.get<{ Params: { id: string } }>('/v2.1/os-server-groups/:id', async (req) => ({
    server_group: groupView(mvOf(req), await getGroup(core, requireAuth(req.auth), req.params.id)),
  }));

  app.post('/v2.1/os-server-groups', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const b = checkBody<{ server_group: { name: string; policies?: string[]; policy?: string; rules?: { max_server_per_host?: number | string } } }>(
      serverGroupCreateSchema(v),
      req.body,
    ).server_group;
    const policy = b.policy ?? b.policies?.[0] ?? 'affinity';
    const rules: Record<string, number> = {};
    if (b.rules?.max_server_per_host !== undefined) rules['max_server_per_host'] = Number(b.rules.max_server_per_host);
    return { server_group: groupView(v, await createGroup(core, auth, b.name, policy, rules)) };
  });

  app.delete<{ Params: { id: string } }>('/v2.1/os-server-groups/:id', async (req, reply) => {
    await deleteGroup(core, requireAuth(req.auth), req.params.id);
    return reply.code(204).send();
  });
}
