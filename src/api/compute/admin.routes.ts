import type { FastifyInstance, FastifyReply } from 'fastify';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { POWER } from '../../core/compute/states.js';
import { badRequest, notFound } from '../../core/errors.js';
import { nowIso } from '../../core/ids.js';
import { requireAdmin, requireProjectRole } from '../../core/policy.js';
import type { ComputeNodeRow } from '../../store/compute/catalog.repo.js';
import { mvOf, novaTime, qBool, qOne, type Query, type Roots } from './common.js';
import { externalEventsSchema } from './schemas.js';
import { checkBody } from './validate.js';

/** Admin views of the host: os-availability-zone, os-hypervisors, os-services, os-aggregates, os-server-external-events. */

function uptimeText(seconds: number, load: [number, number, number]): string {
  const now = new Date().toISOString().slice(11, 19);
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const up = d > 0 ? `${d} day${d === 1 ? '' : 's'}, ${h}:${String(m).padStart(2, '0')}` : `${h}:${String(m).padStart(2, '0')}`;
  return ` ${now} up ${up},  1 user,  load average: ${load.map((l) => l.toFixed(2)).join(', ')}`;
}

export function registerAdminRoutes(app: FastifyInstance, core: ComputeCore, _roots: Roots): void {
  const ids = (v: Microversion, node: ComputeNodeRow) => ({
    id: atLeast(v, 53) ? node.uuid : node.id,
    serviceId: atLeast(v, 53) ? node.service_uuid : node.service_id,
  });

  async function hypervisor(v: Microversion, detail: boolean, withServers: boolean) {
    const node = await core.node();
    const f = await core.hostFigures();
    const used = await core.instances.nodeUsage(node.host);
    const state = node.forced_down ? 'down' : 'up';
    const status = node.disabled ? 'disabled' : 'enabled';
    const base: Record<string, unknown> = { id: ids(v, node).id, hypervisor_hostname: node.host, state, status };
    if (withServers) {
      const rows = await core.instances.db.selectFrom('instances').select(['id', 'name']).where('node', '=', node.host).where('deleted', '=', 0).execute();
      if (rows.length > 0 || atLeast(v, 75)) base['servers'] = rows.map((r) => ({ name: r.name, uuid: r.id }));
    }
    if (!detail) return base;
    const running = await core.instances.db
      .selectFrom('instances')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('node', '=', node.host)
      .where('deleted', '=', 0)
      .where('power_state', '=', POWER.RUNNING)
      .executeTakeFirst();
    const cpuInfo = { arch: 'x86_64', model: f.cpuModel, vendor: /AMD/i.test(f.cpuModel) ? 'AMD' : 'Intel', topology: { cores: f.vcpus, threads: 1, sockets: 1 }, features: [] as string[] };
    return {
      ...base,
      vcpus: f.vcpus,
      memory_mb: f.memoryMb,
      local_gb: f.diskGb,
      vcpus_used: used.cores,
      memory_mb_used: used.ram + core.settings.reservedHostMemoryMb,
      local_gb_used: used.disk,
      hypervisor_type: f.hypervisorType,
      hypervisor_version: f.hypervisorVersion,
      free_ram_mb: f.memoryMb - core.settings.reservedHostMemoryMb - used.ram,
      free_disk_gb: f.diskGb - used.disk,
      current_workload: 0,
      running_vms: Number(running?.n ?? 0),
      cpu_info: atLeast(v, 28) ? cpuInfo : JSON.stringify(cpuInfo),
      disk_available_least: f.diskFreeGb,
      host_ip: f.hostIp ?? '127.0.0.1',
      service: { host: node.host, id: ids(v, node).serviceId, disabled_reason: node.disabled_reason },
    };
  }

  const hostPattern = (q: Query): string | undefined => qOne(q, 'hypervisor_hostname_pattern');

  async function listHypervisors(q: Query, v: Microversion, detail: boolean) {
    const pattern = hostPattern(q);
    const withServers = atLeast(v, 53) && qBool(q, 'with_servers') === true;
    const h = await hypervisor(v, detail, withServers);
    if (pattern !== undefined && !String(h['hypervisor_hostname']).includes(pattern)) {
      throw notFound(`No hypervisor matching '${pattern}' could be found.`);
    }
    const marker = qOne(q, 'marker');
    if (marker !== undefined && marker !== String(h['id'])) throw badRequest(`marker [${marker}] not found`);
    const limit = qOne(q, 'limit');
    const empty = marker !== undefined || limit === '0';
    return { hypervisors: empty ? [] : [h] };
  }

  app.get<{ Querystring: Query }>('/v2.1/os-hypervisors', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:list');
    return listHypervisors(req.query, mvOf(req), false);
  });
  app.get<{ Querystring: Query }>('/v2.1/os-hypervisors/detail', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:list-detail');
    return listHypervisors(req.query, mvOf(req), true);
  });
  app.get('/v2.1/os-hypervisors/statistics', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:statistics');
    const h = await hypervisor(mvOf(req), true, false);
    const keys = ['vcpus', 'memory_mb', 'local_gb', 'vcpus_used', 'memory_mb_used', 'local_gb_used', 'free_ram_mb', 'free_disk_gb', 'current_workload', 'running_vms', 'disk_available_least'];
    return { hypervisor_statistics: { count: 1, ...Object.fromEntries(keys.map((k) => [k, h[k as keyof typeof h]])) } };
  });
  const findHypervisor = async (v: Microversion, id: string) => {
    const node = await core.node();
    const mine = String(ids(v, node).id);
    if (id !== mine) {
      if (atLeast(v, 53) && !/^[0-9a-f-]{36}$/i.test(id)) throw badRequest(`Invalid uuid ${id}`);
      throw notFound(`Hypervisor with ID ${id} could not be found.`);
    }
    return node;
  };
  app.get<{ Params: { id: string }; Querystring: Query }>('/v2.1/os-hypervisors/:id', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:show');
    const v = mvOf(req);
    await findHypervisor(v, req.params.id);
    return { hypervisor: await hypervisor(v, true, atLeast(v, 53) && qBool(req.query, 'with_servers') === true) };
  });
  app.get<{ Params: { id: string } }>('/v2.1/os-hypervisors/:id/uptime', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:uptime');
    const v = mvOf(req);
    await findHypervisor(v, req.params.id);
    const h = await hypervisor(v, false, false);
    const f = await core.hostFigures();
    return { hypervisor: { ...h, uptime: uptimeText(f.uptimeSeconds ?? 0, f.loadAverage ?? [0, 0, 0]) } };
  });
  app.get<{ Params: { pattern: string } }>('/v2.1/os-hypervisors/:pattern/search', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:search');
    const v = mvOf(req);
    if (atLeast(v, 53)) throw notFound('Hypervisor search was replaced in 2.53 by ?hypervisor_hostname_pattern= on GET /os-hypervisors.');
    const h = await hypervisor(v, false, false);
    if (!String(h['hypervisor_hostname']).includes(req.params.pattern)) throw notFound(`No hypervisor matching '${req.params.pattern}' could be found.`);
    return { hypervisors: [h] };
  });
  app.get<{ Params: { pattern: string } }>('/v2.1/os-hypervisors/:pattern/servers', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-hypervisors:servers');
    const v = mvOf(req);
    if (atLeast(v, 53)) throw notFound('Hypervisor servers was replaced in 2.53 by ?with_servers=true on GET /os-hypervisors.');
    const h = await hypervisor(v, false, true);
    if (!String(h['hypervisor_hostname']).includes(req.params.pattern)) throw notFound(`No hypervisor matching '${req.params.pattern}' could be found.`);
    return { hypervisors: [h] };
  });

  // --- services
  const serviceView = (v: Microversion, node: ComputeNodeRow) => ({
    id: atLeast(v, 53) ? node.service_uuid : node.service_id,
    binary: 'nova-compute',
    host: node.host,
    zone: core.settings.availabilityZone,
    status: node.disabled ? 'disabled' : 'enabled',
    state: node.forced_down ? 'down' : 'up',
    updated_at: novaTime(nowIso()),
    disabled_reason: node.disabled_reason,
    ...(atLeast(v, 11) ? { forced_down: node.forced_down === 1 } : {}),
  });
  app.get<{ Querystring: Query }>('/v2.1/os-services', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-services:list');
    const node = await core.node();
    const host = qOne(req.query, 'host');
    const binary = qOne(req.query, 'binary');
    const match = (host === undefined || host === node.host) && (binary === undefined || binary === 'nova-compute');
    return { services: match ? [serviceView(mvOf(req), node)] : [] };
  });
  app.put<{ Params: { id: string } }>('/v2.1/os-services/:id', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-services:update');
    const v = mvOf(req);
    const node = await core.node();
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!atLeast(v, 53)) {
      return legacyServiceAction(req.params.id, body, node, v);
    }
    if (req.params.id !== node.service_uuid) throw notFound(`Service ${req.params.id} could not be found.`);
    const patch: Partial<ComputeNodeRow> = { updated_at: nowIso() };
    const status = body['status'];
    if (status !== undefined && status !== 'enabled' && status !== 'disabled') throw badRequest("status must be 'enabled' or 'disabled'.");
    for (const k of Object.keys(body)) if (!['status', 'disabled_reason', 'forced_down'].includes(k)) throw badRequest(`Additional properties are not allowed ('${k}' was unexpected).`);
    if (status !== undefined) patch.disabled = status === 'disabled' ? 1 : 0;
    if (body['disabled_reason'] !== undefined) {
      if (status !== 'disabled') throw badRequest("Specifying 'disabled_reason' with status other than 'disabled' is invalid.");
      patch.disabled_reason = String(body['disabled_reason']);
    } else if (status === 'enabled') patch.disabled_reason = null;
    if (body['forced_down'] !== undefined) {
      if (typeof body['forced_down'] !== 'boolean') throw badRequest('forced_down must be a boolean.');
      patch.forced_down = body['forced_down'] ? 1 : 0;
    }
    await core.catalog.updateNode(node.id, patch);
    return { service: serviceView(v, { ...node, ...patch }) };
  });
  async function legacyServiceAction(action: string, body: Record<string, unknown>, node: ComputeNodeRow, v: Microversion) {
    if (body['host'] !== node.host || (body['binary'] !== undefined && body['binary'] !== 'nova-compute')) throw notFound(`Service ${String(body['binary'] ?? '')} on host ${String(body['host'] ?? '')} could not be found.`);
    const patch: Partial<ComputeNodeRow> = { updated_at: nowIso() };
    if (action === 'enable') Object.assign(patch, { disabled: 0, disabled_reason: null });
    else if (action === 'disable') patch.disabled = 1;
    else if (action === 'disable-log-reason') Object.assign(patch, { disabled: 1, disabled_reason: String(body['disabled_reason'] ?? '') });
    else if (action === 'force-down' && atLeast(v, 11)) patch.forced_down = body['forced_down'] === true ? 1 : 0;
    else throw notFound(`Unknown service action ${action}.`);
    await core.catalog.updateNode(node.id, patch);
    const n = { ...node, ...patch };
    const service: Record<string, unknown> = { host: n.host, binary: 'nova-compute', status: n.disabled ? 'disabled' : 'enabled' };
    if (action === 'disable-log-reason') service['disabled_reason'] = n.disabled_reason;
    if (action === 'force-down') return { service: { host: n.host, binary: 'nova-compute', forced_down: n.forced_down === 1 } };
    return { service };
  }

  // --- availability zones
  app.get('/v2.1/os-availability-zone', async (req) => {
    requireProjectRole(req.auth, 'read');
    return { availabilityZoneInfo: [{ zoneName: core.settings.availabilityZone, zoneState: { available: true }, hosts: null }] };
  });
  app.get('/v2.1/os-availability-zone/detail', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-availability-zone:detail');
    const node = await core.node();
    return {
      availabilityZoneInfo: [
        {
          zoneName: core.settings.availabilityZone,
          zoneState: { available: node.disabled === 0 },
          hosts: { [node.host]: { 'nova-compute': { available: node.disabled === 0, active: node.forced_down === 0, updated_at: novaTime(nowIso()) } } },
        },
      ],
    };
  });

  // --- aggregates: one host, no aggregates; the list answers so `openstack aggregate list` works
  app.get('/v2.1/os-aggregates', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-aggregates:index');
    return { aggregates: [] };
  });

  // --- migrations: one host, so nothing ever migrates; the lists answer so clients work
  app.get('/v2.1/os-migrations', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-migrations:index');
    return { migrations: [] };
  });
  app.get<{ Params: { id: string } }>('/v2.1/servers/:id/migrations', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:servers:migrations:index');
    await core.visibleServer(requireProjectRole(req.auth, 'read'), req.params.id);
    return { migrations: [] };
  });

  // --- os-server-external-events: what Neutron tells Nova (admin only, internal)
  app.post('/v2.1/os-server-external-events', async (req, reply: FastifyReply) => {
    requireAdmin(req.auth, 'os_compute_api:os-server-external-events:create');
    const b = checkBody<{ events: { server_uuid: string; name: string; status?: string; tag?: string }[] }>(externalEventsSchema, req.body);
    let found = 0;
    const events = [];
    for (const e of b.events) {
      const s = await core.instances.get(e.server_uuid);
      if (!s || s.deleted) {
        events.push({ ...e, status: e.status ?? 'completed', code: 404 });
        continue;
      }
      if (!s.host) {
        events.push({ ...e, status: 'failed', code: 422 });
        continue;
      }
      found++;
      await core.write(async (_trx, batch) => batch.add('server', s.id, 'update'));
      events.push({ ...e, status: e.status ?? 'completed', code: 200 });
    }
    if (found === 0) throw notFound('No instances found for any event');
    return reply.code(events.every((e) => e.code === 200) ? 200 : 207).send({ events });
  });
}
