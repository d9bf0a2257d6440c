import type { SecurityGroupRule } from '../api/types';

/** Well-known services, so a rule reads "SSH (tcp/22)" rather than a number. */
const SERVICES: Record<string, string> = {
  'tcp/22': 'SSH',
  'tcp/80': 'HTTP',
  'tcp/443': 'HTTPS',
  'tcp/3389': 'RDP',
  'tcp/53': 'DNS',
  'udp/53': 'DNS',
  'tcp/25': 'SMTP',
  'tcp/3306': 'MySQL',
  'tcp/5432': 'PostgreSQL',
  'tcp/6443': 'Kubernetes API',
  'udp/123': 'NTP',
  'udp/67': 'DHCP',
};

const PROTOCOL_NUMBERS: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp' };

function what(rule: SecurityGroupRule): string {
  const v6 = rule.ethertype === 'IPv6' ? 'IPv6 ' : '';
  const proto = rule.protocol ? (PROTOCOL_NUMBERS[rule.protocol] ?? rule.protocol).toLowerCase() : null;
  if (proto === null || proto === 'any') return `all ${v6}traffic`;
  if (proto === 'icmp' || proto === 'ipv6-icmp' || proto === 'icmpv6') {
    const type = rule.port_range_min;
    const code = rule.port_range_max;
    if (type === null || type === undefined) return `${v6}ping`;
    if (type === 8 || (proto !== 'icmp' && type === 128)) return `${v6}ping (ICMP echo request)`;
    return `${v6}ICMP type ${type}${code !== null && code !== undefined ? ` code ${code}` : ''}`;
  }
  if (proto === 'tcp' || proto === 'udp' || proto === 'sctp') {
    const min = rule.port_range_min;
    const max = rule.port_range_max ?? min;
    if (min === null || min === undefined) return `all ${v6}${proto.toUpperCase()}`;
    const ports = min === max ? `${min}` : `${min}-${max ?? ''}`;
    const name = min === max ? SERVICES[`${proto}/${min}`] : undefined;
    return name ? `${v6}${name} (${proto}/${ports})` : `${v6}${proto}/${ports}`;
  }
  return `${v6}protocol ${proto}`;
}

function whom(rule: SecurityGroupRule, groupName: (id: string) => string): string {
  if (rule.remote_group_id) return `members of group ${groupName(rule.remote_group_id)}`;
  const p = rule.remote_ip_prefix;
  if (!p || p === '0.0.0.0/0' || p === '::/0') return 'anywhere';
  return p;
}

/**
 * A rule in one plain sentence: "allows ping from anywhere", "allows SSH
 * (tcp/22) from 10.0.0.0/24", "allows all traffic from members of group
 * default", "allows all traffic out to anywhere".
 */
export function ruleSentence(rule: SecurityGroupRule, groupName: (id: string) => string = (id) => id): string {
  return rule.direction === 'ingress' ? `allows ${what(rule)} from ${whom(rule, groupName)}` : `allows ${what(rule)} out to ${whom(rule, groupName)}`;
}
