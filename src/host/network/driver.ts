/**
 * What the network reconcilers ask of the host: small idempotent
 * ensure/remove pairs over plain data. Implemented by linux/ (the real
 * thing) and fake/ (in memory, for reconciler unit tests).
 *
 * Addresses are IPv4 in this version: IPv6 rules and addresses are
 * accepted and ignored, and IPv6 from ports with port security is dropped.
 */

/** A network: one Linux bridge in the host namespace. */
export interface NetworkSpec {
  networkId: string;
  mtu: number;
  /**
   * Addresses the host holds on this bridge, as "a.b.c.d/len": the
   * external network's gateway in the all-in-one layout (so the host
   * reaches floating IPs), nothing for tenant networks.
   */
  hostAddresses?: string[];
}

/** Where a network lives on the host. */
export interface NetworkBinding {
  bridge: string;
  /** The namespace holding the bridge (the sandbox), or null for the machine's own. */
  netns: string | null;
  mtu: number;
}

/** An allowed address pair: an IP or CIDR, optionally with its own MAC. */
export interface AddressPair {
  ipAddress: string;
  macAddress?: string | null;
}

/** A port plugged into a network's bridge. */
export interface PortSpec {
  portId: string;
  networkId: string;
  mac: string;
  /** The port's fixed IPs (plain addresses). */
  fixedIps: string[];
  portSecurity: boolean;
  securityGroupIds: string[];
  allowedAddressPairs: AddressPair[];
  mtu: number;
  /**
   * 'tap': the driver makes a persistent tap (qemu opens it by name);
   * 'external': someone else makes a device with the binding's name (a
   * test machine's veth); the driver enslaves it when it exists and applies
   * its filtering either way.
   */
  plug: 'tap' | 'external';
}

/** What compute receives to plug an instance (Nova's VIF): qemu runs in `netns` and opens `tap`. */
export interface PortBinding {
  tap: string;
  bridge: string;
  mac: string;
  mtu: number;
  netns: string | null;
}

export type RuleDirection = 'ingress' | 'egress';

/** A Neutron security group rule, as the reconciler passes it. */
export interface SecurityGroupRuleSpec {
  id: string;
  direction: RuleDirection;
  ethertype: 'IPv4' | 'IPv6';
  /** A name (tcp, udp, icmp, ...), a number as a string, or null for any. */
  protocol: string | null;
  portRangeMin: number | null;
  portRangeMax: number | null;
  remoteIpPrefix: string | null;
  remoteGroupId: string | null;
}

export interface SecurityGroupSpec {
  groupId: string;
  rules: SecurityGroupRuleSpec[];
  /** IPs (and CIDRs of allowed address pairs) of every port in the group: what remote_group_id rules match. */
  memberIps: string[];
}

/** One leg of a router or DHCP namespace: a veth from the namespace into a network's bridge. */
export interface LegSpec {
  portId: string;
  networkId: string;
  mac: string;
  /** The port's addresses with their subnet's prefix length, "a.b.c.d/len". */
  cidrs: string[];
  /** The network's MTU (default: the router's or DHCP spec's). */
  mtu?: number;
}

export interface RouteSpec {
  destination: string;
  nexthop: string;
}

export interface FloatingIpSpec {
  floatingIp: string;
  fixedIp: string;
}

export interface RouterSpec {
  routerId: string;
  mtu: number;
  /** The leg on the external network, with the external subnet's gateway as default route. */
  gateway: (LegSpec & { gatewayIp: string | null }) | null;
  interfaces: LegSpec[];
  /** Source-NAT the attached subnets to the gateway leg's first address. */
  snat: boolean;
  floatingIps: FloatingIpSpec[];
  /** Extra routes (Neutron's router `routes`). */
  routes: RouteSpec[];
  /** Serve 169.254.169.254:80 in the router namespace. */
  metadata: boolean;
}

export interface DhcpSubnetSpec {
  subnetId: string;
  cidr: string;
  gatewayIp: string | null;
  dnsNameservers: string[];
  hostRoutes: RouteSpec[];
}

export interface DhcpHostSpec {
  mac: string;
  ip: string;
  hostname: string;
}

export interface DhcpSpec {
  networkId: string;
  /** The network's DHCP port: its leg carries the port's addresses. */
  port: LegSpec;
  subnets: DhcpSubnetSpec[];
  /** Static leases: only ports that exist. */
  hosts: DhcpHostSpec[];
  domain: string;
  mtu: number;
  /** Serve 169.254.169.254:80 in the DHCP namespace and route guests to it (networks without a router). */
  metadata: boolean;
  /** Resolvers dnsmasq forwards unknown names to; never used in sandbox mode. */
  upstreamDns?: string[];
}

/** What an ensure did. */
export interface EnsureResult {
  changed: boolean;
}

/** What the host holds that carries our prefix, for removing what nobody owns. */
export interface HostInventory {
  /** Id keys (see names.ts) of bridges, taps and host-side legs. */
  bridges: string[];
  taps: string[];
  legs: string[];
  /** Full ids from namespace names. */
  routers: string[];
  dhcp: string[];
  /** Id keys of ports and groups with nftables state. */
  filteredPorts: string[];
  securityGroups: string[];
}

/**
 * The host side of networking. Every method is idempotent: it reads what
 * the host has, changes only what differs, and treats "already there" and
 * "already gone" as success. Remove methods also accept an id key from
 * inventory() (for leaked things whose full id is unknown).
 */
export interface NetworkDriver {
  /** The host namespace (sandbox), base sysctls and the filtering tables. */
  ensureHost(): Promise<EnsureResult>;
  ensureNetwork(spec: NetworkSpec): Promise<EnsureResult & { binding: NetworkBinding }>;
  removeNetwork(networkId: string): Promise<EnsureResult>;
  /**
   * `waiting` is true when the port is plugged 'external' and its device
   * does not exist yet: the filtering is in place, and the caller looks
   * again soon to put the device on the bridge once it appears.
   */
  ensurePort(spec: PortSpec): Promise<EnsureResult & { binding: PortBinding; waiting?: boolean }>;
  /** Removes the port's tap and filtering; also a leaked host-side leg with the port's key (inventory().legs). */
  removePort(portId: string): Promise<EnsureResult>;
  ensureSecurityGroup(spec: SecurityGroupSpec): Promise<EnsureResult>;
  removeSecurityGroup(groupId: string): Promise<EnsureResult>;
  ensureRouter(spec: RouterSpec): Promise<EnsureResult>;
  removeRouter(routerId: string): Promise<EnsureResult>;
  ensureDhcp(spec: DhcpSpec): Promise<EnsureResult>;
  removeDhcp(networkId: string): Promise<EnsureResult>;
  inventory(): Promise<HostInventory>;
  /** Forgets what was cached about the host, so the next calls compare with a fresh read (periodic resync). */
  refresh(): Promise<void>;
  /** Stops in-process listeners (metadata); host state stays. */
  close(): Promise<void>;
}
