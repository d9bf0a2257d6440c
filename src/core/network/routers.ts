import type { ChangeBatch } from '../../store/changes.js';
import type { SubnetRow } from '../../store/network/networks.repo.js';
import type { RouterRow } from '../../store/network/routers.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { adminOnly, owns, targetProject, type Caller } from './access.js';
import { checkRevision, stamp, visibleNetwork, type NetCore } from './core.js';
import { availabilityZoneNotFound, badRequestFor, networkNotFound, portNotFound, routerInUse, routerNotFound, subnetNotFound } from './errors.js';
import { cidrContains, cidrsOverlap, parseIp } from './ip.js';
import { cidrOf, releaseIp, type FixedIpRequest } from './ipam.js';
import { fixedIpsOf, loadRouters, type RouterModel } from './models.js';
import { insertPort, OWNER_ROUTER_GATEWAY, OWNER_ROUTER_INTERFACE, portEvents, removePort } from './port-ops.js';
import { checkQuota } from './quotas.js';
import { checkZoneHints } from './settings.js';
import { validRoute, type RouteInput } from './subnet-rules.js';

/**
 * Routers: a gateway leg on an external network (SNAT, floating IPs) and
 * interface legs on tenant subnets (each takes the subnet's gateway
 * address), plus extra routes.
 */

export interface GatewayInfo {
  network_id?: string;
  enable_snat?: boolean;
  external_fixed_ips?: FixedIpRequest[];
}

export interface RouterCreate {
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  external_gateway_info?: GatewayInfo | null;
  availability_zone_hints?: string[];
  distributed?: boolean;
  ha?: boolean;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface RouterUpdate {
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  external_gateway_info?: GatewayInfo | null;
  routes?: RouteInput[];
  distributed?: boolean;
  ha?: boolean;
}

export interface InterfaceInfo {
  subnet_id?: string;
  port_id?: string;
}

/** The body Neutron answers add/remove_router_interface with. */
export interface InterfaceResult {
  id: string;
  tenant_id: string;
  project_id: string;
  port_id: string;
  network_id: string;
  subnet_id: string;
  subnet_ids: string[];
}

export const MAX_ROUTES = 30;

const conflictOf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });
const badRouter = (message: string): CloudError => badRequestFor('router', message);

async function visibleRouter(r: NetworkRepos, c: Caller, id: string): Promise<RouterRow> {
  const row = await r.routers.get(id);
  if (!row || !owns(c, row.project_id)) throw routerNotFound(id);
  return row;
}

export async function listRouters(core: NetCore, c: Caller, f: { ids?: string[]; names?: string[] }): Promise<RouterModel[]> {
  const r = core.store.read;
  return loadRouters(r, await r.routers.list({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f }));
}

export async function getRouter(core: NetCore, c: Caller, id: string): Promise<RouterModel> {
  const r = core.store.read;
  const [m] = await loadRouters(r, [await visibleRouter(r, c, id)]);
  if (!m) throw routerNotFound(id);
  return m;
}

function checkDvrHa(c: Caller, b: { distributed?: boolean; ha?: boolean }, action: 'create' | 'update'): void {
  for (const k of ['distributed', 'ha'] as const) {
    if (b[k] === undefined) continue;
    adminOnly(c, `${action}_router:${k}`);
    if (b[k]) throw badRouter(`${k} routers are not supported by this cloud.`);
  }
}

export async function createRouter(core: NetCore, c: Caller, b: RouterCreate): Promise<RouterModel> {
  const projectId = targetProject(c, b);
  checkDvrHa(c, b, 'create');
  checkZoneHints(core.settings, b.availability_zone_hints, availabilityZoneNotFound);
  const id = await core.store.write(async (r, batch) => {
    const at = stamp();
    await checkQuota(r, core.settings, projectId, 'router');
    const row: RouterRow = {
      id: uuid(),
      project_id: projectId,
      name: b.name ?? '',
      description: b.description ?? '',
      admin_state_up: b.admin_state_up === false ? 0 : 1,
      status: 'ACTIVE',
      gw_network_id: null,
      gw_port_id: null,
      enable_snat: 1,
      availability_zone_hints: JSON.stringify(b.availability_zone_hints ?? []),
      created_at: at,
      updated_at: at,
      revision_number: 1,
    };
    await r.routers.insert(row);
    if (b.tags && b.tags.length > 0) await r.meta.setTags('routers', row.id, b.tags);
    batch.add('router', row.id, 'create');
    if (b.external_gateway_info && b.external_gateway_info.network_id !== undefined) {
      await setGateway(r, batch, core, c, row, b.external_gateway_info, 'create', at);
    }
    return row.id;
  });
  return getRouter(core, c, id);
}

