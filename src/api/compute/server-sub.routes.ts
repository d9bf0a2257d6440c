import type { FastifyInstance } from 'fastify';
import { loadDetails } from '../../core/compute/details.js';
import { attachInterface, detachInterface, getInterface, listInterfaces, type InterfaceView } from '../../core/compute/interfaces.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import { addTag, deleteMetadataKey, deleteTag, metadataOf, replaceTags, tagsOf, writeMetadata } from '../../core/compute/servers.js';
import { flavorOf, type ComputeCore } from '../../core/compute/service.js';
import { badRequest, notFound } from '../../core/errors.js';
import { requireAuth, requireProjectRole } from '../../core/policy.js';
import type { InstanceActionEventRow, InstanceActionRow } from '../../store/compute/instances.repo.js';
import { mvOf, nextLinks, novaTime, pagination, qTime, type Query, type Roots } from './common.js';
import { interfaceAttachSchema, metadataItemSchema, metadataSetSchema, tag as tagSchema, tagsSchema } from './schemas.js';
import { hostIdOf } from './server-views.js';
import { checkBody } from './validate.js';

/** Server sub-resources: ips, metadata, tags (2.26), os-interface, os-instance-actions, topology (2.78), volume attachments. */

type Id = { id: string };
type IdKey = { id: string; key: string };
type IdTag = { id: string; tag: string };
type IdPort = { id: string; portId: string };
type IdReq = { id: string; requestId: string };

function interfaceView(v: Microversion, i: InterfaceView) {
  return {
    port_state: i.port.status,
    fixed_ips: i.port.fixedIps.map((f) => ({ subnet_id: f.subnetId, ip_address: f.ipAddress })),
    port_id: i.port.id,
    net_id: i.port.networkId,
    mac_addr: i.port.macAddress,
    ...(atLeast(v, 70) ? { tag: i.tag } : {}),
  };
}

function actionView(v: Microversion, a: InstanceActionRow) {
  return {
    action: a.action,
    instance_uuid: a.instance_id,
    message: a.message,
    project_id: a.project_id,
    request_id: a.request_id,
    start_time: novaTime(a.start_time),
    user_id: a.user_id,
    ...(atLeast(v, 58) ? { updated_at: novaTime(a.updated_at) } : {}),
  };
}

const TAG_RE = /^[^,/]{1,60}$/;

