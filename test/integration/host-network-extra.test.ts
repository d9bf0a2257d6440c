import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnExec } from '../../src/host/exec.js';
import type { DhcpSpec, PortSpec, SecurityGroupRuleSpec } from '../../src/host/network/driver.js';
import { LinuxNetworkDriver } from '../../src/host/network/linux/driver.js';
import { run, TestMachine, tryRun, writeDhcpScript } from './host-network-machines.js';

/**
 * More of the Linux driver on the real kernel, in its own sandbox (prefix
 * slx, not host-network.test.ts's slh: the files may run at once, and a
 * driver removes namespaces of its prefix it does not own): two networks
 * with the same addresses, port security off, metadata
 * through the DHCP namespace, real taps, dnsmasq reloads and restarts,
 * rogue DHCP servers, every kind of rule, and removing leaked things.
 */

const PREFIX = 'slx';
const SANDBOX = `slx-sbx2-${process.pid}`;
const NET_A = randomUUID();
const NET_B = randomUUID();
const SG = randomUUID();
const SG_OTHER = randomUUID();
const mac = (n: number): string => `02:00:0b:00:00:${n.toString(16).padStart(2, '0')}`;

function rule(id: string, direction: 'ingress' | 'egress', extra: Partial<SecurityGroupRuleSpec> = {}): SecurityGroupRuleSpec {
  return { id, direction, ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...extra };
}
const OPEN_GROUP = [rule('e', 'egress'), rule('i', 'ingress', { remoteGroupId: SG })];

interface Machine {
  portId: string;
  ns: string;
  m: TestMachine;
  spec: PortSpec;
}

