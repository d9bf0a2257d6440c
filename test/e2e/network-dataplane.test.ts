import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HostNames } from '../../src/host/network/names.js';
import { TestCloud } from '../helpers/cloud.js';
import { tearDownSandboxCloud } from '../helpers/sandbox.js';
import { pingFrom, run, startGreeter, tcpHello, TestMachine, writeDhcpScript } from '../integration/host-network-machines.js';

/**
 * The whole path, as a user drives it: a Stacklet in sandbox mode, the
 * topology made with Debian's `openstack` CLI, the daemon's reconcilers
 * realizing it, and a test machine (a namespace plugged in as the port's
 * device) that gets its lease by DHCP and is reached on its floating IP
 * exactly when the security group says so. Every packet starts inside a
 * namespace this test made; every name carries the prefix `sle`.
 */

const PREFIX = 'sle';
const SANDBOX = `sle-sbx-${process.pid}`;
const MACHINE = `sle-m1-${process.pid}`;
const names = new HostNames(PREFIX);

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('network data plane through the daemon and the openstack CLI (sandbox)', { timeout: 300_000 }, () => {
  let cloud: TestCloud;
  let machine: TestMachine | undefined;
  let greeter: ChildProcess | undefined;
  const work = mkdtempSync(join(tmpdir(), 'sle-'));
  let fip = '';
  let fixedIp = '';

  before(async () => {
    cloud = await TestCloud.start({ args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX] });
    const admin = { cloud: 'stacklet-admin' };
    const demo = { cloud: 'stacklet' };
    await cloud.os(['network', 'create', 'public', '--external', '--provider-network-type', 'flat', '--provider-physical-network', 'public'], admin);
    await cloud.os(
      ['subnet', 'create', '--network', 'public', '--subnet-range', '172.24.4.0/24', '--gateway', '172.24.4.1', '--allocation-pool', 'start=172.24.4.130,end=172.24.4.138', '--no-dhcp', 'public-subnet'],
      admin,
    );
    await cloud.os(['network', 'create', 'private'], demo);
    await cloud.os(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], demo);
    await cloud.os(['router', 'create', 'r1'], demo);
    await cloud.os(['router', 'set', 'r1', '--external-gateway', 'public'], demo);
    await cloud.os(['router', 'add', 'subnet', 'r1', 'private-subnet'], demo);
    // A port bound to a host, owned by a "machine": the data plane plugs the device named by its binding.
    const port = await cloud.osJson<{ id: string; mac_address: string; fixed_ips: { ip_address: string }[] }>(
      ['port', 'create', '--network', 'private', '--project', 'demo', '--device-owner', 'test:machine', '--host', 'host1', 'p1'],
      admin,
    );
    fixedIp = port.fixed_ips[0]?.ip_address ?? '';
    const f = await cloud.osJson<{ floating_ip_address: string; name: string }>(['floating', 'ip', 'create', '--project', 'demo', 'public'], admin);
    fip = f.floating_ip_address;
    await cloud.os(['floating', 'ip', 'set', '--port', 'p1', fip], admin);
    machine = await TestMachine.create(MACHINE, SANDBOX, names.tap(port.id), port.mac_address);
    greeter = undefined;
  });

  after(async () => {
    greeter?.kill();
    // What the cloud made on the host outlives the daemon by design (a restart finds it again): its tear-down removes it by pid and name (the sandbox and the machine carry the prefix too).
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
    const left = (await run.run(['ip', 'netns', 'list'])).stdout.split('\n').filter((l) => l.startsWith(`${PREFIX}-`));
    assert.deepEqual(left, [], 'namespaces left behind');
  });

  test('the machine gets its address, gateway and DNS by DHCP from the reconciled dnsmasq', async () => {
    assert.ok(machine);
    const script = await writeDhcpScript(work);
    let lease;
    for (let i = 0; i < 10 && !lease; i++) {
      lease = await machine.dhcp(script, work).catch(() => undefined);
    }
    assert.ok(lease, 'no DHCP lease');
    assert.equal(lease.ip, fixedIp);
    assert.equal(lease.router, '10.0.0.1');
    assert.ok(lease.dns, 'no DNS server in the lease');
  });

  test('the sandbox host pings the floating IP only after an ICMP rule, and reaches tcp/22 only after that rule', async () => {
    assert.ok(machine);
    greeter = await startGreeter(MACHINE, '0.0.0.0', 22, 'hello');
    assert.equal(await pingFrom(SANDBOX, fip, { timeoutS: 1 }), false, 'ping got through before any ICMP rule');
    assert.equal(await tcpHello(SANDBOX, fip, 22), null, 'tcp/22 got through before any rule');
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'default'], { cloud: 'stacklet' });
    await until('ping to the floating IP', () => pingFrom(SANDBOX, fip, { timeoutS: 1 }));
    const rule = await cloud.osJson<{ id: string }>(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default'], {
      cloud: 'stacklet',
    });
    await until('tcp/22 on the floating IP', async () => ((await tcpHello(SANDBOX, fip, 22)) ?? '').startsWith('hello'));
    // The machine saw the sandbox host's own address (no NAT on the way in).
    assert.match((await tcpHello(SANDBOX, fip, 22)) ?? '', /172\.24\.4\.1$/);
    await cloud.os(['security', 'group', 'rule', 'delete', rule.id], { cloud: 'stacklet' });
    await until('tcp/22 to close again', async () => (await tcpHello(SANDBOX, fip, 22)) === null, 10_000);
  });

  test('port and floating IP status are written back by the data plane', async () => {
    const p = await cloud.osJson<{ status: string }>(['port', 'show', 'p1']);
    assert.equal(p.status, 'ACTIVE');
    const f = await cloud.osJson<{ status: string }>(['floating', 'ip', 'show', fip]);
    assert.equal(f.status, 'ACTIVE');
  });
});
