import type { Probe, XRule } from './model.js';

/** An IPv4 address as a 32-bit number, or undefined. */
export function ipv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

/** True when IPv4 `ip` is inside `cidr` ("a.b.c.d/n", or a bare address = /32). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [net, lenText] = cidr.split('/');
  const n = net === undefined ? undefined : ipv4(net);
  const a = ipv4(ip);
  const len = lenText === undefined ? 32 : Number(lenText);
  if (n === undefined || a === undefined || !Number.isInteger(len) || len < 0 || len > 32) return false;
  if (len === 0) return true;
  const size = 2 ** (32 - len);
  return Math.floor(n / size) === Math.floor(a / size);
}

const NUMBERS: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp' };

/** The rule's protocol as a name (numbers mapped), or null for any. */
export function protocolOf(rule: Pick<XRule, 'protocol'>): string | null {
  if (rule.protocol === null || rule.protocol === '' || rule.protocol === 'any') return null;
  const p = rule.protocol.toLowerCase();
  return NUMBERS[p] ?? p;
}

/** ICMP echo request: what ping sends. */
const ECHO_REQUEST = 8;

/** Does the rule's protocol and port (or ICMP type/code) admit the probe? */
export function ruleMatchesProbe(rule: XRule, probe: Probe): boolean {
  if (rule.ethertype !== 'IPv4') return false;
  const proto = protocolOf(rule);
  if (proto === null) return true;
  if (proto !== probe.protocol) return false;
  if (probe.protocol === 'icmp') {
    // For ICMP, Neutron keeps the type in port_range_min and the code in port_range_max.
    return (rule.portMin === null || rule.portMin === ECHO_REQUEST) && (rule.portMax === null || rule.portMax === 0);
  }
  if (rule.portMin === null) return true;
  const port = probe.port ?? -1;
  return port >= rule.portMin && port <= (rule.portMax ?? rule.portMin);
}

/** Does the rule's remote side admit a peer with this address and these groups? */
export function ruleMatchesRemote(rule: XRule, peerIp: string | undefined, peerGroups: readonly string[]): boolean {
  if (rule.remoteGroupId !== null) return peerGroups.includes(rule.remoteGroupId);
  if (rule.remoteIpPrefix === null) return true;
  return peerIp !== undefined && cidrContains(rule.remoteIpPrefix, peerIp);
}

/** "tcp/22", "udp/53", "icmp": how a probe is written in messages. */
export function probeText(p: Probe): string {
  return p.protocol === 'icmp' ? 'icmp' : `${p.protocol}/${p.port ?? '?'}`;
}

/** The `openstack security group rule create` arguments that admit the probe. */
export function ruleCreateArgs(p: Probe, direction: 'ingress' | 'egress', remote: string | undefined): string {
  const proto = p.protocol === 'icmp' ? '--protocol icmp' : `--protocol ${p.protocol} --dst-port ${p.port ?? ''}`;
  const dir = direction === 'egress' ? ' --egress' : '';
  return `${proto}${dir}${remote ? ` ${remote}` : ''}`;
}
