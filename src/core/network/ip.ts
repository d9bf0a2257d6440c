/**
 * IPv4/IPv6 addresses and prefixes as BigInt arithmetic, with the canonical
 * text forms Neutron prints (dotted quad; RFC 5952 for IPv6). IPAM stores
 * addresses both as that text and as a fixed-width hex key whose string
 * order equals numeric order, so SQL range queries work on either family.
 */

export type IpVersion = 4 | 6;

export interface Ip {
  version: IpVersion;
  value: bigint;
}

export interface Cidr {
  version: IpVersion;
  /** The network address (host bits cleared). */
  network: bigint;
  prefixLen: number;
  /** The address as written, before host bits were cleared (for remote_ip_prefix style inputs). */
  given: bigint;
}

const BITS: Record<IpVersion, number> = { 4: 32, 6: 128 };

export const bitsOf = (v: IpVersion): number => BITS[v];

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    // Leading zeros are ambiguous (octal in some parsers); refuse them like netaddr's strict mode.
    if (p.length > 1 && p.startsWith('0')) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.length === 0 || s.length > 45) return undefined;
  let text = s;
  if (text.includes('.')) {
    // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two groups.
    const lastColon = text.lastIndexOf(':');
    const v4 = parseV4(text.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    text = `${text.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (h: string): bigint[] | undefined => {
    if (h === '') return [];
    const out: bigint[] = [];
    for (const g of h.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(BigInt(`0x${g}`));
    }
    return out;
  };
  const head = parseGroups(halves[0] ?? '');
  const rest = halves.length === 2 ? parseGroups(halves[1] ?? '') : [];
  if (!head || !rest) return undefined;
  const explicit = head.length + rest.length;
  let groups: bigint[];
  if (halves.length === 2) {
    if (explicit > 7) return undefined;
    groups = [...head, ...Array<bigint>(8 - explicit).fill(0n), ...rest];
  } else {
    if (explicit !== 8) return undefined;
    groups = head;
  }
  return groups.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Parses an address of either family; undefined when it is not one. */
export function parseIp(s: unknown): Ip | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const v = parseV6(s);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { version: 4, value: v };
}

/** Canonical text of an address. */
export function formatIp(version: IpVersion, value: bigint): string {
  if (version === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => ((value >> sh) & 0xffn).toString()).join('.');
  }
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Canonical text of an address given as text; undefined when it is not one. */
export function canonicalIp(s: unknown): string | undefined {
  const ip = parseIp(s);
  return ip ? formatIp(ip.version, ip.value) : undefined;
}

/** A fixed-width hex key: string order equals numeric order within a family. */
export function ipKey(version: IpVersion, value: bigint): string {
  return value.toString(16).padStart(version === 4 ? 8 : 32, '0');
}

export function keyToValue(key: string): bigint {
  return BigInt(`0x${key}`);
}

const mask = (version: IpVersion, prefixLen: number): bigint => {
  const bits = BigInt(BITS[version]);
  const all = (1n << bits) - 1n;
  return (all >> BigInt(prefixLen)) ^ all;
};

/**
 * Parses "a.b.c.d/len" (or an IPv6 prefix). `allowBareAddress` accepts an
 * address without a length as a host prefix (/32 or /128), as Neutron does
 * for remote_ip_prefix and host routes.
 */
export function parseCidr(s: unknown, allowBareAddress = false): Cidr | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  const addrText = slash < 0 ? s : s.slice(0, slash);
  const ip = parseIp(addrText);
  if (!ip) return undefined;
  let prefixLen = BITS[ip.version];
  if (slash >= 0) {
    const lenText = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(lenText)) return undefined;
    prefixLen = Number(lenText);
    if (prefixLen > BITS[ip.version]) return undefined;
  } else if (!allowBareAddress) {
    return undefined;
  }
  return { version: ip.version, network: ip.value & mask(ip.version, prefixLen), prefixLen, given: ip.value };
}

export function formatCidr(c: Pick<Cidr, 'version' | 'network' | 'prefixLen'>): string {
  return `${formatIp(c.version, c.network)}/${c.prefixLen}`;
}

/** The last address of the prefix (the IPv4 broadcast address). */
export function lastOf(c: Pick<Cidr, 'version' | 'network' | 'prefixLen'>): bigint {
  return c.network | ((1n << BigInt(BITS[c.version] - c.prefixLen)) - 1n);
}

export function sizeOf(c: Pick<Cidr, 'version' | 'prefixLen'>): bigint {
  return 1n << BigInt(BITS[c.version] - c.prefixLen);
}

export function cidrContains(c: Pick<Cidr, 'version' | 'network' | 'prefixLen'>, ip: Ip): boolean {
  return ip.version === c.version && ip.value >= c.network && ip.value <= lastOf(c);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.version === b.version && a.network <= lastOf(b) && b.network <= lastOf(a);
}

/** An inclusive range of addresses of one family. */
export interface IpRange {
  first: bigint;
  last: bigint;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/**
 * Subtracts sorted, disjoint `holes` from `ranges` (both sorted by first):
 * what remains free of a pool once some addresses are taken.
 */
export function subtractPoints(ranges: IpRange[], points: bigint[]): IpRange[] {
  const sorted = [...points].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const out: IpRange[] = [];
  for (const r of ranges) {
    let start = r.first;
    for (const p of sorted) {
      if (p < start || p > r.last) continue;
      if (p > start) out.push({ first: start, last: p - 1n });
      start = p + 1n;
    }
    if (start <= r.last) out.push({ first: start, last: r.last });
  }
  return out;
}
