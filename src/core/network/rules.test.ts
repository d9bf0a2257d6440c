import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloudError } from '../errors.js';
import { canonicalRule, ruleFingerprint } from './secgroup-rules.js';
import { defaultPools, subnetCidr, subnetGateway, subnetPools } from './subnet-rules.js';
import { formatIp } from './ip.js';

function typeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CloudError) return `${err.status} ${err.type ?? err.code}`;
    throw err;
  }
  return undefined;
}

test('security group rules: protocols by name or number, port ranges, ICMP type/code', () => {
  assert.equal(canonicalRule({ direction: 'ingress', protocol: 'tcp', port_range_min: 22, port_range_max: 22 }).protocolNumber, 6);
  assert.equal(canonicalRule({ direction: 'ingress', protocol: '17' }).protocolNumber, 17);
  assert.equal(canonicalRule({ direction: 'ingress', ethertype: 'IPv6', protocol: 'icmp' }).protocolNumber, 58);
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 'foo' })), '400 SecurityGroupRuleInvalidProtocol');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 300 })), '400 SecurityGroupRuleInvalidProtocol');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 'tcp', port_range_min: 30, port_range_max: 20 })), '400 SecurityGroupInvalidPortRange');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', port_range_min: 30 })), '400 SecurityGroupProtocolRequiredWithPorts');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 'icmp', port_range_max: 3 })), '400 SecurityGroupMissingIcmpType');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 'icmp', port_range_min: 256 })), '400 SecurityGroupInvalidIcmpValue');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', protocol: 'gre', port_range_min: 1, port_range_max: 2 })), '400 SecurityGroupInvalidProtocolForPort');
  assert.equal(typeOf(() => canonicalRule({ direction: 'ingress', remote_ip_prefix: '::/0' })), '400 SecurityGroupRuleParameterConflict');
  assert.equal(
    typeOf(() => canonicalRule({ direction: 'ingress', remote_ip_prefix: '10.0.0.0/8', remote_group_id: 'x' })),
    '400 SecurityGroupRemoteGroupAndRemoteIpPrefix',
  );
  assert.equal(canonicalRule({ direction: 'ingress', remote_ip_prefix: '10.1.2.3/8' }).remote_ip_prefix, '10.0.0.0/8');
});

test('rule fingerprints: names and numbers, any-prefix and none are the same rule', () => {
  const fp = (r: Parameters<typeof canonicalRule>[0]) => ruleFingerprint('g', canonicalRule(r));
  assert.equal(fp({ direction: 'ingress', protocol: 'tcp' }), fp({ direction: 'ingress', protocol: '6' }));
  assert.equal(fp({ direction: 'ingress', protocol: 'tcp', remote_ip_prefix: '0.0.0.0/0' }), fp({ direction: 'ingress', protocol: 'tcp' }));
  assert.notEqual(fp({ direction: 'ingress', protocol: 'tcp' }), fp({ direction: 'egress', protocol: 'tcp' }));
});

test('subnets: gateway, default pools around the gateway, pool validation', () => {
  const c = subnetCidr('10.0.0.7/24', 4);
  assert.equal(subnetGateway(c, undefined), '10.0.0.1');
  assert.equal(subnetGateway(c, null), null);
  const pools = defaultPools(c, '10.0.0.100').map((p) => `${formatIp(4, p.first)}-${formatIp(4, p.last)}`);
  assert.deepEqual(pools, ['10.0.0.1-10.0.0.99', '10.0.0.101-10.0.0.254']);
  assert.equal(typeOf(() => subnetCidr('10.0.0.0/33', 4)), '400 HTTPBadRequest');
  assert.equal(typeOf(() => subnetCidr('fd00::/64', 4)), '400 InvalidInput');
  assert.equal(typeOf(() => subnetGateway(c, '10.0.1.1')), '400 InvalidInput');
  assert.equal(typeOf(() => subnetGateway(c, '10.0.0.255')), '400 InvalidInput');
  const gw = '10.0.0.1';
  assert.equal(typeOf(() => subnetPools(c, [{ start: '10.0.0.10', end: '10.0.0.20' }, { start: '10.0.0.20', end: '10.0.0.30' }], gw)), '409 OverlappingAllocationPools');
  assert.equal(typeOf(() => subnetPools(c, [{ start: '10.0.0.1', end: '10.0.0.20' }], gw)), '409 GatewayConflictWithAllocationPools');
  assert.equal(typeOf(() => subnetPools(c, [{ start: '10.0.0.20', end: '10.0.0.10' }], gw)), '400 InvalidAllocationPool');
  assert.equal(typeOf(() => subnetPools(c, [{ start: '10.0.0.200', end: '10.0.1.10' }], gw)), '400 OutOfBoundsAllocationPool');
  assert.equal(typeOf(() => subnetPools(c, [{ start: '10.0.0.0', end: '10.0.0.10' }], null)), '400 OutOfBoundsAllocationPool');
});
