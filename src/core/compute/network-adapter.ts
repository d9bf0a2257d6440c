import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict } from '../errors.js';
import type { Caller } from '../network/access.js';
import type { NetCore } from '../network/core.js';
import { networkVisible } from '../network/core.js';
import { fixedIpsOf, loadPorts, type PortModel } from '../network/models.js';
import { createPort, deletePort, updatePort } from '../network/ports.js';
import { ensureDefaultFor } from '../network/secgroups.js';
import type { FloatingIpInfo, NetworkForCompute, NetworkInfo, PortInfo, SecurityGroupInfo, SubnetInfo } from './neighbours.js';

/**
 * Compute's view of the network core: what Nova asks Neutron for, as calls
 * into the same process. Ports compute makes are created with the user's
 * rights (so Neutron's policy applies: no ports on another project's
 * private network) and then bound to the host with the service's rights.
 */

const OWNER = 'compute:nova';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function callerOf(auth: AuthContext, projectId?: string): Caller {
  return { auth, projectId: projectId ?? auth.projectId ?? '', isAdmin: auth.isAdmin };
}

/** The service acting for compute (binding ports, unbinding, deleting what compute made). */
function serviceCaller(projectId: string): Caller {
  const auth: AuthContext = {
    token: '',
    userId: 'nova',
    userName: 'nova',
    userDomainId: 'default',
    userDomainName: 'Default',
    projectId,
    roles: [{ id: 'admin', name: 'admin' }],
    methods: [],
    auditIds: [],
    issuedAt: '',
    expiresAt: '',
    isAdmin: true,
    isMember: true,
    isReader: true,
  };
  return { auth, projectId, isAdmin: true };
}

const versionOf = (ip: string): 4 | 6 => (ip.includes(':') ? 6 : 4);

function portInfo(m: PortModel): PortInfo {
  return {
    id: m.row.id,
    networkId: m.row.network_id,
    projectId: m.row.project_id,
    macAddress: m.row.mac_address,
    fixedIps: m.fixedIps.map((f) => ({ ipAddress: f.ip_address, subnetId: f.subnet_id, version: versionOf(f.ip_address) })),
    deviceId: m.row.device_id,
    deviceOwner: m.row.device_owner,
    status: m.row.status,
    securityGroupIds: m.securityGroupIds,
    hostId: m.row.binding_host_id,
  };
}