export function registerServerSubRoutes(app: FastifyInstance, core: ComputeCore, roots: Roots): void {
  // --- ips
  const addressesOf = async (auth: Parameters<typeof core.visibleServer>[0], id: string) => {
    const s = await core.visibleServer(auth, id);
    const d = (await loadDetails(core, [s])).get(s.id);
    const out: Record<string, { version: number; addr: string }[]> = {};
    for (const a of d?.addresses ?? []) (out[a.network] ??= []).push({ version: a.version, addr: a.addr });
    return out;
  };
  app.get<{ Params: Id }>('/v2.1/servers/:id/ips', async (req) => ({ addresses: await addressesOf(requireAuth(req.auth), req.params.id) }));
  app.get<{ Params: Id & { network: string } }>('/v2.1/servers/:id/ips/:network', async (req) => {
    const all = await addressesOf(requireAuth(req.auth), req.params.id);
    const list = all[req.params.network];
    if (!list) throw notFound(`Instance is not a member of specified network ${req.params.network}.`);
    return { [req.params.network]: list };
  });

  // --- metadata
  app.get<{ Params: Id }>('/v2.1/servers/:id/metadata', async (req) => ({ metadata: await metadataOf(core, requireAuth(req.auth), req.params.id) }));
  app.put<{ Params: Id }>('/v2.1/servers/:id/metadata', async (req) => {
    const b = checkBody<{ metadata: Record<string, string> }>(metadataSetSchema, req.body);
    return { metadata: await writeMetadata(core, requireAuth(req.auth), req.params.id, b.metadata, 'replace') };
  });
  app.post<{ Params: Id }>('/v2.1/servers/:id/metadata', async (req) => {
    const b = checkBody<{ metadata: Record<string, string> }>(metadataSetSchema, req.body);
    return { metadata: await writeMetadata(core, requireAuth(req.auth), req.params.id, b.metadata, 'merge') };
  });
  app.get<{ Params: IdKey }>('/v2.1/servers/:id/metadata/:key', async (req) => {
    const m = await metadataOf(core, requireAuth(req.auth), req.params.id);
    const value = m[req.params.key];
    if (value === undefined) throw notFound(`Metadata item was not found: ${req.params.key}`);
    return { meta: { [req.params.key]: value } };
  });
  app.put<{ Params: IdKey }>('/v2.1/servers/:id/metadata/:key', async (req) => {
    const b = checkBody<{ meta: Record<string, string> }>(metadataItemSchema, req.body);
    const [k, val] = Object.entries(b.meta)[0] ?? [];
    if (k !== req.params.key || val === undefined) throw badRequest('Request body and URI mismatch');
    await writeMetadata(core, requireAuth(req.auth), req.params.id, { [k]: val }, 'merge');
    return { meta: { [k]: val } };
  });
  app.delete<{ Params: IdKey }>('/v2.1/servers/:id/metadata/:key', async (req, reply) => {
    await deleteMetadataKey(core, requireAuth(req.auth), req.params.id, req.params.key);
    return reply.code(204).send();
  });

  // --- tags (2.26)
  const needTags = (v: Microversion) => {
    if (!atLeast(v, 26)) throw notFound('Server tags need microversion 2.26 or later.');
  };
  app.get<{ Params: Id }>('/v2.1/servers/:id/tags', async (req) => {
    needTags(mvOf(req));
    return { tags: await tagsOf(core, requireAuth(req.auth), req.params.id) };
  });
  app.put<{ Params: Id }>('/v2.1/servers/:id/tags', async (req) => {
    needTags(mvOf(req));
    const b = checkBody<{ tags: string[] }>(tagsSchema, req.body);
    return { tags: await replaceTags(core, requireAuth(req.auth), req.params.id, b.tags) };
  });
  app.delete<{ Params: Id }>('/v2.1/servers/:id/tags', async (req, reply) => {
    needTags(mvOf(req));
    await deleteTag(core, requireAuth(req.auth), req.params.id, undefined);
    return reply.code(204).send();
  });
  app.get<{ Params: IdTag }>('/v2.1/servers/:id/tags/:tag', async (req, reply) => {
    needTags(mvOf(req));
    const tags = await tagsOf(core, requireAuth(req.auth), req.params.id);
    if (!tags.includes(req.params.tag)) throw notFound(`Server ${req.params.id} has no tag '${req.params.tag}'`);
    return reply.code(204).send();
  });
  app.put<{ Params: IdTag }>('/v2.1/servers/:id/tags/:tag', async (req, reply) => {
    needTags(mvOf(req));
    const t = req.params.tag;
    if (!TAG_RE.test(t)) throw badRequest(`Tag '${t}' is invalid. It must be a non empty string without characters '/' and ','.`);
    void tagSchema;
    const created = await addTag(core, requireAuth(req.auth), req.params.id, t);
    void reply.header('location', `${roots.api}/servers/${req.params.id}/tags/${encodeURIComponent(t)}`);
    return reply.code(created ? 201 : 204).send();
  });
  app.delete<{ Params: IdTag }>('/v2.1/servers/:id/tags/:tag', async (req, reply) => {
    needTags(mvOf(req));
    await deleteTag(core, requireAuth(req.auth), req.params.id, req.params.tag);
    return reply.code(204).send();
  });

  // --- os-interface
  app.get<{ Params: Id }>('/v2.1/servers/:id/os-interface', async (req) => {
    const v = mvOf(req);
    return { interfaceAttachments: (await listInterfaces(core, requireAuth(req.auth), req.params.id)).map((i) => interfaceView(v, i)) };
  });
  app.get<{ Params: IdPort }>('/v2.1/servers/:id/os-interface/:portId', async (req) => ({
    interfaceAttachment: interfaceView(mvOf(req), await getInterface(core, requireAuth(req.auth), req.params.id, req.params.portId)),
  }));
  app.post<{ Params: Id }>('/v2.1/servers/:id/os-interface', async (req) => {
    const v = mvOf(req);
    const b = checkBody<{ interfaceAttachment?: { net_id?: string; port_id?: string; fixed_ips?: { ip_address: string }[]; tag?: string } }>(interfaceAttachSchema(v), req.body ?? {});
    const a = b.interfaceAttachment ?? {};
    const i = await attachInterface(core, requireAuth(req.auth), req.params.id, { netId: a.net_id, portId: a.port_id, fixedIp: a.fixed_ips?.[0]?.ip_address, tag: a.tag }, req.id);
    return { interfaceAttachment: interfaceView(v, i) };
  });
  app.delete<{ Params: IdPort }>('/v2.1/servers/:id/os-interface/:portId', async (req, reply) => {
    await detachInterface(core, requireAuth(req.auth), req.params.id, req.params.portId, req.id);
    return reply.code(202).send();
  });

  // --- os-instance-actions (2.21: also of deleted servers)
  const actionServer = async (auth: Parameters<typeof core.visibleServer>[0], id: string, v: Microversion) => {
    const s = await core.instances.get(id);
    if (!s || !(auth.isAdmin || s.project_id === auth.projectId) || (s.deleted && !atLeast(v, 21))) throw notFound(`Instance ${id} could not be found.`);
    return s;
  };
  app.get<{ Params: Id; Querystring: Query }>('/v2.1/servers/:id/os-instance-actions', async (req) => {
    const auth = requireProjectRole(req.auth, 'read');
    const v = mvOf(req);
    await actionServer(auth, req.params.id, v);
    let rows = await core.instances.listActions(req.params.id);
    let next;
    if (atLeast(v, 58)) {
      const since = qTime(req.query, 'changes-since');
      const before = atLeast(v, 66) ? qTime(req.query, 'changes-before') : undefined;
      if (since) rows = rows.filter((a) => a.updated_at >= since);
      if (before) rows = rows.filter((a) => a.updated_at <= before);
      const { limit, marker } = pagination(req.query);
      if (marker !== undefined) {
        const at = rows.findIndex((a) => a.request_id === marker);
        if (at < 0) throw badRequest(`Marker ${marker} could not be found.`);
        rows = rows.slice(at + 1);
      }
      rows = rows.slice(0, limit);
      if (req.query['limit'] !== undefined) next = nextLinks(req, roots.api, `servers/${req.params.id}/os-instance-actions`, rows.length, limit, rows[rows.length - 1]?.request_id);
    }
    return { instanceActions: rows.map((a) => actionView(v, a)), ...(next ? { links: next } : {}) };
  });
  app.get<{ Params: IdReq }>('/v2.1/servers/:id/os-instance-actions/:requestId', async (req) => {
    const auth = requireProjectRole(req.auth, 'read');
    const v = mvOf(req);
    const s = await actionServer(auth, req.params.id, v);
    const a = await core.instances.getAction(req.params.id, req.params.requestId);
    if (!a) throw notFound(`Action for request_id ${req.params.requestId} on instance ${req.params.id} not found`);
    const out: Record<string, unknown> = actionView(v, a);
    if (auth.isAdmin || atLeast(v, 51)) {
      const events = await core.instances.eventsOf(a.id);
      out['events'] = events.map((e: InstanceActionEventRow) => ({
        event: e.event,
        start_time: novaTime(e.start_time),
        finish_time: novaTime(e.finish_time),
        result: e.result,
        ...(auth.isAdmin ? { traceback: e.traceback } : {}),
        ...(atLeast(v, 62) ? { hostId: hostIdOf(e.host, s.project_id), ...(auth.isAdmin && e.host ? { host: e.host } : {}) } : {}),
      }));
    }
    return { instanceAction: out };
  });

  // --- topology (2.78): one NUMA node holding every vCPU and all the memory
  app.get<{ Params: Id }>('/v2.1/servers/:id/topology', async (req) => {
    const auth = requireAuth(req.auth);
    if (!atLeast(mvOf(req), 78)) throw notFound('Server topology needs microversion 2.78 or later.');
    const s = await core.visibleServer(auth, req.params.id);
    const f = flavorOf(s);
    const node: Record<string, unknown> = { memory_mb: f.ram, siblings: [], vcpu_set: Array.from({ length: f.vcpus }, (_, i) => i) };
    if (auth.isAdmin) node['host_node'] = 0;
    return { nodes: [node], pagesize_kb: null };
  });

  // --- volume attachments: this cloud has no volume service yet
  app.get<{ Params: Id }>('/v2.1/servers/:id/os-volume_attachments', async (req) => {
    await core.visibleServer(requireAuth(req.auth), req.params.id);
    return { volumeAttachments: [] };
  });
  app.get<{ Params: Id & { volumeId: string } }>('/v2.1/servers/:id/os-volume_attachments/:volumeId', async (req) => {
    await core.visibleServer(requireAuth(req.auth), req.params.id);
    throw notFound(`Volume ${req.params.volumeId} is not attached to server ${req.params.id}.`);
  });
  app.post<{ Params: Id }>('/v2.1/servers/:id/os-volume_attachments', async (req) => {
    await core.visibleServer(requireAuth(req.auth), req.params.id);
    throw badRequest('This cloud has no block storage service yet, so volumes cannot be attached.');
  });
}
