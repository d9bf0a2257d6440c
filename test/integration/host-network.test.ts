import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnExec, type ExecEvent } from '../../src/host/exec.js';
import type { DhcpSpec, PortSpec, RouterSpec, SecurityGroupRuleSpec, SecurityGroupSpec } from '../../src/host/network/driver.js';
import { LinuxNetworkDriver, type LinuxNetworkDriverOptions } from '../../src/host/network/linux/driver.js';
import { run, pingFrom, startGreeter, tcpHello, TestMachine, tryRun, writeDhcpScript, type Lease } from './host-network-machines.js';

/**
 * The Linux network driver on the real kernel, inside a sandbox namespace
 * this test makes (prefix slh): DHCP, security groups, port security,
 * router with SNAT and a floating IP, metadata, idempotence, and recovery
 * after a wipe. Every packet starts in a namespace made here.
 */

const PREFIX = 'slh';
const SANDBOX = `slh-sbx-${process.pid}`;
const M1_NS = `slh-m1-${process.pid}`;
const M2_NS = `slh-m2-${process.pid}`;

const EXT = randomUUID();
const NET = randomUUID();
const SG = randomUUID();
const ROUTER = randomUUID();
const P1 = randomUUID();
const P2 = randomUUID();
const PDHCP = randomUUID();
const PRI = randomUUID();
const PGW = randomUUID();

const MAC1 = '02:00:0a:00:00:0b';
const MAC2 = '02:00:0a:00:00:0c';
const IP1 = '10.0.0.11';
const IP2 = '10.0.0.12';
const VIP = '10.0.0.100';
const FIP = '172.24.4.20';
const GW_EXT = '172.24.4.10';

function rule(id: string, direction: 'ingress' | 'egress', extra: Partial<SecurityGroupRuleSpec> = {}): SecurityGroupRuleSpec {
  return { id, direction, ethertype: 'IPv4', protocol: null, portRangeMin: null, portRangeMax: null, remoteIpPrefix: null, remoteGroupId: null, ...extra };
}

const EGRESS_ALL = rule('r0-egress', 'egress');
const FROM_GROUP = rule('r1-group', 'ingress', { remoteGroupId: SG });
const ICMP_IN = rule('r2-icmp', 'ingress', { protocol: 'icmp', remoteIpPrefix: '0.0.0.0/0' });
const SSH_IN = rule('r3-ssh', 'ingress', { protocol: 'tcp', portRangeMin: 22, portRangeMax: 22, remoteIpPrefix: '172.24.4.0/24' });