/** Subnets the router is attached to (interfaces and gateway), with the port holding each. */
async function routerSubnets(r: NetworkRepos, routerId: string): Promise<{ subnet: SubnetRow; portId: string; ip: string; owner: string }[]> {
  const ports = await r.ports.list({ deviceIds: [routerId], deviceOwners: [OWNER_ROUTER_INTERFACE, OWNER_ROUTER_GATEWAY] });
  const ips = await fixedIpsOf(r, ports.map((p) => p.id));
  const out: { subnet: SubnetRow; portId: string; ip: string; owner: string }[] = [];
  for (const p of ports) {
    for (const f of ips.get(p.id) ?? []) {
      const s = await r.networks.getSubnet(f.subnet_id);
      if (s) out.push({ subnet: s, portId: p.id, ip: f.ip_address, owner: p.device_owner });
    }
  }
  return out;
}

/** No two subnets on one router may overlap: the router could not tell where to send a packet. */
async function checkNoOverlap(r: NetworkRepos, routerId: string, candidates: SubnetRow[]): Promise<void> {
  const attached = await routerSubnets(r, routerId);
  for (const cand of candidates) {
    const cc = cidrOf(cand);
    for (const a of attached) {
      if (a.subnet.id === cand.id) continue;
      if (cidrsOverlap(cc, cidrOf(a.subnet))) {
        throw badRouter(`Cidr ${cand.cidr} of subnet ${cand.id} overlaps with cidr ${a.subnet.cidr} of subnet ${a.subnet.id}.`);
      }
    }
  }
}

async function setGateway(
  r: NetworkRepos,
  batch: ChangeBatch,
  core: NetCore,
  c: Caller,
  router: RouterRow,
  info: GatewayInfo,
  action: 'create' | 'update',
  at: string,
): Promise<void> {
  const networkId = info.network_id;
  if (networkId === undefined) {
    await clearGateway(r, batch, router, at);
    return;
  }
  if (info.external_fixed_ips !== undefined) adminOnly(c, `${action}_router:external_gateway_info:external_fixed_ips`);
  const snat = info.enable_snat ?? (router.gw_network_id === networkId ? router.enable_snat === 1 : true);
  if (info.enable_snat !== undefined && (info.enable_snat ? 1 : 0) !== router.enable_snat) {
    adminOnly(c, `${action}_router:external_gateway_info:enable_snat`);
  }
  const n = await visibleNetwork(r, c, networkId);
  if (n.external !== 1) throw badRouter(`Network ${networkId} is not an external network`);
  if (router.gw_network_id === networkId && info.external_fixed_ips === undefined) {
    if ((snat ? 1 : 0) !== router.enable_snat) {
      await r.routers.update(router.id, { enable_snat: snat ? 1 : 0 }, at);
      batch.add('router', router.id, 'update');
    }
    return;
  }
  if (router.gw_network_id !== null) await clearGateway(r, batch, router, at);
  const { row: port, fixedIps } = await insertPort(r, batch, core.settings, n, {
    projectId: '',
    deviceId: router.id,
    deviceOwner: OWNER_ROUTER_GATEWAY,
    portSecurity: false,
    fixedIps: info.external_fixed_ips,
  }, at);
  if (fixedIps.length === 0) throw badRouter(`External network ${n.id} has no subnet to give the router gateway an address from.`);
  const gwSubnets: SubnetRow[] = [];
  for (const f of fixedIps) {
    const s = await r.networks.getSubnet(f.subnet_id);
    if (s) gwSubnets.push(s);
  }
  // The gateway port is a leg already: compare its subnets against the interfaces.
  await checkNoOverlap(r, router.id, gwSubnets);
  await r.routers.update(router.id, { gw_network_id: n.id, gw_port_id: port.id, enable_snat: snat ? 1 : 0 }, at);
  batch.add('router', router.id, 'update');
}

