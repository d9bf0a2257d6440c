import { CloudError } from '../errors.js';
import { invalidAttr } from './errors.js';
import { formatCidr, parseCidr } from './ip.js';

/**
 * Validation and canonical form of security group rules: protocol names
 * and numbers, port ranges (ICMP type/code), remote prefixes, and the
 * fingerprint that makes a duplicate rule a constraint violation.
 */

/** IANA protocol names Neutron accepts, with their numbers. */
export const PROTOCOLS: Readonly<Record<string, number>> = {
  ah: 51,
  dccp: 33,
  egp: 8,
  esp: 50,
  gre: 47,
  hopopt: 0,
  icmp: 1,
  igmp: 2,
  ipip: 4,
  'ipv6-encap': 41,
  'ipv6-frag': 44,
  'ipv6-icmp': 58,
  icmpv6: 58,
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

/** Protocols whose rules may carry a port range. */
const PORT_PROTOCOLS = new Set([6, 17, 33, 132, 136]);
const ICMP_PROTOCOLS = new Set([1, 58]);

export interface RuleInput {
  direction: 'ingress' | 'egress';
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: string | number | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
}

export interface CanonicalRule {
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** As the client gave it (name or number as text), null for any. */
  protocol: string | null;
  /** The IP protocol number, null for any. */
  protocolNumber: number | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
}

const ruleError = (type: string, message: string): CloudError => new CloudError('BadRequest', message, { type });

function protocolOf(p: string | number | null | undefined, ethertype: 'IPv4' | 'IPv6'): { text: string | null; num: number | null } {
  if (p === undefined || p === null || p === '' || p === 'any') return { text: null, num: null };
  const text = String(p).toLowerCase();
  let num: number | undefined;
  if (/^\d{1,3}$/.test(text)) num = Number(text);
  else num = PROTOCOLS[text];
  if (num === undefined || num < 0 || num > 255) {
    throw ruleError(
      'SecurityGroupRuleInvalidProtocol',
      `Security group rule protocol ${String(p)} not supported. Only protocol values [None, ${Object.keys(PROTOCOLS).join(', ')}] and integer representations [0 to 255] are supported.`,
    );
  }
  // ICMP under IPv6 is ICMPv6, whichever way it was spelt.
  if (ethertype === 'IPv6' && num === 1) num = 58;
  return { text, num };
}

/** Validates a rule as Neutron does and returns its canonical form. */
export function canonicalRule(input: RuleInput): CanonicalRule {
  const ethertype = input.ethertype ?? 'IPv4';
  const proto = protocolOf(input.protocol, ethertype);
  const min = input.port_range_min ?? null;
  const max = input.port_range_max ?? null;
  if (min !== null || max !== null) {
    if (proto.num === null) throw ruleError('SecurityGroupProtocolRequiredWithPorts', 'Must also specify protocol if port range is given.');
    if (PORT_PROTOCOLS.has(proto.num)) {
      if (min === 0 || max === 0) throw ruleError('SecurityGroupInvalidPortValue', 'Invalid value for port 0.');
      for (const [attr, v] of [['port_range_min', min], ['port_range_max', max]] as const) {
        if (v !== null && (v < 1 || v > 65535)) throw invalidAttr(attr, `${v} is not in range 1 through 65535`);
      }
      if (min === null || max === null || min > max) {
        throw ruleError('SecurityGroupInvalidPortRange', 'For TCP/UDP protocols, port_range_min must be <= port_range_max');
      }
    } else if (ICMP_PROTOCOLS.has(proto.num)) {
      for (const [attr, field, v] of [['port_range_min', 'type', min], ['port_range_max', 'code', max]] as const) {
        if (v !== null && (v < 0 || v > 255)) {
          throw ruleError('SecurityGroupInvalidIcmpValue', `Invalid value for ICMP ${field} (${attr}) ${v}. It must be 0 to 255.`);
        }
      }
      if (min === null && max !== null) {
        throw ruleError('SecurityGroupMissingIcmpType', `ICMP code (port-range-max) ${max} is provided but ICMP type (port-range-min) is missing.`);
      }
    } else {
      throw ruleError(
        'SecurityGroupInvalidProtocolForPort',
        `Invalid protocol ${proto.text ?? ''} for port range, only supported for TCP, UDP, UDPLITE, SCTP and DCCP.`,
      );
    }
  }
  let prefix: string | null = null;
  if (input.remote_ip_prefix !== undefined && input.remote_ip_prefix !== null) {
    const c = parseCidr(input.remote_ip_prefix, true);
    if (!c) throw invalidAttr('remote_ip_prefix', `'${input.remote_ip_prefix}' is not a valid IP prefix`);
    if ((c.version === 4) !== (ethertype === 'IPv4')) {
      throw ruleError(
        'SecurityGroupRuleParameterConflict',
        `Conflicting value ethertype ${ethertype} for CIDR ${input.remote_ip_prefix}`,
      );
    }
    prefix = formatCidr(c);
  }
  const remoteGroup = input.remote_group_id ?? null;
  if (prefix !== null && remoteGroup !== null) {
    throw ruleError('SecurityGroupRemoteGroupAndRemoteIpPrefix', 'Only remote_ip_prefix or remote_group_id may be provided.');
  }
  return {
    direction: input.direction,
    ethertype,
    protocol: proto.text,
    protocolNumber: proto.num,
    port_range_min: min,
    port_range_max: max,
    remote_ip_prefix: prefix,
    remote_group_id: remoteGroup,
  };
}

/** Two rules with the same fingerprint match the same packets; "any address" and no prefix are the same. */
export function ruleFingerprint(groupId: string, r: CanonicalRule): string {
  const anyPrefix = r.remote_ip_prefix === '0.0.0.0/0' || r.remote_ip_prefix === '::/0';
  return [
    groupId,
    r.direction,
    r.ethertype,
    r.protocolNumber ?? '',
    r.port_range_min ?? '',
    r.port_range_max ?? '',
    anyPrefix ? '' : (r.remote_ip_prefix ?? ''),
    r.remote_group_id ?? '',
  ].join('|');
}
