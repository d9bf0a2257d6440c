import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HostNames } from '../../src/host/network/names.js';
import { TestCloud } from '../helpers/cloud.js';
import { killByPidFiles } from '../helpers/sandbox.js';
import { pingFrom, run, startGreeter, tcpHello, TestMachine, tryRun, writeDhcpScript, type Lease } from '../integration/host-network-machines.js';

/**
 * Issue #5's acceptance through the daemon: a Stacklet in sandbox mode, the
 * topology made with Debian's `openstack` CLI, test machines as namespaces
 * plugged in as their ports' devices. Beyond network-dataplane.test.ts:
 * machines reach each other and the host through SNAT; two projects with
 * the same 10.0.0.0/24 stay apart; spoofed addresses and MACs get nothing
 * through until allowed_address_pairs says so; metadata through the
 * router; drift (a router namespace, an nft table, a leaked tap) repaired
 * by the periodic resync; a reboot (every namespace, link, table and
 * dnsmasq gone) repaired by the next `stacklet up` alone; and a restart on
 * an untouched host that changes nothing. Every name carries `sld`.
 */

const PREFIX = 'sld';
const SANDBOX = `sld-sbx-${process.pid}`;
const M1 = `sld-m1-${process.pid}`;
const M2 = `sld-m2-${process.pid}`;
const M3 = `sld-m3-${process.pid}`;
const names = new HostNames(PREFIX);
const RESYNC_SECONDS = 3;
const LEAKED_TAP = `${PREFIX}t-deadbeef00`;

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** An HTTP GET from inside a namespace (Node there, as a guest's curl): status and body, or null when nothing answered. */
async function httpGetFrom(netns: string, url: string): Promise<{ status: number; body: string } | null> {
  const code = `require('http').get(process.argv[1],{timeout:4000},r=>{let b='';r.on('data',d=>b+=d);r.on('end',()=>{console.log(JSON.stringify({status:r.statusCode,body:b}))})}).on('error',()=>process.exit(2)).on('timeout',function(){this.destroy()})`;
  const r = await tryRun([process.execPath, '-e', code, url], netns, 15_000);
  if (r.code !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim()) as { status: number; body: string };
  } catch {
    return null;
  }
}

async function sh(argv: string[], netns?: string): Promise<string> {
  return (await run.run(argv, { netns: netns ?? null, readOnly: true })).stdout;
}

async function namespacesOfCloud(): Promise<string[]> {
  return (await sh(['ip', 'netns', 'list']))
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(`${PREFIX}-qr-`) || n.startsWith(`${PREFIX}-qd-`))
    .sort();
}

/** What "no flap, no rule rewrite" compares: every table's rules and every link's index, in the sandbox and the cloud's namespaces. */
async function hostSnapshot(): Promise<Record<string, { ruleset: string; links: string[] }>> {
  const out: Record<string, { ruleset: string; links: string[] }> = {};
  for (const ns of [SANDBOX, ...(await namespacesOfCloud())]) {
    const links = (JSON.parse(await sh(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifindex: number; ifname: string; address?: string; flags: string[] }[])
      .map((l) => `${l.ifindex} ${l.ifname} ${l.address ?? ''} ${l.flags.join(',')}`)
      .sort();
    out[ns] = { ruleset: await sh(['nft', 'list', 'ruleset'], ns), links };
  }
  return out;
}

interface PassLine {
  pass: string;
  hostChanges: number;
  changedBy?: string[];
}

/** The daemon's "data plane pass done" lines written after byte `from` of its log. */
function passesSince(logFile: string, from: number): PassLine[] {
  if (!existsSync(logFile)) return [];
  const text = readFileSync(logFile).subarray(from).toString('utf8');
  const out: PassLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('data plane pass done')) continue;
    try {
      out.push(JSON.parse(line) as PassLine);
    } catch {
      // a line cut by a concurrent write
    }
  }
  return out;
}

function logSize(logFile: string): number {
  return existsSync(logFile) ? readFileSync(logFile).length : 0;
}

