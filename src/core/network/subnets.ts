import type { ChangeBatch } from '../../store/changes.js';
import type { NetworkRow, SubnetRow } from '../../store/network/networks.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { owns, targetProject, type Caller } from './access.js';
import { checkRevision, stamp, visibleNetwork, type NetCore } from './core.js';
import { invalidAttr, invalidInput, policyNotAuthorized, subnetInUse, subnetNotFound } from './errors.js';
import { cidrsOverlap, formatCidr, parseIp, subtractPoints, type IpVersion } from './ip.js';
import { cidrOf, isAutoAddress, poolsOf, releaseIp } from './ipam.js';
import { loadSubnets, type SubnetModel } from './models.js';
import { insertPort, OWNER_DHCP, OWNER_ROUTER_INTERFACE, portEvents, removePort } from './port-ops.js';
import { checkQuota } from './quotas.js';
import type { NetworkSettings } from './settings.js';
import {
  checkGatewayOutsidePools,
  ipv6Modes,
  poolsJson,
  subnetCidr,
  subnetDns,
  subnetGateway,
  subnetPools,
  subnetRoutes,
  type PoolInput,
  type RouteInput,
} from './subnet-rules.js';

/** Subnets: address ranges of a network, with their pools, gateway, DHCP and routes. */

export interface SubnetCreate {
  network_id: string;
  ip_version: number;
  cidr?: string;
  name?: string;
  description?: string;
  gateway_ip?: string | null;
  allocation_pools?: PoolInput[];
  dns_nameservers?: string[];
  host_routes?: RouteInput[];
  enable_dhcp?: boolean;
  ipv6_ra_mode?: string | null;
  ipv6_address_mode?: string | null;
  subnetpool_id?: string | null;
  prefixlen?: number;
  use_default_subnetpool?: boolean;
  segment_id?: string | null;
  service_types?: string[];
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface SubnetUpdate {
  name?: string;
  description?: string;
  gateway_ip?: string | null;
  allocation_pools?: PoolInput[];
  dns_nameservers?: string[];
  host_routes?: RouteInput[];
  enable_dhcp?: boolean;
  [readOnly: string]: unknown;
}

const UPDATABLE = new Set(['name', 'description', 'gateway_ip', 'allocation_pools', 'dns_nameservers', 'host_routes', 'enable_dhcp']);

async function visibleSubnet(r: NetworkRepos, c: Caller, id: string): Promise<{ subnet: SubnetRow; network: NetworkRow }> {
  const s = await r.networks.getSubnet(id);
  if (!s) throw subnetNotFound(id);
  const n = await r.networks.get(s.network_id);
  if (!n) throw subnetNotFound(id);
  if (!c.isAdmin && s.project_id !== c.projectId && n.project_id !== c.projectId && n.shared !== 1) throw subnetNotFound(id);
  return { subnet: s, network: n };
}

/** Only the subnet's or network's owner (or admin) changes a subnet. */
function requireSubnetOwner(c: Caller, s: SubnetRow, n: NetworkRow, action: string): void {
  if (owns(c, s.project_id) || owns(c, n.project_id)) return;
  throw policyNotAuthorized(`${action}_subnet`);
}

export async function listSubnets(core: NetCore, c: Caller, f: { ids?: string[]; networkIds?: string[]; names?: string[] }): Promise<SubnetModel[]> {
  const r = core.store.read;
  return loadSubnets(r, await r.networks.listSubnets({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f }));
}

export async function getSubnet(core: NetCore, c: Caller, id: string): Promise<SubnetModel> {
  const r = core.store.read;
  const { subnet } = await visibleSubnet(r, c, id);
  const [m] = await loadSubnets(r, [subnet]);
  if (!m) throw subnetNotFound(id);
  return m;
}

export async function createSubnet(core: NetCore, c: Caller, b: SubnetCreate): Promise<SubnetModel> {
  const projectId = targetProject(c, b);
  if (b.subnetpool_id !== undefined && b.subnetpool_id !== null) throw invalidInput('subnet pools are not supported here: give a cidr');
  if (b.use_default_subnetpool === true) throw invalidInput('subnet pools are not supported here: give a cidr');
  if (b.segment_id !== undefined && b.segment_id !== null) throw invalidInput('routed network segments are not supported here');
  if (b.service_types !== undefined && b.service_types.length > 0) throw invalidInput('subnet service types are not supported here');
  if (b.cidr === undefined) throw invalidAttr('cidr', 'a cidr is required (subnet pools are not supported)');
  if (b.ip_version !== 4 && b.ip_version !== 6) throw invalidAttr('ip_version', `${b.ip_version} is not in [4, 6]`);
  const c4 = subnetCidr(b.cidr, b.ip_version);
  const version = c4.version;
  const modes = ipv6Modes(c4, b.ipv6_ra_mode, b.ipv6_address_mode);
  const gateway = subnetGateway(c4, b.gateway_ip);
  const pools = subnetPools(c4, b.allocation_pools, gateway);
  const dns = subnetDns(version, b.dns_nameservers);
  const routes = subnetRoutes(version, b.host_routes);

  const id = await core.store.write(async (r, batch) => {
    const at = stamp();
    const n = await visibleNetwork(r, c, b.network_id);
    if (!owns(c, n.project_id)) throw policyNotAuthorized('create_subnet');
    await checkQuota(r, core.settings, projectId, 'subnet');
    for (const other of await r.networks.listSubnets({ networkIds: [n.id] })) {
      if (cidrsOverlap(c4, cidrOf(other))) {
        throw invalidInput(`Requested subnet with cidr: ${formatCidr(c4)} for network: ${n.id} overlaps with another subnet.`);
      }
    }
    const row: SubnetRow = {
      id: uuid(),
      network_id: n.id,
      project_id: projectId,
      name: b.name ?? '',
      description: b.description ?? '',
      ip_version: version,
      cidr: formatCidr(c4),
      gateway_ip: gateway,
      enable_dhcp: b.enable_dhcp === false ? 0 : 1,
      ipv6_ra_mode: modes.ra,
      ipv6_address_mode: modes.address,
      allocation_pools: poolsJson(version, pools),
      dns_nameservers: JSON.stringify(dns),
      host_routes: JSON.stringify(routes),
      created_at: at,
      updated_at: at,
      revision_number: 1,
    };
    await r.networks.insertSubnet(row);
    await r.ipam.setFreeRanges(row.id, version, pools);
    if (b.tags && b.tags.length > 0) await r.meta.setTags('subnets', row.id, b.tags);
    await r.networks.touch(n.id, at);
    batch.add('subnet', row.id, 'create');
    batch.add('network', n.id, 'update');
    await syncDhcpPort(r, batch, core.settings, n, at);
    return row.id;
  });
  return getSubnet(core, c, id);
}

export async function updateSubnet(core: NetCore, c: Caller, id: string, b: SubnetUpdate, ifRevision?: number): Promise<SubnetModel> {
  for (const k of Object.keys(b)) if (!UPDATABLE.has(k)) throw invalidAttr(k, `Cannot update read-only attribute ${k}`);
  await core.store.write(async (r, batch) => {
    const at = stamp();
    const { subnet: s, network: n } = await visibleSubnet(r, c, id);
    requireSubnetOwner(c, s, n, 'update');
    checkRevision(ifRevision, s.revision_number);
    const c4 = cidrOf(s);
    const version = c4.version;
    const patch: Partial<SubnetRow> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.description = b.description;
    if (b.dns_nameservers !== undefined) patch.dns_nameservers = JSON.stringify(subnetDns(version, b.dns_nameservers));
    if (b.host_routes !== undefined) patch.host_routes = JSON.stringify(subnetRoutes(version, b.host_routes));
    if (b.enable_dhcp !== undefined) patch.enable_dhcp = b.enable_dhcp ? 1 : 0;
    let gateway = s.gateway_ip;
    if (b.gateway_ip !== undefined) {
      gateway = b.gateway_ip === null ? null : subnetGateway(c4, b.gateway_ip);
      if (gateway !== s.gateway_ip) await checkGatewayChange(r, s, gateway);
      patch.gateway_ip = gateway;
    }
    if (b.allocation_pools !== undefined) {
      const pools = subnetPools(c4, b.allocation_pools, gateway);
      const taken = (await r.ipam.ofSubnet(s.id)).map((a) => parseIp(a.ip_address)?.value).filter((v): v is bigint => v !== undefined);
      await r.ipam.setFreeRanges(s.id, version, subtractPoints(pools, taken));
      patch.allocation_pools = poolsJson(version, pools);
    } else if (b.gateway_ip !== undefined) {
      checkGatewayOutsidePools(version, gateway, poolsOf(s));
    }
    await r.networks.updateSubnet(s.id, patch, at);
    batch.add('subnet', s.id, 'update');
    batch.add('network', n.id, 'update');
    if (b.enable_dhcp !== undefined) await syncDhcpPort(r, batch, core.settings, n, at);
  });
  return getSubnet(core, c, id);
}

async function checkGatewayChange(r: NetworkRepos, s: SubnetRow, gateway: string | null): Promise<void> {
  const allocs = await r.ipam.ofSubnet(s.id);
  const holder = (ip: string | null) => (ip === null ? undefined : allocs.find((a) => a.ip_address === ip));
  const old = holder(s.gateway_ip);
  if (old) {
    throw new CloudError('Conflict', `Current gateway ip ${s.gateway_ip ?? ''} already in use by port ${old.port_id}. Unable to update.`, {
      type: 'GatewayIpInUse',
    });
  }
  const next = holder(gateway);
  if (next) {
    throw new CloudError('Conflict', `Gateway ip ${gateway ?? ''} already in use by port ${next.port_id}. Unable to update.`, {
      type: 'GatewayIpInUse',
    });
  }
}

export async function deleteSubnet(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const { subnet: s, network: n } = await visibleSubnet(r, c, id);
    requireSubnetOwner(c, s, n, 'delete');
    checkRevision(ifRevision, s.revision_number);
    const allocs = await r.ipam.ofSubnet(s.id);
    if (allocs.length > 0) {
      const ports = await r.ports.list({ ids: [...new Set(allocs.map((a) => a.port_id))] });
      // DHCP addresses go with the subnet, and so do SLAAC addresses except a router's.
      const removable = (owner: string) => owner === OWNER_DHCP || (isAutoAddress(s) && owner !== OWNER_ROUTER_INTERFACE);
      const blocking = ports.filter((p) => !removable(p.device_owner));
      if (blocking.length > 0) throw subnetInUse(s.id);
    }
    const at = stamp();
    await removeSubnetRows(r, batch, s);
    await r.networks.touch(n.id, at);
    await syncDhcpPort(r, batch, core.settings, n, at);
  });
}

