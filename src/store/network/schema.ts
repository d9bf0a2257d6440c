import type { ChangeTable } from '../changes.js';

/**
 * Neutron's tables (migrations 020-039). Booleans are 0/1, JSON columns hold
 * text, times are ISO-8601. `status` columns are observed state: only the
 * data plane writes them (through the repositories' set*Status methods).
 * `revision_number` is bumped by every write of desired state.
 */

export interface NetworkTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  admin_state_up: number;
  shared: number;
  external: number;
  mtu: number;
  network_type: 'flat' | 'vxlan';
  physical_network: string | null;
  segmentation_id: number | null;
  port_security_enabled: number;
  dns_domain: string;
  /** JSON array of availability zone names. */
  availability_zone_hints: string;
  /** Observed: written by the data plane; ACTIVE at creation, as Neutron reports a new network. */
  status: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface SubnetTable {
  id: string;
  network_id: string;
  project_id: string;
  name: string;
  description: string;
  ip_version: number;
  /** Canonical network/prefix. */
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: number;
  ipv6_ra_mode: string | null;
  ipv6_address_mode: string | null;
  /** JSON [{start, end}], canonical addresses, sorted. */
  allocation_pools: string;
  /** JSON array of addresses. */
  dns_nameservers: string;
  /** JSON [{destination, nexthop}]. */
  host_routes: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

/**
 * What is still free in a subnet's allocation pools, as disjoint inclusive
 * ranges of fixed-width hex keys (see core/network/ip.ts ipKey): allocating
 * takes from the lowest range, so the cost does not depend on how full the
 * subnet is.
 */
export interface IpFreeRangeTable {
  subnet_id: string;
  first_key: string;
  last_key: string;
}

/** Every address in use; UNIQUE(subnet_id, ip_address) makes a duplicate impossible. */
export interface IpAllocationTable {
  subnet_id: string;
  ip_address: string;
  port_id: string;
  network_id: string;
}

export interface PortTable {
  id: string;
  network_id: string;
  project_id: string;
  name: string;
  description: string;
  mac_address: string;
  admin_state_up: number;
  /** Observed: DOWN until the data plane says ACTIVE. */
  status: string;
  device_id: string;
  device_owner: string;
  binding_host_id: string;
  binding_vnic_type: string;
  /** JSON object. */
  binding_profile: string;
  binding_vif_type: string;
  /** JSON object. */
  binding_vif_details: string;
  port_security_enabled: number;
  /** JSON [{ip_address, mac_address}]. */
  allowed_address_pairs: string;
  dns_name: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface PortSecurityGroupTable {
  port_id: string;
  security_group_id: string;
}

export interface RouterTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  admin_state_up: number;
  /** Observed. */
  status: string;
  gw_network_id: string | null;
  gw_port_id: string | null;
  enable_snat: number;
  availability_zone_hints: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface RouterRouteTable {
  router_id: string;
  destination: string;
  nexthop: string;
}

export interface FloatingIpTable {
  id: string;
  project_id: string;
  floating_network_id: string;
  floating_ip_address: string;
  /** The port on the external network that holds the address (device_owner network:floatingip). */
  floating_port_id: string;
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  description: string;
  /** Observed: DOWN until the data plane says ACTIVE. */
  status: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface SecurityGroupTable {
  id: string;
  project_id: string;
  name: string;
  description: string;
  stateful: number;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

/** One row per project: its `default` group (the primary key makes a second one impossible). */
export interface DefaultSecurityGroupTable {
  project_id: string;
  security_group_id: string;
}

export interface SecurityGroupRuleTable {
  id: string;
  security_group_id: string;
  project_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description: string;
  /** Canonical form of the rule's match; UNIQUE, so a duplicate rule cannot be stored. */
  fingerprint: string;
  created_at: string;
  updated_at: string;
  revision_number: number;
}

export interface NetworkTagTable {
  resource_id: string;
  resource_type: string;
  tag: string;
}

export interface NetworkQuotaTable {
  project_id: string;
  resource: string;
  hard_limit: number;
}

export interface NetworkTables {
  changes: ChangeTable;
  networks: NetworkTable;
  subnets: SubnetTable;
  ip_free_ranges: IpFreeRangeTable;
  ip_allocations: IpAllocationTable;
  ports: PortTable;
  port_security_groups: PortSecurityGroupTable;
  routers: RouterTable;
  router_routes: RouterRouteTable;
  floatingips: FloatingIpTable;
  security_groups: SecurityGroupTable;
  default_security_groups: DefaultSecurityGroupTable;
  security_group_rules: SecurityGroupRuleTable;
  network_tags: NetworkTagTable;
  network_quotas: NetworkQuotaTable;
}
