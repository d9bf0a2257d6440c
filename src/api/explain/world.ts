import { notFound } from '../../core/errors.js';
import type { ExplainWorld, XEndpoint, XPort, XRouter, XSecurityGroup, XServer } from '../../core/explain/model.js';
import type { Db } from '../../store/db.js';
import { networkStoreOf, type NetworkRepos } from '../../store/network/store.js';
import { fixedIpsOf } from '../../core/network/models.js';

const ROUTER_LEGS = ['network:router_interface', 'network:router_interface_distributed'];

/** A server as its caller may see it, with its project; undefined when the caller may not see it or it does not exist. */
export type ServerLookup = (id: string) => Promise<(XServer & { projectId: string }) | undefined>;

/**
 * Builds the picture the reachability check walks: the servers through
 * `servers` (which applies the compute API's visibility: another project's
 * server is a 404) and the network around them from the Neutron store. Only
 * what lies on the path is read: the servers' ports, their networks and
 * subnets, the external networks, the project's routers and floating IPs,
 * and the security groups the ports use or name.
 */
export async function loadWorld(db: Db, servers: ServerLookup, serverId: string, from: string): Promise<ExplainWorld> {
  const net = networkStoreOf(db).read;

  const endpoint = async (id: string, what: string): Promise<XEndpoint & { projectId: string }> => {
    const found = await servers(id);
    if (!found) throw notFound(`No ${what} instance with ID ${id}.`);
    const { projectId, ...server } = found;
    return { server, ports: await portsOf(net, id), projectId };
  };

  const target = await endpoint(serverId, 'such');
  const source = from === 'host' ? 'host' : await endpoint(from, 'source');
  const allPorts = [...target.ports, ...(source === 'host' ? [] : source.ports)];

  const routerRows = await net.routers.list({ projectId: target.projectId });
  const legs = routerRows.length ? await net.ports.list({ deviceIds: routerRows.map((r) => r.id), deviceOwners: ROUTER_LEGS }) : [];
  const legIps = await fixedIpsOf(net, legs.map((l) => l.id));
  const routers: XRouter[] = routerRows.map((r) => ({
    id: r.id,
    name: r.name,
    adminStateUp: r.admin_state_up === 1,
    gatewayNetworkId: r.gw_network_id,
    interfaceSubnetIds: legs.filter((l) => l.device_id === r.id).flatMap((l) => (legIps.get(l.id) ?? []).map((f) => f.subnet_id)),
  }));

  const fipRows = [
    ...(await net.routers.listFloatingIps({ projectId: target.projectId })),
    ...(allPorts.length ? await net.routers.listFloatingIps({ portIds: allPorts.map((p) => p.id) }) : []),
  ];
  const floatingIps = [...new Map(fipRows.map((f) => [f.id, f])).values()].map((f) => ({
    id: f.id,
    address: f.floating_ip_address,
    networkId: f.floating_network_id,
    portId: f.fixed_port_id,
    fixedIp: f.fixed_ip_address,
    routerId: f.router_id,
  }));

  const networkIds = new Set([...allPorts.map((p) => p.networkId), ...floatingIps.map((f) => f.networkId), ...routers.flatMap((r) => (r.gatewayNetworkId ? [r.gatewayNetworkId] : []))]);
  const networkRows = [...(await net.networks.list({ ids: [...networkIds] })), ...(await net.networks.list({ external: true }))];
  const networks = [...new Map(networkRows.map((n) => [n.id, n])).values()].map((n) => ({
    id: n.id,
    name: n.name,
    external: n.external === 1,
    adminStateUp: n.admin_state_up === 1,
  }));
  const subnetRows = await net.networks.listSubnets({ networkIds: networks.map((n) => n.id) });
  const subnets = subnetRows.map((s) => ({ id: s.id, name: s.name, networkId: s.network_id, cidr: s.cidr, gatewayIp: s.gateway_ip }));

  const groupIds = new Set(allPorts.flatMap((p) => p.securityGroupIds));
  let groups = await securityGroups(net, [...groupIds]);
  const remote = groups.flatMap((g) => g.rules.flatMap((r) => (r.remoteGroupId && !groupIds.has(r.remoteGroupId) ? [r.remoteGroupId] : [])));
  if (remote.length) groups = [...groups, ...(await securityGroups(net, [...new Set(remote)]))];

  const strip = ({ projectId: _p, ...e }: XEndpoint & { projectId: string }): XEndpoint => e;
  return {
    target: strip(target),
    source: source === 'host' ? 'host' : strip(source),
    networks,
    subnets,
    routers,
    floatingIps,
    securityGroups: groups,
  };
}

async function portsOf(net: NetworkRepos, serverId: string): Promise<XPort[]> {
  const rows = await net.ports.list({ deviceIds: [serverId] });
  const ips = await fixedIpsOf(net, rows.map((r) => r.id));
  const groups = await net.ports.securityGroupsOf(rows.map((r) => r.id));
  return rows.map((r) => ({
    id: r.id,
    networkId: r.network_id,
    fixedIps: (ips.get(r.id) ?? []).map((f) => ({ subnetId: f.subnet_id, ip: f.ip_address })),
    securityGroupIds: groups.get(r.id) ?? [],
    portSecurityEnabled: r.port_security_enabled === 1,
    adminStateUp: r.admin_state_up === 1,
  }));
}

async function securityGroups(net: NetworkRepos, ids: string[]): Promise<XSecurityGroup[]> {
  if (ids.length === 0) return [];
  const rows = await net.secgroups.list({ ids });
  const rules = await net.secgroups.rulesOf(rows.map((r) => r.id));
  return rows.map((g) => ({
    id: g.id,
    name: g.name,
    rules: (rules.get(g.id) ?? []).map((r) => ({
      direction: r.direction,
      ethertype: r.ethertype,
      protocol: r.protocol,
      portMin: r.port_range_min,
      portMax: r.port_range_max,
      remoteIpPrefix: r.remote_ip_prefix,
      remoteGroupId: r.remote_group_id,
    })),
  }));
}