async function clearGateway(r: NetworkRepos, batch: ChangeBatch, router: RouterRow, at: string): Promise<void> {
  if (router.gw_network_id === null) return;
  const fips = await r.routers.listFloatingIps({ routerIds: [router.id] });
  if (fips.length > 0) {
    throw conflictOf(
      'RouterExternalGatewayInUseByFloatingIp',
      `Gateway cannot be updated for router ${router.id}, since a gateway to external network ${router.gw_network_id} is required by one or more floating IPs.`,
    );
  }
  if (router.gw_port_id) {
    const p = await r.ports.get(router.gw_port_id);
    if (p) await removePort(r, batch, p, at);
  }
  await r.routers.update(router.id, { gw_network_id: null, gw_port_id: null, enable_snat: 1 }, at);
  router.gw_network_id = null;
  router.gw_port_id = null;
  router.enable_snat = 1;
  batch.add('router', router.id, 'update');
}

async function validRoutes(r: NetworkRepos, routerId: string, routes: RouteInput[]): Promise<RouteInput[]> {
  if (routes.length > MAX_ROUTES) {
    throw new CloudError('BadRequest', `Unable to complete operation for ${routerId}. The number of routes exceeds the maximum ${MAX_ROUTES}.`, {
      type: 'RoutesExhausted',
    });
  }
  const legs = await routerSubnets(r, routerId);
  const out: RouteInput[] = [];
  for (const raw of routes) {
    const route = validRoute(undefined, raw, 'routes');
    const hop = parseIp(route.nexthop);
    const invalid = (why: string) =>
      new CloudError('BadRequest', `Invalid format for routes: ${JSON.stringify([raw])}, ${why}`, { type: 'InvalidRoutes' });
    if (!hop || !legs.some((l) => cidrContains(cidrOf(l.subnet), hop))) throw invalid('the nexthop is not connected with router');
    if (legs.some((l) => l.ip === route.nexthop)) throw invalid('the nexthop is used by router');
    if (!out.some((o) => o.destination === route.destination && o.nexthop === route.nexthop)) out.push(route);
  }
  return out;
}

export async function updateRouter(core: NetCore, c: Caller, id: string, b: RouterUpdate, ifRevision?: number): Promise<RouterModel> {
  checkDvrHa(c, b, 'update');
  await core.store.write(async (r, batch) => {
    const at = stamp();
    const router = await visibleRouter(r, c, id);
    checkRevision(ifRevision, router.revision_number);
    const patch: Partial<RouterRow> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.description = b.description;
    if (b.admin_state_up !== undefined) patch.admin_state_up = b.admin_state_up ? 1 : 0;
    if (b.external_gateway_info !== undefined) {
      await setGateway(r, batch, core, c, router, b.external_gateway_info ?? {}, 'update', at);
    }
    if (b.routes !== undefined) await r.routers.setRoutes(router.id, await validRoutes(r, router.id, b.routes));
    await r.routers.update(router.id, patch, at);
    batch.add('router', router.id, 'update');
  });
  return getRouter(core, c, id);
}

/** add_extraroutes / remove_extraroutes: change some routes without resending the rest. */
export async function changeExtraRoutes(core: NetCore, c: Caller, id: string, routes: RouteInput[], add: boolean): Promise<RouterModel> {
  await core.store.write(async (r, batch) => {
    const router = await visibleRouter(r, c, id);
    const current = (await r.routers.routesOf([router.id])).get(router.id) ?? [];
    const given = routes.map((x) => validRoute(undefined, x, 'routes'));
    const same = (a: RouteInput, b2: RouteInput) => a.destination === b2.destination && a.nexthop === b2.nexthop;
    const next = add
      ? [...current, ...given.filter((g) => !current.some((x) => same(x, g)))]
      : current.filter((x) => !given.some((g) => same(x, g)));
    await r.routers.setRoutes(router.id, add ? await validRoutes(r, router.id, next) : next);
    await r.routers.touch(router.id, stamp());
    batch.add('router', router.id, 'update');
  });
  return getRouter(core, c, id);
}

