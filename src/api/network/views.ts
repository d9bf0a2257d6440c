import type { Caller } from '../../core/network/access.js';
import type { FloatingIpModel, NetworkModel, PortModel, RouterModel, SecurityGroupModel, SubnetModel } from '../../core/network/models.js';
import type { SecurityGroupRuleRow } from '../../store/network/secgroups.repo.js';

/**
 * Neutron's JSON shapes. Attributes Neutron's policy shows only to admin
 * (provider attributes, port bindings, router distributed/ha) are left out
 * for everyone else, as Neutron strips them.
 */

const bool = (v: number): boolean => v === 1;

function json<T>(text: string, fallback: T): T {
  // Most of these columns hold an empty list or object: skip the parser for them.
  if (text === '[]' || text === '{}') return (text === '[]' ? [] : {}) as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Neutron prints times without fraction; the store keeps ISO-8601 with milliseconds. */
const seconds = (iso: string): string => (iso.length === 24 && iso.endsWith('Z') ? `${iso.slice(0, 19)}Z` : iso);

function standard(row: { created_at: string; updated_at: string; revision_number: number }, tags: string[]) {
  return { tags, created_at: seconds(row.created_at), updated_at: seconds(row.updated_at), revision_number: row.revision_number };
}

const owner = (projectId: string) => ({ tenant_id: projectId, project_id: projectId });

export function networkView(c: Caller, m: NetworkModel) {
  const n = m.row;
  const view: Record<string, unknown> = {
    id: n.id,
    name: n.name,
    ...owner(n.project_id),
    admin_state_up: bool(n.admin_state_up),
    mtu: n.mtu,
    status: n.status,
    subnets: m.subnetIds,
    shared: bool(n.shared),
    availability_zone_hints: json<string[]>(n.availability_zone_hints, []),
    availability_zones: [],
    ipv4_address_scope: null,
    ipv6_address_scope: null,
    'router:external': bool(n.external),
    description: n.description,
    port_security_enabled: bool(n.port_security_enabled),
    dns_domain: n.dns_domain,
    ...standard(n, m.tags),
  };
  if (c.isAdmin) {
    view['provider:network_type'] = n.network_type;
    view['provider:physical_network'] = n.physical_network;
    view['provider:segmentation_id'] = n.segmentation_id;
  }
  return view;
}

export function subnetView(m: SubnetModel) {
  const s = m.row;
  return {
    id: s.id,
    name: s.name,
    ...owner(s.project_id),
    network_id: s.network_id,
    ip_version: s.ip_version,
    subnetpool_id: null,
    enable_dhcp: bool(s.enable_dhcp),
    ipv6_ra_mode: s.ipv6_ra_mode,
    ipv6_address_mode: s.ipv6_address_mode,
    gateway_ip: s.gateway_ip,
    cidr: s.cidr,
    allocation_pools: json<unknown[]>(s.allocation_pools, []),
    host_routes: json<unknown[]>(s.host_routes, []),
    dns_nameservers: json<unknown[]>(s.dns_nameservers, []),
    description: s.description,
    service_types: [],
    ...standard(s, m.tags),
  };
}

export function portView(c: Caller, m: PortModel) {
  const p = m.row;
  const host = p.dns_name || undefined;
  const view: Record<string, unknown> = {
    id: p.id,
    name: p.name,
    network_id: p.network_id,
    ...owner(p.project_id),
    mac_address: p.mac_address,
    admin_state_up: bool(p.admin_state_up),
    status: p.status,
    device_id: p.device_id,
    device_owner: p.device_owner,
    fixed_ips: m.fixedIps,
    allowed_address_pairs: json<unknown[]>(p.allowed_address_pairs, []),
    extra_dhcp_opts: [],
    security_groups: m.securityGroupIds,
    description: p.description,
    'binding:vnic_type': p.binding_vnic_type,
    port_security_enabled: bool(p.port_security_enabled),
    dns_name: p.dns_name,
    dns_assignment: m.fixedIps.map((f) => {
      const hostname = host ?? `host-${f.ip_address.replaceAll(/[.:]/g, '-')}`;
      return { ip_address: f.ip_address, hostname, fqdn: `${hostname}.openstacklocal.` };
    }),
    ip_allocation: 'immediate',
    ...standard(p, m.tags),
  };
  if (c.isAdmin) {
    view['binding:host_id'] = p.binding_host_id;
    view['binding:profile'] = json<Record<string, unknown>>(p.binding_profile, {});
    view['binding:vif_type'] = p.binding_vif_type;
    view['binding:vif_details'] = json<Record<string, unknown>>(p.binding_vif_details, {});
  }
  return view;
}

export function routerView(c: Caller, m: RouterModel, availabilityZone: string) {
  const r = m.row;
  const view: Record<string, unknown> = {
    id: r.id,
    name: r.name,
    ...owner(r.project_id),
    admin_state_up: bool(r.admin_state_up),
    status: r.status,
    external_gateway_info: r.gw_network_id
      ? { network_id: r.gw_network_id, enable_snat: bool(r.enable_snat), external_fixed_ips: m.gatewayIps }
      : null,
    description: r.description,
    routes: m.routes.map((x) => ({ destination: x.destination, nexthop: x.nexthop })),
    availability_zone_hints: json<string[]>(r.availability_zone_hints, []),
    availability_zones: [availabilityZone],
    ...standard(r, m.tags),
  };
  if (c.isAdmin) {
    view['distributed'] = false;
    view['ha'] = false;
  }
  return view;
}

export function floatingIpView(m: FloatingIpModel) {
  const f = m.row;
  const p = m.port;
  return {
    id: f.id,
    ...owner(f.project_id),
    floating_ip_address: f.floating_ip_address,
    floating_network_id: f.floating_network_id,
    router_id: f.router_id,
    port_id: f.fixed_port_id,
    fixed_ip_address: f.fixed_ip_address,
    status: f.status,
    description: f.description,
    port_details: p
      ? {
          name: p.name,
          network_id: p.network_id,
          mac_address: p.mac_address,
          admin_state_up: bool(p.admin_state_up),
          status: p.status,
          device_id: p.device_id,
          device_owner: p.device_owner,
        }
      : null,
    ...standard(f, m.tags),
  };
}

export function ruleView(r: SecurityGroupRuleRow) {
  return {
    id: r.id,
    ...owner(r.project_id),
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    port_range_min: r.port_range_min,
    port_range_max: r.port_range_max,
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    normalized_cidr: r.remote_ip_prefix,
    description: r.description,
    created_at: seconds(r.created_at),
    updated_at: seconds(r.updated_at),
    revision_number: r.revision_number,
  };
}

export function securityGroupView(m: SecurityGroupModel) {
  const g = m.row;
  return {
    id: g.id,
    name: g.name,
    description: g.description,
    ...owner(g.project_id),
    security_group_rules: m.rules.map(ruleView),
    stateful: bool(g.stateful),
    ...standard(g, m.tags),
  };
}