/**
 * Removes a subnet whose remaining allocations are all automatic (DHCP, SLAAC):
 * those addresses go, ports left without any address keep existing (as in Neutron).
 */
export async function removeSubnetRows(r: NetworkRepos, batch: ChangeBatch, s: SubnetRow): Promise<void> {
  const touchedPorts = new Set<string>();
  for (const a of await r.ipam.ofSubnet(s.id)) {
    await r.ipam.deleteAllocation(s.id, a.ip_address);
    touchedPorts.add(a.port_id);
  }
  for (const p of await r.ports.list({ ids: [...touchedPorts] })) portEvents(batch, p, 'update');
  await r.meta.clearTags(s.id);
  await r.networks.deleteSubnet(s.id);
  batch.add('subnet', s.id, 'delete');
  batch.add('network', s.network_id, 'update');
}

/**
 * Keeps one DHCP port per network with one address on every DHCP-enabled
 * subnet (Neutron's DHCP agent makes this port; here the API does, so its
 * address is known as soon as the subnet exists). A subnet with no free
 * address left gets none.
 */
export async function syncDhcpPort(r: NetworkRepos, batch: ChangeBatch, settings: NetworkSettings, n: NetworkRow, at: string): Promise<void> {
  const dhcpSubnets = (await r.networks.listSubnets({ networkIds: [n.id] })).filter((s) => s.enable_dhcp === 1 && !isAutoAddress(s));
  const [port] = await r.ports.list({ networkIds: [n.id], deviceOwners: [OWNER_DHCP] });
  if (dhcpSubnets.length === 0) {
    if (port) await removePort(r, batch, port, at);
    return;
  }
  const withRoom: SubnetRow[] = [];
  for (const s of dhcpSubnets) if ((await r.ipam.freeRanges(s.id)).length > 0) withRoom.push(s);
  if (!port) {
    if (withRoom.length === 0) return;
    await insertPort(r, batch, settings, n, {
      projectId: n.project_id,
      deviceId: `dhcp-${n.id}`,
      deviceOwner: OWNER_DHCP,
      portSecurity: false,
      fixedIps: withRoom.map((s) => ({ subnet_id: s.id })),
    }, at);
    return;
  }
  const allocs = await r.ipam.ofPorts([port.id]);
  let changed = false;
  for (const a of allocs) {
    const s = await r.networks.getSubnet(a.subnet_id);
    if (s && !dhcpSubnets.some((d) => d.id === s.id)) {
      await releaseIp(r, s, a.ip_address);
      changed = true;
    }
  }
  for (const s of withRoom) {
    if (allocs.some((a) => a.subnet_id === s.id)) continue;
    const ip = await r.ipam.takeLowest(s.id, s.ip_version as IpVersion);
    if (!ip) continue;
    await r.ipam.insertAllocation({ subnet_id: s.id, ip_address: ip, port_id: port.id, network_id: n.id });
    changed = true;
  }
  if (changed) {
    await r.ports.touch(port.id, at);
    portEvents(batch, port, 'update');
  }
}

