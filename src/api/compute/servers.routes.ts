import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthContext } from '../../core/auth.js';
import { createServers, type NetworkRequest, type ServerCreate } from '../../core/compute/create.js';
import { loadDetails } from '../../core/compute/details.js';
import { fullRows, listServers, type ServerListFilter } from '../../core/compute/listing.js';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import { deleteServer, updateServer } from '../../core/compute/servers.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { KNOWN_STATUSES, validateStatusFilter } from '../../core/compute/states.js';
import { badRequest, forbidden } from '../../core/errors.js';
import { requireAuth } from '../../core/policy.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { links, mvOf, nextLinks, pagination, qAll, qBool, qOne, qRegex, qTime, type Query, type Roots } from './common.js';
import { serverCreateSchema, serverUpdateSchema } from './schemas.js';
import { serverDetail, serverSummary, type ViewContext } from './server-views.js';
import { checkBody, novaBool } from './validate.js';

/** GET/POST /servers, /servers/detail, GET/PUT/DELETE /servers/{id}. */

/** Nova's generated password: 12 characters without look-alikes. */
function adminPassword(): string {
  const alphabet = 'abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  return [...randomBytes(12)].map((b) => alphabet[b % alphabet.length]).join('');
}

type Id = { id: string };

/** Query parameters GET /servers knows; from 2.75 any other is a 400. */
const LIST_PARAMS = new Set([
  'user_id', 'project_id', 'tenant_id', 'launch_index', 'image_ref', 'image', 'kernel_id', 'ramdisk_id', 'hostname', 'key_name',
  'power_state', 'vm_state', 'task_state', 'host', 'node', 'flavor', 'reservation_id', 'launched_at', 'terminated_at',
  'availability_zone', 'name', 'display_name', 'description', 'display_description', 'locked_by', 'uuid', 'root_device_name',
  'config_drive', 'access_ip_v4', 'access_ip_v6', 'auto_disk_config', 'progress', 'sort_key', 'sort_dir', 'all_tenants',
  'soft_deleted', 'deleted', 'status', 'changes-since', 'changes-before', 'ip', 'ip6', 'created_at', 'limit', 'marker',
  'tags', 'tags-any', 'not-tags', 'not-tags-any', 'locked', 'block_device_mapping', 'services', 'metadata', 'system_metadata',
  'info_cache', 'security_groups', 'pci_devices',
]); // prettier-ignore

const csv = (q: Query, k: string): string[] | undefined => {
  const all = qAll(q, k);
  return all.length ? all.flatMap((s) => s.split(',')).filter((s) => s !== '') : undefined;
};

export async function viewContext(core: ComputeCore, req: FastifyRequest, roots: Roots, auth: AuthContext): Promise<ViewContext> {
  const node = await core.catalog.getNode();
  const hostStatus = node && (node.disabled || node.forced_down) ? (node.forced_down ? 'DOWN' : 'MAINTENANCE') : 'UP';
  return { roots, mv: mvOf(req), auth, zone: core.settings.availabilityZone, hostStatus };
}

/** The detailed views of some servers, with what they need loaded in bulk. */
export async function detailViews(core: ComputeCore, c: ViewContext, rows: InstanceRow[], serverGroups: boolean) {
  const details = await loadDetails(core, rows, { tags: atLeast(c.mv, 26), groups: serverGroups && atLeast(c.mv, 71) });
  // List rows come without user_data; only admins see it (OS-EXT-SRV-ATTR:user_data, 2.3+).
  if (c.auth.isAdmin && atLeast(c.mv, 3)) {
    const missing = rows.filter((r) => r.user_data === null).map((r) => r.id);
    const ud = missing.length ? await core.instances.userDataOf(missing) : new Map<string, string | null>();
    rows = rows.map((r) => (ud.has(r.id) ? { ...r, user_data: ud.get(r.id) ?? null } : r));
  }
  return rows.map((s) => {
    const d = details.get(s.id);
    if (!d) throw new Error(`details of ${s.id} missing`);
    return serverDetail(c, s, d, { serverGroups });
  });
}

export async function oneDetail(core: ComputeCore, c: ViewContext, row: InstanceRow) {
  const [v] = await detailViews(core, c, [row], true);
  return v;
}

