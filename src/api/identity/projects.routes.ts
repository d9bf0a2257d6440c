import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, forbidden, notFound } from '../../core/errors.js';
import { hexId, nowIso } from '../../core/ids.js';
import { requireAdmin, requireAuth } from '../../core/policy.js';
import type { CloudContext } from '../context.js';
import { boolInt, queryBool, queryString, uniquely } from './common.js';
import { DomainCreate, DomainUpdate, IdParam, ProjectCreate, ProjectUpdate } from './schemas.js';
import { collection, domainView, projectView } from './views.js';

type Q = Record<string, unknown>;
const KNOWN_PROJECT = new Set(['name', 'domain_id', 'parent_id', 'description', 'enabled', 'is_domain', 'tags', 'options', 'id']);
const KNOWN_DOMAIN = new Set(['name', 'description', 'enabled', 'tags', 'options', 'id']);

function extras(body: Record<string, unknown>, known: Set<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => !known.has(k)));
}

export function registerProjectRoutes(app: FastifyInstance, ctx: CloudContext, base: string): void {
  const repo = ctx.identity.repo;

  // --- domains
  app.get<{ Querystring: Q }>('/v3/domains', async (req) => {
    const auth = requireAuth(req.auth);
    const filter: { name?: string; enabled?: boolean } = {};
    const name = queryString(req.query['name']);
    const enabled = queryBool(req.query['enabled']);
    if (name !== undefined) filter.name = name;
    if (enabled !== undefined) filter.enabled = enabled;
    let rows = await repo.listDomains(filter);
    if (!auth.isAdmin) rows = rows.filter((d) => d.id === auth.domainId || d.id === auth.projectDomainId);
    return collection(base, 'domains', 'domains', rows.map((d) => domainView(base, d)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/domains/:id', { schema: { params: IdParam } }, async (req) => {
    const auth = requireAuth(req.auth);
    const d = await repo.getDomain(req.params.id);
    if (!d || (!auth.isAdmin && d.id !== auth.domainId && d.id !== auth.projectDomainId && d.id !== auth.userDomainId)) {
      throw notFound(`Could not find domain: ${req.params.id}.`);
    }
    return { domain: domainView(base, d) };
  });

  app.post<{ Body: Static<typeof DomainCreate> }>('/v3/domains', { schema: { body: DomainCreate } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_domain');
    const b = req.body.domain;
    const row = {
      id: hexId(),
      name: b.name,
      description: b.description ?? '',
      enabled: boolInt(b.enabled, true),
      extra: JSON.stringify(extras(b, KNOWN_DOMAIN)),
      created_at: nowIso(),
    };
    await uniquely(`domain ${b.name}`, () => repo.insertDomain(row));
    return reply.code(201).send({ domain: domainView(base, row) });
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof DomainUpdate> }>(
    '/v3/domains/:id',
    { schema: { params: IdParam, body: DomainUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_domain');
      const d = await repo.getDomain(req.params.id);
      if (!d) throw notFound(`Could not find domain: ${req.params.id}.`);
      const b = req.body.domain;
      const patch: Partial<typeof d> = {};
      if (b.name !== undefined) patch.name = b.name;
      if (b.description !== undefined) patch.description = b.description;
      if (b.enabled !== undefined) patch.enabled = b.enabled ? 1 : 0;
      const ex = extras(b, KNOWN_DOMAIN);
      if (Object.keys(ex).length) patch.extra = JSON.stringify({ ...(JSON.parse(d.extra) as object), ...ex });
      await uniquely(`domain ${b.name ?? d.name}`, () => repo.updateDomain(d.id, patch));
      return { domain: domainView(base, { ...d, ...patch }) };
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/v3/domains/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_domain');
    const d = await repo.getDomain(req.params.id);
    if (!d) throw notFound(`Could not find domain: ${req.params.id}.`);
    if (d.enabled) throw forbidden(`Domain ${d.name} is enabled: disable it first (openstack domain set --disable ${d.name}).`);
    if (d.id === 'default') throw forbidden('The Default domain cannot be deleted.');
    if (await repo.domainHasChildren(d.id)) throw conflict(`Domain ${d.name} still holds projects, users or groups: delete them first.`);
    await repo.deleteDomain(d.id);
    return reply.code(204).send();
  });

  // --- projects
  app.get<{ Querystring: Q }>('/v3/projects', async (req) => {
    const auth = requireAuth(req.auth);
    const f: Parameters<typeof repo.listProjects>[0] = {};
    const name = queryString(req.query['name']);
    const domainId = queryString(req.query['domain_id']);
    const parentId = queryString(req.query['parent_id']);
    const enabled = queryBool(req.query['enabled']);
    if (queryBool(req.query['is_domain']) === true) return collection(base, 'projects', 'projects', []);
    if (name !== undefined) f.name = name;
    if (domainId !== undefined) f.domainId = domainId;
    if (enabled !== undefined) f.enabled = enabled;
    let rows = await repo.listProjects(f);
    if (parentId !== undefined) rows = rows.filter((p) => (p.parent_id ?? p.domain_id) === parentId);
    if (!auth.isAdmin) {
      // Keystone lets a non-admin list only the project of its token.
      rows = rows.filter((p) => p.id === auth.projectId);
    }
    const tags = queryString(req.query['tags']);
    if (tags) {
      const want = tags.split(',');
      rows = rows.filter((p) => {
        const have = JSON.parse(p.tags) as string[];
        return want.every((t) => have.includes(t));
      });
    }
    return collection(base, 'projects', 'projects', rows.map((p) => projectView(base, p)));
  });

  app.get<{ Params: Static<typeof IdParam> }>('/v3/projects/:id', { schema: { params: IdParam } }, async (req) => {
    const auth = requireAuth(req.auth);
    const p = await repo.getProject(req.params.id);
    if (!p || (!auth.isAdmin && p.id !== auth.projectId)) throw notFound(`Could not find project: ${req.params.id}.`);
    return { project: projectView(base, p) };
  });

  app.post<{ Body: Static<typeof ProjectCreate> }>('/v3/projects', { schema: { body: ProjectCreate } }, async (req, reply) => {
    const auth = requireAdmin(req.auth, 'identity:create_project');
    const b = req.body.project;
    if (b.is_domain) throw badRequest('Projects acting as domains are not supported; create a domain instead.');
    let domainId = b.domain_id ?? auth.projectDomainId ?? auth.domainId ?? 'default';
    let parentId: string | null = null;
    if (b.parent_id && b.parent_id !== domainId) {
      const parent = await repo.getProject(b.parent_id);
      if (!parent) throw notFound(`Could not find project: ${b.parent_id} (the parent).`);
      parentId = parent.id;
      domainId = parent.domain_id;
    }
    if (!(await repo.getDomain(domainId))) throw notFound(`Could not find domain: ${domainId}.`);
    const row = {
      id: hexId(),
      name: b.name,
      domain_id: domainId,
      parent_id: parentId,
      description: b.description ?? '',
      enabled: boolInt(b.enabled, true),
      tags: JSON.stringify(b.tags ?? []),
      extra: JSON.stringify(extras(b, KNOWN_PROJECT)),
      created_at: nowIso(),
    };
    await uniquely(`project ${b.name}`, () => repo.insertProject(row));
    return reply.code(201).send({ project: projectView(base, row) });
  });

  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof ProjectUpdate> }>(
    '/v3/projects/:id',
    { schema: { params: IdParam, body: ProjectUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_project');
      const p = await repo.getProject(req.params.id);
      if (!p) throw notFound(`Could not find project: ${req.params.id}.`);
      const b = req.body.project;
      const patch: Partial<typeof p> = {};
      if (b.name !== undefined) patch.name = b.name;
      if (b.description !== undefined) patch.description = b.description ?? '';
      if (b.enabled !== undefined) patch.enabled = b.enabled ? 1 : 0;
      if (b.tags !== undefined) patch.tags = JSON.stringify(b.tags);
      const ex = extras(b, KNOWN_PROJECT);
      if (Object.keys(ex).length) patch.extra = JSON.stringify({ ...(JSON.parse(p.extra) as object), ...ex });
      await uniquely(`project ${b.name ?? p.name}`, () => repo.updateProject(p.id, patch));
      return { project: projectView(base, { ...p, ...patch }) };
    },
  );

  app.delete<{ Params: Static<typeof IdParam> }>('/v3/projects/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_project');
    const p = await repo.getProject(req.params.id);
    if (!p) throw notFound(`Could not find project: ${req.params.id}.`);
    if (await repo.projectHasChildren(p.id)) throw forbidden(`Project ${p.name} has child projects: delete them first.`);
    await repo.deleteProject(p.id);
    await ctx.identity.revokeAllFor({ projectId: p.id });
    return reply.code(204).send();
  });

  // Project tags (openstack project set --tag uses PUT of the whole list).
  app.get<{ Params: Static<typeof IdParam> }>('/v3/projects/:id/tags', { schema: { params: IdParam } }, async (req) => {
    const auth = requireAuth(req.auth);
    const p = await repo.getProject(req.params.id);
    if (!p || (!auth.isAdmin && p.id !== auth.projectId)) throw notFound(`Could not find project: ${req.params.id}.`);
    return { tags: JSON.parse(p.tags) as string[] };
  });
}
