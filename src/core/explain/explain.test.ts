import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { explain } from './explain.js';
import { cidrContains, ruleMatchesProbe } from './match.js';
import type { ExplainWorld, XEndpoint, XRule, XSecurityGroup } from './model.js';

/** The seed topology: public 172.24.4.0/24 ← router1 → private 10.0.0.0/24, vm1 and vm2 in the default group. */
const rule = (r: Partial<XRule>): XRule => ({
  direction: 'ingress',
  ethertype: 'IPv4',
  protocol: null,
  portMin: null,
  portMax: null,
  remoteIpPrefix: null,
  remoteGroupId: null,
  ...r,
});

const defaultGroup = (extra: XRule[] = []): XSecurityGroup => ({
  id: 'sg-default',
  name: 'default',
  rules: [
    rule({ direction: 'egress' }),
    rule({ direction: 'egress', ethertype: 'IPv6' }),
    rule({ remoteGroupId: 'sg-default' }),
    rule({ ethertype: 'IPv6', remoteGroupId: 'sg-default' }),
    ...extra,
  ],
});

const vm = (id: string, ip: string, over: Partial<XEndpoint['ports'][number]> = {}, status = 'ACTIVE', subnetId = 'sn-private'): XEndpoint => ({
  server: { id, name: id, status },
  ports: [
    {
      id: `port-${id}`,
      networkId: subnetId === 'sn-private' ? 'net-private' : 'net-other',
      fixedIps: [{ subnetId, ip }],
      securityGroupIds: ['sg-default'],
      portSecurityEnabled: true,
      adminStateUp: true,
      ...over,
    },
  ],
});

