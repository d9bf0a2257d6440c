import type { FastifyInstance } from 'fastify';
import type { FlavorListFilter } from '../../core/compute/flavors.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { badRequest, notFound } from '../../core/errors.js';
import { requireAuth } from '../../core/policy.js';
import type { FlavorWithSpecs } from '../../store/compute/catalog.repo.js';
import { links, mvOf, nextLinks, pagination, qOne, type Query, type Roots } from './common.js';
import { extraSpecItemSchema, extraSpecsSchema, flavorActionSchema, flavorCreateSchema, flavorUpdateSchema } from './schemas.js';
import { checkBody, novaBool } from './validate.js';

/** Flavors, their extra specs and access lists (os-flavor-manage, os-flavor-extra-specs, os-flavor-access). */

type Id = { id: string };
type SpecKey = { id: string; key: string };

export function flavorSummary(r: Roots, v: Microversion, f: FlavorWithSpecs) {
  return { id: f.id, name: f.name, links: links(r, 'flavors', f.id), ...(atLeast(v, 55) ? { description: f.description } : {}) };
}

export function flavorDetail(r: Roots, v: Microversion, f: FlavorWithSpecs) {
  return {
    id: f.id,
    name: f.name,
    ram: f.ram,
    disk: f.disk,
    // Nova printed no swap as "" until 2.75 made it 0.
    swap: atLeast(v, 75) ? f.swap : f.swap || '',
    'OS-FLV-EXT-DATA:ephemeral': f.ephemeral,
    'OS-FLV-DISABLED:disabled': f.disabled === 1,
    vcpus: f.vcpus,
    'os-flavor-access:is_public': f.is_public === 1,
    rxtx_factor: f.rxtx_factor,
    links: links(r, 'flavors', f.id),
    ...(atLeast(v, 55) ? { description: f.description } : {}),
    ...(atLeast(v, 61) ? { extra_specs: f.extra_specs } : {}),
  };
}

const int = (v: unknown): number => (typeof v === 'number' ? v : Number(v));

/** Nova's is_public filter: absent → public only; "None"/"none" → all; else a strict boolean. */
function isPublicFilter(v: string | undefined): boolean | null {
  if (v === undefined) return true;
  if (v.toLowerCase() === 'none') return null;
  const s = v.toLowerCase();
  if (['true', '1', 'yes', 'on', 't', 'y'].includes(s)) return true;
  if (['false', '0', 'no', 'off', 'f', 'n'].includes(s)) return false;
  throw badRequest(`Invalid is_public filter [${v}]`);
}

const FLAVOR_SORT: Record<string, (f: FlavorWithSpecs) => string | number> = {
  flavorid: (f) => f.id,
  id: (f) => f.id,
  name: (f) => f.name,
  memory_mb: (f) => f.ram,
  ram: (f) => f.ram,
  vcpus: (f) => f.vcpus,
  root_gb: (f) => f.disk,
  disk: (f) => f.disk,
  ephemeral_gb: (f) => f.ephemeral,
  swap: (f) => f.swap,
  rxtx_factor: (f) => f.rxtx_factor,
  created_at: (f) => f.created_at,
};