describe('host network: Linux driver in a sandbox namespace', { timeout: 300_000 }, () => {
  const events: ExecEvent[] = [];
  const exec = new SpawnExec((e) => events.push(e));
  let dir = '';
  let driver: LinuxNetworkDriver;
  let driverOptions: LinuxNetworkDriverOptions;
  let metadataServer: Server;
  let dhcpScript = '';
  let m1: TestMachine;
  let m2: TestMachine;
  const children: ChildProcess[] = [];

  const ports = (): PortSpec[] => [
    { portId: P1, networkId: NET, mac: MAC1, fixedIps: [IP1], portSecurity: true, securityGroupIds: [SG], allowedAddressPairs: pairs, mtu: 1450, plug: 'external' },
    { portId: P2, networkId: NET, mac: MAC2, fixedIps: [IP2], portSecurity: true, securityGroupIds: [SG], allowedAddressPairs: [], mtu: 1450, plug: 'external' },
  ];
  let pairs: { ipAddress: string }[] = [];
  let rules: SecurityGroupRuleSpec[] = [EGRESS_ALL];
  const group = (): SecurityGroupSpec => ({ groupId: SG, rules, memberIps: [IP1, IP2, ...pairs.map((p) => p.ipAddress)] });
  const dhcp: DhcpSpec = {
    networkId: NET,
    port: { portId: PDHCP, networkId: NET, mac: '02:00:0a:00:00:02', cidrs: ['10.0.0.2/24'] },
    subnets: [{ subnetId: randomUUID(), cidr: '10.0.0.0/24', gatewayIp: '10.0.0.1', dnsNameservers: [], hostRoutes: [] }],
    hosts: [
      { mac: MAC1, ip: IP1, hostname: 'vm-one' },
      { mac: MAC2, ip: IP2, hostname: 'vm-two' },
    ],
    domain: 'openstacklocal',
    mtu: 1450,
    metadata: false,
  };
  const router = (): RouterSpec => ({
    routerId: ROUTER,
    mtu: 1450,
    gateway: { portId: PGW, networkId: EXT, mac: '02:00:ac:18:04:0a', cidrs: [`${GW_EXT}/24`], gatewayIp: '172.24.4.1', mtu: 1500 },
    interfaces: [{ portId: PRI, networkId: NET, mac: '02:00:0a:00:00:01', cidrs: ['10.0.0.1/24'], mtu: 1450 }],
    snat: true,
    floatingIps: [{ floatingIp: FIP, fixedIp: IP1 }],
    routes: [
      { destination: '192.168.77.0/24', nexthop: '10.0.0.254' },
      { destination: '192.168.78.5', nexthop: '10.0.0.254' },
    ],
    metadata: true,
  });

  /** Every ensure the reconciler would run for this topology; returns how many said they changed something. */
  async function ensureAll(): Promise<number> {
    const results = [
      await driver.ensureHost(),
      await driver.ensureNetwork({ networkId: EXT, mtu: 1500, hostAddresses: ['172.24.4.1/24'] }),
      await driver.ensureNetwork({ networkId: NET, mtu: 1450 }),
      await driver.ensureSecurityGroup(group()),
    ];
    for (const p of ports()) results.push(await driver.ensurePort(p));
    results.push(await driver.ensureDhcp(dhcp));
    results.push(await driver.ensureRouter(router()));
    return results.filter((r) => r.changed).length;
  }

  async function snapshot(): Promise<string> {
    const parts: string[] = [];
    for (const ns of [SANDBOX, driver.names.routerNetns(ROUTER), driver.names.dhcpNetns(NET)]) {
      parts.push((await run.run(['nft', '-j', 'list', 'ruleset'], { netns: ns, readOnly: true })).stdout);
      for (const what of [['link', 'show'], ['addr', 'show'], ['route', 'show']]) {
        parts.push((await run.run(['ip', '-n', ns, '-j', ...what], { readOnly: true })).stdout);
      }
    }
    return parts.join('\n');
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'slh-net-'));
    dhcpScript = await writeDhcpScript(dir);
    const socketPath = join(dir, 'metadata.sock');
    // Stands in for Stacklet's metadata API: answers with the headers the proxy added.
    metadataServer = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, forwardedFor: req.headers['x-forwarded-for'], routerId: req.headers['x-stacklet-router-id'], networkId: req.headers['x-stacklet-network-id'] }));
    });
    await new Promise<void>((r) => metadataServer.listen(socketPath, r));
    driverOptions = { prefix: PREFIX, sandbox: SANDBOX, stateDir: join(dir, 'state'), metadataUpstream: { socketPath }, exec, leaseSeconds: 600 };
    driver = new LinuxNetworkDriver(driverOptions);
    await driver.ensureHost();
    m1 = await TestMachine.create(M1_NS, SANDBOX, driver.names.tap(P1), MAC1);
    m2 = await TestMachine.create(M2_NS, SANDBOX, driver.names.tap(P2), MAC2);
  });

  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    await driver?.teardown({ sandbox: true });
    for (const ns of [M1_NS, M2_NS]) await tryRun(['ip', 'netns', 'del', ns], '', 5_000).catch(() => undefined);
    await new Promise<void>((r) => (metadataServer ? metadataServer.close(() => r()) : r()));
    if (dir) await rm(dir, { recursive: true, force: true });
    // Nothing with the test prefix may remain: no namespace, no link in the machine's own namespace.
    const ours = new Set([SANDBOX, M1_NS, M2_NS, `${PREFIX}-qr-${ROUTER}`, `${PREFIX}-qd-${NET}`]);
    const left = (await run.run(['ip', 'netns', 'list'], { readOnly: true })).stdout.split('\n').filter((l) => ours.has(l.split(' ')[0] ?? ''));
    assert.deepEqual(left, [], `namespaces left behind: ${left.join(', ')}`);
    const links = (await run.run(['ip', '-o', 'link', 'show'], { readOnly: true })).stdout.split('\n').filter((l) => /^\d+: slh/.test(l));
    assert.deepEqual(links, [], 'links left in the root namespace');
  });

  test('builds the topology and hands out DHCP leases with address, gateway, DNS and MTU', async () => {
    await ensureAll();
    const leases: Lease[] = [await m1.dhcp(dhcpScript, dir), await m2.dhcp(dhcpScript, dir)];
    assert.equal(leases[0]?.ip, IP1);
    assert.equal(leases[1]?.ip, IP2);
    for (const l of leases) {
      assert.equal(l.mask, '24');
      assert.equal(l.router, '10.0.0.1');
      assert.equal(l.dns, '10.0.0.2');
      assert.equal(l.mtu, '1450');
      assert.equal(l.domain, 'openstacklocal');
    }
    const routes = (await run.run(['ip', '-n', driver.names.routerNetns(ROUTER), 'route', 'show'], { readOnly: true })).stdout;
    assert.match(routes, /^default via 172\.24\.4\.1 /m);
    assert.match(routes, /^192\.168\.77\.0\/24 via 10\.0\.0\.254 /m);
    assert.match(routes, /^192\.168\.78\.5 via 10\.0\.0\.254 /m);
    const leaseFile = await readFile(join(dir, 'state', 'dhcp', NET, 'leases'), 'utf8');
    assert.match(leaseFile, new RegExp(`${MAC1} ${IP1.replaceAll('.', '\\.')} vm-one`));
  });

  test('machines reach each other only once a remote-group rule allows it', async () => {
    assert.equal(await m1.ping(IP2), false, 'no ingress rule yet: ping must fail');
    rules = [EGRESS_ALL, FROM_GROUP];
    await driver.ensureSecurityGroup(group());
    assert.equal(await m1.ping(IP2), true);
    assert.equal(await m2.ping(IP1), true);
  });

  test('the sandbox host reaches the floating IP only after an ICMP ingress rule', async () => {
    assert.equal(await pingFrom(SANDBOX, FIP), false);
    rules = [EGRESS_ALL, FROM_GROUP, ICMP_IN];
    await driver.ensureSecurityGroup(group());
    assert.equal(await pingFrom(SANDBOX, FIP), true);
  });

  test('TCP 22 only after a tcp/22 rule; removing it stops new connections within 1 s', async () => {
    children.push(await startGreeter(M1_NS, '0.0.0.0', 22, 'ssh-ok'));
    assert.equal(await tcpHello(SANDBOX, FIP, 22), null);
    rules = [EGRESS_ALL, FROM_GROUP, ICMP_IN, SSH_IN];
    await driver.ensureSecurityGroup(group());
    assert.equal(await tcpHello(SANDBOX, FIP, 22), `ssh-ok 172.24.4.1`);
    rules = [EGRESS_ALL, FROM_GROUP, ICMP_IN];
    const t0 = performance.now();
    await driver.ensureSecurityGroup(group());
    const applied = performance.now() - t0;
    assert.ok(applied < 1000, `rule removal took ${applied} ms`);
    assert.equal(await tcpHello(SANDBOX, FIP, 22), null);
  });

  test('a machine without a floating IP reaches the sandbox host with the router external address as source', async () => {
    children.push(await startGreeter(SANDBOX, '172.24.4.1', 8080, 'host'));
    assert.equal(await tcpHello(M2_NS, '172.24.4.1', 8080, 2), `host ${GW_EXT}`);
    assert.equal(await tcpHello(M1_NS, '172.24.4.1', 8080, 2), `host ${FIP}`, 'a machine with a floating IP leaves with it');
  });

  test('metadata: the proxy in the router namespace says which router and address asked, and drops forged headers', async () => {
    const out = await m1.exec(['busybox', 'wget', '-q', '-O', '-', '--header', `X-Stacklet-Router-Id: ${randomUUID()}`, '--header', 'X-Forwarded-For: 10.0.0.12', 'http://169.254.169.254/openstack/latest/meta_data.json']);
    const seen = JSON.parse(out) as { path: string; forwardedFor: string; routerId: string };
    assert.deepEqual(seen, { path: '/openstack/latest/meta_data.json', forwardedFor: IP1, routerId: ROUTER });
    const outside = await tryRun(['busybox', 'wget', '-q', '-T', '2', '-O', '-', `http://${GW_EXT}/`], SANDBOX);
    assert.notEqual(outside.code, 0, 'the router accepts no connection from the external network');
  });

  test('spoofing: a changed IP or MAC gets nothing through; an allowed address pair lets a VIP through', async () => {
    assert.equal(await m1.ping(IP2), true);
    // Static neighbours on both sides, so the check is on the IP packets themselves, not only ARP.
    await m1.exec(['ip', 'neigh', 'replace', IP2, 'lladdr', MAC2, 'dev', 'eth0']);
    await m2.exec(['ip', 'neigh', 'replace', '10.0.0.50', 'lladdr', MAC1, 'dev', 'eth0']);
    await m1.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
    await m1.exec(['ip', 'addr', 'add', '10.0.0.50/24', 'dev', 'eth0']);
    assert.equal(await m1.ping(IP2), false, 'spoofed source IP must not pass');
    await m1.exec(['ip', 'addr', 'flush', 'dev', 'eth0']);
    await m1.exec(['ip', 'addr', 'add', `${IP1}/24`, 'dev', 'eth0']);
    await m1.exec(['ip', 'route', 'replace', 'default', 'via', '10.0.0.1']);
    await m1.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(await m1.ping(IP2), true);
    await m1.exec(['ip', 'link', 'set', 'dev', 'eth0', 'address', '02:00:0a:00:00:99']);
    await m2.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(await m1.ping(IP2), false, 'spoofed MAC must not pass');
    await m1.exec(['ip', 'link', 'set', 'dev', 'eth0', 'address', MAC1]);
    await m2.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(await m1.ping(IP2, { count: 2 }), true);

    await m1.exec(['ip', 'addr', 'add', `${VIP}/24`, 'dev', 'eth0']);
    assert.equal(await m2.ping(VIP), false, 'a VIP not in allowed_address_pairs must not answer');
    pairs = [{ ipAddress: VIP }];
    await driver.ensureSecurityGroup(group());
    const p1 = ports()[0];
    assert.ok(p1);
    await driver.ensurePort(p1);
    await m2.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(await m2.ping(VIP, { count: 2 }), true);
  });

  test('idempotence: ensuring everything again changes nothing, on the host or in the kernel', async () => {
    const before = await snapshot();
    const mark = events.length;
    const changed = await ensureAll();
    const mutating = events.slice(mark).filter((e) => !e.readOnly);
    assert.equal(changed, 0, 'an ensure said it changed something');
    assert.deepEqual(mutating.map((e) => e.argv.join(' ')), []);
    // A fresh read of the tables (periodic resync) also finds nothing to do.
    await driver.refresh();
    assert.equal(await ensureAll(), 0);
    assert.equal(await snapshot(), before);
  });

  test('after a Stacklet restart, a new driver finds everything in place (dnsmasq by its pid file) and changes nothing on the host', async () => {
    const pidFile = join(dir, 'state', 'dhcp', NET, 'dnsmasq.pid');
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    // The old process's in-process metadata listeners go with it.
    await driver.close();
    driver = new LinuxNetworkDriver(driverOptions);
    const before = await snapshot();
    const mark = events.length;
    await ensureAll();
    assert.deepEqual(events.slice(mark).filter((e) => !e.readOnly).map((e) => e.argv.join(' ')), []);
    assert.equal(Number((await readFile(pidFile, 'utf8')).trim()), pid, 'the same dnsmasq, found again');
    assert.equal(await snapshot(), before);
    const md = JSON.parse(await m1.exec(['busybox', 'wget', '-q', '-O', '-', 'http://169.254.169.254/'])) as { routerId: string };
    assert.equal(md.routerId, ROUTER, 'the new process serves metadata again');
  });

  test('a wiped host (namespaces, tables, bridges, dnsmasq gone) comes back with one pass of ensures', async () => {
    const pid = Number((await readFile(join(dir, 'state', 'dhcp', NET, 'dnsmasq.pid'), 'utf8')).trim());
    process.kill(pid, 'SIGKILL');
    for (const ns of [driver.names.routerNetns(ROUTER), driver.names.dhcpNetns(NET)]) await run.run(['ip', 'netns', 'del', ns]);
    await run.run(['nft', 'flush', 'ruleset'], { netns: SANDBOX });
    for (const b of [driver.names.bridge(NET), driver.names.bridge(EXT)]) await run.run(['ip', '-n', SANDBOX, 'link', 'del', b]);
    assert.equal(await m1.ping(IP2), false);

    assert.ok((await ensureAll()) > 0);
    assert.equal(await ensureAll(), 0, 'the second pass after a wipe changes nothing');
    await m2.exec(['ip', 'neigh', 'flush', 'dev', 'eth0']);
    assert.equal(await m1.ping(IP2, { count: 3 }), true);
    assert.equal(await pingFrom(SANDBOX, FIP, { count: 3 }), true);
    assert.equal(await tcpHello(M2_NS, '172.24.4.1', 8080, 2), `host ${GW_EXT}`);
    const lease = await m2.dhcp(dhcpScript, dir);
    assert.equal(lease.ip, IP2);
    const md = JSON.parse(await m2.exec(['busybox', 'wget', '-q', '-O', '-', 'http://169.254.169.254/latest/meta-data/'])) as { routerId: string; forwardedFor: string };
    assert.deepEqual([md.routerId, md.forwardedFor], [ROUTER, IP2]);
  });

  test('inventory lists what carries the prefix; removing a router and DHCP leaves no namespace or leg', async () => {
    const inv = await driver.inventory();
    assert.deepEqual(inv.routers, [ROUTER]);
    assert.deepEqual(inv.dhcp, [NET]);
    assert.deepEqual(inv.bridges.sort(), [driver.names.key(EXT), driver.names.key(NET)].sort());
    assert.deepEqual(inv.taps.sort(), [driver.names.key(P1), driver.names.key(P2)].sort());
    assert.deepEqual(inv.filteredPorts.sort(), [driver.names.key(P1), driver.names.key(P2)].sort());
    assert.deepEqual(inv.securityGroups, [driver.names.key(SG)]);
    assert.equal((await driver.removeRouter(ROUTER)).changed, true);
    assert.equal((await driver.removeDhcp(NET)).changed, true);
    assert.equal((await driver.removeRouter(ROUTER)).changed, false, 'already gone is success');
    const after = await driver.inventory();
    assert.deepEqual([after.routers, after.dhcp, after.legs], [[], [], []]);
  });
});
