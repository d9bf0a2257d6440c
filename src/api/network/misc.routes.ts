import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { forbidden } from '../../core/errors.js';
import { member, reader } from '../../core/network/access.js';
import { getAvailability, listAvailability } from '../../core/network/availability.js';
import type { NetCore } from '../../core/network/core.js';
import { extensionNotFound } from '../../core/network/errors.js';
import { limitsOf, parseQuotaUpdate, quotaDetails, requireQuotaAccess } from '../../core/network/quotas.js';
import { QUOTA_RESOURCES } from '../../core/network/settings.js';
import { addTag, clearTags, hasTag, listTags, removeTag, replaceTags, TAGGABLE } from '../../core/network/tags.js';
import { listBody, showBody } from './common.js';
import { EXTENSIONS, extensionView } from './extensions.js';
import { stripUndefined } from './networks.routes.js';
import { sqlFilter, type Query } from './query.js';
import { IdParam, QuotaUpdate, TagsBody } from './schemas.js';
import { Type } from '@sinclair/typebox';

type Id = Static<typeof IdParam>;
const AliasParam = Type.Object({ alias: Type.String({ minLength: 1, maxLength: 255 }) });
const TagParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 255 }), tag: Type.String({ minLength: 1, maxLength: 255 }) });

export function registerMiscRoutes(app: FastifyInstance, core: NetCore, base: string): void {
  // --- extensions
  app.get<{ Querystring: Query }>('/v2.0/extensions', async (req) => {
    reader(req.auth);
    return listBody('extensions', EXTENSIONS.map(extensionView), req.query, `${base}/v2.0/extensions`);
  });
  app.get<{ Params: Static<typeof AliasParam> }>('/v2.0/extensions/:alias', { schema: { params: AliasParam } }, async (req) => {
    reader(req.auth);
    const e = EXTENSIONS.find((x) => x.alias === req.params.alias);
    if (!e) throw extensionNotFound(req.params.alias);
    return { extension: extensionView(e) };
  });

  // --- availability zones
  app.get<{ Querystring: Query }>('/v2.0/availability_zones', async (req) => {
    reader(req.auth);
    const zones = ['network', 'router'].map((resource) => ({ name: core.settings.availabilityZone, resource, state: 'available' }));
    return listBody('availability_zones', zones, req.query, `${base}/v2.0/availability_zones`);
  });

  // --- network IP availability (admin)
  app.get<{ Querystring: Query }>('/v2.0/network-ip-availabilities', async (req) => {
    const c = reader(req.auth);
    const items = await listAvailability(core, c, stripUndefined({ ids: sqlFilter(req.query, 'network_id') }));
    return listBody('network_ip_availabilities', items.map((i) => ({ ...i })), req.query, `${base}/v2.0/network-ip-availabilities`);
  });
  app.get<{ Params: Id; Querystring: Query }>('/v2.0/network-ip-availabilities/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    return showBody('network_ip_availability', { ...(await getAvailability(core, c, req.params.id)) }, req.query);
  });

  // --- quotas
  app.get('/v2.0/quotas', async (req) => {
    const c = reader(req.auth);
    if (!c.isAdmin) throw forbidden('Only admin can list the quotas of every project; read your own at /v2.0/quotas/{project_id}.');
    const all = await core.store.read.meta.allQuotaOverrides();
    const quotas = [];
    for (const projectId of all.keys()) {
      quotas.push({ ...(await limitsOf(core.store.read, core.settings, projectId)), project_id: projectId, tenant_id: projectId });
    }
    return { quotas };
  });
  app.get('/v2.0/quotas/tenant', async (req) => {
    const c = reader(req.auth);
    return { tenant: { tenant_id: c.projectId, project_id: c.projectId } };
  });
  app.get('/v2.0/quotas/project', async (req) => {
    const c = reader(req.auth);
    return { project: { tenant_id: c.projectId, project_id: c.projectId } };
  });
  app.get<{ Params: Id }>('/v2.0/quotas/:id', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    requireQuotaAccess(c, req.params.id, false);
    return { quota: await limitsOf(core.store.read, core.settings, req.params.id) };
  });
  app.get<{ Params: Id }>('/v2.0/quotas/:id/default', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    requireQuotaAccess(c, req.params.id, false);
    return { quota: { ...core.settings.quotas } };
  });
  app.get<{ Params: Id }>('/v2.0/quotas/:id/details', { schema: { params: IdParam } }, async (req) => {
    const c = reader(req.auth);
    requireQuotaAccess(c, req.params.id, false);
    return { quota: await quotaDetails(core.store.read, core.settings, req.params.id) };
  });
  app.put<{ Params: Id; Body: Static<typeof QuotaUpdate> }>('/v2.0/quotas/:id', { schema: { params: IdParam, body: QuotaUpdate } }, async (req) => {
    const c = member(req.auth);
    requireQuotaAccess(c, req.params.id, true);
    const update = parseQuotaUpdate(req.body.quota);
    await core.store.write(async (r) => {
      for (const res of QUOTA_RESOURCES) {
        const v = update[res];
        if (v !== undefined) await r.meta.setQuota(req.params.id, res, v);
      }
    });
    return { quota: await limitsOf(core.store.read, core.settings, req.params.id) };
  });
  app.delete<{ Params: Id }>('/v2.0/quotas/:id', { schema: { params: IdParam } }, async (req, reply) => {
    const c = member(req.auth);
    requireQuotaAccess(c, req.params.id, true);
    await core.store.write((r) => r.meta.deleteQuotas(req.params.id));
    return reply.code(204).send();
  });

  // --- tags
  for (const type of TAGGABLE) {
    const path = `/v2.0/${type}/:id/tags`;
    app.get<{ Params: Id }>(path, { schema: { params: IdParam } }, async (req) => ({ tags: await listTags(core, reader(req.auth), type, req.params.id) }));
    app.put<{ Params: Id; Body: Static<typeof TagsBody> }>(path, { schema: { params: IdParam, body: TagsBody } }, async (req) => ({
      tags: await replaceTags(core, member(req.auth), type, req.params.id, req.body.tags),
    }));
    app.delete<{ Params: Id }>(path, { schema: { params: IdParam } }, async (req, reply) => {
      await clearTags(core, member(req.auth), type, req.params.id);
      return reply.code(204).send();
    });
    const one = `${path}/:tag`;
    app.get<{ Params: Static<typeof TagParam> }>(one, { schema: { params: TagParam } }, async (req, reply) => {
      await hasTag(core, reader(req.auth), type, req.params.id, req.params.tag);
      return reply.code(204).send();
    });
    app.put<{ Params: Static<typeof TagParam> }>(one, { schema: { params: TagParam } }, async (req, reply) => {
      await addTag(core, member(req.auth), type, req.params.id, req.params.tag);
      return reply.code(201).send();
    });
    app.delete<{ Params: Static<typeof TagParam> }>(one, { schema: { params: TagParam } }, async (req, reply) => {
      await removeTag(core, member(req.auth), type, req.params.id, req.params.tag);
      return reply.code(204).send();
    });
  }
}
