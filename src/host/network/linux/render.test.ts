import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SecurityGroupRuleSpec } from '../driver.js';
import { renderGroupChainRules, renderGroupRule, renderPortChainRules, protocolNumber, rewriteChain, hashLines } from './sg-render.js';
import { renderRouterNat, replaceTable } from './router-nat.js';
import { dnsLabel, dnsmasqFiles, renderDnsmasqConf, renderDnsmasqHosts, renderDnsmasqOpts, withoutStaleLeases, type DnsmasqInput } from './dnsmasq.js';
import { parseTable, renderJsonValue } from './nft.js';
import { routeKey } from './ip.js';

const setOf = (g: string): string => `g_${g.slice(0, 4)}_v4`;
function rule(extra: Partial<SecurityGroupRuleSpec>): SecurityGroupRuleSpec {
  return { id: 'r', direction: 'ingress', ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...extra };
}

test('security group rules render to nft: peer, protocol, ports, ICMP type/code', () => {
  assert.equal(renderGroupRule(rule({}), setOf), 'meta nfproto ipv4 accept');
  assert.equal(renderGroupRule(rule({ remoteIpPrefix: '0.0.0.0/0', protocol: 'icmp' }), setOf), 'meta nfproto ipv4 meta l4proto icmp accept');
  assert.equal(renderGroupRule(rule({ protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '10.1.2.3/16' }), setOf), 'ip saddr 10.1.0.0/16 meta l4proto 6 th dport 22 accept');
  assert.equal(renderGroupRule(rule({ direction: 'egress', protocol: 'udp', portRangeMin: 1000, portRangeMax: 2000, remoteIpPrefix: '10.0.0.9' }), setOf), 'ip daddr 10.0.0.9 meta l4proto 17 th dport 1000-2000 accept');
  assert.equal(renderGroupRule(rule({ protocol: 'icmp', portRangeMin: 8, portRangeMax: 0, remoteGroupId: 'abcd1234' }), setOf), 'ip saddr @g_abcd_v4 meta l4proto icmp icmp type 8 icmp code 0 accept');
  assert.equal(renderGroupRule(rule({ protocol: 'icmp', portRangeMin: 3 }), setOf), 'meta nfproto ipv4 meta l4proto icmp icmp type 3 accept');
  assert.equal(renderGroupRule(rule({ protocol: '112' }), setOf), 'meta nfproto ipv4 meta l4proto 112 accept');
  assert.equal(renderGroupRule(rule({ protocol: 'tcp', portRangeMin: 1, portRangeMax: 65535 }), setOf), 'meta nfproto ipv4 meta l4proto 6 accept', 'the whole range is no range');
  assert.equal(renderGroupRule(rule({ protocol: 'gre', portRangeMin: 5, portRangeMax: 6 }), setOf), 'meta nfproto ipv4 meta l4proto 47 accept', 'ports mean nothing to GRE');
  assert.equal(renderGroupRule(rule({ ethertype: 'IPv6' }), setOf), null);
  assert.equal(renderGroupRule(rule({ remoteIpPrefix: 'fd00::/8' }), setOf), null);
  assert.equal(protocolNumber('any'), null);
  assert.equal(protocolNumber(null), null);
  assert.throws(() => protocolNumber('bogus'));
  assert.throws(() => protocolNumber('256'));
});

test('group chains keep one direction, sorted by rule id, so the hash is stable', () => {
  const rules = [rule({ id: 'b', protocol: 'tcp', portRangeMin: 80, portRangeMax: 80 }), rule({ id: 'a', protocol: 'icmp' }), rule({ id: 'c', direction: 'egress' })];
  const i = renderGroupChainRules(rules, 'i', setOf);
  assert.deepEqual(i, ['meta nfproto ipv4 meta l4proto icmp accept', 'meta nfproto ipv4 meta l4proto 6 th dport 80 accept']);
  assert.equal(hashLines(i), hashLines(renderGroupChainRules([...rules].reverse(), 'i', setOf)));
  assert.deepEqual(renderGroupChainRules(rules, 'e', setOf), ['meta nfproto ipv4 accept']);
});

test('port chains allow DHCP and jump to each group once', () => {
  assert.deepEqual(renderPortChainRules('e', ['bb', 'aa', 'bb']), ['udp sport 68 udp dport 67 accept', 'jump g_aa_e', 'jump g_bb_e']);
  assert.deepEqual(renderPortChainRules('i', []), ['udp sport 67 udp dport 68 accept']);
  const lines = rewriteChain('inet', 't', 'p_x_i', ['a'], 'drop', 'h1');
  assert.deepEqual(lines, ['add chain inet t p_x_i', 'flush chain inet t p_x_i', 'add rule inet t p_x_i a', 'add rule inet t p_x_i drop comment "h:h1"']);
});

