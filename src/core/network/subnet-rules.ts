import { CloudError } from '../errors.js';
import { invalidAttr, invalidInput } from './errors.js';
import {
  cidrContains,
  formatCidr,
  formatIp,
  lastOf,
  parseCidr,
  parseIp,
  rangesOverlap,
  type Cidr,
  type IpRange,
  type IpVersion,
} from './ip.js';

/**
 * Pure validation of subnet attributes: CIDR, gateway, allocation pools,
 * DNS servers, host routes, IPv6 modes. Messages follow Neutron's.
 */

export const MAX_DNS_NAMESERVERS = 5;
export const MAX_HOST_ROUTES = 20;
const MAX_POOLS = 64;
const IPV6_MODES = new Set(['slaac', 'dhcpv6-stateful', 'dhcpv6-stateless']);

export interface PoolInput {
  start: string;
  end: string;
}

export interface RouteInput {
  destination: string;
  nexthop: string;
}

const conflictOf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });
const badOf = (type: string, message: string): CloudError => new CloudError('BadRequest', message, { type });

/** Parses and normalizes the subnet's CIDR (host bits cleared), checking it fits ip_version and a sane size. */
export function subnetCidr(cidr: string, ipVersion: number): Cidr {
  const c = parseCidr(cidr);
  if (!c) throw invalidAttr('cidr', `'${cidr}' is not a valid IP subnet`);
  if (c.version !== ipVersion) throw invalidInput(`Cidr ${cidr} does not match ip_version ${ipVersion}`);
  if (c.version === 4 && (c.prefixLen < 8 || c.prefixLen > 30)) {
    throw invalidAttr('cidr', `'${cidr}': an IPv4 subnet must have a prefix length between /8 and /30`);
  }
  if (c.version === 6 && (c.prefixLen < 64 || c.prefixLen > 126)) {
    throw invalidAttr('cidr', `'${cidr}': an IPv6 subnet must have a prefix length between /64 and /126`);
  }
  return c;
}

/** First and last address a port may hold (IPv4 excludes network and broadcast). */
export function hostRange(c: Cidr): IpRange {
  return { first: c.network + 1n, last: c.version === 4 ? lastOf(c) - 1n : lastOf(c) };
}

/** The gateway: default the first host address; null for none; else a valid host address of the subnet. */
export function subnetGateway(c: Cidr, given: string | null | undefined): string | null {
  if (given === null) return null;
  if (given === undefined) return formatIp(c.version, c.network + 1n);
  const ip = parseIp(given);
  if (!ip || ip.version !== c.version) throw invalidAttr('gateway_ip', `'${given}' is not a valid IPv${c.version} address`);
  const range = hostRange(c);
  if (!cidrContains(c, ip)) throw invalidInput(`Gateway ip ${given} is outside subnet ${formatCidr(c)}.`);
  if (ip.value < range.first || ip.value > range.last) throw invalidInput(`Gateway is not valid on subnet: ${given} is its network or broadcast address.`);
  return formatIp(ip.version, ip.value);
}

const poolText = (v: IpVersion, r: IpRange): string => `${formatIp(v, r.first)}-${formatIp(v, r.last)}`;

/** The default pools: the host range minus the gateway. */
export function defaultPools(c: Cidr, gateway: string | null): IpRange[] {
  const range = hostRange(c);
  const gw = gateway ? parseIp(gateway)?.value : undefined;
  if (gw === undefined || gw < range.first || gw > range.last) return [range];
  const out: IpRange[] = [];
  if (gw > range.first) out.push({ first: range.first, last: gw - 1n });
  if (gw < range.last) out.push({ first: gw + 1n, last: range.last });
  return out;
}

/** Validates explicit pools: well formed, inside the subnet, disjoint, not holding the gateway. Returns them sorted. */
export function subnetPools(c: Cidr, pools: PoolInput[] | undefined, gateway: string | null): IpRange[] {
  if (pools === undefined) return defaultPools(c, gateway);
  if (pools.length > MAX_POOLS) throw invalidAttr('allocation_pools', `at most ${MAX_POOLS} pools are allowed`);
  const cidrText = formatCidr(c);
  const host = hostRange(c);
  const out: IpRange[] = [];
  for (const p of pools) {
    const a = parseIp(p.start);
    const b = parseIp(p.end);
    if (!a || !b || a.version !== c.version || b.version !== c.version || a.value > b.value) {
      throw badOf('InvalidAllocationPool', `The allocation pool ${p.start}-${p.end} is not valid.`);
    }
    const r = { first: a.value, last: b.value };
    if (r.first < host.first || r.last > host.last) {
      throw badOf('OutOfBoundsAllocationPool', `The allocation pool ${poolText(c.version, r)} spans beyond the subnet cidr ${cidrText}.`);
    }
    out.push(r);
  }
  out.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
  for (let i = 1; i < out.length; i++) {
    const prev = out[i - 1];
    const cur = out[i];
    if (prev && cur && rangesOverlap(prev, cur)) {
      throw conflictOf(
        'OverlappingAllocationPools',
        `Found overlapping allocation pools: ${poolText(c.version, prev)} and ${poolText(c.version, cur)} for subnet ${cidrText}.`,
      );
    }
  }
  checkGatewayOutsidePools(c.version, gateway, out);
  return out;
}