export async function deleteRouter(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const at = stamp();
    const router = await visibleRouter(r, c, id);
    checkRevision(ifRevision, router.revision_number);
    const interfaces = await r.ports.list({ deviceIds: [router.id], deviceOwners: [OWNER_ROUTER_INTERFACE] });
    if (interfaces.length > 0) throw routerInUse(router.id, `still has ports: remove its ${interfaces.length} interface(s) first (openstack router remove subnet).`);
    await clearGateway(r, batch, router, at);
    await r.meta.clearTags(router.id);
    await r.routers.delete(router.id);
    batch.add('router', router.id, 'delete');
  });
}

function interfaceResult(router: RouterRow, portId: string, networkId: string, subnetIds: string[]): InterfaceResult {
  return {
    id: router.id,
    tenant_id: router.project_id,
    project_id: router.project_id,
    port_id: portId,
    network_id: networkId,
    subnet_id: subnetIds[0] ?? '',
    subnet_ids: subnetIds,
  };
}

function exactlyOne(info: InterfaceInfo): void {
  if (info.subnet_id !== undefined && info.port_id !== undefined) throw badRouter('Cannot specify both subnet-id and port-id');
  if (info.subnet_id === undefined && info.port_id === undefined) throw badRouter('Either subnet_id or port_id must be specified');
}

export async function addInterface(core: NetCore, c: Caller, id: string, info: InterfaceInfo): Promise<InterfaceResult> {
  exactlyOne(info);
  return core.store.write(async (r, batch) => {
    const at = stamp();
    const router = await visibleRouter(r, c, id);
    if (info.subnet_id !== undefined) {
      const s = await r.networks.getSubnet(info.subnet_id);
      const n = s ? await r.networks.get(s.network_id) : undefined;
      if (!s || !n || !(owns(c, s.project_id) || owns(c, n.project_id) || n.shared === 1)) throw subnetNotFound(info.subnet_id);
      if (!s.gateway_ip) throw badRouter('Subnet for router interface must have a gateway IP');
      if (!c.isAdmin && s.project_id !== c.projectId && n.shared !== 1) {
        throw badRouter(`Cannot add interface to router because subnet ${s.id} is not owned by project making the request`);
      }
      if (n.external === 1) throw badRouter(`Subnet ${s.id} is on external network ${n.id}: set that network as the router's gateway instead.`);
      const legs = await routerSubnets(r, router.id);
      if (legs.some((l) => l.subnet.id === s.id)) throw badRouter(`Router already has a port on subnet ${s.id}`);
      await checkNoOverlap(r, router.id, [s]);
      const { row } = await insertPort(r, batch, core.settings, n, {
        projectId: router.project_id,
        deviceId: router.id,
        deviceOwner: OWNER_ROUTER_INTERFACE,
        portSecurity: false,
        fixedIps: [{ subnet_id: s.id, ip_address: s.gateway_ip }],
      }, at);
      await r.routers.touch(router.id, at);
      batch.add('router', router.id, 'update');
      return interfaceResult(router, row.id, n.id, [s.id]);
    }
    const portId = info.port_id ?? '';
    const p = await r.ports.get(portId);
    if (!p || !owns(c, p.project_id)) throw portNotFound(portId);
    if (p.device_id || p.device_owner) {
      throw conflictOf('PortInUse', `Unable to complete operation on port ${p.id} for network ${p.network_id}. Port already has an attached device ${p.device_id || p.device_owner}.`);
    }
    const ips = (await fixedIpsOf(r, [p.id])).get(p.id) ?? [];
    if (ips.length === 0) throw badRouter('Router port must have at least one fixed IP');
    const subnets: SubnetRow[] = [];
    for (const f of ips) {
      const s = await r.networks.getSubnet(f.subnet_id);
      if (s) subnets.push(s);
    }
    if (subnets.filter((s) => s.ip_version === 4).length > 1) throw badRouter('Cannot have multiple IPv4 subnets on router port');
    const n = await r.networks.get(p.network_id);
    if (!n) throw networkNotFound(p.network_id);
    if (n.external === 1) throw badRouter(`Port ${p.id} is on external network ${n.id}: set that network as the router's gateway instead.`);
    const legs = await routerSubnets(r, router.id);
    for (const s of subnets) if (legs.some((l) => l.subnet.id === s.id)) throw badRouter(`Router already has a port on subnet ${s.id}`);
    await checkNoOverlap(r, router.id, subnets);
    const oldGroups = (await r.ports.securityGroupsOf([p.id])).get(p.id) ?? [];
    await r.ports.setSecurityGroups(p.id, []);
    for (const g of oldGroups) batch.add('security_group', g, 'update');
    await r.ports.update(p.id, { device_id: router.id, device_owner: OWNER_ROUTER_INTERFACE, port_security_enabled: 0, allowed_address_pairs: '[]' }, at);
    portEvents(batch, { ...p, device_id: router.id, device_owner: OWNER_ROUTER_INTERFACE }, 'update');
    await r.routers.touch(router.id, at);
    return interfaceResult(router, p.id, p.network_id, subnets.map((s) => s.id));
  });
}