describe('network data plane: isolation, spoofing, drift, reboot and restart through the daemon (sandbox)', { timeout: 1_200_000 }, () => {
  let cloud: TestCloud;
  const work = mkdtempSync(join(tmpdir(), 'sld-'));
  const greeters: ChildProcess[] = [];
  const machines = new Map<string, { port: { id: string; mac: string; ip: string }; machine?: TestMachine }>();
  const demo = { cloud: 'stacklet' };
  let script = '';
  let r1 = '';
  let r1External = '';
  let fip1 = '';
  let fip3 = '';

  async function plug(netns: string): Promise<Lease> {
    const m = machines.get(netns);
    assert.ok(m, `no port for ${netns}`);
    m.machine = await TestMachine.create(netns, SANDBOX, names.tap(m.port.id), m.port.mac);
    let lease: Lease | undefined;
    // The daemon enslaves a machine's device on its next pass over the port (an event or the resync).
    for (let i = 0; i < 20 && !lease; i++) lease = await m.machine.dhcp(script, work).catch(() => undefined);
    assert.ok(lease, `no DHCP lease for ${netns}`);
    return lease;
  }

  async function greet(netns: string, host: string, port: number, greeting: string): Promise<void> {
    greeters.push(await startGreeter(netns, host, port, greeting));
  }

  function stopGreeters(): void {
    for (const g of greeters.splice(0)) g.kill('SIGKILL');
  }

  /** Everything the acceptance asks of a working topology, checked from the machines and the sandbox host. */
  async function assertWorks(when: string): Promise<void> {
    const ip = (n: string): string => machines.get(n)?.port.ip ?? '';
    await until(`${when}: ping to the floating IP of m1`, () => pingFrom(SANDBOX, fip1));
    await until(`${when}: tcp/22 on m1's floating IP`, async () => ((await tcpHello(SANDBOX, fip1, 22)) ?? '').startsWith('m1 '));
    await until(`${when}: tcp/22 on m3's floating IP (the other project)`, async () => ((await tcpHello(SANDBOX, fip3, 22)) ?? '').startsWith('m3 '));
    assert.equal(await tcpHello(SANDBOX, fip1, 23), null, `${when}: tcp/23 is not allowed by any rule`);
    await until(`${when}: m1 pings m2`, () => pingFrom(M1, ip(M2)));
    await until(`${when}: m2 pings m1`, () => pingFrom(M2, ip(M1)));
    // The host saw m2 come from the router's external address (SNAT).
    await until(`${when}: m2 reaches the host through SNAT`, async () => (await tcpHello(M2, '172.24.4.1', 8080)) === `host ${r1External}`);
    // Metadata through the router: the proxy answers, and for a port no server owns it is a plain 404, never another port's data.
    await until(`${when}: metadata through the router`, async () => (await httpGetFrom(M1, 'http://169.254.169.254/openstack/latest/meta_data.json'))?.status === 404);
  }

  before(async () => {
    cloud = await TestCloud.start({ args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_RESYNC_SECONDS: String(RESYNC_SECONDS) } });
    script = await writeDhcpScript(work);
    const admin = { cloud: 'stacklet-admin' };
    await cloud.os(['network', 'create', 'public', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'public'], admin);
    await cloud.os(
      ['subnet', 'create', '--network', 'public', '--subnet-range', '172.24.4.0/24', '--gateway', '172.24.4.1', '--allocation-pool', 'start=172.24.4.130,end=172.24.4.160', '--no-dhcp', 'public-subnet'],
      admin,
    );
    await cloud.os(['network', 'create', 'private'], demo);
    await cloud.os(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], demo);
    r1 = (await cloud.osJson<{ id: string }>(['router', 'create', 'r1'], demo)).id;
    await cloud.os(['router', 'set', 'r1', '--external-gateway', 'public'], demo);
    await cloud.os(['router', 'add', 'subnet', 'r1', 'private-subnet'], demo);
    const gw = await cloud.osJson<{ external_gateway_info: { external_fixed_ips: { ip_address: string }[] } }>(['router', 'show', 'r1'], demo);
    r1External = gw.external_gateway_info.external_fixed_ips[0]?.ip_address ?? '';
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'default'], demo);
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default'], demo);

    const port = async (name: string, network: string, project: string, extra: string[] = []) => {
      const p = await cloud.osJson<{ id: string; mac_address: string; fixed_ips: { ip_address: string }[] }>(
        ['port', 'create', '--network', network, '--project', project, '--device-owner', 'test:machine', '--host', 'host1', ...extra, name],
        admin,
      );
      return { id: p.id, mac: p.mac_address, ip: p.fixed_ips[0]?.ip_address ?? '' };
    };
    machines.set(M1, { port: await port('p1', 'private', 'demo') });
    machines.set(M2, { port: await port('p2', 'private', 'demo') });
    fip1 = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', '--project', 'demo', '--port', 'p1', 'public'], admin)).floating_ip_address;

    // A second project with its own user, and the same 10.0.0.0/24 behind its own router.
    const password = 'p2-secret-password';
    await cloud.os(['project', 'create', '--domain', 'default', 'sldp2'], admin);
    await cloud.os(['user', 'create', '--domain', 'default', '--password', password, '--project', 'sldp2', 'sldu2'], admin);
    await cloud.os(['role', 'add', '--project', 'sldp2', '--user', 'sldu2', 'member'], admin);
    // Plain OS_* variables, as an openrc gives them (a clouds.yaml entry's auth would win over --os-* flags).
    const as2 = {
      env: {
        OS_CLOUD: '',
        OS_AUTH_URL: `${cloud.baseUrl}/identity`,
        OS_IDENTITY_API_VERSION: '3',
        OS_USERNAME: 'sldu2',
        OS_PASSWORD: password,
        OS_PROJECT_NAME: 'sldp2',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
      },
    };
    const os2 = (args: string[]) => cloud.osJson<{ id: string }>(args, as2);
    const net2 = await os2(['network', 'create', 'private']);
    const sub2 = await os2(['subnet', 'create', '--network', net2.id, '--subnet-range', '10.0.0.0/24', 'private-subnet']);
    await os2(['router', 'create', 'r2']);
    await cloud.os(['router', 'set', 'r2', '--external-gateway', 'public'], as2);
    await cloud.os(['router', 'add', 'subnet', 'r2', sub2.id], as2);
    await os2(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'default']);
    await os2(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default']);
    // The very address m1 has in the other project.
    const m1ip = machines.get(M1)?.port.ip ?? '';
    machines.set(M3, { port: await port('p3', net2.id, 'sldp2', ['--fixed-ip', `subnet=${sub2.id},ip-address=${m1ip}`]) });
    fip3 = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', '--project', 'sldp2', '--port', 'p3', 'public'], admin)).floating_ip_address;
  });

  after(async () => {
    stopGreeters();
    await cloud?.down();
    if (cloud) killByPidFiles(join(cloud.dataDir, 'network', 'dhcp'), 'dnsmasq.pid');
    for (const ns of (await sh(['ip', 'netns', 'list'])).split('\n').map((l) => l.split(' ')[0] ?? '')) {
      if (ns.startsWith(`${PREFIX}-`)) await run.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    }
    await cloud?.stop();
    rmSync(work, { recursive: true, force: true });
    const left = (await sh(['ip', 'netns', 'list'])).split('\n').filter((l) => l.startsWith(`${PREFIX}-`));
    assert.deepEqual(left, [], 'namespaces left behind');
    const rootLinks = (await sh(['ip', '-o', 'link', 'show'])).split('\n').filter((l) => new RegExp(`^\\d+: ${PREFIX}`).test(l));
    assert.deepEqual(rootLinks, [], 'links left in the root namespace');
  });

  test('machines get their leases, reach each other, the host through SNAT, their floating IPs and metadata; two projects share 10.0.0.0/24', async () => {
    for (const [ns, m] of machines) {
      const lease = await plug(ns);
      assert.equal(lease.ip, m.port.ip, `${ns}'s lease`);
      assert.equal(lease.router, '10.0.0.1');
      assert.ok(lease.dns, `${ns}: no DNS server in the lease`);
    }
    assert.equal(machines.get(M1)?.port.ip, machines.get(M3)?.port.ip, 'm1 and m3 hold the same address in two projects');
    await greet(M1, '0.0.0.0', 22, 'm1');
    await greet(M1, '0.0.0.0', 23, 'm1-23');
    await greet(M3, '0.0.0.0', 22, 'm3');
    await greet(SANDBOX, '172.24.4.1', 8080, 'host');
    await assertWorks('first start');
    // Isolation: m3's network has only m3 and its router; m2's address is nobody there.
    assert.equal(await pingFrom(M3, machines.get(M2)?.port.ip ?? '', { timeoutS: 1 }), false, 'm3 reached an address of the other project');
    await until('m3 pings its own router', () => pingFrom(M3, '10.0.0.1'));
  });

  test('spoofing: another IP or MAC gets nothing through; allowed_address_pairs lets a VIP through, and taking it away closes again', async () => {
    const m1ip = machines.get(M1)?.port.ip ?? '';
    const vip = '10.0.0.200';
    const fromVip = () => tryRun(['busybox', 'ping', '-c', '1', '-W', '1', '-I', vip, m1ip], M2).then((r) => r.code === 0);
    await run.run(['ip', '-n', M2, 'addr', 'add', `${vip}/24`, 'dev', 'eth0']);
    for (let i = 0; i < 3; i++) assert.equal(await fromVip(), false, 'a spoofed source address got through');
    await cloud.os(['port', 'set', '--allowed-address', `ip-address=${vip}`, 'p2']);
    await until('the VIP allowed by allowed_address_pairs', fromVip, 20_000);
    await cloud.os(['port', 'set', '--no-allowed-address', 'p2']);
    await until('the VIP to be refused again', async () => !(await fromVip()), 20_000);
    await run.run(['ip', '-n', M2, 'addr', 'del', `${vip}/24`, 'dev', 'eth0']);

    const mac = machines.get(M2)?.port.mac ?? '';
    await run.run(['ip', '-n', M2, 'link', 'set', 'dev', 'eth0', 'address', 'fa:16:3e:de:ad:01']);
    for (let i = 0; i < 3; i++) assert.equal(await pingFrom(M2, m1ip), false, 'a spoofed MAC got through');
    await run.run(['ip', '-n', M2, 'link', 'set', 'dev', 'eth0', 'address', mac]);
    await until('m2 with its own MAC again', () => pingFrom(M2, m1ip), 20_000);
  });

  test('drift: a deleted router namespace and a deleted nft table come back with the resync; a leaked tap goes', async () => {
    const ns = names.routerNetns(r1);
    await run.run(['ip', 'netns', 'del', ns]);
    assert.equal((await namespacesOfCloud()).includes(ns), false);
    await until('the router namespace to come back', async () => (await namespacesOfCloud()).includes(ns), 60_000);
    await assertWorks('after the router namespace was deleted');

    await run.run(['nft', 'delete', 'table', 'inet', `${PREFIX}_sg`], { netns: SANDBOX });
    await until(
      'the security group table to come back with the ports and groups',
      async () => {
        const r = await tryRun(['nft', 'list', 'table', 'inet', `${PREFIX}_sg`], SANDBOX);
        return r.code === 0 && r.stdout.includes(`p_${names.key(machines.get(M1)?.port.id ?? '')}_i`) && r.stdout.includes('tcp dport 22');
      },
      60_000,
    );
    await assertWorks('after the filtering table was deleted');

    await run.run(['ip', '-n', SANDBOX, 'tuntap', 'add', 'dev', LEAKED_TAP, 'mode', 'tap']);
    await until('the leaked tap to be collected', async () => (await tryRun(['ip', 'link', 'show', 'dev', LEAKED_TAP], SANDBOX)).code !== 0, 60_000);
  });

  test('reboot: with every namespace, link, table and dnsmasq gone, the next stacklet up alone brings it all back', async () => {
    stopGreeters();
    await cloud.down();
    // What a reboot does: processes gone, every namespace (the sandbox's links and tables with it) gone.
    killByPidFiles(join(cloud.dataDir, 'network', 'dhcp'), 'dnsmasq.pid');
    for (const ns of [...(await namespacesOfCloud()), M1, M2, M3, SANDBOX]) await run.run(['ip', 'netns', 'del', ns]).catch(() => undefined);
    assert.deepEqual(await namespacesOfCloud(), []);
    const from = logSize(cloud.logFile);
    await cloud.up();
    const startup = passesSince(cloud.logFile, from).find((p) => p.pass === 'startup');
    assert.ok(startup && startup.hostChanges > 0, 'the start-up pass rebuilt nothing after a reboot');
    // The machines come back as guests would, and ask for their leases again.
    for (const [ns, m] of machines) {
      const lease = await plug(ns);
      assert.equal(lease.ip, m.port.ip, `${ns}'s lease after the reboot`);
    }
    await greet(M1, '0.0.0.0', 22, 'm1');
    await greet(M1, '0.0.0.0', 23, 'm1-23');
    await greet(M3, '0.0.0.0', 22, 'm3');
    await greet(SANDBOX, '172.24.4.1', 8080, 'host');
    await assertWorks('after the reboot');
  });

  test('a second stacklet up on an untouched host changes nothing: no host command, same rules, same links', async () => {
    // Let the resyncs after the reboot settle the machines' devices first.
    await until('a resync that changed nothing', async () => passesSince(cloud.logFile, 0).slice(-1)[0]?.hostChanges === 0, 60_000);
    await cloud.down();
    const before = await hostSnapshot();
    const from = logSize(cloud.logFile);
    await cloud.up();
    await until('two resyncs after the restart', async () => passesSince(cloud.logFile, from).filter((p) => p.pass === 'resync').length >= 2, 60_000);
    const passes = passesSince(cloud.logFile, from);
    const startup = passes.find((p) => p.pass === 'startup');
    assert.ok(startup, 'no start-up pass line in the log');
    assert.equal(startup.hostChanges, 0, `the start-up pass changed the host: ${JSON.stringify(startup.changedBy)}`);
    for (const p of passes) assert.equal(p.hostChanges, 0, `a ${p.pass} pass changed the host: ${JSON.stringify(p.changedBy)}`);
    assert.deepEqual(await hostSnapshot(), before, 'rules or links changed across the restart');
    await assertWorks('after the second start');
  });
});
