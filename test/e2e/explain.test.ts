import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { MAIN, TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';
import { pingFrom, tcpHello } from '../integration/host-network-machines.js';

/**
 * `stacklet explain` against what the data plane really does: a tiny guest
 * with a floating IP in a security group that lets nothing in; explain names
 * the missing rule and exits 1 while a real TCP connect (and a real ping)
 * from the sandbox host fails; once the rule it names is added, explain
 * says reachable and exits 0, and the real connect succeeds. Real QEMU
 * (TCG), bridges, nftables, dnsmasq, inside a sandbox namespace this test
 * made; every name carries the prefix `slb`.
 */

const PREFIX = 'slb';
const SANDBOX = `slb-sbx-${process.pid}`;

/** True when several attempts over a few seconds all fail: a closed port must stay closed, not just be slow once. */
async function staysUnanswered(probe: () => Promise<boolean>, attempts = 3): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await probe()) return false;
  }
  return true;
}

describe('stacklet explain against the real data plane', { timeout: 900_000 }, () => {
  let cloud: TestCloud;
  let fip = '';
  const work = mkdtempSync(join(tmpdir(), 'slb-'));
  const key = join(work, 'id');
  let vm2Fip = '';
  /** A command on vm2 over SSH from the sandbox host (vm2's group, the seed's default, lets SSH in). */
  const onVm2 = (cmd: string) =>
    sshFrom(SANDBOX, key, `cirros@${vm2Fip}`, cmd);
  const demo = { cloud: 'stacklet' };
  const explain = (...args: string[]) => sh([process.execPath, MAIN, 'explain', ...args, '--data-dir', cloud.dataDir]);
  const ssh = async () => (await tcpHello(SANDBOX, fip, 22, 2))?.startsWith('SSH-') === true;
  const ping = () => pingFrom(SANDBOX, fip, { timeoutS: 2 });

  before(async () => {
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], demo);
  });

  after(async () => {
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
  });

  test('a closed group: explain names the missing rule and exits 1 while a real connect fails; after the rule, exit 0 and the connect succeeds (tcp/22, then ping)', async (t) => {
    await cloud.os(['security', 'group', 'create', 'closed'], demo);
    const server = await cloud.osJson<{ id: string }>(['server', 'create', '--flavor', 'm1.nano', '--image', 'cirros', '--network', 'private', '--security-group', 'closed', 'vm'], demo);
    // vm2 (the seed's default group, the test's key) boots alongside: the source for the instance-to-instance checks.
    await cloud.os(['server', 'create', '--flavor', 'm1.nano', '--image', 'cirros', '--network', 'private', '--key-name', 'k', 'vm2'], demo);
    for (const name of ['vm', 'vm2']) {
      await until(
        `${name} ACTIVE`,
        async () => {
          const s = await cloud.osJson<{ status: string; fault?: { message?: string } }>(['server', 'show', name], demo);
          assert.notEqual(s.status, 'ERROR', `${name} failed: ${s.fault?.message ?? ''}`);
          return s.status === 'ACTIVE' ? true : undefined;
        },
        300_000,
      );
    }

    // No floating IP yet: that is what blocks first.
    const noFip = await explain('vm');
    assert.equal(noFip.code, 1, noFip.stdout + noFip.stderr);
    assert.match(noFip.stdout, /^vm is NOT reachable from the host over tcp\/22\./);
    assert.match(noFip.stdout, /instance vm has no floating IP.* — fix: openstack floating ip create public/);

    fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    await cloud.os(['server', 'add', 'floating', 'ip', 'vm', fip], demo);
    // The guest's SSH server runs once it prints this, and the router carries the address once Neutron says ACTIVE:
    // from here a failed connect is the group's doing, not a slow boot or a floating IP not yet wired.
    await until('the guest ready on its console', async () => (/Stacklet tiny guest ready/.test(await cloud.os(['console', 'log', 'show', 'vm'], demo)) ? true : undefined), 300_000);
    await until('the floating IP ACTIVE', async () => ((await cloud.osJson<{ status: string }>(['floating', 'ip', 'show', fip], demo)).status === 'ACTIVE' ? true : undefined), 120_000);

    const closed = await explain('vm', '--protocol', 'tcp', '--port', '22');
    assert.equal(closed.code, 1, closed.stdout + closed.stderr);
    assert.match(closed.stdout, /BLOCKED {2}security groups: no ingress rule in closed matches tcp\/22/);
    assert.match(closed.stdout, /no rule in security group closed allows tcp\/22 ingress — add it: openstack security group rule create --protocol tcp --dst-port 22 closed\n/);
    t.diagnostic(closed.stdout);
    assert.ok(await staysUnanswered(ssh), `tcp/22 on ${fip} answered although the group lets nothing in`);

    // The fix it printed, as a user would paste it (by ID: explain went by name through the same API).
    const fix = /add it: (openstack .*)$/m.exec(closed.stdout)?.[1] ?? '';
    await cloud.os(fix.split(' ').slice(1), demo);
    const open = await explain(server.id, '--port', '22', '--json');
    assert.equal(open.code, 0, open.stdout + open.stderr);
    const body = JSON.parse(open.stdout) as { reachable: boolean; server: { id: string; name: string }; steps: { check: string; ok: boolean }[]; blocker?: unknown };
    assert.equal(body.reachable, true);
    assert.deepEqual(body.server, { id: server.id, name: 'vm' });
    assert.equal(body.blocker, undefined);
    assert.ok(body.steps.every((s) => s.ok));
    await until('ssh banner from the floating IP', async () => ((await ssh()) ? true : undefined), 120_000);

    // ICMP: the same group still has no ICMP rule.
    const noPing = await explain('vm', '--protocol', 'icmp');
    assert.equal(noPing.code, 1, noPing.stdout + noPing.stderr);
    assert.match(noPing.stdout, /no rule in security group closed allows icmp ingress — add it: openstack security group rule create --protocol icmp closed\n/);
    assert.ok(await staysUnanswered(ping), `${fip} answered ping although the group has no ICMP rule`);
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'closed'], demo);
    const pingOk = await explain('vm', '--protocol', 'icmp');
    assert.equal(pingOk.code, 0, pingOk.stdout + pingOk.stderr);
    assert.match(pingOk.stdout, /^vm is reachable from the host with ping \(icmp\)\.\n/);
    assert.match(pingOk.stdout, /ok {7}security groups: a rule in security group closed allows icmp from anywhere/);
    await until('ping to the floating IP', async () => ((await ping()) ? true : undefined), 120_000);

    // Removing the SSH rule closes the port again, and explain says so again.
    const rules = await cloud.osJson<{ ID: string }[]>(['security', 'group', 'rule', 'list', 'closed', '--protocol', 'tcp', '--ingress'], demo);
    assert.equal(rules.length, 1, JSON.stringify(rules));
    await cloud.os(['security', 'group', 'rule', 'delete', rules[0]?.ID ?? ''], demo);
    const again = await explain('vm', '--port', '22');
    assert.equal(again.code, 1, again.stdout + again.stderr);
    await until('tcp/22 closed again', async () => ((await staysUnanswered(ssh, 2)) ? true : undefined), 60_000);

    // Bad questions are a 2 with the reason, never a verdict.
    const usage = await explain('vm', '--protocol', 'icmp', '--port', '22');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /ICMP has no port/);
    const missing = await explain('no-such-vm');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No server with a name or ID of 'no-such-vm' exists/);

    // From another instance: vm2 (group default) to vm (group closed, which now admits only ping).
    vm2Fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    await cloud.os(['server', 'add', 'floating', 'ip', 'vm2', vm2Fip], demo);
    const vmIp = /10\.0\.0\.\d+/.exec(JSON.stringify((await cloud.osJson<{ addresses: unknown }>(['server', 'show', 'vm'], demo)).addresses))?.[0] ?? '';
    assert.ok(vmIp, 'the fixed address of vm');
    await until('ssh into vm2', async () => ((await onVm2('true')).code === 0 ? true : undefined), 240_000);
    const fromVm2 = async () => (await onVm2(`nc -w 2 ${vmIp} 22 </dev/null`)).stdout.startsWith('SSH-');

    const between = await explain('vm', '--from', 'vm2', '--port', '22');
    assert.equal(between.code, 1, between.stdout + between.stderr);
    assert.match(between.stdout, /^vm is NOT reachable from instance vm2 over tcp\/22\./);
    assert.match(between.stdout, /no rule in security group closed allows tcp\/22 ingress from vm2 \(10\.0\.0\.\d+\) — add it: openstack security group rule create --protocol tcp --dst-port 22 --remote-group default closed\n/);
    t.diagnostic(between.stdout);
    assert.ok(await staysUnanswered(fromVm2, 2), `vm2 reached tcp/22 on vm although no rule of closed admits it`);
    const groupFix = /add it: (openstack .*)$/m.exec(between.stdout)?.[1] ?? '';
    await cloud.os(groupFix.split(' ').slice(1), demo);
    const betweenOk = await explain('vm', '--from', 'vm2', '--port', '22');
    assert.equal(betweenOk.code, 0, betweenOk.stdout + betweenOk.stderr);
    assert.match(betweenOk.stdout, /security group closed allows tcp\/22 from members of group default/);
    await until('tcp/22 from vm2 to vm', async () => ((await fromVm2()) ? true : undefined), 120_000);
    // The rule admits members of default, not the host: from the host it is still closed.
    const hostStill = await explain('vm', '--port', '22');
    assert.equal(hostStill.code, 1, hostStill.stdout);
    assert.ok(await staysUnanswered(ssh, 2), 'the remote-group rule let the host in');

    await cloud.os(['server', 'delete', '--wait', 'vm', 'vm2'], demo);
  });
});