function listFilter(auth: AuthContext, v: Microversion, q: Query): ServerListFilter {
  if (atLeast(v, 75)) {
    for (const k of Object.keys(q)) {
      if (!LIST_PARAMS.has(k)) throw badRequest(`Invalid input for query parameters ${k}. Additional properties are not allowed ('${k}' was unexpected).`);
    }
  }
  const { limit, marker } = pagination(q);
  const statuses = csv(q, 'status');
  if (statuses) {
    if (atLeast(v, 38)) validateStatusFilter(statuses);
    else if (!statuses.every((s) => KNOWN_STATUSES.has(s.toUpperCase()))) statuses.push('__none__');
  }
  const allTenants = q['all_tenants'] !== undefined && qOne(q, 'all_tenants') !== 'False' && qOne(q, 'all_tenants') !== 'false' && qOne(q, 'all_tenants') !== '0';
  if (allTenants && !auth.isAdmin) throw forbidden("Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.");
  const admin = auth.isAdmin;
  const sortDirs = qAll(q, 'sort_dir').map((d) => {
    if (d !== 'asc' && d !== 'desc') throw badRequest(`Invalid sort_dir ${d}: use asc or desc.`);
    return d;
  });
  const f: ServerListFilter = {
    allProjects: allTenants,
    name: qRegex(q, 'name') ?? qRegex(q, 'display_name'),
    statuses,
    image: qOne(q, 'image')?.split('/').pop(),
    flavor: qOne(q, 'flavor')?.split('/').pop(),
    ip: qRegex(q, 'ip'),
    ip6: atLeast(v, 5) || admin ? qRegex(q, 'ip6') : undefined,
    changesSince: qTime(q, 'changes-since'),
    changesBefore: atLeast(v, 66) ? qTime(q, 'changes-before') : undefined,
    reservationId: qOne(q, 'reservation_id'),
    tags: atLeast(v, 26) ? csv(q, 'tags') : undefined,
    tagsAny: atLeast(v, 26) ? csv(q, 'tags-any') : undefined,
    notTags: atLeast(v, 26) ? csv(q, 'not-tags') : undefined,
    notTagsAny: atLeast(v, 26) ? csv(q, 'not-tags-any') : undefined,
    locked: atLeast(v, 73) ? qBool(q, 'locked') : undefined,
    sortKeys: qAll(q, 'sort_key').map((k) => k.trim()),
    sortDirs,
    limit,
    marker,
  };
  if (admin) {
    f.projectId = qOne(q, 'project_id') ?? qOne(q, 'tenant_id');
    f.userId = qOne(q, 'user_id');
    f.deleted = qBool(q, 'deleted');
    f.host = qOne(q, 'host');
    f.node = qOne(q, 'node');
    f.keyName = qOne(q, 'key_name');
    f.availabilityZone = qOne(q, 'availability_zone');
    f.uuid = qOne(q, 'uuid');
    f.vmState = csv(q, 'vm_state');
    f.taskState = csv(q, 'task_state');
    const ps = csv(q, 'power_state');
    if (ps) f.powerState = ps.map((p) => (/^\d+$/.test(p) ? Number(p) : -1));
    f.description = qRegex(q, 'description');
    f.hostname = qRegex(q, 'hostname');
    if (f.projectId !== undefined) f.allProjects = true;
  } else if (atLeast(v, 83)) {
    f.userId = qOne(q, 'user_id');
  }
  return f;
}

function createRequest(v: Microversion, body: Record<string, unknown>): ServerCreate {
  const s = body['server'] as Record<string, unknown>;
  const nets = s['networks'] as 'auto' | 'none' | Record<string, unknown>[] | undefined;
  let networks: ServerCreate['networks'];
  if (typeof nets === 'string') networks = nets;
  else if (Array.isArray(nets)) {
    networks = nets.map(
      (n): NetworkRequest => ({
        uuid: n['uuid'] as string | undefined,
        port: n['port'] as string | null | undefined,
        fixedIp: n['fixed_ip'] as string | undefined,
        tag: n['tag'] as string | undefined,
      }),
    );
  }
  const hints = (body['os:scheduler_hints'] ?? body['OS-SCH-HNT:scheduler_hints']) as Record<string, unknown> | undefined;
  const group = hints?.['group'];
  const groupId = Array.isArray(group) ? (group[0] as string | undefined) : (group as string | undefined);
  if (Array.isArray(group) && group.length > 1) throw badRequest('Only one server group may be given in the group scheduler hint.');
  const personality = s['personality'] as unknown[] | undefined;
  if (personality && personality.length > 0) throw badRequest('Personality files are not supported here (Nova removed them in 2.57): pass files through user_data or the config drive.');
  const bdm = s['block_device_mapping_v2'] as Record<string, unknown>[] | undefined;
  const count = (k: string) => (s[k] === undefined ? undefined : Number(s[k]));
  const minCount = count('min_count') ?? 1;
  const maxCount = count('max_count') ?? minCount;
  return {
    name: String(s['name']),
    description: s['description'] as string | null | undefined,
    imageRef: s['imageRef'] as string | undefined,
    flavorRef: s['flavorRef'] as string | number,
    keyName: s['key_name'] as string | undefined,
    userData: s['user_data'] as string | undefined,
    metadata: (s['metadata'] as Record<string, string> | undefined) ?? {},
    networks,
    securityGroups: (s['security_groups'] as { name?: string }[] | undefined)?.map((g) => g.name ?? 'default'),
    configDrive: s['config_drive'] === undefined ? false : novaBool(s['config_drive']),
    availabilityZone: s['availability_zone'] as string | undefined,
    minCount,
    maxCount,
    accessIPv4: s['accessIPv4'] as string | undefined,
    accessIPv6: s['accessIPv6'] as string | undefined,
    diskConfig: s['OS-DCF:diskConfig'] as string | undefined,
    tags: (s['tags'] as string[] | undefined) ?? [],
    trustedCerts: atLeast(v, 63) ? (s['trusted_image_certificates'] as string[] | null | undefined) : undefined,
    blockDevices: bdm?.map((b) => ({
      sourceType: b['source_type'] as string | undefined,
      destinationType: b['destination_type'] as string | undefined,
      uuid: (b['uuid'] ?? b['image_id']) as string | undefined,
      bootIndex: b['boot_index'] as number | string | null | undefined,
    })),
    legacyBlockDevices: Array.isArray(s['block_device_mapping']) && (s['block_device_mapping'] as unknown[]).length > 0,
    groupId,
    host: s['host'] as string | undefined,
    hypervisorHostname: s['hypervisor_hostname'] as string | undefined,
  };
}

