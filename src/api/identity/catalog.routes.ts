import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { badRequest, conflict, notFound } from '../../core/errors.js';
import { hexId, nowIso } from '../../core/ids.js';
import { requireAdmin, requireAuth } from '../../core/policy.js';
import type { CloudContext } from '../context.js';
import { queryString, uniquely } from './common.js';
import { EndpointCreate, EndpointUpdate, IdParam, RegionCreate, RegionUpdate, ServiceCreate, ServiceUpdate } from './schemas.js';
import { collection, endpointView, regionView, serviceView } from './views.js';

type Q = Record<string, unknown>;

export function registerCatalogRoutes(app: FastifyInstance, ctx: CloudContext, base: string): void {
  const repo = ctx.identity.repo;

  // --- regions
  app.get<{ Querystring: Q }>('/v3/regions', async (req) => {
    requireAuth(req.auth);
    const parent = queryString(req.query['parent_region_id']);
    const rows = await repo.listRegions(parent === undefined ? {} : { parentRegionId: parent });
    return collection(base, 'regions', 'regions', rows.map((r) => regionView(base, r)));
  });
  app.get<{ Params: Static<typeof IdParam> }>('/v3/regions/:id', { schema: { params: IdParam } }, async (req) => {
    requireAuth(req.auth);
    const r = await repo.getRegion(req.params.id);
    if (!r) throw notFound(`Could not find region: ${req.params.id}.`);
    return { region: regionView(base, r) };
  });
  const createRegion = async (id: string, b: Static<typeof RegionCreate>['region']) => {
    if (b.parent_region_id && !(await repo.getRegion(b.parent_region_id))) throw badRequest(`Parent region ${b.parent_region_id} does not exist.`);
    if (await repo.getRegion(id)) throw conflict(`Conflict occurred attempting to store region - Duplicate ID, ${id}.`);
    const row = { id, description: b.description ?? '', parent_region_id: b.parent_region_id ?? null, created_at: nowIso() };
    await repo.insertRegion(row);
    return row;
  };
  app.post<{ Body: Static<typeof RegionCreate> }>('/v3/regions', { schema: { body: RegionCreate } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_region');
    const row = await createRegion(req.body.region.id ?? hexId(), req.body.region);
    return reply.code(201).send({ region: regionView(base, row) });
  });
  app.put<{ Params: Static<typeof IdParam>; Body: Static<typeof RegionCreate> }>(
    '/v3/regions/:id',
    { schema: { params: IdParam, body: RegionCreate } },
    async (req, reply) => {
      requireAdmin(req.auth, 'identity:create_region');
      const row = await createRegion(req.params.id, req.body.region);
      return reply.code(201).send({ region: regionView(base, row) });
    },
  );
  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof RegionUpdate> }>(
    '/v3/regions/:id',
    { schema: { params: IdParam, body: RegionUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_region');
      const r = await repo.getRegion(req.params.id);
      if (!r) throw notFound(`Could not find region: ${req.params.id}.`);
      const patch: Partial<typeof r> = {};
      if (req.body.region.description !== undefined) patch.description = req.body.region.description;
      if (req.body.region.parent_region_id !== undefined) {
        const p = req.body.region.parent_region_id;
        if (p === r.id) throw badRequest('A region cannot be its own parent.');
        if (p && !(await repo.getRegion(p))) throw badRequest(`Parent region ${p} does not exist.`);
        patch.parent_region_id = p;
      }
      await repo.updateRegion(r.id, patch);
      return { region: regionView(base, { ...r, ...patch }) };
    },
  );
  app.delete<{ Params: Static<typeof IdParam> }>('/v3/regions/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_region');
    const r = await repo.getRegion(req.params.id);
    if (!r) throw notFound(`Could not find region: ${req.params.id}.`);
    if ((await repo.listRegions({ parentRegionId: r.id })).length) throw conflict(`Region ${r.id} has child regions: delete them first.`);
    if ((await repo.listEndpoints({ regionId: r.id })).length) throw conflict(`Region ${r.id} still has endpoints: delete them first.`);
    await repo.deleteRegion(r.id);
    return reply.code(204).send();
  });

  // --- services
  app.get<{ Querystring: Q }>('/v3/services', async (req) => {
    requireAuth(req.auth);
    const f: { type?: string; name?: string } = {};
    const type = queryString(req.query['type']);
    const name = queryString(req.query['name']);
    if (type !== undefined) f.type = type;
    if (name !== undefined) f.name = name;
    const rows = await repo.listServices(f);
    return collection(base, 'services', 'services', rows.map((s) => serviceView(base, s)));
  });
  app.get<{ Params: Static<typeof IdParam> }>('/v3/services/:id', { schema: { params: IdParam } }, async (req) => {
    requireAuth(req.auth);
    const s = await repo.getService(req.params.id);
    if (!s) throw notFound(`Could not find service: ${req.params.id}.`);
    return { service: serviceView(base, s) };
  });
  app.post<{ Body: Static<typeof ServiceCreate> }>('/v3/services', { schema: { body: ServiceCreate } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_service');
    const b = req.body.service;
    const row = { id: hexId(), type: b.type, name: b.name ?? '', description: b.description ?? '', enabled: b.enabled === false ? 0 : 1, managed: 0, created_at: nowIso() };
    await repo.insertService(row);
    return reply.code(201).send({ service: serviceView(base, row) });
  });
  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof ServiceUpdate> }>(
    '/v3/services/:id',
    { schema: { params: IdParam, body: ServiceUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_service');
      const s = await repo.getService(req.params.id);
      if (!s) throw notFound(`Could not find service: ${req.params.id}.`);
      const b = req.body.service;
      const patch: Partial<typeof s> = {};
      if (b.type !== undefined) patch.type = b.type;
      if (b.name !== undefined) patch.name = b.name;
      if (b.description !== undefined) patch.description = b.description;
      if (b.enabled !== undefined) patch.enabled = b.enabled ? 1 : 0;
      await repo.updateService(s.id, patch);
      return { service: serviceView(base, { ...s, ...patch }) };
    },
  );
  app.delete<{ Params: Static<typeof IdParam> }>('/v3/services/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_service');
    const s = await repo.getService(req.params.id);
    if (!s) throw notFound(`Could not find service: ${req.params.id}.`);
    await repo.deleteService(s.id);
    return reply.code(204).send();
  });

  // --- endpoints
  app.get<{ Querystring: Q }>('/v3/endpoints', async (req) => {
    requireAuth(req.auth);
    const f: { serviceId?: string; interface?: string; regionId?: string } = {};
    const sid = queryString(req.query['service_id']);
    const iface = queryString(req.query['interface']);
    const region = queryString(req.query['region_id']) ?? queryString(req.query['region']);
    if (sid !== undefined) f.serviceId = sid;
    if (iface !== undefined) f.interface = iface;
    if (region !== undefined) f.regionId = region;
    const rows = await repo.listEndpoints(f);
    return collection(base, 'endpoints', 'endpoints', rows.map((e) => endpointView(base, e)));
  });
  app.get<{ Params: Static<typeof IdParam> }>('/v3/endpoints/:id', { schema: { params: IdParam } }, async (req) => {
    requireAuth(req.auth);
    const e = await repo.getEndpoint(req.params.id);
    if (!e) throw notFound(`Could not find endpoint: ${req.params.id}.`);
    return { endpoint: endpointView(base, e) };
  });
  app.post<{ Body: Static<typeof EndpointCreate> }>('/v3/endpoints', { schema: { body: EndpointCreate } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:create_endpoint');
    const b = req.body.endpoint;
    if (!(await repo.getService(b.service_id))) throw badRequest(`Service ${b.service_id} does not exist; create it first.`);
    const region = b.region_id ?? b.region ?? null;
    if (region && !(await repo.getRegion(region))) throw badRequest(`Region ${region} does not exist; create it first.`);
    const row = { id: hexId(), service_id: b.service_id, interface: b.interface, url: b.url, region_id: region, enabled: b.enabled === false ? 0 : 1, created_at: nowIso() };
    await uniquely('endpoint', () => repo.insertEndpoint(row));
    return reply.code(201).send({ endpoint: endpointView(base, row) });
  });
  app.patch<{ Params: Static<typeof IdParam>; Body: Static<typeof EndpointUpdate> }>(
    '/v3/endpoints/:id',
    { schema: { params: IdParam, body: EndpointUpdate } },
    async (req) => {
      requireAdmin(req.auth, 'identity:update_endpoint');
      const e = await repo.getEndpoint(req.params.id);
      if (!e) throw notFound(`Could not find endpoint: ${req.params.id}.`);
      const b = req.body.endpoint;
      const patch: Partial<typeof e> = {};
      if (b.service_id !== undefined) {
        if (!(await repo.getService(b.service_id))) throw badRequest(`Service ${b.service_id} does not exist.`);
        patch.service_id = b.service_id;
      }
      if (b.interface !== undefined) patch.interface = b.interface;
      if (b.url !== undefined) patch.url = b.url;
      const region = b.region_id !== undefined ? b.region_id : b.region;
      if (region !== undefined) {
        if (region && !(await repo.getRegion(region))) throw badRequest(`Region ${region} does not exist.`);
        patch.region_id = region;
      }
      if (b.enabled !== undefined) patch.enabled = b.enabled ? 1 : 0;
      await repo.updateEndpoint(e.id, patch);
      return { endpoint: endpointView(base, { ...e, ...patch }) };
    },
  );
  app.delete<{ Params: Static<typeof IdParam> }>('/v3/endpoints/:id', { schema: { params: IdParam } }, async (req, reply) => {
    requireAdmin(req.auth, 'identity:delete_endpoint');
    const e = await repo.getEndpoint(req.params.id);
    if (!e) throw notFound(`Could not find endpoint: ${req.params.id}.`);
    await repo.deleteEndpoint(e.id);
    return reply.code(204).send();
  });
}