test('router NAT: DNAT/SNAT per floating IP before the subnet SNAT; the hash follows the content', () => {
  const base = { table: 'sl_router', gatewayDev: 'slr-0123456789', gatewayIp: '172.24.4.10/24', internalCidrs: ['10.0.0.1/24'], snat: true, floatingIps: [{ floatingIp: '172.24.4.20', fixedIp: '10.0.0.11' }] };
  const { lines, hash } = renderRouterNat(base);
  const text = lines.join('\n');
  assert.match(text, /chain h_[0-9a-f]{16} \{/);
  assert.match(text, /ip daddr 172\.24\.4\.20 dnat to 10\.0\.0\.11/);
  const fipSnat = text.indexOf('ip saddr 10.0.0.11 snat to 172.24.4.20');
  const netSnat = text.indexOf('ip saddr { 10.0.0.0/24 } snat to 172.24.4.10');
  assert.ok(fipSnat > 0 && netSnat > fipSnat);
  assert.match(text, /iifname "slr-0123456789" drop/);
  assert.match(text, /ct status dnat ip saddr \{ 10\.0\.0\.0\/24 \} oifname != "slr-0123456789" masquerade/);
  assert.equal(renderRouterNat({ ...base }).hash, hash);
  assert.notEqual(renderRouterNat({ ...base, snat: false }).hash, hash);
  const noSnat = renderRouterNat({ ...base, snat: false }).lines.join('\n');
  assert.doesNotMatch(noSnat, /snat to 172\.24\.4\.10/);
  assert.doesNotMatch(noSnat, /ct status dnat accept/);
  const noGw = renderRouterNat({ ...base, gatewayDev: null, gatewayIp: null }).lines.join('\n');
  assert.doesNotMatch(noGw, /dnat to/);
  assert.deepEqual(replaceTable('t', ['x']).slice(0, 3), ['table ip t {', '}', 'delete table ip t']);
});

const dhcpInput: DnsmasqInput = {
  networkId: 'net-1',
  interface: 'sld-0123456789',
  portCidrs: ['10.0.0.2/24'],
  subnets: [
    { subnetId: 's1', cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', dnsNameservers: [], hostRoutes: [{ destination: '192.168.0.0/16', nexthop: '10.0.0.254' }] },
    { subnetId: 's2', cidr: 'fd00::/64', gatewayIp: null, dnsNameservers: [], hostRoutes: [] },
    { subnetId: 's3', cidr: '10.9.0.0/24', gatewayIp: null, dnsNameservers: ['9.9.9.9'], hostRoutes: [] },
  ],
  hosts: [
    { mac: 'FA:16:3E:00:00:02', ip: '10.0.0.12', hostname: 'Web_Server.1' },
    { mac: 'fa:16:3e:00:00:01', ip: '10.0.0.11', hostname: 'vm-one' },
    { mac: 'fa:16:3e:00:00:03', ip: 'fd00::3', hostname: 'v6' },
  ],
  domain: 'openstacklocal',
  mtu: 1450,
  metadata: true,
  upstreamDns: [],
  leaseSeconds: 86400,
};

test('dnsmasq config: static ranges per IPv4 subnet, no upstream, our files', () => {
  const f = dnsmasqFiles('/var/lib/stacklet/network/dhcp', 'net-1');
  const conf = renderDnsmasqConf(dhcpInput, f);
  assert.match(conf, /^interface=sld-0123456789$/m);
  assert.match(conf, /^dhcp-range=set:s0,10\.0\.0\.0,static,255\.255\.255\.0,86400s$/m);
  assert.match(conf, /^dhcp-range=set:s1,10\.9\.0\.0,static,255\.255\.255\.0,86400s$/m);
  assert.doesNotMatch(conf, /fd00/);
  assert.match(conf, /^no-resolv$/m);
  assert.doesNotMatch(conf, /^server=/m);
  assert.match(conf, /^dhcp-leasefile=\/var\/lib\/stacklet\/network\/dhcp\/net-1\/leases$/m);
  assert.match(renderDnsmasqConf({ ...dhcpInput, upstreamDns: ['1.1.1.1'] }, f), /^server=1\.1\.1\.1$/m);
});

test('dnsmasq hosts: MAC, IP, DNS-safe name; IPv4 only; sorted', () => {
  assert.equal(renderDnsmasqHosts(dhcpInput.hosts), 'fa:16:3e:00:00:01,10.0.0.11,vm-one\nfa:16:3e:00:00:02,10.0.0.12,web-server-1\n');
  assert.equal(renderDnsmasqHosts([]), '');
  assert.equal(dnsLabel('---'), 'host');
  assert.equal(dnsLabel('a'.repeat(80)).length, 63);
});

test('dnsmasq options: router, DNS (own address by default), classless routes with metadata and default, MTU', () => {
  const opts = renderDnsmasqOpts(dhcpInput).split('\n');
  assert.ok(opts.includes('tag:s0,option:router,10.0.0.1'));
  assert.ok(opts.includes('tag:s0,option:dns-server,10.0.0.2'));
  assert.ok(opts.includes('tag:s0,option:classless-static-route,192.168.0.0/16,10.0.0.254,169.254.169.254/32,10.0.0.2,0.0.0.0/0,10.0.0.1'));
  assert.ok(opts.includes('tag:s0,option:mtu,1450'));
  assert.ok(opts.includes('tag:s1,option:router'), 'no gateway: no router option at all');
  assert.ok(opts.includes('tag:s1,option:dns-server,9.9.9.9'));
  assert.ok(!opts.some((o) => o.startsWith('tag:s1,option:classless')), 'the DHCP port has no address in s1');
  const noMd = renderDnsmasqOpts({ ...dhcpInput, metadata: false, subnets: [{ subnetId: 's', cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', dnsNameservers: [], hostRoutes: [] }] });
  assert.doesNotMatch(noMd, /classless/);
});

test('nft JSON parses into the same strings our renderers print', () => {
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6' } },
      { table: { family: 'inet', name: 't', handle: 7 } },
      { chain: { family: 'inet', table: 't', name: 'c_layout_sg1_abcd', handle: 1 } },
      { chain: { family: 'inet', table: 't', name: 'p_k_i', handle: 2 } },
      { map: { family: 'inet', table: 't', name: 'ingress', type: 'mark', map: 'verdict', elem: [[5, { jump: { target: 'p_k_i' } }]] } },
      { map: { family: 'bridge', table: 't', name: 'port_mark', type: 'ifname', map: 'mark', elem: [['slt-k', 5]] } },
      { set: { family: 'bridge', table: 't', name: 'ip4_ok', elem: [{ concat: ['slt-k', '02:00:00:00:00:01', { prefix: { addr: '10.0.0.0', len: 24 } }] }, { concat: ['slt-k', '02:00:00:00:00:01', '10.0.1.1'] }] } },
      { rule: { family: 'inet', table: 't', chain: 'p_k_i', handle: 3, expr: [{ jump: { target: 'g_a_i' } }] } },
      { rule: { family: 'inet', table: 't', chain: 'p_k_i', handle: 4, expr: [{ match: { left: { payload: { protocol: 'ip', field: 'saddr' } }, right: '@g_a_v4' } }, { drop: null }], comment: 'h:abc' } },
    ],
  });
  const s = parseTable(json);
  assert.equal(s.handle, 7);
  assert.equal(s.comment, 'c_layout_sg1_abcd');
  assert.deepEqual([...(s.maps.get('ingress') ?? [])], [['5', 'jump p_k_i']]);
  assert.deepEqual([...(s.maps.get('port_mark') ?? [])], [['"slt-k"', '5']]);
  assert.deepEqual([...(s.sets.get('ip4_ok') ?? [])], ['"slt-k" . 02:00:00:00:00:01 . 10.0.0.0/24', '"slt-k" . 02:00:00:00:00:01 . 10.0.1.1']);
  const c = s.chains.get('p_k_i');
  assert.equal(c?.hash, 'abc');
  assert.equal(c?.rules, 2);
  assert.deepEqual([...(c?.refs ?? [])].sort(), ['g_a_i', 'g_a_v4']);
  assert.equal(renderJsonValue({ range: ['10.0.0.1', '10.0.0.9'] }), '10.0.0.1-10.0.0.9');
});

test('routes compare equal however ip prints them', () => {
  assert.equal(routeKey('default', '172.24.4.1'), routeKey('0.0.0.0/0', '172.24.4.1'));
  assert.equal(routeKey('10.1.0.5', '10.0.0.254'), routeKey('10.1.0.5/32', '10.0.0.254'));
  assert.equal(routeKey('10.1.0.0/16', '10.0.0.254'), '10.1.0.0/16 10.0.0.254');
  assert.notEqual(routeKey('10.1.0.0/16', '10.0.0.254'), routeKey('10.1.0.0/16', '10.0.0.253'));
});

test('dnsmasq leases: a deleted port\'s lease is dropped (dnsmasq would keep its address from the next owner), the others kept as they are', () => {
  const leases = [
    '1795733000 fa:16:3e:00:00:01 10.0.0.4 vm1 01:fa:16:3e:00:00:01',
    '1795733001 fa:16:3e:00:00:02 10.0.0.5 vm2 *',
    '1795733002 FA:16:3E:00:00:03 10.0.0.6 vm3 *',
    '',
  ].join('\n');
  const hosts = [
    { mac: 'fa:16:3e:00:00:02', ip: '10.0.0.5', hostname: 'vm2' },
    { mac: 'fa:16:3e:00:00:03', ip: '10.0.0.6', hostname: 'vm3' },
    // The deleted port's address, now another port's: the old lease must go.
    { mac: 'fa:16:3e:00:00:09', ip: '10.0.0.4', hostname: 'vm9' },
  ];
  const r = withoutStaleLeases(leases, hosts);
  assert.equal(r.dropped, 1);
  assert.equal(r.text, `${leases.split('\n').slice(1, 3).join('\n')}\n`);
  assert.deepEqual(withoutStaleLeases('', hosts), { text: '', dropped: 0 });
});
