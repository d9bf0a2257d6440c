import type { NetworkRow } from '../../store/network/networks.repo.js';
import { adminOnly, type Caller } from './access.js';
import type { NetCore } from './core.js';
import { networkNotFound } from './errors.js';
import { poolsOf } from './ipam.js';

/** Neutron's network-ip-availability (admin): how many addresses each network's subnets hold and use. */

export interface SubnetAvailability {
  subnet_id: string;
  subnet_name: string;
  cidr: string;
  ip_version: number;
  total_ips: number;
  used_ips: number;
}

export interface NetworkAvailability {
  network_id: string;
  network_name: string;
  tenant_id: string;
  project_id: string;
  total_ips: number;
  used_ips: number;
  subnet_ip_availability: SubnetAvailability[];
}

async function availabilityOf(core: NetCore, networks: NetworkRow[]): Promise<NetworkAvailability[]> {
  const r = core.store.read;
  const subnets = await r.networks.listSubnets({ networkIds: networks.map((n) => n.id) });
  const used = await r.ipam.countBySubnet(subnets.map((s) => s.id));
  return networks.map((n) => {
    const mine = subnets.filter((s) => s.network_id === n.id);
    const per = mine.map((s) => ({
      subnet_id: s.id,
      subnet_name: s.name,
      cidr: s.cidr,
      ip_version: s.ip_version,
      // Pool sizes; a /64 exceeds what JSON numbers hold exactly, as in any client that reads this.
      total_ips: Number(poolsOf(s).reduce((acc, p) => acc + (p.last - p.first + 1n), 0n)),
      used_ips: used.get(s.id) ?? 0,
    }));
    return {
      network_id: n.id,
      network_name: n.name,
      tenant_id: n.project_id,
      project_id: n.project_id,
      total_ips: per.reduce((a, s) => a + s.total_ips, 0),
      used_ips: per.reduce((a, s) => a + s.used_ips, 0),
      subnet_ip_availability: per,
    };
  });
}

export async function listAvailability(core: NetCore, c: Caller, f: { ids?: string[] }): Promise<NetworkAvailability[]> {
  adminOnly(c, 'get_network_ip_availability');
  return availabilityOf(core, await core.store.read.networks.list(f));
}

export async function getAvailability(core: NetCore, c: Caller, id: string): Promise<NetworkAvailability> {
  adminOnly(c, 'get_network_ip_availability');
  const n = await core.store.read.networks.get(id);
  if (!n) throw networkNotFound(id);
  const [a] = await availabilityOf(core, [n]);
  if (!a) throw networkNotFound(id);
  return a;
}