export function registerServerRoutes(app: FastifyInstance, core: ComputeCore, roots: Roots): void {
  app.get<{ Querystring: Query }>('/v2.1/servers', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const f = listFilter(auth, v, req.query);
    const rows = await listServers(core, auth, f);
    const c = await viewContext(core, req, roots, auth);
    const next = nextLinks(req, roots.api, 'servers', rows.length, f.limit, rows[rows.length - 1]?.id);
    return { servers: rows.map((s) => serverSummary(c, s)), ...(next ? { servers_links: next } : {}) };
  });

  app.get<{ Querystring: Query }>('/v2.1/servers/detail', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const f = listFilter(auth, v, req.query);
    const page = await listServers(core, auth, f);
    const rows = await fullRows(core, page);
    const c = await viewContext(core, req, roots, auth);
    const next = nextLinks(req, roots.api, 'servers/detail', page.length, f.limit, page[page.length - 1]?.id);
    // The detail list omits server_groups (Nova shows them only on show/update/rebuild).
    return { servers: await detailViews(core, c, rows, false), ...(next ? { servers_links: next } : {}) };
  });

  app.get<{ Params: Id }>('/v2.1/servers/:id', async (req) => {
    const auth = requireAuth(req.auth);
    const s = await core.visibleServer(auth, req.params.id);
    return { server: await oneDetail(core, await viewContext(core, req, roots, auth), s) };
  });

  app.post('/v2.1/servers', async (req, reply) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const body = checkBody<Record<string, unknown>>(serverCreateSchema(v), req.body);
    const r = createRequest(v, body);
    const server = body['server'] as Record<string, unknown>;
    const result = await createServers(core, auth, r, req.id);
    if (server['return_reservation_id'] !== undefined && novaBool(server['return_reservation_id'])) {
      return reply.code(202).send({ reservation_id: result.reservationId });
    }
    const first = result.servers[0];
    if (!first) throw badRequest('No server was created.');
    void reply.header('location', `${roots.api}/servers/${first.id}`);
    return reply.code(202).send({
      server: {
        id: first.id,
        links: links(roots, 'servers', first.id),
        'OS-DCF:diskConfig': first.disk_config,
        security_groups: (r.securityGroups ?? ['default']).map((name) => ({ name })),
        // Nova returns a generated password by default; like Nova's libvirt driver (inject_password off), it is not set in the guest.
        adminPass: (server['adminPass'] as string | undefined) ?? adminPassword(),
      },
    });
  });

  app.put<{ Params: Id }>('/v2.1/servers/:id', async (req) => {
    const auth = requireAuth(req.auth);
    const v = mvOf(req);
    const b = checkBody<{ server: Record<string, unknown> }>(serverUpdateSchema(v), req.body).server;
    const s = await updateServer(core, auth, req.params.id, {
      name: b['name'] as string | undefined,
      description: b['description'] as string | null | undefined,
      accessIPv4: b['accessIPv4'] as string | undefined,
      accessIPv6: b['accessIPv6'] as string | undefined,
      diskConfig: b['OS-DCF:diskConfig'] as string | undefined,
    });
    const c = await viewContext(core, req, roots, auth);
    const full = await oneDetail(core, c, s);
    if (atLeast(v, 75) || !full) return { server: full };
    // Before 2.75 the update answer was a subset of the show answer.
    const keep = [
      'id', 'name', 'status', 'tenant_id', 'user_id', 'metadata', 'hostId', 'image', 'flavor', 'created', 'updated', 'addresses',
      'accessIPv4', 'accessIPv6', 'links', 'OS-DCF:diskConfig', 'progress', 'fault', 'locked', 'description', 'tags',
      'trusted_image_certificates', 'server_groups', 'locked_reason',
    ]; // prettier-ignore
    return { server: Object.fromEntries(Object.entries(full).filter(([k]) => keep.includes(k))) };
  });

  app.delete<{ Params: Id }>('/v2.1/servers/:id', async (req, reply) => {
    await deleteServer(core, requireAuth(req.auth), req.params.id, req.id);
    return reply.code(204).send();
  });
}
