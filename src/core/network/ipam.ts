import { CloudError } from '../errors.js';
import type { NetworkRow, SubnetRow } from '../../store/network/networks.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import {
  invalidAttr,
  invalidInput,
  invalidIpForSubnet,
  ipAlreadyAllocated,
  ipGenerationFailure,
  subnetNotFound,
} from './errors.js';
import { cidrContains, formatIp, lastOf, parseCidr, parseIp, type Cidr, type IpRange, type IpVersion } from './ip.js';
import type { FixedIp } from './models.js';

/**
 * Address management of ports: which subnet and address each fixed IP gets.
 * Runs inside the caller's write transaction; the free-range table makes
 * "next free address" one indexed lookup, and the allocations' primary key
 * makes a duplicate address impossible even if this code were wrong.
 */

export interface FixedIpRequest {
  subnet_id?: string;
  ip_address?: string;
}

/** Neutron's max_fixed_ips_per_port. */
export const MAX_FIXED_IPS = 5;

/** IPv6 modes where the address is derived from the MAC (EUI-64), not drawn from the pools. */
const AUTO_ADDRESS_MODES = new Set(['slaac', 'dhcpv6-stateless']);

export function isAutoAddress(s: SubnetRow): boolean {
  return s.ip_version === 6 && s.ipv6_address_mode !== null && AUTO_ADDRESS_MODES.has(s.ipv6_address_mode);
}

export function cidrOf(s: SubnetRow): Cidr {
  const c = parseCidr(s.cidr);
  if (!c) throw new Error(`stored subnet ${s.id} has an invalid cidr ${s.cidr}`);
  return c;
}

/** The subnet's allocation pools as numeric ranges. */
export function poolsOf(s: SubnetRow): IpRange[] {
  const pools = JSON.parse(s.allocation_pools) as { start: string; end: string }[];
  const out: IpRange[] = [];
  for (const p of pools) {
    const a = parseIp(p.start);
    const b = parseIp(p.end);
    if (a && b) out.push({ first: a.value, last: b.value });
  }
  return out;
}

/** May `ip` be a port's address on the subnet? In IPv4 not the network or broadcast address. */
export function validHostIp(c: Cidr, value: bigint, routerPort: boolean): boolean {
  if (value < c.network || value > lastOf(c)) return false;
  if (c.version === 4) return value !== c.network && value !== lastOf(c);
  return routerPort || value !== c.network;
}

/** EUI-64 interface identifier of a MAC, within a /64. */
export function eui64(c: Cidr, mac: string): bigint {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const bytes = [(b[0] ?? 0) ^ 0x02, b[1] ?? 0, b[2] ?? 0, 0xff, 0xfe, b[3] ?? 0, b[4] ?? 0, b[5] ?? 0];
  const iid = bytes.reduce((acc, x) => (acc << 8n) | BigInt(x), 0n);
  return c.network | iid;
}

interface Target {
  subnet: SubnetRow;
  ip: string | undefined;
}

/**
 * Allocates the fixed IPs of a new (or updated) port. `requests` undefined
 * means automatic: one IPv4 address from the first IPv4 subnet with room,
 * one from the first stateful IPv6 subnet with room, and the EUI-64 address
 * on every SLAAC subnet; a family whose subnets are all full fails with
 * IpAddressGenerationFailure.
 */
export async function allocateFixedIps(
  r: NetworkRepos,
  network: NetworkRow,
  port: { id: string; mac: string; deviceOwner: string },
  requests: FixedIpRequest[] | undefined,
): Promise<FixedIp[]> {
  const subnets = await r.networks.listSubnets({ networkIds: [network.id] });
  const routerPort = port.deviceOwner.startsWith('network:router_');
  const out: FixedIp[] = [];
  const take = async (subnet: SubnetRow, ip: string) => {
    await r.ipam.insertAllocation({ subnet_id: subnet.id, ip_address: ip, port_id: port.id, network_id: network.id });
    out.push({ subnet_id: subnet.id, ip_address: ip });
  };

  if (requests === undefined) {
    for (const version of [4, 6] as const) {
      const family = subnets.filter((s) => s.ip_version === version && !isAutoAddress(s));
      if (family.length === 0) continue;
      let got: string | undefined;
      for (const s of family) {
        got = await r.ipam.takeLowest(s.id, version);
        if (got) {
          await take(s, got);
          break;
        }
      }
      if (!got) throw ipGenerationFailure(network.id);
    }
    for (const s of subnets.filter(isAutoAddress)) {
      await takeExact(r, s, formatIp(6, eui64(cidrOf(s), port.mac)), take);
    }
    return out;
  }

  if (requests.length > MAX_FIXED_IPS) throw badFixedIps('Exceeded maximum amount of fixed ips per port.');
  const targets: Target[] = [];
  for (const req of requests) targets.push(await resolveTarget(r, network, subnets, req, routerPort));
  for (const t of targets) {
    if (t.ip !== undefined) {
      await takeExact(r, t.subnet, t.ip, take);
    } else if (isAutoAddress(t.subnet)) {
      await takeExact(r, t.subnet, formatIp(6, eui64(cidrOf(t.subnet), port.mac)), take);
    } else {
      const ip = await r.ipam.takeLowest(t.subnet.id, t.subnet.ip_version as IpVersion);
      if (!ip) throw new CloudError('Conflict', `No more IP addresses available for subnet ${t.subnet.id}.`, { type: 'IpAddressGenerationFailure' });
      await take(t.subnet, ip);
    }
  }
  return out;
}

