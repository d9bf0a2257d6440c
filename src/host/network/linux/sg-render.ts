import { createHash } from 'node:crypto';
import type { SecurityGroupRuleSpec } from '../driver.js';
import { isIp4OrCidr, normCidr4 } from '../addr.js';

/**
 * Renders security groups and port security into nftables text (pure
 * functions; sg-tables.ts diffs and applies them).
 *
 * Two tables in the host namespace:
 *
 * bridge <p>_ps (port security, stateless, runs first at prerouting -300):
 *   a packet from a port's tap gets the port's mark (map port_mark), and
 *   must come from the port's MACs (set mac_ok) and, for IPv4 and ARP, from
 *   a (MAC, IP) the port may use (set ip4_ok: fixed IPs and allowed address
 *   pairs); DHCP server replies from ports are dropped (only the DHCP port
 *   answers); anything but IPv4 and ARP is dropped. At bridge forward -200
 *   the mark is replaced by the output port's mark.
 *
 * inet <p>_sg (security groups, stateful through br_netfilter):
 *   the kernel's bridge family has no conntrack here, but br_netfilter
 *   passes bridged IPv4 through the inet hooks, where it sees the bridge,
 *   not the tap, as both interfaces; so the port identity travels in the
 *   mark. prerouting (priority 0, after conntrack) judges a port's egress
 *   by the source mark; forward judges the ingress of the output port.
 *   Both jump through verdict maps keyed by mark to per-port chains
 *   p_<key>_e / p_<key>_i, which jump to the group chains g_<key>_e /
 *   g_<key>_i; remote groups are sets g_<key>_v4. Adding a port is a few
 *   elements and two chains; a group membership change is a set element
 *   update. Conntrack zones per bridge (map zone) keep equal addresses on
 *   two networks apart.
 */

/**
 * Layout versions, carried in the name of an empty marker chain
 * (c_layout_<version>_<token>): nft 1.0.6 does not print table comments in
 * JSON. A table whose layout differs from the code's is rebuilt. The
 * random token changes whenever we make the table, so `nft list chain` of
 * the marker (a few ms, unlike `nft list tables`, which reads every rule)
 * tells whether the table is still the one we read.
 */
export const PORT_SECURITY_VERSION = 'c_layout_ps1';
export const SG_VERSION = 'c_layout_sg1';

/** Chain of a port's (or group's) rules for one direction. */
export function portChain(key: string, dir: 'i' | 'e'): string {
  return `p_${key}_${dir}`;
}

export function groupChain(key: string, dir: 'i' | 'e'): string {
  return `g_${key}_${dir}`;
}

export function groupSet(key: string): string {
  return `g_${key}_v4`;
}

/** The short content hash written as the comment of a chain's last rule. */
export function hashLines(lines: readonly string[]): string {
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

/** The bridge table, whole (without elements). */
export function renderPortSecurityTable(table: string, token: string): string[] {
  const t = `bridge ${table}`;
  return [
    `table ${t} {`,
    '  comment "stacklet port security"',
    `  chain ${PORT_SECURITY_VERSION}_${token} {`,
    '  }',
    '  map port_mark { type ifname : mark; }',
    '  set mac_ok { type ifname . ether_addr; }',
    '  set ip4_ok { type ifname . ether_addr . ipv4_addr; flags interval; }',
    '  chain c_pre {',
    '    type filter hook prerouting priority -300; policy accept;',
    '    meta mark set 0',
    '    iifname != @port_mark accept',
    '    meta mark set iifname map @port_mark',
    '    iifname . ether saddr != @mac_ok drop',
    '    ether type arp jump c_arp',
    '    ether type ip jump c_ip',
    '    drop',
    '  }',
    '  chain c_arp {',
    '    iifname . arp saddr ether . arp saddr ip @ip4_ok accept',
    '    arp saddr ip 0.0.0.0 iifname . arp saddr ether @mac_ok accept',
    '    drop',
    '  }',
    '  chain c_ip {',
    '    udp sport 67 udp dport 68 drop',
    '    ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
    '    iifname . ether saddr . ip saddr @ip4_ok accept',
    '    drop',
    '  }',
    '  chain c_fwd {',
    '    type filter hook forward priority -200; policy accept;',
    '    meta mark set 0',
    '    meta mark set oifname map @port_mark',
    '  }',
    '}',
  ];
}

/** The inet table, whole (without per-port and per-group chains). */
export function renderSgTable(table: string, token: string): string[] {
  const t = `inet ${table}`;
  const judge = (hook: string, map: string): string[] => [
    `    type filter hook ${hook} priority 0; policy accept;`,
    '    meta mark 0 accept',
    '    ct state established,related accept',
    '    ct state invalid drop',
    `    meta mark vmap @${map}`,
    '    drop',
  ];
  return [
    `table ${t} {`,
    '  comment "stacklet security groups"',
    `  chain ${SG_VERSION}_${token} {`,
    '  }',
    '  map zone { typeof iifname : ct zone; }',
    '  map egress { type mark : verdict; }',
    '  map ingress { type mark : verdict; }',
    '  chain c_zone_in {',
    '    type filter hook prerouting priority -300; policy accept;',
    '    ct zone set iifname map @zone',
    '  }',
    '  chain c_zone_out {',
    '    type filter hook output priority -300; policy accept;',
    '    ct zone set oifname map @zone',
    '  }',
    '  chain c_pre {',
    ...judge('prerouting', 'egress'),
    '  }',
    '  chain c_fwd {',
    ...judge('forward', 'ingress'),
    '  }',
    '}',
  ];
}

/** The rule lines (without "add rule ...") of a port's chain for one direction. */
export function renderPortChainRules(dir: 'i' | 'e', groupKeys: readonly string[]): string[] {
  // DHCP always works, as in Neutron: the client's requests out, the server's replies in.
  const dhcp = dir === 'e' ? 'udp sport 68 udp dport 67 accept' : 'udp sport 67 udp dport 68 accept';
  return [dhcp, ...[...new Set(groupKeys)].sort().map((g) => `jump ${groupChain(g, dir)}`)];
}

const PROTOCOL_NUMBERS: Record<string, number> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  icmp: 1,
  icmpv6: 58,
  igmp: 2,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  'ipv6-nonxt': 59,
  'ipv6-opts': 60,
  'ipv6-route': 43,
  ospf: 89,
  pgm: 113,
  rsvp: 46,
  sctp: 132,
  tcp: 6,
  udp: 17,
  udplite: 136,
  vrrp: 112,
};

