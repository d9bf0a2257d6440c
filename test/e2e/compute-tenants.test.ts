import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';

/**
 * Two projects, each with its own 10.0.0.0/24 behind its own router, and a
 * real guest (the tiny image under QEMU) in each, made with Debian's
 * `openstack` CLI as each project's own user: the guests cannot reach each
 * other, both reach their own gateway, and each reads its own metadata
 * (OpenStack and EC2 layouts) and never the other's. Host names carry the
 * prefix `slm`.
 */

const PREFIX = 'slm';
const SANDBOX = `slm-sbx-${process.pid}`;
const BOOT_MS = 300_000;
/** vmB's address in its project: one that no port of the demo project's 10.0.0.0/24 has. */
const B_IP = '10.0.0.77';

interface Server {
  id: string;
  name: string;
  status: string;
  addresses?: Record<string, string[]> | string;
}

describe('compute across projects: the same 10.0.0.0/24 twice, isolated, each guest with its own metadata', { timeout: 1_200_000 }, () => {
  let cloud: TestCloud;
  const work = mkdtempSync(join(tmpdir(), 'slm-'));
  const key = join(work, 'id');
  const demo = { cloud: 'stacklet' };
  const admin = { cloud: 'stacklet-admin' };
  let as2: { env: Record<string, string> };
  const vm = { a: { id: '', ip: '', fip: '', project: '' }, b: { id: '', ip: '', fip: '', project: '' } };

  const ssh = (ip: string, cmd: string) => sshFrom(SANDBOX, key, `cirros@${ip}`, cmd, 60_000);
  const sshUntil = (ip: string, cmd: string, what: string) =>
    until(what, async () => {
      const r = await ssh(ip, cmd);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, BOOT_MS);
  /** Exit status of a command in the guest (ping's 0 or 1), SSH itself having worked. */
  const inGuest = async (ip: string, cmd: string): Promise<number> => {
    const r = await ssh(ip, cmd);
    assert.notEqual(r.code, 255, `ssh to ${ip} failed: ${r.stderr}`);
    return r.code;
  };
  const fixedIp = (s: Server): string => {
    const text = typeof s.addresses === 'string' ? s.addresses : JSON.stringify(s.addresses ?? {});
    const m = /10\.0\.0\.\d+/.exec(text);
    if (!m) throw new Error(`${s.name} has no fixed IP on 10.0.0.0/24: ${text}`);
    return m[0];
  };

  before(async () => {
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);

    // Project 2 and its user, who works through plain OS_* variables as an openrc gives them.
    const password = 'slm-p2-secret';
    await cloud.os(['project', 'create', '--domain', 'default', 'slmp2'], admin);
    await cloud.os(['user', 'create', '--domain', 'default', '--password', password, '--project', 'slmp2', 'slmu2'], admin);
    await cloud.os(['role', 'add', '--project', 'slmp2', '--user', 'slmu2', 'member'], admin);
    as2 = {
      env: {
        OS_CLOUD: '',
        OS_AUTH_URL: `${cloud.baseUrl}/identity`,
        OS_IDENTITY_API_VERSION: '3',
        OS_USERNAME: 'slmu2',
        OS_PASSWORD: password,
        OS_PROJECT_NAME: 'slmp2',
        OS_USER_DOMAIN_NAME: 'Default',
        OS_PROJECT_DOMAIN_NAME: 'Default',
      },
    };
    await cloud.os(['network', 'create', 'private'], as2);
    await cloud.os(['subnet', 'create', '--network', 'private', '--subnet-range', '10.0.0.0/24', 'private-subnet'], as2);
    await cloud.os(['router', 'create', 'r2'], as2);
    await cloud.os(['router', 'set', 'r2', '--external-gateway', 'public'], as2);
    await cloud.os(['router', 'add', 'subnet', 'r2', 'private-subnet'], as2);
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'icmp', 'default'], as2);
    await cloud.os(['security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default'], as2);
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], demo);
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], as2);

    await until('the seed image cirros', async () => {
      const r = await cloud.openstack(['image', 'show', 'cirros', '-f', 'json'], demo);
      return r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === 'active' ? true : undefined;
    }, 900_000);
    const net2 = (await cloud.osJson<{ id: string }>(['network', 'show', 'private'], as2)).id;
    // Both guests boot at once (under TCG the boot is the slow part).
    const [a, b] = await Promise.all([
      cloud.osJson<Server>(['server', 'create', '--flavor', 'm1.nano', '--image', 'cirros', '--network', 'private', '--key-name', 'k', '--wait', 'vma'], demo),
      cloud.osJson<Server>(['server', 'create', '--flavor', 'm1.nano', '--image', 'cirros', '--nic', `net-id=${net2},v4-fixed-ip=${B_IP}`, '--key-name', 'k', '--wait', 'vmb'], as2),
    ]);
    assert.equal(a.status, 'ACTIVE');
    assert.equal(b.status, 'ACTIVE');
    vm.a = { id: a.id, ip: fixedIp(a), fip: '', project: (await cloud.osJson<{ id: string }>(['project', 'show', 'demo'], admin)).id };
    vm.b = { id: b.id, ip: fixedIp(b), fip: '', project: (await cloud.osJson<{ id: string }>(['project', 'show', 'slmp2'], admin)).id };
    assert.equal(vm.b.ip, B_IP);
    assert.notEqual(vm.a.ip, B_IP);
    vm.a.fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    vm.b.fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], as2)).floating_ip_address;
    await cloud.os(['server', 'add', 'floating', 'ip', 'vma', vm.a.fip], demo);
    await cloud.os(['server', 'add', 'floating', 'ip', 'vmb', vm.b.fip], as2);
    assert.equal(await sshUntil(vm.a.fip, 'hostname', 'ssh into vma'), 'vma');
    assert.equal(await sshUntil(vm.b.fip, 'hostname', 'ssh into vmb'), 'vmb');
  });

  after(async () => {
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
  });

  test('each guest reaches its own gateway and never the other project\'s guest', async () => {
    assert.equal(await inGuest(vm.a.fip, 'ping -c 2 -W 2 10.0.0.1'), 0, 'vma cannot ping its gateway');
    assert.equal(await inGuest(vm.b.fip, 'ping -c 2 -W 2 10.0.0.1'), 0, 'vmb cannot ping its gateway');
    // Same CIDR, different networks: each name is a neighbour nobody answers for.
    assert.equal(await inGuest(vm.a.fip, `ping -c 3 -W 1 ${vm.b.ip}`), 1, 'vma reached vmb across projects');
    assert.equal(await inGuest(vm.b.fip, `ping -c 3 -W 1 ${vm.a.ip}`), 1, 'vmb reached vma across projects');
    // Not even ARP crosses: the other guest's MAC never shows up.
    const neigh = await ssh(vm.a.fip, `cat /proc/net/arp`);
    assert.doesNotMatch(neigh.stdout, new RegExp(`^${vm.b.ip.replace(/\./g, '\\.')}\\s+\\S+\\s+0x2`, 'm'));
  });

  test('each guest reads its own metadata, OpenStack and EC2 layouts, and nothing of the other', async () => {
    for (const [name, me, other] of [
      ['vma', vm.a, vm.b],
      ['vmb', vm.b, vm.a],
    ] as const) {
      const r = await ssh(me.fip, 'timeout 20 wget -q -O - http://169.254.169.254/openstack/latest/meta_data.json');
      assert.equal(r.code, 0, `${name}: metadata fetch failed: ${r.stderr}`);
      const md = JSON.parse(r.stdout) as { uuid: string; name: string; hostname: string; project_id: string; public_keys?: Record<string, string> };
      assert.equal(md.uuid, me.id, `${name} got another instance's meta_data.json`);
      assert.equal(md.name, name);
      assert.equal(md.project_id, me.project);
      assert.ok(!r.stdout.includes(other.id), `${name}'s metadata names the other guest`);
      assert.match(Object.values(md.public_keys ?? {}).join('\n'), /^ssh-ed25519 /);
      const ec2 = await ssh(me.fip, 'timeout 20 wget -q -O - http://169.254.169.254/latest/meta-data/local-ipv4; echo; timeout 20 wget -q -O - http://169.254.169.254/latest/meta-data/public-ipv4');
      assert.equal(ec2.code, 0, ec2.stderr);
      assert.deepEqual(ec2.stdout.trim().split('\n'), [me.ip, me.fip], `${name}'s EC2 addresses`);
    }
  });
});