const badFixedIps = (msg: string): CloudError => new CloudError('BadRequest', msg, { type: 'BadRequest' });

async function resolveTarget(r: NetworkRepos, network: NetworkRow, subnets: SubnetRow[], req: FixedIpRequest, routerPort: boolean): Promise<Target> {
  let subnet: SubnetRow | undefined;
  if (req.subnet_id !== undefined) {
    subnet = subnets.find((s) => s.id === req.subnet_id);
    if (!subnet) {
      if (!(await r.networks.getSubnet(req.subnet_id))) throw subnetNotFound(req.subnet_id);
      throw invalidInput(`Failed to create port on network ${network.id}, because fixed_ips included invalid subnet ${req.subnet_id}.`);
    }
  }
  if (req.ip_address === undefined) {
    if (!subnet) throw invalidAttr('fixed_ips', 'each fixed IP needs a subnet_id, an ip_address or both');
    return { subnet, ip: undefined };
  }
  const ip = parseIp(req.ip_address);
  if (!ip) throw invalidAttr('fixed_ips', `'${req.ip_address}' is not a valid IP address`);
  const canonical = formatIp(ip.version, ip.value);
  if (!subnet) {
    subnet = subnets.find((s) => cidrContains(cidrOf(s), ip));
    if (!subnet) {
      throw new CloudError('BadRequest', `IP address ${canonical} is not a valid IP for any of the subnets on the specified network.`, {
        type: 'InvalidIpForNetwork',
      });
    }
  }
  const c = cidrOf(subnet);
  if (ip.version !== c.version || !validHostIp(c, ip.value, routerPort)) throw invalidIpForSubnet(canonical);
  return { subnet, ip: canonical };
}

async function takeExact(r: NetworkRepos, subnet: SubnetRow, ip: string, take: (s: SubnetRow, ip: string) => Promise<void>): Promise<void> {
  const parsed = parseIp(ip);
  if (!parsed) throw invalidIpForSubnet(ip);
  if (await r.ipam.isAllocated(subnet.id, ip)) throw ipAlreadyAllocated(ip, subnet.id);
  // Outside the pools (or already out of the free ranges) is fine for an explicit address: only "allocated" matters.
  await r.ipam.takeSpecific(subnet.id, subnet.ip_version as IpVersion, parsed.value);
  try {
    await take(subnet, ip);
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) throw ipAlreadyAllocated(ip, subnet.id);
    throw err;
  }
}

/** Returns an address to its subnet's pools (if it lies in one) and forgets the allocation. */
export async function releaseIp(r: NetworkRepos, subnet: SubnetRow, ip: string): Promise<void> {
  await r.ipam.deleteAllocation(subnet.id, ip);
  const parsed = parseIp(ip);
  if (parsed) await r.ipam.giveBack(subnet.id, subnet.ip_version as IpVersion, parsed.value, poolsOf(subnet));
}

/** Releases every address of a port. */
export async function releasePortIps(r: NetworkRepos, portId: string): Promise<void> {
  const allocs = await r.ipam.ofPorts([portId]);
  const subnets = new Map<string, SubnetRow | undefined>();
  for (const a of allocs) {
    if (!subnets.has(a.subnet_id)) subnets.set(a.subnet_id, await r.networks.getSubnet(a.subnet_id));
    const s = subnets.get(a.subnet_id);
    if (s) await releaseIp(r, s, a.ip_address);
    else await r.ipam.deleteAllocation(a.subnet_id, a.ip_address);
  }
}