export function registerFlavorRoutes(app: FastifyInstance, core: ComputeCore, roots: Roots, projectExists?: (id: string) => Promise<boolean>): void {
  const svc = core.flavors;

  async function listFlavors(auth: Parameters<typeof svc.list>[0], q: Query): Promise<{ rows: FlavorWithSpecs[]; limit: number }> {
    const filter: FlavorListFilter = { isPublic: auth.isAdmin ? isPublicFilter(qOne(q, 'is_public')) : true, includeDisabled: auth.isAdmin };
    for (const [key, field] of [
      ['minRam', 'minRam'],
      ['minDisk', 'minDisk'],
    ] as const) {
      const v = qOne(q, key);
      if (v === undefined) continue;
      if (!/^-?\d+$/.test(v)) throw badRequest(`Invalid ${key} filter [${v}]`);
      filter[field] = Number(v);
    }
    const name = qOne(q, 'name');
    if (name !== undefined) {
      try {
        filter.name = new RegExp(name);
      } catch {
        throw badRequest(`Invalid name filter [${name}]: not a regular expression.`);
      }
    }
    let rows = await svc.list(auth, filter);
    const sortKey = qOne(q, 'sort_key') ?? 'flavorid';
    const sortDir = qOne(q, 'sort_dir') ?? 'asc';
    const get = FLAVOR_SORT[sortKey];
    if (!get) throw badRequest(`Invalid sort_key ${sortKey}: use one of ${Object.keys(FLAVOR_SORT).join(', ')}.`);
    if (sortDir !== 'asc' && sortDir !== 'desc') throw badRequest(`Invalid sort_dir ${sortDir}: use asc or desc.`);
    rows = rows.sort((a, b) => {
      const x = get(a);
      const y = get(b);
      const c = x < y ? -1 : x > y ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
      return sortDir === 'asc' ? c : -c;
    });
    const { limit, marker } = pagination(q);
    if (marker !== undefined) {
      const at = rows.findIndex((f) => f.id === marker);
      if (at < 0) throw badRequest(`marker [${marker}] not found`);
      rows = rows.slice(at + 1);
    }
    return { rows: rows.slice(0, limit), limit };
  }

  app.get<{ Querystring: Query }>('/v2.1/flavors', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const { rows, limit } = await listFlavors(auth, req.query);
    const next = nextLinks(req, roots.api, 'flavors', rows.length, limit, rows[rows.length - 1]?.id);
    return { flavors: rows.map((f) => flavorSummary(roots, v, f)), ...(next ? { flavors_links: next } : {}) };
  });

  app.get<{ Querystring: Query }>('/v2.1/flavors/detail', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const { rows, limit } = await listFlavors(auth, req.query);
    const next = nextLinks(req, roots.api, 'flavors/detail', rows.length, limit, rows[rows.length - 1]?.id);
    return { flavors: rows.map((f) => flavorDetail(roots, v, f)), ...(next ? { flavors_links: next } : {}) };
  });

  app.get<{ Params: Id }>('/v2.1/flavors/:id', async (req) => {
    const f = await svc.getVisible(requireAuth(req.auth), req.params.id);
    return { flavor: flavorDetail(roots, mvOf(req), f) };
  });

  app.post('/v2.1/flavors', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const b = checkBody<{ flavor: Record<string, unknown> }>(flavorCreateSchema(v), req.body).flavor;
    const swap = b['swap'];
    const f = await svc.create(auth, {
      name: String(b['name']),
      id: b['id'] === undefined || b['id'] === null ? null : String(b['id']),
      ram: int(b['ram']),
      vcpus: int(b['vcpus']),
      disk: int(b['disk']),
      ephemeral: b['OS-FLV-EXT-DATA:ephemeral'] === undefined ? 0 : int(b['OS-FLV-EXT-DATA:ephemeral']),
      swap: swap === undefined || swap === '' ? 0 : int(swap),
      rxtxFactor: b['rxtx_factor'] === undefined ? 1 : Number(b['rxtx_factor']),
      isPublic: b['os-flavor-access:is_public'] === undefined ? true : novaBool(b['os-flavor-access:is_public']),
      description: (b['description'] as string | null | undefined) ?? null,
    });
    return { flavor: flavorDetail(roots, v, f) };
  });

  app.put<{ Params: Id }>('/v2.1/flavors/:id', async (req) => {
    const v = mvOf(req);
    if (!atLeast(v, 55)) throw badRequest('Updating a flavor needs microversion 2.55 or later (it may only change the description).');
    const b = checkBody<{ flavor: { description: string | null } }>(flavorUpdateSchema, req.body);
    const f = await svc.updateDescription(requireAuth(req.auth), req.params.id, b.flavor.description);
    return { flavor: flavorDetail(roots, v, f) };
  });

  app.delete<{ Params: Id }>('/v2.1/flavors/:id', async (req, reply) => {
    await svc.delete(requireAuth(req.auth), req.params.id);
    return reply.code(202).send();
  });

  // --- extra specs
  app.get<{ Params: Id }>('/v2.1/flavors/:id/os-extra_specs', async (req) => {
    const f = await svc.getVisible(requireAuth(req.auth), req.params.id);
    return { extra_specs: f.extra_specs };
  });

  app.post<{ Params: Id }>('/v2.1/flavors/:id/os-extra_specs', async (req) => {
    const b = checkBody<{ extra_specs: Record<string, string | number | boolean> }>(extraSpecsSchema, req.body);
    const specs = Object.fromEntries(Object.entries(b.extra_specs).map(([k, val]) => [k, String(val)]));
    return { extra_specs: await svc.setExtraSpecs(requireAuth(req.auth), req.params.id, specs) };
  });

  app.get<{ Params: SpecKey }>('/v2.1/flavors/:id/os-extra_specs/:key', async (req) => {
    const f = await svc.getVisible(requireAuth(req.auth), req.params.id);
    const value = f.extra_specs[req.params.key];
    if (value === undefined) throw notFound(`Flavor ${req.params.id} has no extra specs with key ${req.params.key}.`);
    return { [req.params.key]: value };
  });

  app.put<{ Params: SpecKey }>('/v2.1/flavors/:id/os-extra_specs/:key', async (req) => {
    const b = checkBody<Record<string, string | number | boolean>>(extraSpecItemSchema, req.body);
    const [k, val] = Object.entries(b)[0] ?? [];
    if (k !== req.params.key) throw badRequest('Request body and URI mismatch');
    await svc.setExtraSpecs(requireAuth(req.auth), req.params.id, { [k]: String(val) });
    return { [k]: String(val) };
  });

  app.delete<{ Params: SpecKey }>('/v2.1/flavors/:id/os-extra_specs/:key', async (req, reply) => {
    await svc.deleteExtraSpec(requireAuth(req.auth), req.params.id, req.params.key);
    return reply.code(200).send();
  });

  // --- access
  app.get<{ Params: Id }>('/v2.1/flavors/:id/os-flavor-access', async (req) => ({
    flavor_access: await svc.access(requireAuth(req.auth), req.params.id),
  }));

  app.post<{ Params: Id }>('/v2.1/flavors/:id/action', async (req) => {
    const auth = requireAuth(req.auth);
    const b = checkBody<{ addTenantAccess?: { tenant: string }; removeTenantAccess?: { tenant: string } }>(flavorActionSchema, req.body);
    if (b.addTenantAccess) {
      const tenant = b.addTenantAccess.tenant;
      if (projectExists && auth.isAdmin && !(await projectExists(tenant))) throw badRequest(`Project ID ${tenant} is not a valid project.`);
      return { flavor_access: await svc.addAccess(auth, req.params.id, tenant) };
    }
    const tenant = b.removeTenantAccess?.tenant ?? '';
    return { flavor_access: await svc.removeAccess(auth, req.params.id, tenant) };
  });
}