function world(over: Partial<ExplainWorld> = {}): ExplainWorld {
  return {
    target: vm('vm1', '10.0.0.5'),
    source: 'host',
    networks: [
      { id: 'net-public', name: 'public', external: true, adminStateUp: true },
      { id: 'net-private', name: 'private', external: false, adminStateUp: true },
      { id: 'net-other', name: 'other', external: false, adminStateUp: true },
    ],
    subnets: [
      { id: 'sn-public', name: 'public-subnet', networkId: 'net-public', cidr: '172.24.4.0/24', gatewayIp: '172.24.4.1' },
      { id: 'sn-private', name: 'private-subnet', networkId: 'net-private', cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1' },
      { id: 'sn-other', name: 'other-subnet', networkId: 'net-other', cidr: '10.1.0.0/24', gatewayIp: '10.1.0.1' },
    ],
    routers: [{ id: 'r1', name: 'router1', adminStateUp: true, gatewayNetworkId: 'net-public', interfaceSubnetIds: ['sn-private'] }],
    floatingIps: [{ id: 'fip1', address: '172.24.4.131', networkId: 'net-public', portId: 'port-vm1', fixedIp: '10.0.0.5', routerId: 'r1' }],
    securityGroups: [defaultGroup()],
    ...over,
  };
}

const ssh = { protocol: 'tcp' as const, port: 22 };
const ping = { protocol: 'icmp' as const };

describe('explain from the host', () => {
  test('names the missing security group rule when tcp/22 is closed, with the command that opens it', () => {
    const r = explain(world(), ssh);
    assert.equal(r.reachable, false);
    assert.equal(r.blocker?.message, 'no rule in security group default allows tcp/22 ingress');
    assert.equal(r.blocker?.fix, 'openstack security group rule create --protocol tcp --dst-port 22 default');
    assert.deepEqual(
      r.steps.map((s) => [s.check, s.ok]),
      [
        ['instance state', true],
        ['instance port', true],
        ['floating IP', true],
        ['router', true],
        ['source address', true],
        ['security groups', false],
      ],
    );
    assert.match(r.steps[4]?.detail ?? '', /172\.24\.4\.1/);
  });

  test('says reachable once a rule allows tcp/22 from anywhere', () => {
    const r = explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteIpPrefix: '0.0.0.0/0' })])] }), ssh);
    assert.equal(r.reachable, true);
    assert.equal(r.blocker, undefined);
    assert.match(r.steps.at(-1)?.detail ?? '', /allows tcp\/22 from anywhere$/, '0.0.0.0/0 is said as people say it');
  });

  test('a port range and a protocol number match; another port does not', () => {
    const sg = defaultGroup([rule({ protocol: '6', portMin: 20, portMax: 25 })]);
    assert.equal(explain(world({ securityGroups: [sg] }), ssh).reachable, true);
    assert.equal(explain(world({ securityGroups: [sg] }), { protocol: 'tcp', port: 80 }).reachable, false);
    assert.equal(explain(world({ securityGroups: [sg] }), { protocol: 'udp', port: 22 }).reachable, false);
  });

  test('ping needs an ICMP rule that admits echo requests', () => {
    assert.equal(explain(world(), ping).blocker?.fix, 'openstack security group rule create --protocol icmp default');
    assert.equal(explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'icmp' })])] }), ping).reachable, true);
    assert.equal(explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'icmp', portMin: 8, portMax: 0 })])] }), ping).reachable, true);
    assert.equal(explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'icmp', portMin: 0 })])] }), ping).reachable, false);
  });

  test('a rule for another source range is named, not silently skipped', () => {
    const r = explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteIpPrefix: '10.0.0.0/24' })])] }), ssh);
    assert.equal(r.reachable, false);
    assert.match(r.steps.at(-1)?.detail ?? '', /only from 10\.0\.0\.0\/24, not from the host \(172\.24\.4\.1\)/);
    const wide = explain(world({ securityGroups: [defaultGroup([rule({ protocol: 'tcp', portMin: 22, portMax: 22, remoteIpPrefix: '172.24.4.0/24' })])] }), ssh);
    assert.equal(wide.reachable, true);
  });

  test('no floating IP: says so and offers a free one of the project when there is one', () => {
    const none = explain(world({ floatingIps: [] }), ssh);
    assert.equal(none.steps.at(-1)?.check, 'floating IP');
    assert.match(none.blocker?.fix ?? '', /^openstack floating ip create public/);
    const free = explain(world({ floatingIps: [{ id: 'f2', address: '172.24.4.133', networkId: 'net-public', portId: null, fixedIp: null, routerId: null }] }), ssh);
    assert.equal(free.blocker?.fix, 'openstack server add floating ip vm1 172.24.4.133');
  });

  test('a router without a gateway, without an interface, or missing altogether', () => {
    const noGw = explain(world({ routers: [{ id: 'r1', name: 'router1', adminStateUp: true, gatewayNetworkId: null, interfaceSubnetIds: ['sn-private'] }] }), ssh);
    assert.equal(noGw.blocker?.fix, 'openstack router set --external-gateway public router1');
    const noLeg = explain(world({ routers: [{ id: 'r1', name: 'router1', adminStateUp: true, gatewayNetworkId: 'net-public', interfaceSubnetIds: [] }] }), ssh);
    assert.equal(noLeg.blocker?.fix, 'openstack router add subnet router1 private-subnet');
    const none = explain(world({ routers: [] }), ssh);
    assert.match(none.blocker?.message ?? '', /no router joins subnet private-subnet to public/);
    const down = explain(world({ routers: [{ id: 'r1', name: 'router1', adminStateUp: false, gatewayNetworkId: 'net-public', interfaceSubnetIds: ['sn-private'] }] }), ssh);
    assert.equal(down.blocker?.fix, 'openstack router set --enable router1');
  });

  test('instance state comes first', () => {
    const off = explain(world({ target: vm('vm1', '10.0.0.5', {}, 'SHUTOFF') }), ssh);
    assert.equal(off.steps.length, 1);
    assert.equal(off.blocker?.fix, 'openstack server start vm1');
    assert.match(explain(world({ target: vm('vm1', '10.0.0.5', {}, 'BUILD') }), ssh).blocker?.message ?? '', /not running yet/);
  });

  test('port security off lets everything in; no group lets nothing in', () => {
    assert.equal(explain(world({ target: vm('vm1', '10.0.0.5', { portSecurityEnabled: false }) }), ssh).reachable, true);
    const bare = explain(world({ target: vm('vm1', '10.0.0.5', { securityGroupIds: [] }) }), ssh);
    assert.equal(bare.blocker?.fix, 'openstack server add security group vm1 default');
  });

  test('an instance with no address is on no network', () => {
    const r = explain(world({ target: { server: { id: 'vm1', name: 'vm1', status: 'ACTIVE' }, ports: [] } }), ssh);
    assert.equal(r.blocker?.fix, 'openstack server add network vm1 private');
  });
});