/** Protocols whose port range means the transport header's destination port. */
const PORTED = new Set([6, 17, 33, 132, 136]);

/** Neutron's protocol field (name, number, "any" or null) as a number, or null for any. */
export function protocolNumber(protocol: string | null): number | null {
  if (protocol === null || protocol === '' || protocol === 'any') return null;
  const named = PROTOCOL_NUMBERS[protocol.toLowerCase()];
  if (named !== undefined) return named;
  if (/^\d{1,3}$/.test(protocol) && Number(protocol) <= 255) return Number(protocol);
  throw new Error(`unknown protocol "${protocol}"`);
}

/**
 * One security group rule as an nft rule (inside the group's chain for
 * its direction), or null when it does not apply to IPv4.
 * Ingress rules match the peer as source, egress as destination; the port
 * range is the destination port both ways (Neutron's meaning); for ICMP
 * port_range_min/max are type/code.
 */
export function renderGroupRule(rule: SecurityGroupRuleSpec, setOfGroup: (groupId: string) => string): string | null {
  if (rule.ethertype !== 'IPv4') return null;
  const peer = rule.direction === 'ingress' ? 'saddr' : 'daddr';
  const parts: string[] = [];
  if (rule.remoteGroupId) {
    parts.push(`ip ${peer} @${setOfGroup(rule.remoteGroupId)}`);
  } else if (rule.remoteIpPrefix && rule.remoteIpPrefix !== '0.0.0.0/0') {
    if (!isIp4OrCidr(rule.remoteIpPrefix)) return null;
    parts.push(`ip ${peer} ${normCidr4(rule.remoteIpPrefix)}`);
  } else {
    parts.push('meta nfproto ipv4');
  }
  const proto = protocolNumber(rule.protocol);
  if (proto === 1) {
    parts.push('meta l4proto icmp');
    if (rule.portRangeMin !== null) {
      parts.push(`icmp type ${rule.portRangeMin}`);
      if (rule.portRangeMax !== null) parts.push(`icmp code ${rule.portRangeMax}`);
    }
  } else if (proto !== null) {
    parts.push(`meta l4proto ${proto}`);
    const lo = rule.portRangeMin ?? rule.portRangeMax;
    const hi = rule.portRangeMax ?? rule.portRangeMin;
    if (PORTED.has(proto) && lo !== null && hi !== null && !(lo <= 1 && hi >= 65535)) {
      parts.push(lo === hi ? `th dport ${lo}` : `th dport ${lo}-${hi}`);
    }
  }
  parts.push('accept');
  return parts.join(' ');
}

/** The rule lines of a group's chain for one direction, sorted by rule id so the rendering is stable. */
export function renderGroupChainRules(rules: readonly SecurityGroupRuleSpec[], dir: 'i' | 'e', setOfGroup: (groupId: string) => string): string[] {
  const want = dir === 'i' ? 'ingress' : 'egress';
  return [...rules]
    .filter((r) => r.direction === want)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => renderGroupRule(r, setOfGroup))
    .filter((r): r is string => r !== null);
}

/**
 * The commands that make a regular chain hold exactly `rules` followed by
 * the closing rule carrying the content hash, in one transaction.
 */
export function rewriteChain(family: string, table: string, chain: string, rules: readonly string[], closing: 'drop' | 'return', hash: string): string[] {
  const at = `${family} ${table} ${chain}`;
  return [`add chain ${at}`, `flush chain ${at}`, ...rules.map((r) => `add rule ${at} ${r}`), `add rule ${at} ${closing} comment "h:${hash}"`];
}

/** An nft string literal for an interface name (we only make [a-z0-9-] names). */
export function q(ifname: string): string {
  if (!/^[a-z0-9-]{1,15}$/.test(ifname)) throw new Error(`invalid interface name "${ifname}"`);
  return `"${ifname}"`;
}