export function checkGatewayOutsidePools(v: IpVersion, gateway: string | null, pools: IpRange[]): void {
  const gw = gateway ? parseIp(gateway)?.value : undefined;
  if (gw === undefined) return;
  const hit = pools.find((p) => gw >= p.first && gw <= p.last);
  if (hit) throw conflictOf('GatewayConflictWithAllocationPools', `Gateway ip ${gateway ?? ''} conflicts with allocation pool ${poolText(v, hit)}.`);
}

export function poolsJson(v: IpVersion, pools: IpRange[]): string {
  return JSON.stringify(pools.map((p) => ({ start: formatIp(v, p.first), end: formatIp(v, p.last) })));
}

export function subnetDns(v: IpVersion, servers: string[] | undefined): string[] {
  if (servers === undefined) return [];
  if (servers.length > MAX_DNS_NAMESERVERS) {
    throw badOf('DNSNameServersExhausted', `Unable to complete operation for ${servers.length} nameservers. The number of DNS nameservers exceeds the limit ${MAX_DNS_NAMESERVERS}.`);
  }
  const out: string[] = [];
  for (const s of servers) {
    const ip = parseIp(s);
    if (!ip || ip.version !== v) throw invalidAttr('dns_nameservers', `'${s}' is not a valid IPv${v} nameserver`);
    const text = formatIp(ip.version, ip.value);
    if (out.includes(text)) throw invalidAttr('dns_nameservers', `Duplicate nameserver '${s}'`);
    out.push(text);
  }
  return out;
}

export function subnetRoutes(v: IpVersion, routes: RouteInput[] | undefined): RouteInput[] {
  if (routes === undefined) return [];
  if (routes.length > MAX_HOST_ROUTES) {
    throw badOf('HostRoutesExhausted', `Unable to complete operation for ${routes.length} host routes. The number of host routes exceeds the limit ${MAX_HOST_ROUTES}.`);
  }
  const out: RouteInput[] = [];
  for (const r of routes) out.push(validRoute(v, r, 'host_routes'));
  const seen = new Set<string>();
  for (const r of out) {
    const k = `${r.destination} ${r.nexthop}`;
    if (seen.has(k)) throw invalidAttr('host_routes', `Duplicate hostroute '${r.destination} ${r.nexthop}'`);
    seen.add(k);
  }
  return out;
}

/** A destination CIDR (normalized) and a nexthop address of the given family. */
export function validRoute(v: IpVersion | undefined, r: RouteInput, attr: string): RouteInput {
  const d = parseCidr(r.destination);
  const n = parseIp(r.nexthop);
  if (!d) throw invalidAttr(attr, `'${r.destination}' is not a valid IP subnet`);
  if (!n) throw invalidAttr(attr, `'${r.nexthop}' is not a valid IP address`);
  if (d.version !== n.version || (v !== undefined && d.version !== v)) {
    throw invalidAttr(attr, `destination ${r.destination} and nexthop ${r.nexthop} must both be IPv${v ?? d.version}`);
  }
  return { destination: formatCidr(d), nexthop: formatIp(n.version, n.value) };
}

export interface Ipv6Modes {
  ra: string | null;
  address: string | null;
}

export function ipv6Modes(c: Cidr, ra: string | null | undefined, address: string | null | undefined): Ipv6Modes {
  const raMode = ra ?? null;
  const addrMode = address ?? null;
  if (c.version === 4) {
    if (raMode !== null || addrMode !== null) throw invalidInput('ipv6_ra_mode or ipv6_address_mode cannot be set when ip_version is 4');
    return { ra: null, address: null };
  }
  for (const [attr, m] of [['ipv6_ra_mode', raMode], ['ipv6_address_mode', addrMode]] as const) {
    if (m !== null && !IPV6_MODES.has(m)) throw invalidAttr(attr, `'${m}' is not in [slaac, dhcpv6-stateful, dhcpv6-stateless]`);
  }
  if (raMode !== null && addrMode !== null && raMode !== addrMode) {
    throw invalidInput(
      `ipv6_ra_mode set to '${raMode}' with ipv6_address_mode set to '${addrMode}' is not valid. If both attributes are set, they must be the same value`,
    );
  }
  if ((addrMode === 'slaac' || addrMode === 'dhcpv6-stateless' || raMode === 'slaac') && c.prefixLen !== 64) {
    throw invalidInput(
      `Invalid CIDR ${formatCidr(c)} for IPv6 address mode. OpenStack uses the EUI-64 address format, which requires the prefix to be /64`,
    );
  }
  return { ra: raMode, address: addrMode };
}