describe('explain between instances', () => {
  test('same network, default group: the remote-group rule admits the other member', () => {
    const r = explain(world({ source: vm('vm2', '10.0.0.6') }), ssh);
    assert.equal(r.reachable, true, JSON.stringify(r));
    assert.match(r.steps.at(-1)?.detail ?? '', /members of group default/);
  });

  test('a source outside the group is blocked, and the fix names its group', () => {
    const other: XSecurityGroup = { id: 'sg-web', name: 'web', rules: [rule({ direction: 'egress' })] };
    const r = explain(world({ source: vm('vm2', '10.0.0.6', { securityGroupIds: ['sg-web'] }), securityGroups: [defaultGroup(), other] }), ssh);
    assert.equal(r.reachable, false);
    assert.equal(r.blocker?.fix, 'openstack security group rule create --protocol tcp --dst-port 22 --remote-group web default');
  });

  test('the source needs an egress rule', () => {
    const closed: XSecurityGroup = { id: 'sg-closed', name: 'closed', rules: [] };
    const r = explain(world({ source: vm('vm2', '10.0.0.6', { securityGroupIds: ['sg-closed'] }), securityGroups: [defaultGroup(), closed] }), ssh);
    assert.equal(r.steps.at(-1)?.check, 'egress');
    assert.equal(r.blocker?.fix, 'openstack security group rule create --protocol tcp --dst-port 22 --egress closed');
  });

  test('different networks need one router on both subnets', () => {
    const src = vm('vm3', '10.1.0.7', {}, 'ACTIVE', 'sn-other');
    const r = explain(world({ source: src }), ssh);
    assert.equal(r.reachable, false);
    assert.equal(r.blocker?.fix, 'openstack router add subnet router1 other-subnet');
    const joined = explain(
      world({ source: src, routers: [{ id: 'r1', name: 'router1', adminStateUp: true, gatewayNetworkId: 'net-public', interfaceSubnetIds: ['sn-private', 'sn-other'] }] }),
      ssh,
    );
    assert.equal(joined.reachable, true, JSON.stringify(joined));
  });

  test('a stopped source cannot send', () => {
    const r = explain(world({ source: vm('vm2', '10.0.0.6', {}, 'SHUTOFF') }), ping);
    assert.equal(r.blocker?.fix, 'openstack server start vm2');
  });
});

describe('matching', () => {
  test('cidrContains', () => {
    assert.equal(cidrContains('10.0.0.0/24', '10.0.0.255'), true);
    assert.equal(cidrContains('10.0.0.0/24', '10.0.1.0'), false);
    assert.equal(cidrContains('0.0.0.0/0', '8.8.8.8'), true);
    assert.equal(cidrContains('172.24.4.1', '172.24.4.1'), true);
    assert.equal(cidrContains('172.24.4.1/32', '172.24.4.2'), false);
    assert.equal(cidrContains('::/0', '10.0.0.1'), false);
    assert.equal(cidrContains('10.0.0.0/33', '10.0.0.1'), false);
  });

  test('IPv6 rules never admit an IPv4 probe', () => {
    assert.equal(ruleMatchesProbe(rule({ ethertype: 'IPv6' }), ssh), false);
    assert.equal(ruleMatchesProbe(rule({}), ssh), true);
  });
});
