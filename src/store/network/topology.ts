import type { Db } from '../db.js';
import type { NetworkRow, SubnetRow } from './networks.repo.js';
import type { PortRow } from './ports.repo.js';
import type { FloatingIpRow, RouteRow, RouterRow } from './routers.repo.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from './secgroups.repo.js';
import { NetworkRepos } from './store.js';

/**
 * What the data plane reads: desired state shaped for the host (a bridge
 * per network, a tap per port, a namespace per router, nftables per
 * security group), and the only writer of observed status.
 *
 * Reads are level-based snapshots: a reconciler calls them again for every
 * key it handles (see store/changes.ts for the events that name the keys).
 * The status writers emit no change event and bump no revision.
 */

export interface FixedIpOf {
  subnet_id: string;
  ip_address: string;
}

export interface AddressPairOf {
  ip_address: string;
  mac_address: string;
}

/** A port with its addresses, security groups and allowed address pairs. */
export interface PortDetail {
  port: PortRow;
  fixedIps: FixedIpOf[];
  securityGroupIds: string[];
  allowedAddressPairs: AddressPairOf[];
}

export interface NetworkDetail {
  network: NetworkRow;
  subnets: SubnetRow[];
}

/** A router with its legs, extra routes and the floating IPs it NATs. */
export interface RouterDetail {
  router: RouterRow;
  /** The leg on the external network (SNAT source, floating IP holder); undefined without a gateway. */
  gateway: PortDetail | undefined;
  /** Legs on tenant subnets; each holds its subnet's gateway address. */
  interfaces: PortDetail[];
  routes: RouteRow[];
  /** Associated floating IPs (fixed_ip_address set) whose router is this one. */
  floatingIps: FloatingIpRow[];
}

export interface SecurityGroupDetail {
  group: SecurityGroupRow;
  rules: SecurityGroupRuleRow[];
}

/** A member of a group's remote set: what a rule with remote_group_id matches. */
export interface GroupMember {
  portId: string;
  networkId: string;
  macAddress: string;
  /** Fixed IPs and allowed address pair addresses/CIDRs. */
  addresses: string[];
}

export type ObservedPortStatus = 'DOWN' | 'ACTIVE' | 'BUILD' | 'ERROR';
export type ObservedStatus = 'ACTIVE' | 'DOWN' | 'ERROR' | 'BUILD';

export class NetworkTopology {
  private readonly r: NetworkRepos;

  constructor(db: Db) {
    this.r = new NetworkRepos(db);
  }

  // --- networks

  async network(id: string): Promise<NetworkDetail | undefined> {
    const network = await this.r.networks.get(id);
    if (!network) return undefined;
    return { network, subnets: await this.r.networks.listSubnets({ networkIds: [id] }) };
  }

  networks(): Promise<NetworkRow[]> {
    return this.r.networks.list();
  }

  subnet(id: string): Promise<SubnetRow | undefined> {
    return this.r.networks.getSubnet(id);
  }

  subnetsOf(networkId: string): Promise<SubnetRow[]> {
    return this.r.networks.listSubnets({ networkIds: [networkId] });
  }

  // --- ports

  async port(id: string): Promise<PortDetail | undefined> {
    const p = await this.r.ports.get(id);
    return p ? (await this.details([p]))[0] : undefined;
  }

  /** Every port of a network (instances, router legs, the DHCP port, floating IP holders). */
  async portsOnNetwork(networkId: string): Promise<PortDetail[]> {
    return this.details(await this.r.ports.list({ networkIds: [networkId] }));
  }

  /** Ports whose device_id is `deviceId` (an instance's ports, a router's legs). */
  async portsOfDevice(deviceId: string): Promise<PortDetail[]> {
    return this.details(await this.r.ports.list({ deviceIds: [deviceId] }));
  }

  async ports(): Promise<PortDetail[]> {
    return this.details(await this.r.ports.list());
  }

  private async details(rows: PortRow[]): Promise<PortDetail[]> {
    const ids = rows.map((p) => p.id);
    const allocs = await this.r.ipam.ofPorts(ids);
    const groups = await this.r.ports.securityGroupsOf(ids);
    const ips = new Map<string, FixedIpOf[]>();
    for (const a of allocs) {
      const l = ips.get(a.port_id) ?? [];
      l.push({ subnet_id: a.subnet_id, ip_address: a.ip_address });
      ips.set(a.port_id, l);
    }
    return rows.map((port) => ({
      port,
      fixedIps: ips.get(port.id) ?? [],
      securityGroupIds: groups.get(port.id) ?? [],
      allowedAddressPairs: JSON.parse(port.allowed_address_pairs) as AddressPairOf[],
    }));
  }

  // --- routers

  routers(): Promise<RouterRow[]> {
    return this.r.routers.list();
  }

  async router(id: string): Promise<RouterDetail | undefined> {
    const router = await this.r.routers.get(id);
    if (!router) return undefined;
    const legs = await this.portsOfDevice(id);
    return {
      router,
      gateway: legs.find((l) => l.port.id === router.gw_port_id),
      interfaces: legs.filter((l) => l.port.device_owner === 'network:router_interface'),
      routes: (await this.r.routers.routesOf([id])).get(id) ?? [],
      floatingIps: await this.r.routers.listFloatingIps({ routerIds: [id] }),
    };
  }

  floatingIp(id: string): Promise<FloatingIpRow | undefined> {
    return this.r.routers.getFloatingIp(id);
  }

  floatingIps(): Promise<FloatingIpRow[]> {
    return this.r.routers.listFloatingIps();
  }

  // --- security groups

  async securityGroup(id: string): Promise<SecurityGroupDetail | undefined> {
    const group = await this.r.secgroups.get(id);
    if (!group) return undefined;
    return { group, rules: (await this.r.secgroups.rulesOf([id])).get(id) ?? [] };
  }

  securityGroups(): Promise<SecurityGroupRow[]> {
    return this.r.secgroups.list();
  }

  async rulesOfGroup(id: string): Promise<SecurityGroupRuleRow[]> {
    return (await this.r.secgroups.rulesOf([id])).get(id) ?? [];
  }

  /** Groups with rules naming `id` as remote group: their rule sets change when `id`'s membership does. */
  groupsReferencing(id: string): Promise<string[]> {
    return this.r.secgroups.groupsReferencing(id);
  }

  /** The ports in a group with the addresses a remote_group_id rule matches. */
  async groupMembers(id: string): Promise<GroupMember[]> {
    const portIds = await this.r.ports.portIdsInGroup(id);
    const ports = await this.details(await this.r.ports.list({ ids: portIds }));
    return ports.map((d) => ({
      portId: d.port.id,
      networkId: d.port.network_id,
      macAddress: d.port.mac_address,
      addresses: [...d.fixedIps.map((f) => f.ip_address), ...d.allowedAddressPairs.map((a) => a.ip_address)],
    }));
  }

  // --- observed status (the data plane's only writes)

  setPortStatus(id: string, status: ObservedPortStatus): Promise<void> {
    return this.r.ports.setStatus(id, status);
  }

  setFloatingIpStatus(id: string, status: ObservedStatus): Promise<void> {
    return this.r.routers.setFloatingIpStatus(id, status);
  }

  setNetworkStatus(id: string, status: ObservedStatus): Promise<void> {
    return this.r.networks.setStatus(id, status);
  }

  setRouterStatus(id: string, status: ObservedStatus): Promise<void> {
    return this.r.routers.setStatus(id, status);
  }
}