describe('host network: more of the Linux driver', { timeout: 300_000 }, () => {
  const exec = new SpawnExec();
  let dir = '';
  let driver: LinuxNetworkDriver;
  let metadataServer: Server;
  let script = '';
  const machines: Machine[] = [];
  const children: ChildProcess[] = [];
  const dhcpPorts = new Map<string, string>();

  async function machine(networkId: string, n: number, ip: string, extra: Partial<PortSpec> = {}): Promise<Machine> {
    const portId = randomUUID();
    const ns = `slx-x${n}-${process.pid}`;
    const m = await TestMachine.create(ns, SANDBOX, driver.names.tap(portId), mac(n));
    const spec: PortSpec = { portId, networkId, mac: mac(n), fixedIps: [ip], portSecurity: true, securityGroupIds: [SG], allowedAddressPairs: [], mtu: 1500, plug: 'external', ...extra };
    await driver.ensurePort(spec);
    const x = { portId, ns, m, spec };
    machines.push(x);
    return x;
  }

  function dhcpSpec(networkId: string, hosts: { mac: string; ip: string; hostname: string }[], extra: Partial<DhcpSpec> = {}): DhcpSpec {
    let portId = dhcpPorts.get(networkId);
    if (!portId) {
      portId = randomUUID();
      dhcpPorts.set(networkId, portId);
    }
    return {
      networkId,
      port: { portId, networkId, mac: networkId === NET_A ? '02:00:0b:00:aa:02' : '02:00:0b:00:bb:02', cidrs: ['10.0.0.2/24'] },
      subnets: [{ subnetId: 's', cidr: '10.0.0.0/24', gatewayIp: null, dnsNameservers: [], hostRoutes: [] }],
      hosts,
      domain: 'openstacklocal',
      mtu: 1500,
      metadata: true,
      ...extra,
    };
  }

  const dnsmasqPid = async (networkId: string): Promise<number> => Number((await readFile(join(dir, 'state', 'dhcp', networkId, 'dnsmasq.pid'), 'utf8')).trim());

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slx-net2-'));
    script = await writeDhcpScript(dir);
    const socketPath = join(dir, 'metadata.sock');
    metadataServer = createServer((req, res) => {
      res.end(JSON.stringify({ forwardedFor: req.headers['x-forwarded-for'], networkId: req.headers['x-stacklet-network-id'], routerId: req.headers['x-stacklet-router-id'] ?? null }));
    });
    await new Promise<void>((r) => metadataServer.listen(socketPath, r));
    driver = new LinuxNetworkDriver({ prefix: PREFIX, sandbox: SANDBOX, stateDir: join(dir, 'state'), metadataUpstream: { socketPath }, exec, leaseSeconds: 600 });
    await driver.ensureHost();
    await driver.ensureNetwork({ networkId: NET_A, mtu: 1500 });
    await driver.ensureNetwork({ networkId: NET_B, mtu: 1500 });
    await driver.ensureSecurityGroup({ groupId: SG, rules: OPEN_GROUP, memberIps: ['10.0.0.11', '10.0.0.12'] });
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await driver?.teardown({ sandbox: true });
    for (const x of machines) await tryRun(['ip', 'netns', 'del', x.ns], '', 5_000);
    await new Promise<void>((r) => (metadataServer ? metadataServer.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
    const ours = new Set([SANDBOX, ...machines.map((x) => x.ns), ...[NET_A, NET_B].map((n) => `${PREFIX}-qd-${n}`)]);
    const left = (await run.run(['ip', 'netns', 'list'], { readOnly: true })).stdout.split('\n').filter((l) => ours.has(l.split(' ')[0] ?? ''));
    assert.deepEqual(left, []);
  });

  test('two networks with the same 10.0.0.0/24 both work and stay apart; metadata comes through each DHCP namespace', async () => {
    const a1 = await machine(NET_A, 1, '10.0.0.11');
    const a2 = await machine(NET_A, 2, '10.0.0.12');
    const b1 = await machine(NET_B, 3, '10.0.0.11');
    const b2 = await machine(NET_B, 4, '10.0.0.12');
    await driver.ensureDhcp(dhcpSpec(NET_A, [a1, a2].map((x, i) => ({ mac: x.spec.mac, ip: `10.0.0.1${i + 1}`, hostname: `a${i + 1}` }))));
    await driver.ensureDhcp(dhcpSpec(NET_B, [b1, b2].map((x, i) => ({ mac: x.spec.mac, ip: `10.0.0.1${i + 1}`, hostname: `b${i + 1}` }))));
    for (const x of [a1, a2, b1, b2]) {
      const lease = await x.m.dhcp(script, dir);
      assert.equal(lease.ip, x.spec.fixedIps[0]);
      assert.equal(lease.staticroutes, '169.254.169.254/32 10.0.0.2', 'the metadata route via the DHCP port');
      assert.equal(lease.router, undefined, 'a subnet without gateway sends no router');
    }
    assert.equal(await a1.m.ping('10.0.0.12', { count: 2 }), true);
    assert.equal(await b1.m.ping('10.0.0.12', { count: 2 }), true);
    // Each network's machine 2 answers from its own MAC: a1 sees a2, b1 sees b2.
    assert.match(await a1.m.exec(['ip', 'neigh', 'show', '10.0.0.12']), new RegExp(a2.spec.mac));
    assert.match(await b1.m.exec(['ip', 'neigh', 'show', '10.0.0.12']), new RegExp(b2.spec.mac));
    const zones = await run.run(['nft', '-j', 'list', 'map', 'inet', `${PREFIX}_sg`, 'zone'], { netns: SANDBOX, readOnly: true });
    const elems = (JSON.parse(zones.stdout) as { nftables: { map?: { elem?: [string, number][] } }[] }).nftables.find((x) => x.map)?.map?.elem ?? [];
    assert.equal(new Set(elems.map((e) => e[1])).size, 2, 'one conntrack zone per bridge');
    const md = JSON.parse(await a1.m.exec(['busybox', 'wget', '-q', '-O', '-', 'http://169.254.169.254/latest/meta-data/'])) as { forwardedFor: string; networkId: string };
    assert.deepEqual(md, { forwardedFor: '10.0.0.11', networkId: NET_A, routerId: null });
    const mdB = JSON.parse(await b2.m.exec(['busybox', 'wget', '-q', '-O', '-', 'http://169.254.169.254/latest/meta-data/'])) as { networkId: string };
    assert.equal(mdB.networkId, NET_B);
  });

  test('dnsmasq: a new port is a SIGHUP, not a restart; a config change restarts it and keeps the leases', async () => {
    const pid = await dnsmasqPid(NET_A);
    const a5 = await machine(NET_A, 5, '10.0.0.15');
    const a1 = machines[0];
    assert.ok(a1);
    const hosts = [
      { mac: mac(1), ip: '10.0.0.11', hostname: 'a1' },
      { mac: mac(2), ip: '10.0.0.12', hostname: 'a2' },
    ];
    assert.equal((await driver.ensureDhcp(dhcpSpec(NET_A, [...hosts, { mac: a5.spec.mac, ip: '10.0.0.15', hostname: 'a5' }]))).changed, true);
    assert.equal(await dnsmasqPid(NET_A), pid, 'same dnsmasq');
    assert.equal((await a5.m.dhcp(script, dir)).ip, '10.0.0.15');
    const spec = dhcpSpec(NET_A, [...hosts, { mac: a5.spec.mac, ip: '10.0.0.15', hostname: 'a5' }], { domain: 'example.test' });
    assert.equal((await driver.ensureDhcp(spec)).changed, true);
    assert.notEqual(await dnsmasqPid(NET_A), pid, 'a config change restarts dnsmasq');
    assert.equal((await driver.ensureDhcp(spec)).changed, false);
    const leases = await readFile(join(dir, 'state', 'dhcp', NET_A, 'leases'), 'utf8');
    assert.match(leases, /10\.0\.0\.15 a5/);
    assert.match(leases, /10\.0\.0\.11 a1/);
    assert.equal((await a1.m.dhcp(script, dir)).domain, 'example.test');
  });

  test('ports without port security are not filtered: any source address passes both ways', async () => {
    const o1 = await machine(NET_A, 6, '10.0.0.16', { portSecurity: false, securityGroupIds: [] });
    const o2 = await machine(NET_A, 7, '10.0.0.17', { portSecurity: false, securityGroupIds: [] });
    await o1.m.exec(['ip', 'addr', 'add', '10.0.0.66/24', 'dev', 'eth0']);
    await o2.m.exec(['ip', 'addr', 'add', '10.0.0.17/24', 'dev', 'eth0']);
    assert.equal(await o1.m.ping('10.0.0.17', { count: 2 }), true, 'an address the port does not own passes: no anti-spoofing, no groups');
    const a1 = machines[0];
    assert.ok(a1);
    assert.equal(await a1.m.ping('10.0.0.66', { count: 2 }), true, 'a secured port reaches it; the reply is established traffic');
    const inv = await driver.inventory();
    assert.ok(!inv.filteredPorts.includes(driver.names.key(o1.portId)));
    assert.ok(inv.filteredPorts.includes(driver.names.key(a1.portId)));
  });

  test('a rogue DHCP server on a port is silenced; only the DHCP port answers', async () => {
    const a2 = machines[1];
    assert.ok(a2);
    const listener = spawn('ip', ['netns', 'exec', a2.ns, process.execPath, '-e', "const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(r.port+':'+m));s.bind(68,()=>console.log('ready'))"], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(listener);
    const lines: string[] = [];
    await new Promise<void>((resolve) => listener.stdout.once('data', () => resolve()));
    listener.stdout.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')));
    const a1 = machines[0];
    assert.ok(a1);
    const send = (sport: number): Promise<unknown> =>
      a1.m.exec([process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.bind(${sport},()=>s.send('offer','68','10.0.0.12',()=>s.close()))`]);
    await send(67);
    await send(1067);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(lines, ['1067:offer'], 'udp 67→68 from a port is dropped, other traffic from the group passes');
  });

  test('real taps: made on the bridge with the MTU, removed; leaked ones are found by inventory', async () => {
    const portId = randomUUID();
    const spec: PortSpec = { portId, networkId: NET_B, mac: mac(9), fixedIps: ['10.0.0.19'], portSecurity: true, securityGroupIds: [SG, SG_OTHER], allowedAddressPairs: [], mtu: 1400, plug: 'tap' };
    assert.equal((await driver.ensurePort(spec)).changed, true);
    assert.equal((await driver.ensurePort(spec)).changed, false);
    const link = JSON.parse((await run.run(['ip', '-n', SANDBOX, '-j', '-d', 'link', 'show', driver.names.tap(portId)], { readOnly: true })).stdout) as { mtu: number; master: string; linkinfo: { info_kind: string } }[];
    assert.deepEqual([link[0]?.mtu, link[0]?.master, link[0]?.linkinfo.info_kind], [1400, driver.names.bridge(NET_B), 'tun']);
    // A tap left behind (its port deleted while Stacklet was down) is ours by name: inventory finds it, remove by key.
    const inv = await driver.inventory();
    assert.ok(inv.taps.includes(driver.names.key(portId)));
    assert.ok(inv.securityGroups.includes(driver.names.key(SG_OTHER)), 'a referenced group has (empty) chains');
    assert.equal((await driver.removePort(driver.names.key(portId))).changed, true);
    assert.equal((await driver.removePort(portId)).changed, false);
    assert.equal((await driver.removeSecurityGroup(SG_OTHER)).changed, true);
    const after = await driver.inventory();
    assert.ok(!after.taps.includes(driver.names.key(portId)));
    assert.ok(!after.filteredPorts.includes(driver.names.key(portId)));
    assert.ok(!after.securityGroups.includes(driver.names.key(SG_OTHER)));
  });

  test('concurrent ensures are serialised: every port gets its own mark', async () => {
    const specs: PortSpec[] = Array.from({ length: 12 }, (_, i) => ({
      portId: randomUUID(),
      networkId: NET_B,
      mac: mac(0x40 + i),
      fixedIps: [`10.0.0.${100 + i}`],
      portSecurity: true,
      securityGroupIds: [SG],
      allowedAddressPairs: [],
      mtu: 1500,
      plug: 'tap',
    }));
    await Promise.all(specs.map((p) => driver.ensurePort(p)));
    const out = await run.run(['nft', '-j', 'list', 'map', 'bridge', `${PREFIX}_ps`, 'port_mark'], { netns: SANDBOX, readOnly: true });
    const elems = (JSON.parse(out.stdout) as { nftables: { map?: { elem?: [string, number][] } }[] }).nftables.find((x) => x.map)?.map?.elem ?? [];
    const ours = elems.filter(([ifname]) => specs.some((p) => driver.names.tap(p.portId) === ifname));
    assert.equal(ours.length, specs.length);
    assert.equal(new Set(elems.map(([, mark]) => mark)).size, elems.length, 'marks are unique');
    await Promise.all(specs.map((p) => driver.removePort(p.portId)));
  });

  test('every kind of rule is accepted by the kernel and changes apply in one transaction', async () => {
    const zoo: SecurityGroupRuleSpec[] = [
      rule('z01', 'ingress', { protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '0.0.0.0/0' }),
      rule('z02', 'ingress', { protocol: 'udp', portRangeMin: 5000, portRangeMax: 5100, remoteIpPrefix: '192.0.2.0/24' }),
      rule('z03', 'ingress', { protocol: 'icmp', portRangeMin: 8, portRangeMax: 0 }),
      rule('z04', 'ingress', { protocol: 'icmp', portRangeMin: 3 }),
      rule('z05', 'egress', { protocol: '47' }),
      rule('z06', 'egress', { protocol: 'sctp', portRangeMin: 9, portRangeMax: 9, remoteGroupId: SG }),
      rule('z07', 'ingress', { protocol: 'vrrp', remoteGroupId: SG_OTHER }),
      rule('z08', 'ingress', { ethertype: 'IPv6', protocol: 'tcp', portRangeMin: 80, portRangeMax: 80 }),
      rule('z09', 'egress', { protocol: 'any', remoteIpPrefix: '198.51.100.7' }),
      rule('z10', 'ingress', { protocol: 'udplite', portRangeMin: 1, portRangeMax: 65535 }),
    ];
    const g = randomUUID();
    assert.equal((await driver.ensureSecurityGroup({ groupId: g, rules: zoo, memberIps: ['10.0.0.0/28', '10.0.0.5', '10.0.0.77'] })).changed, true);
    assert.equal((await driver.ensureSecurityGroup({ groupId: g, rules: zoo, memberIps: ['10.0.0.5', '10.0.0.77', '10.0.0.0/28'] })).changed, false);
    const chain = (await run.run(['nft', 'list', 'chain', 'inet', `${PREFIX}_sg`, `g_${driver.names.key(g)}_i`], { netns: SANDBOX, readOnly: true })).stdout;
    assert.match(chain, /tcp dport 22 accept/);
    assert.match(chain, /icmp type echo-request icmp code .* accept/);
    assert.doesNotMatch(chain, /dport 80/, 'IPv6 rules are not applied to IPv4');
    const set = (await run.run(['nft', 'list', 'set', 'inet', `${PREFIX}_sg`, `g_${driver.names.key(g)}_v4`], { netns: SANDBOX, readOnly: true })).stdout;
    assert.match(set, /10\.0\.0\.0\/28/);
    assert.match(set, /10\.0\.0\.77/);
    assert.doesNotMatch(set, /10\.0\.0\.5[,\s]/, 'a member inside another member’s CIDR is covered by it');
    assert.equal((await driver.removeSecurityGroup(g)).changed, true);
    assert.equal((await driver.removeSecurityGroup(g)).changed, false);
  });
});
