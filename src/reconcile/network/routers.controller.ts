import type { LegSpec, RouterSpec } from '../../host/network/driver.js';
import type { SubnetRow } from '../../store/network/networks.repo.js';
import type { NetworkTopology, PortDetail, RouterDetail } from '../../store/network/topology.js';
import type { Controller } from '../controller.js';
import type { NetworkControllerDeps } from './deps.js';
import { OWNER_DHCP, OWNER_ROUTER_GATEWAY, OWNER_ROUTER_INTERFACE, isIpv4, legOf, unownedKeys } from './specs.js';

const DEFAULT_MTU = 1500;

async function subnetsOf(topology: NetworkTopology, legs: PortDetail[]): Promise<Map<string, SubnetRow>> {
  const out = new Map<string, SubnetRow>();
  for (const netId of new Set(legs.map((l) => l.port.network_id))) {
    for (const s of await topology.subnetsOf(netId)) out.set(s.id, s);
  }
  return out;
}

/**
 * The host's view of a router: the gateway leg with the external subnet's
 * gateway as default route, one leg per interface, SNAT, the associated
 * floating IPs, extra routes, and metadata when it serves guests.
 */
export function routerSpecOf(r: RouterDetail, subnets: ReadonlyMap<string, SubnetRow>, mtus: ReadonlyMap<string, number>): RouterSpec {
  const mtuOf = (d: PortDetail): number => mtus.get(d.port.network_id) ?? DEFAULT_MTU;
  let gateway: RouterSpec['gateway'] = null;
  if (r.gateway) {
    const leg: LegSpec = legOf(r.gateway, subnets, mtuOf(r.gateway));
    const gwSubnet = r.gateway.fixedIps
      .map((f) => subnets.get(f.subnet_id))
      .find((s): s is SubnetRow => s !== undefined && s.gateway_ip !== null && isIpv4(s.gateway_ip));
    gateway = { ...leg, gatewayIp: gwSubnet?.gateway_ip ?? null };
  }
  const interfaces = r.interfaces.map((d) => legOf(d, subnets, mtuOf(d))).sort((a, b) => a.portId.localeCompare(b.portId));
  const legs = [...interfaces, ...(gateway ? [gateway] : [])];
  return {
    routerId: r.router.id,
    mtu: legs.reduce((m, l) => Math.max(m, l.mtu ?? DEFAULT_MTU), 0) || DEFAULT_MTU,
    gateway,
    interfaces,
    snat: gateway !== null && r.router.enable_snat === 1,
    floatingIps: gateway
      ? r.floatingIps
          .filter((f) => f.fixed_ip_address !== null)
          .map((f) => ({ floatingIp: f.floating_ip_address, fixedIp: f.fixed_ip_address ?? '' }))
          .sort((a, b) => a.floatingIp.localeCompare(b.floatingIp))
      : [],
    routes: r.routes.map((x) => ({ destination: x.destination, nexthop: x.nexthop })).sort((a, b) => a.destination.localeCompare(b.destination)),
    metadata: interfaces.length > 0,
  };
}

/**
 * Routers: a namespace with its legs, NAT and metadata; writes the status
 * of the router, its legs and its floating IPs. Woken by router events (the
 * core emits them for legs and floating IP associations) and by subnet
 * events (an external gateway or a leg's subnet changed).
 */
export class RoutersController implements Controller {
  readonly kinds = ['router', 'subnet'] as const;
  readonly name = 'routers';
  /** Different objects converge side by side: each has its own host objects, and the shared nft tables serialize their own changes. */
  readonly concurrency = 4;

  constructor(private readonly deps: NetworkControllerDeps) {}

  async listKeys(): Promise<string[]> {
    return (await this.deps.topology.routers()).map((r) => r.id);
  }

  async keysFor(kind: string, id: string): Promise<string[]> {
    if (kind === 'router') return [id];
    const { topology } = this.deps;
    const s = await topology.subnet(id);
    if (!s) return [];
    const out = new Set<string>();
    for (const r of await topology.routers()) if (r.gw_network_id === s.network_id) out.add(r.id);
    for (const d of await topology.portsOnNetwork(s.network_id)) {
      if (d.port.device_owner === OWNER_ROUTER_INTERFACE && d.port.device_id) out.add(d.port.device_id);
    }
    return [...out];
  }

  async reconcile(id: string): Promise<void> {
    const { topology, driver } = this.deps;
    const r = await topology.router(id);
    if (!r) {
      await driver.removeRouter(id);
      return;
    }
    const legs = [...r.interfaces, ...(r.gateway ? [r.gateway] : [])];
    if (r.router.admin_state_up !== 1) {
      await driver.removeRouter(id);
      await this.setStatuses(r, legs, 'DOWN');
      return;
    }
    const mtus = new Map<string, number>();
    for (const netId of new Set(legs.map((l) => l.port.network_id))) {
      const n = await topology.network(netId);
      if (n) mtus.set(netId, n.network.mtu);
    }
    const spec = routerSpecOf(r, await subnetsOf(topology, legs), mtus);
    await driver.ensureRouter(spec);
    await this.setStatuses(r, legs, 'ACTIVE');
  }

  private async setStatuses(r: RouterDetail, legs: PortDetail[], status: 'ACTIVE' | 'DOWN'): Promise<void> {
    const { topology } = this.deps;
    if (r.router.status !== status) await topology.setRouterStatus(r.router.id, status);
    for (const l of legs) if (l.port.status !== status) await topology.setPortStatus(l.port.id, status);
    for (const f of r.floatingIps) {
      const want = status === 'ACTIVE' && r.gateway && f.fixed_ip_address !== null ? 'ACTIVE' : 'DOWN';
      if (f.status !== want) await topology.setFloatingIpStatus(f.id, want);
    }
  }

  /** Router namespaces the store no longer has, and namespace legs whose router/DHCP port is gone. */
  async collectGarbage(): Promise<void> {
    const { topology, driver, log } = this.deps;
    const inv = await driver.inventory();
    const routers = new Set((await topology.routers()).map((r) => r.id));
    for (const id of inv.routers) {
      if (routers.has(id)) continue;
      log.info({ router: id }, 'removing a router that no longer exists');
      await driver.removeRouter(id);
    }
    const legOwners = new Set([OWNER_DHCP, OWNER_ROUTER_GATEWAY, OWNER_ROUTER_INTERFACE]);
    const legPorts = (await topology.ports()).filter((d) => legOwners.has(d.port.device_owner)).map((d) => d.port.id);
    for (const key of unownedKeys(inv.legs, legPorts)) {
      log.info({ key }, 'removing a leg whose port no longer exists');
      await driver.removePort(key);
    }
  }
}
