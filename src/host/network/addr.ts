import { isIPv4 } from 'node:net';

/** IPv4 helpers for rendering addresses into nftables, dnsmasq and ip. */

/** The address as a 32-bit unsigned number. */
export function ip4ToInt(ip: string): number {
  if (!isIPv4(ip)) throw new Error(`not an IPv4 address: "${ip}"`);
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function intToIp4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** An IPv4 network: base address (host bits cleared) and prefix length. */
export interface Cidr4 {
  base: number;
  len: number;
}

/** True for "a.b.c.d" or "a.b.c.d/len" with an IPv4 address. */
export function isIp4OrCidr(s: string): boolean {
  const [ip, len, extra] = s.split('/');
  if (extra !== undefined || ip === undefined || !isIPv4(ip)) return false;
  return len === undefined || (/^\d{1,2}$/.test(len) && Number(len) <= 32);
}

/** Parses "a.b.c.d" (a /32) or "a.b.c.d/len", clearing host bits. */
export function parseCidr4(s: string): Cidr4 {
  if (!isIp4OrCidr(s)) throw new Error(`not an IPv4 address or CIDR: "${s}"`);
  const [ip = '', lenText] = s.split('/');
  const len = lenText === undefined ? 32 : Number(lenText);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return { base: (ip4ToInt(ip) & mask) >>> 0, len };
}

/** The form nftables prints back: a plain address for /32, "net/len" otherwise. */
export function formatCidr4(c: Cidr4): string {
  return c.len === 32 ? intToIp4(c.base) : `${intToIp4(c.base)}/${c.len}`;
}

/** Normalizes an IPv4 address or CIDR to the nftables form. */
export function normCidr4(s: string): string {
  return formatCidr4(parseCidr4(s));
}

function contains(outer: Cidr4, inner: Cidr4): boolean {
  if (outer.len > inner.len) return false;
  const mask = outer.len === 0 ? 0 : (0xffffffff << (32 - outer.len)) >>> 0;
  return ((inner.base & mask) >>> 0) === outer.base;
}

/**
 * The smallest list of CIDRs covering the same addresses, without
 * overlaps: nftables interval sets refuse overlapping elements, and two
 * CIDRs either nest or are disjoint, so dropping the nested ones is enough.
 * IPv6 and malformed entries are skipped. Sorted, so equal inputs render equally.
 */
export function coverCidrs4(list: Iterable<string>): string[] {
  const all = [...new Set([...list].filter(isIp4OrCidr).map(normCidr4))].map(parseCidr4);
  all.sort((a, b) => a.len - b.len || a.base - b.base);
  const kept: Cidr4[] = [];
  for (const c of all) {
    if (!kept.some((k) => contains(k, c))) kept.push(c);
  }
  kept.sort((a, b) => a.base - b.base || a.len - b.len);
  return kept.map(formatCidr4);
}

/** "10.0.0.5/24" → "10.0.0.5" */
export function addrOf(cidr: string): string {
  return cidr.split('/')[0] ?? cidr;
}

/** Dotted netmask of a prefix length (dnsmasq wants it). */
export function netmask(len: number): string {
  return intToIp4(len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
}

/** A MAC in lower case with colons; throws on anything else. */
export function normMac(mac: string): string {
  const m = mac.toLowerCase();
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(m)) throw new Error(`not a MAC address: "${mac}"`);
  return m;
}