export async function removeInterface(core: NetCore, c: Caller, id: string, info: InterfaceInfo): Promise<InterfaceResult> {
  exactlyOne(info);
  return core.store.write(async (r, batch) => {
    const at = stamp();
    const router = await visibleRouter(r, c, id);
    const legs = (await routerSubnets(r, router.id)).filter((l) => l.owner === OWNER_ROUTER_INTERFACE);
    let portId: string;
    if (info.subnet_id !== undefined) {
      const leg = legs.find((l) => l.subnet.id === info.subnet_id);
      if (!leg) {
        throw new CloudError('NotFound', `Router ${router.id} has no interface on subnet ${info.subnet_id}`, { type: 'RouterInterfaceNotFoundForSubnet' });
      }
      portId = leg.portId;
    } else {
      portId = info.port_id ?? '';
      if (!legs.some((l) => l.portId === portId)) {
        throw new CloudError('NotFound', `Router ${router.id} does not have an interface with id ${portId}`, { type: 'RouterInterfaceNotFound' });
      }
    }
    const port = await r.ports.get(portId);
    if (!port) throw portNotFound(portId);
    const portLegs = legs.filter((l) => l.portId === portId);
    const removing = info.subnet_id !== undefined ? portLegs.filter((l) => l.subnet.id === info.subnet_id) : portLegs;
    const fips = await r.routers.listFloatingIps({ routerIds: [router.id] });
    const routes = (await r.routers.routesOf([router.id])).get(router.id) ?? [];
    for (const leg of removing) {
      const cidr = cidrOf(leg.subnet);
      const inSubnet = (ip: string | null) => {
        const v = ip === null ? undefined : parseIp(ip);
        return v !== undefined && cidrContains(cidr, v);
      };
      if (fips.some((f) => inSubnet(f.fixed_ip_address))) {
        throw conflictOf(
          'RouterInterfaceInUseByFloatingIP',
          `Router interface for subnet ${leg.subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more floating IPs.`,
        );
      }
      if (routes.some((rt) => inSubnet(rt.nexthop))) {
        throw conflictOf(
          'RouterInterfaceInUseByRoute',
          `Router interface for subnet ${leg.subnet.id} on router ${router.id} cannot be deleted, as it is required by one or more routes.`,
        );
      }
    }
    if (removing.length === portLegs.length) {
      await removePort(r, batch, port, at);
    } else {
      for (const leg of removing) await releaseIp(r, leg.subnet, leg.ip);
      await r.ports.touch(port.id, at);
      portEvents(batch, port, 'update');
    }
    await r.routers.touch(router.id, at);
    batch.add('router', router.id, 'update');
    return interfaceResult(router, port.id, port.network_id, removing.map((l) => l.subnet.id));
  });
}
