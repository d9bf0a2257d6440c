import type { LegSpec, RouteSpec } from '../../host/network/driver.js';
import { idHex } from '../../host/network/names.js';
import type { SubnetRow } from '../../store/network/networks.repo.js';
import type { PortRow } from '../../store/network/ports.repo.js';
import type { PortDetail } from '../../store/network/topology.js';

/**
 * Shared pieces of the network controllers: which ports the host plugs, how
 * a Neutron port becomes a namespace leg, and how inventory keys are matched
 * to store ids.
 */

export const OWNER_DHCP = 'network:dhcp';
export const OWNER_ROUTER_INTERFACE = 'network:router_interface';
export const OWNER_ROUTER_GATEWAY = 'network:router_gateway';
export const OWNER_FLOATINGIP = 'network:floatingip';

/** Ports the data plane itself realises as namespace legs (or not at all: floating IP holders). */
export function isServicePort(owner: string): boolean {
  return owner.startsWith('network:');
}

/**
 * How an instance-like port is plugged, or null when it is not plugged: a
 * port is bound once some host claimed it (binding:host_id), as Nova does
 * before it boots a guest. Compute ports get a tap qemu opens; any other
 * bound port (a test machine) brings its own device.
 */
export function plugOf(port: PortRow): 'tap' | 'external' | null {
  if (isServicePort(port.device_owner) || port.binding_host_id === '') return null;
  return port.device_owner.startsWith('compute:') ? 'tap' : 'external';
}

/** True when an inventory id key (a prefix of the id's hex digits) names `id`. */
export function keyMatches(key: string, id: string): boolean {
  try {
    return idHex(id).startsWith(key);
  } catch {
    return false;
  }
}

/** The inventory keys that name none of `ids`. */
export function unownedKeys(keys: readonly string[], ids: readonly string[]): string[] {
  const hexes: string[] = [];
  for (const id of ids) {
    try {
      hexes.push(idHex(id));
    } catch {
      // an id that names nothing on the host cannot own a key
    }
  }
  return keys.filter((k) => !hexes.some((h) => h.startsWith(k)));
}

export function isIpv4(addr: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(addr);
}

/** The prefix length of a subnet's canonical cidr. */
export function prefixLen(s: SubnetRow): string {
  return s.cidr.split('/')[1] ?? (s.ip_version === 4 ? '32' : '128');
}

/** A service port as a veth leg: its addresses with their subnets' prefix lengths. */
export function legOf(d: PortDetail, subnets: ReadonlyMap<string, SubnetRow>, mtu: number): LegSpec {
  const cidrs: string[] = [];
  for (const f of d.fixedIps) {
    const s = subnets.get(f.subnet_id);
    if (s) cidrs.push(`${f.ip_address}/${prefixLen(s)}`);
  }
  return { portId: d.port.id, networkId: d.port.network_id, mac: d.port.mac_address, cidrs, mtu };
}

/** A subnet's host_routes column. */
export function hostRoutesOf(s: SubnetRow): RouteSpec[] {
  return (JSON.parse(s.host_routes) as Array<{ destination: string; nexthop: string }>).map((r) => ({ destination: r.destination, nexthop: r.nexthop }));
}

export function uniqueSorted(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}
