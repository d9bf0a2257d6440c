import type { Static } from '@sinclair/typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { conflict, forbidden, notFound } from '../../core/errors.js';
import { hexId, nowIso } from '../../core/ids.js';
import { requireAdmin, requireAuth } from '../../core/policy.js';
import type { AssignmentRow } from '../../store/identity/repo.js';
import type { CloudContext } from '../context.js';
import { queryBool, queryString, uniquely } from './common.js';
import { IdParam, RoleCreate, RoleUpdate } from './schemas.js';
import { collection, roleView } from './views.js';

type Q = Record<string, unknown>;
const Seg = Type.String({ minLength: 1, maxLength: 255 });
const GrantParams = Type.Object({ tid: Seg, aid: Seg, rid: Seg });
const GrantListParams = Type.Object({ tid: Seg, aid: Seg });
const ImplyParams = Type.Object({ prior: Seg, implied: Seg });
const BUILTIN = new Set(['admin', 'member', 'reader']);

export function registerRoleRoutes(app: FastifyInstance, ctx: CloudContext, base: string): void {
  const { identity } = ctx;
  const repo = identity.repo;

  app.get<{ Querystring: Q }>('/v3/roles', async (req) => {
    requireAuth(req.auth);
    const f: { name?: string; domainId?: string } = {};
    const name = queryString(req.query['name']);
    const domainId = queryString(req.query['domain_id']);
    if (name !== undefined) f.name = name;
    if (domainId !== undefined) f.domainId = domainId;
    const rows = await repo.listRoles(f);
    return collection(base, 'roles', 'roles', rows.map((r) => roleView(base, r)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/roles/:id', { schema: { params: IdParam } }, async (req) => {
    requireAuth(req.auth);
    const r = await repo.getRole(req.params.id);
    if (!r) throw notFound(`Could not find role: ${req.params.id}.`);
    return { role: roleView(base, r) };
  });

  app.post<{ Body: Static<typeof RoleCreate> }>('/v3/roles', { schema: { body: RoleCreate } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_role');
    const b = req.body.role;
    if (b.domain_id && !(await repo.getDomain(b.domain_id))) throw notFound(`Could not find domain: ${b.domain_id}.`);
    const row = { id: hexId(), name: b.name, domain_id: b.domain_id ?? '', description: b.description ?? '', created_at: nowIso() };
    await uniquely(`role ${b.name}`, () => repo.insertRole(row));
    return reply.code(201).send({ role: roleView(base, row) });
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof RoleUpdate> }>(
    '/v3/roles/:id',
    { schema: { params: IdParam, body: RoleUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_role');
      const r = await repo.getRole(req.params.id);
      if (!r) throw notFound(`Could not find role: ${req.params.id}.`);
      const patch: Partial<typeof r> = {};
      if (req.body.role.name !== undefined) {
        if (BUILTIN.has(r.name) && r.domain_id === '' && req.body.role.name !== r.name) throw forbidden(`The built-in role ${r.name} cannot be renamed.`);
        patch.name = req.body.role.name;
      }
      if (req.body.role.description !== undefined) patch.description = req.body.role.description;
      await uniquely(`role ${patch.name ?? r.name}`, () => repo.updateRole(r.id, patch));
      return { role: roleView(base, { ...r, ...patch }) };
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/v3/roles/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_role');
    const r = await repo.getRole(req.params.id);
    if (!r) throw notFound(`Could not find role: ${req.params.id}.`);
    if (BUILTIN.has(r.name) && r.domain_id === '') throw forbidden(`The built-in role ${r.name} cannot be deleted: policy depends on it.`);
    await repo.deleteRole(r.id);
    return reply.code(204).send();
  });

  // --- implied roles
  app.get('/v3/role_inferences', async (req) => {
    requireAdmin(req.auth, 'identity:list_role_inference_rules');
    const edges = await repo.listImplied();
    const roles = new Map((await repo.allRoles()).map((r) => [r.id, r]));
    const byPrior = new Map<string, string[]>();
    for (const e of edges) byPrior.set(e.prior_role_id, [...(byPrior.get(e.prior_role_id) ?? []), e.implied_role_id]);
    const ref = (id: string) => ({ id, name: roles.get(id)?.name ?? id, links: { self: `${base}/v3/roles/${id}` } });
    return {
      role_inferences: [...byPrior.entries()].map(([prior, implies]) => ({ prior_role: ref(prior), implies: implies.map(ref) })),
      links: { self: `${base}/v3/role_inferences`, previous: null, next: null },
    };
  });
  app.put<{ Params: Static<typeof ImplyParams> }>('/v3/roles/:prior/implies/:implied', { schema: { params: ImplyParams } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_implied_role');
    const prior = await repo.getRole(req.params.prior);
    const implied = await repo.getRole(req.params.implied);
    if (!prior || !implied) throw notFound(`Could not find role: ${prior ? req.params.implied : req.params.prior}.`);
    if ((await identity.expandImplied([implied.id])).has(prior.id)) throw conflict('That implication would make a cycle.');
    await repo.insertImplied(prior.id, implied.id);
    const ref = (r: typeof prior) => ({ id: r.id, name: r.name, links: { self: `${base}/v3/roles/${r.id}` } });
    return reply.code(201).send({ role_inference: { prior_role: ref(prior), implies: ref(implied) } });
  });
  app.delete<{ Params: Static<typeof ImplyParams> }>('/v3/roles/:prior/implies/:implied', { schema: { params: ImplyParams } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_implied_role');
    if (!(await repo.deleteImplied(req.params.prior, req.params.implied))) throw notFound('Could not find that implied role.');
    return reply.code(204).send();
  });

  // --- grants: /v3/{projects|domains}/{tid}/{users|groups}/{aid}/roles/{rid}
  for (const target of ['projects', 'domains'] as const) {
    for (const actor of ['users', 'groups'] as const) {
      for (const inherited of [false, true]) {
        const prefix = inherited ? `/v3/OS-INHERIT/${target}` : `/v3/${target}`;
        const suffix = inherited ? '/inherited_to_projects' : '';
        const path = `${prefix}/:tid/${actor}/:aid/roles`;
        const resolve = async (tid: string, aid: string, rid?: string): Promise<AssignmentRow> => {
          const t = target === 'projects' ? await repo.getProject(tid) : await repo.getDomain(tid);
          if (!t) throw notFound(`Could not find ${target === 'projects' ? 'project' : 'domain'}: ${tid}.`);
          const a = actor === 'users' ? await repo.getUser(aid) : await repo.getGroup(aid);
          if (!a) throw notFound(`Could not find ${actor === 'users' ? 'user' : 'group'}: ${aid}.`);
          let roleId = '';
          if (rid !== undefined) {
            const r = await repo.getRole(rid);
            if (!r) throw notFound(`Could not find role: ${rid}.`);
            roleId = r.id;
          }
          return {
            actor_type: actor === 'users' ? 'user' : 'group',
            actor_id: a.id,
            target_type: target === 'projects' ? 'project' : 'domain',
            target_id: t.id,
            role_id: roleId,
            inherited: inherited ? 1 : 0,
          };
        };
        app.put<{ Params: Static<typeof GrantParams> }>(`${path}/:rid${suffix}`, { schema: { params: GrantParams } }, async (req, reply) => {
          requireAdmin(req.auth, 'identity:create_grant');
          await repo.grant(await resolve(req.params.tid, req.params.aid, req.params.rid));
          return reply.code(204).send();
        });
        app.route<{ Params: Static<typeof GrantParams> }>({
          method: ['HEAD', 'GET'],
          url: `${path}/:rid${suffix}`,
          schema: { params: GrantParams },
          handler: async (req, reply) => {
            requireAdmin(req.auth, 'identity:check_grant');
            if (!(await repo.hasAssignment(await resolve(req.params.tid, req.params.aid, req.params.rid)))) {
              throw notFound('Could not find that role assignment.');
            }
            return reply.code(204).send();
          },
        });
        app.delete<{ Params: Static<typeof GrantParams> }>(`${path}/:rid${suffix}`, { schema: { params: GrantParams } }, async (req, reply) => {
          requireAdmin(req.auth, 'identity:revoke_grant');
          const a = await resolve(req.params.tid, req.params.aid, req.params.rid);
          if (!(await repo.revoke(a))) throw notFound('Could not find that role assignment.');
          return reply.code(204).send();
        });
        {
          app.get<{ Params: Static<typeof GrantListParams> }>(`${path}${suffix}`, { schema: { params: GrantListParams } }, async (req) => {
            requireAdmin(req.auth, 'identity:list_grants');
            const a = await resolve(req.params.tid, req.params.aid);
            const rows = await repo.listAssignments({
              actorType: a.actor_type,
              actorIds: [a.actor_id],
              targetType: a.target_type,
              targetId: a.target_id,
              inherited,
            });
            const roles = await repo.allRoles();
            const ids = new Set(rows.map((r) => r.role_id));
            return collection(base, req.url.replace(/^.*?\/v3\//, ''), 'roles', roles.filter((r) => ids.has(r.id)).map((r) => roleView(base, r)));
          });
        }
      }
    }
  }

  // --- GET /v3/role_assignments
  app.get<{ Querystring: Q }>('/v3/role_assignments', async (req) => {
    const auth = requireAuth(req.auth);
    const q = req.query;
    const userId = queryString(q['user.id']);
    if (!auth.isAdmin && userId !== auth.userId) {
      throw forbidden('Only admin may list role assignments of others; filter with user.id=<your id>.');
    }
    return { role_assignments: await listAssignments(ctx, base, q), links: { self: `${base}/v3/role_assignments`, previous: null, next: null } };
  });
}

async function listAssignments(ctx: CloudContext, base: string, q: Q): Promise<unknown[]> {
  const repo = ctx.identity.repo;
  const effective = q['effective'] !== undefined && queryBool(q['effective']) !== false;
  const includeNames = q['include_names'] !== undefined && queryBool(q['include_names']) !== false;
  const userId = queryString(q['user.id']);
  const groupId = queryString(q['group.id']);
  const roleId = queryString(q['role.id']);
  const projectId = queryString(q['scope.project.id']);
  const domainId = queryString(q['scope.domain.id']);
  const inheritedOnly = queryString(q['scope.OS-INHERIT:inherited_to']) !== undefined;

  type Row = AssignmentRow & { via_group?: string };
  let rows: Row[] = await repo.listAssignments({});
  if (effective) {
    // Groups become their members; inherited domain grants land on every project of the domain.
    const expanded: Row[] = [];
    for (const r of rows) {
      const members = r.actor_type === 'group' ? (await repo.listUsers({ groupId: r.actor_id })).map((u) => u.id) : [r.actor_id];
      const targets: { type: 'project' | 'domain'; id: string }[] = [];
      if (r.inherited) {
        for (const p of await repo.listProjects({ domainId: r.target_id })) targets.push({ type: 'project', id: p.id });
      } else targets.push({ type: r.target_type, id: r.target_id });
      for (const m of members) {
        for (const t of targets) {
          const row: Row = { actor_type: 'user', actor_id: m, target_type: t.type, target_id: t.id, role_id: r.role_id, inherited: 0 };
          if (r.actor_type === 'group') row.via_group = r.actor_id;
          expanded.push(row);
        }
      }
    }
    const out: Row[] = [];
    for (const r of expanded) {
      for (const rid of await ctx.identity.expandImplied([r.role_id])) out.push({ ...r, role_id: rid });
    }
    const seen = new Set<string>();
    rows = out.filter((r) => {
      const k = `${r.actor_id}|${r.target_type}|${r.target_id}|${r.role_id}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }
  rows = rows.filter(
    (r) =>
      (userId === undefined || (r.actor_type === 'user' && r.actor_id === userId)) &&
      (groupId === undefined || (r.actor_type === 'group' && r.actor_id === groupId)) &&
      (roleId === undefined || r.role_id === roleId) &&
      (projectId === undefined || (r.target_type === 'project' && r.target_id === projectId)) &&
      (domainId === undefined || (r.target_type === 'domain' && r.target_id === domainId)) &&
      (!inheritedOnly || r.inherited === 1),
  );

  const roles = new Map((await repo.allRoles()).map((r) => [r.id, r]));
  const domains = new Map((await repo.listDomains({})).map((d) => [d.id, d]));
  const names = includeNames;
  const out = [];
  for (const r of rows) {
    const role = roles.get(r.role_id);
    const entry: Record<string, unknown> = { role: { id: r.role_id, ...(names && role ? { name: role.name } : {}) } };
    if (r.actor_type === 'user') {
      const u = names ? await repo.getUser(r.actor_id) : undefined;
      entry['user'] = { id: r.actor_id, ...(u ? { name: u.name, domain: { id: u.domain_id, name: domains.get(u.domain_id)?.name } } : {}) };
    } else {
      const g = names ? await repo.getGroup(r.actor_id) : undefined;
      entry['group'] = { id: r.actor_id, ...(g ? { name: g.name, domain: { id: g.domain_id, name: domains.get(g.domain_id)?.name } } : {}) };
    }
    if (r.target_type === 'project') {
      const p = names ? await repo.getProject(r.target_id) : undefined;
      entry['scope'] = { project: { id: r.target_id, ...(p ? { name: p.name, domain: { id: p.domain_id, name: domains.get(p.domain_id)?.name } } : {}) } };
    } else {
      const d = domains.get(r.target_id);
      entry['scope'] = { domain: { id: r.target_id, ...(names && d ? { name: d.name } : {}) } };
    }
    if (r.inherited) (entry['scope'] as Record<string, unknown>)['OS-INHERIT:inherited_to'] = 'projects';
    const tpath = `${r.target_type === 'project' ? 'projects' : 'domains'}/${r.target_id}`;
    const apath = `${r.actor_type === 'user' ? 'users' : 'groups'}/${r.actor_id}`;
    const links: Record<string, string> = { assignment: `${base}/v3/${tpath}/${apath}/roles/${r.role_id}` };
    if (r.via_group) links['membership'] = `${base}/v3/groups/${r.via_group}/users/${r.actor_id}`;
    entry['links'] = links;
    out.push(entry);
  }
  return out;
}
