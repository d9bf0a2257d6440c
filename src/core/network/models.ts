import type { NetworkRow, SubnetRow } from '../../store/network/networks.repo.js';
import type { PortFilter, PortRow } from '../../store/network/ports.repo.js';
import type { FloatingIpRow, RouteRow, RouterRow } from '../../store/network/routers.repo.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../../store/network/secgroups.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';

/**
 * A resource with what its API view shows besides its own row (children,
 * tags), loaded in bulk: one query per child table for a whole list.
 */

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

export interface NetworkModel {
  row: NetworkRow;
  subnetIds: string[];
  tags: string[];
}

export interface SubnetModel {
  row: SubnetRow;
  tags: string[];
}

export interface PortModel {
  row: PortRow;
  fixedIps: FixedIp[];
  securityGroupIds: string[];
  tags: string[];
}

export interface RouterModel {
  row: RouterRow;
  routes: RouteRow[];
  /** The gateway port's addresses (external_fixed_ips). */
  gatewayIps: FixedIp[];
  tags: string[];
}

export interface FloatingIpModel {
  row: FloatingIpRow;
  /** The associated port, for port_details. */
  port: PortRow | undefined;
  tags: string[];
}

export interface SecurityGroupModel {
  row: SecurityGroupRow;
  rules: SecurityGroupRuleRow[];
  tags: string[];
}

const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);

export async function loadNetworks(r: NetworkRepos, rows: NetworkRow[]): Promise<NetworkModel[]> {
  const subnets = await r.networks.subnetIdsOf(ids(rows));
  const tags = await r.meta.tagsOf(ids(rows));
  return rows.map((row) => ({ row, subnetIds: subnets.get(row.id) ?? [], tags: tags.get(row.id) ?? [] }));
}

export async function loadSubnets(r: NetworkRepos, rows: SubnetRow[]): Promise<SubnetModel[]> {
  const tags = await r.meta.tagsOf(ids(rows));
  return rows.map((row) => ({ row, tags: tags.get(row.id) ?? [] }));
}

/** Fixed IPs of each port, in allocation order. */
export async function fixedIpsOf(r: NetworkRepos, portIds: string[]): Promise<Map<string, FixedIp[]>> {
  const out = new Map<string, FixedIp[]>();
  for (const a of await r.ipam.ofPorts(portIds)) {
    const ip = { subnet_id: a.subnet_id, ip_address: a.ip_address };
    const l = out.get(a.port_id);
    if (l) l.push(ip);
    else out.set(a.port_id, [ip]);
  }
  return out;
}

export async function loadPorts(r: NetworkRepos, rows: PortRow[]): Promise<PortModel[]> {
  const portIds = ids(rows);
  const fixed = await fixedIpsOf(r, portIds);
  const sgs = await r.ports.securityGroupsOf(portIds);
  const tags = await r.meta.tagsOf(portIds);
  return rows.map((row) => ({
    row,
    fixedIps: fixed.get(row.id) ?? [],
    securityGroupIds: sgs.get(row.id) ?? [],
    tags: tags.get(row.id) ?? [],
  }));
}

/** Ports matching a filter with their children: a fixed number of queries for any number of ports (lists). */
export function listPortModels(r: NetworkRepos, f: PortFilter): Promise<PortModel[]> {
  return r.ports.listWithChildren(f);
}

export async function loadRouters(r: NetworkRepos, rows: RouterRow[]): Promise<RouterModel[]> {
  const routes = await r.routers.routesOf(ids(rows));
  const gwPorts = rows.map((x) => x.gw_port_id).filter((x): x is string => x !== null);
  const gwIps = await fixedIpsOf(r, gwPorts);
  const tags = await r.meta.tagsOf(ids(rows));
  return rows.map((row) => ({
    row,
    routes: routes.get(row.id) ?? [],
    gatewayIps: row.gw_port_id ? (gwIps.get(row.gw_port_id) ?? []) : [],
    tags: tags.get(row.id) ?? [],
  }));
}

export async function loadFloatingIps(r: NetworkRepos, rows: FloatingIpRow[]): Promise<FloatingIpModel[]> {
  const portIds = rows.map((x) => x.fixed_port_id).filter((x): x is string => x !== null);
  const ports = portIds.length ? await r.ports.list({ ids: portIds }) : [];
  const byId = new Map(ports.map((p) => [p.id, p]));
  const tags = await r.meta.tagsOf(ids(rows));
  return rows.map((row) => ({
    row,
    port: row.fixed_port_id ? byId.get(row.fixed_port_id) : undefined,
    tags: tags.get(row.id) ?? [],
  }));
}

export async function loadSecurityGroups(r: NetworkRepos, rows: SecurityGroupRow[]): Promise<SecurityGroupModel[]> {
  const rules = await r.secgroups.rulesOf(ids(rows));
  const tags = await r.meta.tagsOf(ids(rows));
  return rows.map((row) => ({ row, rules: rules.get(row.id) ?? [], tags: tags.get(row.id) ?? [] }));
}
