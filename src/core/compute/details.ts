import type { InstancePortRow, InstanceRow } from '../../store/compute/instances.repo.js';
import type { FloatingIpInfo, PortInfo } from './neighbours.js';
import type { ComputeCore } from './service.js';

/** One address of a server, as the `addresses` view and the ips API show it. */
export interface ServerAddress {
  network: string;
  addr: string;
  version: 4 | 6;
  type: 'fixed' | 'floating';
  mac: string;
  portId: string;
}

/** What a server view needs beyond its row, loaded in bulk for a whole page. */
export interface ServerDetails {
  metadata: Record<string, string>;
  tags: string[];
  ports: InstancePortRow[];
  addresses: ServerAddress[];
  securityGroups: string[];
  groupId: string | undefined;
}

/**
 * Loads metadata, tags, ports with their addresses and floating IPs, the
 * security group names and server groups of many servers in a few queries
 * (a 500-server detail list stays one round of bulk reads).
 */
/** What to load; a list view skips what its microversion does not show (each is a query over every server). */
export interface DetailWants {
  addresses?: boolean;
  tags?: boolean;
  groups?: boolean;
}

export async function loadDetails(core: ComputeCore, rows: Pick<InstanceRow, 'id'>[], want: DetailWants = {}): Promise<Map<string, ServerDetails>> {
  const w = { addresses: true, tags: true, groups: true, ...want };
  const ids = rows.map((r) => r.id);
  const [meta, tags, ports, groups] = await Promise.all([
    core.instances.metadataOf(ids),
    w.tags ? core.instances.tagsOf(ids) : new Map<string, string[]>(),
    core.instances.portsOf(ids),
    w.groups ? core.instances.groupsOf(ids) : new Map<string, string>(),
  ]);
  const portIds = [...ports.values()].flat().map((p) => p.port_id);
  let infos = new Map<string, PortInfo>();
  let netNames = new Map<string, string>();
  let sgNames = new Map<string, string>();
  let fips: FloatingIpInfo[] = [];
  if (w.addresses && portIds.length > 0 && core.network) {
    infos = await core.network.portsById(portIds);
    const netIds = [...new Set([...infos.values()].map((p) => p.networkId))];
    const sgIds = [...new Set([...infos.values()].flatMap((p) => p.securityGroupIds))];
    [netNames, sgNames, fips] = await Promise.all([core.network.networkNames(netIds), core.network.securityGroupNames(sgIds), core.network.floatingIpsOfPorts(portIds)]);
  }
  const fipsByPort = new Map<string, FloatingIpInfo[]>();
  for (const f of fips) {
    const l = fipsByPort.get(f.portId);
    if (l) l.push(f);
    else fipsByPort.set(f.portId, [f]);
  }
  const out = new Map<string, ServerDetails>();
  for (const r of rows) {
    const mine = ports.get(r.id) ?? [];
    const addresses: ServerAddress[] = [];
    const sg = new Set<string>();
    for (const p of mine) {
      const info = infos.get(p.port_id);
      if (!info) continue;
      const network = netNames.get(info.networkId) ?? info.networkId;
      for (const ip of info.fixedIps) {
        addresses.push({ network, addr: ip.ipAddress, version: ip.version, type: 'fixed', mac: info.macAddress, portId: info.id });
        for (const f of fipsByPort.get(info.id) ?? []) {
          if (f.fixedIp === ip.ipAddress) addresses.push({ network, addr: f.floatingIp, version: 4, type: 'floating', mac: info.macAddress, portId: info.id });
        }
      }
      for (const g of info.securityGroupIds) sg.add(sgNames.get(g) ?? g);
    }
    out.set(r.id, {
      metadata: meta.get(r.id) ?? {},
      tags: tags.get(r.id) ?? [],
      ports: mine,
      addresses,
      securityGroups: [...sg].sort(),
      groupId: groups.get(r.id),
    });
  }
  return out;
}
