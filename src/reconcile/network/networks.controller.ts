import type { DhcpHostSpec, DhcpSpec, NetworkSpec } from '../../host/network/driver.js';
import type { SubnetRow } from '../../store/network/networks.repo.js';
import type { NetworkDetail, PortDetail } from '../../store/network/topology.js';
import type { Controller } from '../controller.js';
import type { NetworkControllerDeps } from './deps.js';
import { OWNER_DHCP, OWNER_FLOATINGIP, OWNER_ROUTER_INTERFACE, hostRoutesOf, isIpv4, legOf, prefixLen, unownedKeys } from './specs.js';

/** Neutron's default dns_domain, what guests see when the network sets none. */
const DEFAULT_DOMAIN = 'openstacklocal';

/** Neutron's DHCP agent names hosts after their address when the port has no dns_name. */
function hostnameOf(d: PortDetail, ip: string): string {
  return d.port.dns_name !== '' ? d.port.dns_name : `host-${ip.replaceAll('.', '-').replaceAll(':', '-')}`;
}

function dhcpSubnets(subnets: SubnetRow[]): SubnetRow[] {
  return subnets.filter((s) => s.ip_version === 4 && s.enable_dhcp === 1);
}

/** The bridge of a network: the external one carries its subnets' gateways, so the host reaches floating IPs. */
export function networkSpecOf(n: NetworkDetail): NetworkSpec {
  const spec: NetworkSpec = { networkId: n.network.id, mtu: n.network.mtu };
  if (n.network.external === 1) {
    spec.hostAddresses = n.subnets.filter((s) => s.gateway_ip !== null && isIpv4(s.gateway_ip)).map((s) => `${s.gateway_ip ?? ''}/${prefixLen(s)}`);
  }
  return spec;
}

/**
 * DHCP for a network: its DHCP port (made by the network core when a
 * subnet enables DHCP) as the namespace's leg, a static lease for every
 * other port with an address in a DHCP subnet, metadata served there when
 * no router does it. Undefined when the network needs no DHCP.
 */
export function dhcpSpecOf(n: NetworkDetail, ports: PortDetail[]): DhcpSpec | undefined {
  const subnets = dhcpSubnets(n.subnets);
  const dhcpPort = ports.find((p) => p.port.device_owner === OWNER_DHCP);
  if (subnets.length === 0 || !dhcpPort) return undefined;
  const byId = new Map(n.subnets.map((s) => [s.id, s]));
  const dhcpIds = new Set(subnets.map((s) => s.id));
  const hosts: DhcpHostSpec[] = [];
  for (const d of ports) {
    if (d.port.device_owner === OWNER_DHCP || d.port.device_owner === OWNER_FLOATINGIP) continue;
    for (const f of d.fixedIps) {
      if (dhcpIds.has(f.subnet_id)) hosts.push({ mac: d.port.mac_address, ip: f.ip_address, hostname: hostnameOf(d, f.ip_address) });
    }
  }
  hosts.sort((a, b) => (a.mac === b.mac ? a.ip.localeCompare(b.ip) : a.mac.localeCompare(b.mac)));
  return {
    networkId: n.network.id,
    port: legOf(dhcpPort, byId, n.network.mtu),
    subnets: subnets.map((s) => ({
      subnetId: s.id,
      cidr: s.cidr,
      gatewayIp: s.gateway_ip,
      dnsNameservers: JSON.parse(s.dns_nameservers) as string[],
      hostRoutes: hostRoutesOf(s),
    })),
    hosts,
    domain: n.network.dns_domain.replace(/\.$/, '') || DEFAULT_DOMAIN,
    mtu: n.network.mtu,
    metadata: !ports.some((p) => p.port.device_owner === OWNER_ROUTER_INTERFACE),
  };
}

/**
 * Networks: the bridge, then DHCP (namespace, leg, dnsmasq). Woken by
 * network events, which the core also emits for subnet and port changes
 * (DHCP hosts, metadata once a router arrives or leaves).
 */
export class NetworksController implements Controller {
  readonly kinds = ['network', 'subnet'] as const;
  readonly name = 'networks';
  /** Different objects converge side by side: each has its own host objects, and the shared nft tables serialize their own changes. */
  readonly concurrency = 4;

  constructor(private readonly deps: NetworkControllerDeps) {}

  async listKeys(): Promise<string[]> {
    return (await this.deps.topology.networks()).map((n) => n.id);
  }

  async keysFor(kind: string, id: string): Promise<string[]> {
    if (kind === 'network') return [id];
    const s = await this.deps.topology.subnet(id);
    // A deleted subnet's network has its own event from the core.
    return s ? [s.network_id] : [];
  }

  async reconcile(id: string): Promise<void> {
    const { topology, driver } = this.deps;
    const n = await topology.network(id);
    if (!n) {
      await driver.removeDhcp(id);
      await driver.removeNetwork(id);
      return;
    }
    await driver.ensureNetwork(networkSpecOf(n));
    const ports = await topology.portsOnNetwork(id);
    const dhcp = dhcpSpecOf(n, ports);
    if (dhcp) {
      await driver.ensureDhcp(dhcp);
      const port = ports.find((p) => p.port.id === dhcp.port.portId);
      if (port && port.port.status !== 'ACTIVE') await topology.setPortStatus(port.port.id, 'ACTIVE');
    } else {
      await driver.removeDhcp(id);
    }
    if (n.network.status !== 'ACTIVE') await topology.setNetworkStatus(id, 'ACTIVE');
  }

  /** Bridges and DHCP namespaces of networks the store no longer has (or that no longer need DHCP). */
  async collectGarbage(): Promise<void> {
    const { topology, driver, log } = this.deps;
    const inv = await driver.inventory();
    const networks = await topology.networks();
    const ids = new Set(networks.map((n) => n.id));
    for (const netId of inv.dhcp) {
      if (ids.has(netId)) continue;
      log.info({ network: netId }, 'removing DHCP of a network that no longer exists');
      await driver.removeDhcp(netId);
    }
    for (const key of unownedKeys(inv.bridges, [...ids])) {
      log.info({ key }, 'removing the bridge of a network that no longer exists');
      await driver.removeNetwork(key);
    }
  }
}
