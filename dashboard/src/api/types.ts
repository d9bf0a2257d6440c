/** The fields of OpenStack resources the dashboard reads (API reference shapes, trimmed). */

export interface ServerAddress {
  addr: string;
  version: number;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr'?: string;
}

export interface Server {
  id: string;
  name: string;
  status: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:power_state'?: number;
  addresses: Record<string, ServerAddress[]>;
  /** Before 2.47 a reference; from 2.47 the embedded flavor. */
  flavor: { id?: string; original_name?: string; vcpus?: number; ram?: number; disk?: number };
  image: { id: string } | '';
  key_name: string | null;
  security_groups?: { name: string }[];
  created: string;
  tenant_id?: string;
  fault?: { code: number; message: string; details?: string };
}

export interface Flavor {
  id: string;
  name: string;
  vcpus: number;
  ram: number;
  disk: number;
}

export interface Keypair {
  name: string;
  fingerprint: string;
  public_key: string;
  type?: string;
  private_key?: string;
}

export interface Image {
  id: string;
  name: string | null;
  status: string;
  size: number | null;
  disk_format: string | null;
  container_format: string | null;
  visibility: string;
  owner: string | null;
  min_ram?: number;
  min_disk?: number;
  created_at: string;
}

export interface Network {
  id: string;
  name: string;
  status: string;
  subnets: string[];
  shared: boolean;
  'router:external': boolean;
  project_id: string;
  admin_state_up: boolean;
  mtu?: number;
  port_security_enabled?: boolean;
}

export interface Subnet {
  id: string;
  name: string;
  network_id: string;
  cidr: string;
  gateway_ip: string | null;
  enable_dhcp: boolean;
  ip_version: number;
  allocation_pools: { start: string; end: string }[];
  project_id: string;
}

export interface FixedIp {
  subnet_id: string;
  ip_address: string;
}

export interface Port {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  device_id: string;
  device_owner: string;
  status: string;
  security_groups?: string[];
  port_security_enabled?: boolean;
  project_id: string;
}

export interface Router {
  id: string;
  name: string;
  status: string;
  external_gateway_info: { network_id: string; enable_snat?: boolean; external_fixed_ips?: FixedIp[] } | null;
  project_id: string;
}

export interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  fixed_ip_address: string | null;
  port_id: string | null;
  router_id: string | null;
  status: string;
  project_id: string;
  description?: string;
}

export interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description?: string;
}

export interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  security_group_rules: SecurityGroupRule[];
}

export interface Project {
  id: string;
  name: string;
  description: string;
  enabled: boolean;
  domain_id: string;
}

export interface User {
  id: string;
  name: string;
  enabled: boolean;
  domain_id: string;
  default_project_id?: string;
  email?: string;
}

export interface Role {
  id: string;
  name: string;
}

export interface RoleAssignment {
  role: { id: string; name?: string };
  user?: { id: string; name?: string };
  group?: { id: string; name?: string };
  scope: { project?: { id: string; name?: string }; domain?: { id: string; name?: string } };
}

export interface Hypervisor {
  id: number | string;
  hypervisor_hostname: string;
  state?: string;
  status?: string;
  vcpus?: number;
  vcpus_used?: number;
  memory_mb?: number;
  memory_mb_used?: number;
  local_gb?: number;
  local_gb_used?: number;
  running_vms?: number;
  hypervisor_type?: string;
}

export interface NovaLimits {
  absolute: Record<string, number>;
}

export interface QuotaDetail {
  limit: number;
  used: number;
  reserved: number;
}

/** The answer of GET /stacklet/v1/explain. */
export interface Explanation {
  reachable: boolean;
  steps: { check: string; ok: boolean; detail: string }[];
  blocker?: { message: string; fix: string };
}