export function networkForCompute(core: NetCore): NetworkForCompute {
  const r = () => core.store.read;

  const toNetwork = (n: { id: string; name: string; project_id: string; shared: number; external: number; status: string; mtu: number }): NetworkInfo => ({
    id: n.id,
    name: n.name,
    projectId: n.project_id,
    shared: n.shared === 1,
    external: n.external === 1,
    status: n.status,
    mtu: n.mtu,
  });

  async function portById(id: string): Promise<PortInfo | undefined> {
    const row = await r().ports.get(id);
    if (!row) return undefined;
    const [m] = await loadPorts(r(), [row]);
    return m ? portInfo(m) : undefined;
  }

  return {
    async getNetwork(auth, id) {
      const n = await r().networks.get(id);
      if (!n || !networkVisible(callerOf(auth), n)) return undefined;
      return toNetwork(n);
    },

    async networksForAuto(projectId) {
      const rows = await r().networks.list({ projectId });
      return rows.filter((n) => n.project_id === projectId || n.shared === 1).map(toNetwork);
    },

    async subnetsOf(networkIds): Promise<SubnetInfo[]> {
      if (networkIds.length === 0) return [];
      const rows = await r().networks.listSubnets({ networkIds });
      return rows.map((s) => ({
        id: s.id,
        networkId: s.network_id,
        cidr: s.cidr,
        ipVersion: s.ip_version === 6 ? 6 : 4,
        gatewayIp: s.gateway_ip,
        enableDhcp: s.enable_dhcp === 1,
        dnsNameservers: JSON.parse(s.dns_nameservers) as string[],
        hostRoutes: JSON.parse(s.host_routes) as { destination: string; nexthop: string }[],
      }));
    },

    async createPort(auth, req) {
      const user = callerOf(auth, req.projectId);
      const m = await createPort(core, user, {
        network_id: req.networkId,
        device_id: req.deviceId,
        device_owner: OWNER,
        security_groups: req.securityGroups,
        ...(req.projectId !== user.projectId || auth.isAdmin ? { project_id: req.projectId } : {}),
        ...(req.fixedIp !== undefined ? { fixed_ips: [{ ip_address: req.fixedIp }] } : {}),
      });
      try {
        const bound = await updatePort(core, serviceCaller(req.projectId), m.row.id, { 'binding:host_id': req.hostId });
        return portInfo(bound);
      } catch (err) {
        await deletePort(core, serviceCaller(req.projectId), m.row.id).catch(() => undefined);
        throw err;
      }
    },

    getPort: portById,

    async bindPort(id, binding) {
      const p = await r().ports.get(id);
      if (!p) throw badRequest(`Port id ${id} could not be found.`);
      const m = await updatePort(core, serviceCaller(p.project_id), id, { device_id: binding.deviceId, device_owner: OWNER, 'binding:host_id': binding.hostId });
      return portInfo(m);
    },

    async unbindPort(id) {
      const p = await r().ports.get(id);
      if (!p) return;
      await updatePort(core, serviceCaller(p.project_id), id, { device_id: '', device_owner: '', 'binding:host_id': '' });
    },

    async deletePort(id) {
      const p = await r().ports.get(id);
      if (!p) return;
      await deletePort(core, serviceCaller(p.project_id), id);
    },

    async portsById(ids) {
      const out = new Map<string, PortInfo>();
      if (ids.length === 0) return out;
      // The ports, their addresses and groups; not loadPorts, whose tags compute never shows.
      const rows = await r().ports.list({ ids });
      const portIds = rows.map((p) => p.id);
      const [fixed, groups] = await Promise.all([fixedIpsOf(r(), portIds), r().ports.securityGroupsOf(portIds)]);
      for (const row of rows) out.set(row.id, portInfo({ row, fixedIps: fixed.get(row.id) ?? [], securityGroupIds: groups.get(row.id) ?? [], tags: [] }));
      return out;
    },

    async networkNames(ids) {
      const rows = ids.length ? await r().networks.list({ ids }) : [];
      return new Map(rows.map((n) => [n.id, n.name || n.id]));
    },

    async networksById(ids) {
      const rows = ids.length ? await r().networks.list({ ids }) : [];
      return new Map(rows.map((n) => [n.id, toNetwork(n)]));
    },

    async securityGroupNames(ids) {
      const rows = ids.length ? await r().secgroups.list({ ids }) : [];
      return new Map(rows.map((g) => [g.id, g.name]));
    },

    async resolveSecurityGroups(auth, projectId, namesOrIds) {
      const out: string[] = [];
      for (const want of namesOrIds) {
        if (want === 'default') await ensureDefaultFor(core, projectId);
        if (UUID.test(want)) {
          const g = await r().secgroups.get(want);
          if (g && (auth.isAdmin || g.project_id === projectId)) {
            out.push(g.id);
            continue;
          }
        }
        const byName = await r().secgroups.list({ projectId, names: [want] });
        if (byName.length === 0) throw badRequest(`Security group ${want} not found for project ${projectId}.`);
        if (byName.length > 1) throw conflict(`Multiple security groups named ${want} exist in project ${projectId}: use an id to be more specific.`);
        out.push((byName[0] as { id: string }).id);
      }
      return [...new Set(out)];
    },

    async listSecurityGroups(projectId): Promise<SecurityGroupInfo[]> {
      await ensureDefaultFor(core, projectId);
      const groups = await r().secgroups.list({ projectId });
      const rules = await r().secgroups.rulesOf(groups.map((g) => g.id));
      return groups.map((g) => ({
        id: g.id,
        name: g.name,
        description: g.description,
        projectId: g.project_id,
        rules: (rules.get(g.id) ?? [])
          .filter((x) => x.direction === 'ingress')
          .map((x) => ({ id: x.id, protocol: x.protocol, portMin: x.port_range_min, portMax: x.port_range_max, remoteIpPrefix: x.remote_ip_prefix, remoteGroupId: x.remote_group_id })),
      }));
    },

    async setPortSecurityGroups(portId, groupIds) {
      const p = await r().ports.get(portId);
      if (!p) throw new CloudError('NotFound', `Port ${portId} could not be found.`);
      await updatePort(core, serviceCaller(p.project_id), portId, { security_groups: groupIds });
    },

    async floatingIpsOfPorts(portIds): Promise<FloatingIpInfo[]> {
      if (portIds.length === 0) return [];
      const rows = await r().routers.listFloatingIps({ portIds });
      return rows.flatMap((f) => (f.fixed_port_id && f.fixed_ip_address ? [{ floatingIp: f.floating_ip_address, fixedIp: f.fixed_ip_address, portId: f.fixed_port_id }] : []));
    },

    async findPortByAddress(where, ip) {
      let networkIds: string[] = [];
      if (where.networkId) networkIds = [where.networkId];
      else if (where.routerId) {
        const legs = await r().ports.list({ deviceIds: [where.routerId] });
        networkIds = [...new Set(legs.filter((p) => p.device_owner === 'network:router_interface').map((p) => p.network_id))];
      }
      for (const n of networkIds) {
        const hit = (await r().ipam.ofNetwork(n)).find((a) => a.ip_address === ip);
        if (hit) return portById(hit.port_id);
      }
      return undefined;
    },
  };
}
