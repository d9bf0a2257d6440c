import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { TestCloud } from '../helpers/cloud.js';
import { sh, sshFrom, tearDownSandboxCloud, TINY_CACHE, until } from '../helpers/sandbox.js';

/**
 * A server's whole life through Debian's `openstack` CLI against a seeded
 * sandbox cloud with real QEMU guests (the tiny image): power actions with
 * the host checked after each (the qemu process, SSH), a snapshot that
 * boots, deletes that leave nothing behind, a daemon killed with -9 while
 * its guests run, a qemu killed by hand, the noVNC websocket, and ping from
 * the unprivileged guest user. Every host name carries the prefix `slc`.
 */

const PREFIX = 'slc';
const SANDBOX = `slc-sbx-${process.pid}`;
/** Guests boot under TCG on a shared machine: minutes, never a fixed sleep. */
const BOOT_MS = 300_000;

interface Server {
  id: string;
  name: string;
  status: string;
  addresses?: Record<string, string[]> | string;
}

describe('compute lifecycle: power actions, snapshot, delete, daemon and qemu killed, console, guest ping', { timeout: 1_800_000 }, () => {
  let cloud: TestCloud;
  const work = mkdtempSync(join(tmpdir(), 'slc-'));
  const key = join(work, 'id');
  const demo = { cloud: 'stacklet' };
  let vm1: Server;
  let fip = '';

  const instanceDir = (id: string) => join(cloud.dataDir, 'instances', `${PREFIX}-${id}`);
  /** The pid QEMU wrote for the instance, when that process is alive. */
  const qemuPid = (id: string): number | undefined => {
    const f = join(instanceDir(id), 'qemu.pid');
    if (!existsSync(f)) return undefined;
    const pid = Number(readFileSync(f, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
    } catch {
      return undefined;
    }
    // A recycled pid is not our qemu: its command line names the instance.
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes(id) ? pid : undefined;
  };
  const sshIn = (ns: string, ip: string, cmd: string) => sshFrom(ns, key, `cirros@${ip}`, cmd);
  const ssh = (ip: string, cmd: string) => sshIn(SANDBOX, ip, cmd);
  const sshUntil = (ip: string, cmd: string, what: string) =>
    until(what, async () => {
      const r = await ssh(ip, cmd);
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, BOOT_MS);
  const show = (name: string) => cloud.osJson<Server & Record<string, unknown>>(['server', 'show', name], demo);
  const statusIs = (name: string, status: string, timeoutMs = BOOT_MS) =>
    until(`${name} ${status}`, async () => ((await show(name)).status === status ? true : undefined), timeoutMs);
  const fixedIp = (s: Server): string => {
    const text = typeof s.addresses === 'string' ? s.addresses : JSON.stringify(s.addresses ?? {});
    const m = /10\.0\.0\.\d+/.exec(text);
    if (!m) throw new Error(`${s.name} has no fixed IP on private: ${text}`);
    return m[0];
  };
  const tapOf = async (serverId: string): Promise<string> => {
    const ports = await cloud.osJson<{ ID: string }[]>(['port', 'list', '--server', serverId], demo);
    const port = ports[0];
    assert.ok(port, `no port for ${serverId}`);
    return `${PREFIX}t-${port.ID.replace(/-/g, '').slice(0, 10)}`;
  };
  const boot = async (name: string, image: string) => {
    const s = await cloud.osJson<Server>(['server', 'create', '--flavor', 'm1.nano', '--image', image, '--network', 'private', '--key-name', 'k', '--wait', name], demo);
    assert.equal(s.status, 'ACTIVE');
    return s;
  };

  before(async () => {
    cloud = await TestCloud.start({ seed: true, args: ['--sandbox', SANDBOX, '--host-prefix', PREFIX], env: { STACKLET_TINY_CACHE: TINY_CACHE } });
    const r = await sh(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key]);
    assert.equal(r.code, 0, r.stderr);
    await cloud.os(['keypair', 'create', '--public-key', `${key}.pub`, 'k'], demo);
    // The seed adds cirros once the tiny guest is built: minutes when its inputs changed since the cached build.
    await until('the seed image cirros', async () => {
      const r = await cloud.openstack(['image', 'show', 'cirros', '-f', 'json'], demo);
      return r.code === 0 && (JSON.parse(r.stdout) as { status: string }).status === 'active' ? true : undefined;
    }, 900_000);
    vm1 = await boot('vm1', 'cirros');
    fip = (await cloud.osJson<{ floating_ip_address: string }>(['floating', 'ip', 'create', 'public'], demo)).floating_ip_address;
    await cloud.os(['server', 'add', 'floating', 'ip', 'vm1', fip], demo);
    assert.equal(await sshUntil(fip, 'hostname', 'ssh into vm1'), 'vm1');
  });

  after(async () => {
    await tearDownSandboxCloud(cloud, PREFIX);
    rmSync(work, { recursive: true, force: true });
  });

  test('stop, start, reboot --hard, pause, unpause, suspend, resume: the status and the host agree after each', async () => {
    const pid0 = qemuPid(vm1.id);
    assert.ok(pid0, 'vm1 has no running qemu');

    const t0 = Date.now();
    await cloud.os(['server', 'stop', 'vm1'], demo);
    await statusIs('vm1', 'SHUTOFF');
    const stopMs = Date.now() - t0;
    console.log(`server stop → SHUTOFF in ${stopMs} ms`);
    assert.equal(qemuPid(vm1.id), undefined, 'SHUTOFF but its qemu still runs');
    // The guest powers off on the ACPI button: no waiting out the driver's timeout (60 s).
    assert.ok(stopMs < 30_000, `server stop took ${stopMs} ms: the guest ignored the power button`);

    await cloud.os(['server', 'start', 'vm1'], demo);
    await statusIs('vm1', 'ACTIVE');
    const pid1 = qemuPid(vm1.id);
    assert.ok(pid1, 'ACTIVE after start but no qemu runs');
    await sshUntil(fip, 'hostname', 'ssh after start');

    await cloud.os(['server', 'reboot', '--hard', '--wait', 'vm1'], demo);
    assert.equal((await show('vm1')).status, 'ACTIVE');
    assert.ok(qemuPid(vm1.id), 'ACTIVE after a hard reboot but no qemu runs');
    await sshUntil(fip, 'hostname', 'ssh after the hard reboot');

    await cloud.os(['server', 'pause', 'vm1'], demo);
    await statusIs('vm1', 'PAUSED', 60_000);
    const paused = qemuPid(vm1.id);
    assert.ok(paused, 'PAUSED keeps the qemu process');
    // A paused guest runs no code: SSH cannot answer.
    assert.notEqual((await ssh(fip, 'true')).code, 0, 'a paused guest answered SSH');

    await cloud.os(['server', 'unpause', 'vm1'], demo);
    await statusIs('vm1', 'ACTIVE', 60_000);
    assert.equal(qemuPid(vm1.id), paused, 'unpause must continue the same qemu');
    await sshUntil(fip, 'hostname', 'ssh after unpause');

    await cloud.os(['server', 'suspend', 'vm1'], demo);
    await statusIs('vm1', 'SUSPENDED', 120_000);
    assert.equal(qemuPid(vm1.id), undefined, 'SUSPENDED (state saved to disk) but its qemu still runs');

    await cloud.os(['server', 'resume', 'vm1'], demo);
    await statusIs('vm1', 'ACTIVE', 120_000);
    assert.ok(qemuPid(vm1.id), 'ACTIVE after resume but no qemu runs');
    // The resumed guest carries on where it was: same boot, SSH answers again.
    assert.equal(await sshUntil(fip, 'hostname', 'ssh after resume'), 'vm1');
  });

  test('the unprivileged guest user pings its router and another server', async () => {
    await boot('vm2', 'cirros');
    const ip2 = fixedIp(await show('vm2'));
    // By path: busybox sh would run its own (not setuid) ping applet in-process for a bare `ping` in `sh -c`.
    const gw = await ssh(fip, '/bin/ping -c 2 -W 5 10.0.0.1');
    assert.equal(gw.code, 0, `ping 10.0.0.1 from vm1: ${gw.stdout}${gw.stderr}`);
    // vm2 may still be booting: its kernel answers ping once its network is up.
    await until('vm1 pings vm2', async () => ((await ssh(fip, `/bin/ping -c 1 -W 3 ${ip2}`)).code === 0 ? true : undefined), BOOT_MS);
  });

  test('server image create, boot the snapshot, delete both: no qemu, tap, overlay, DHCP entry or lease left', async () => {
    await cloud.os(['server', 'image', 'create', '--name', 'vm1-snap', '--wait', 'vm1'], demo);
    const img = await cloud.osJson<{ status: string }>(['image', 'show', 'vm1-snap'], demo);
    assert.equal(img.status, 'active');
    const snap = await boot('snap1', 'vm1-snap');
    const snapIp = fixedIp(await show('snap1'));
    // Through the router's namespace, on the private network: a working tiny guest with the key from its own metadata.
    const router = await cloud.osJson<{ id: string }>(['router', 'show', 'router1'], demo);
    const hn = await until('ssh into the snapshot server through the router namespace', async () => {
      const r = await sshIn(`${PREFIX}-qr-${router.id}`, snapIp, 'hostname');
      return r.code === 0 ? r.stdout.trim() : undefined;
    }, BOOT_MS);
    assert.equal(hn, 'snap1');

    const vm2 = await show('vm2');
    const servers = [
      { s: vm1, mac: '', tap: await tapOf(vm1.id) },
      { s: vm2, mac: '', tap: await tapOf(vm2.id) },
      { s: snap, mac: '', tap: await tapOf(snap.id) },
    ];
    for (const x of servers) {
      const ports = await cloud.osJson<{ 'MAC Address': string }[]>(['port', 'list', '--server', x.s.id], demo);
      x.mac = ports[0]?.['MAC Address'] ?? '';
      assert.ok(x.mac);
    }
    await cloud.os(['server', 'delete', '--wait', 'vm1', 'vm2', 'snap1'], demo);
    const links = await sh(['ip', '-n', SANDBOX, '-br', 'link']);
    const dhcp = join(cloud.dataDir, 'network', 'dhcp');
    const dhcpFile = (name: string) =>
      readdirSync(dhcp)
        .map((n) => join(dhcp, n, name))
        .filter((f) => existsSync(f))
        .map((f) => readFileSync(f, 'utf8'))
        .join('\n')
        .toLowerCase();
    for (const x of servers) {
      assert.equal(qemuPid(x.s.id), undefined, `${x.s.name}: a qemu still runs`);
      assert.ok(!links.stdout.includes(x.tap), `${x.s.name}: tap ${x.tap} is left`);
      assert.ok(!existsSync(instanceDir(x.s.id)), `${x.s.name}: ${instanceDir(x.s.id)} is left`);
      const hosts = dhcpFile('hosts');
      assert.ok(!hosts.includes(x.mac.toLowerCase()), `${x.s.name}: DHCP host entry for ${x.mac} is left:\n${hosts}`);
      // dnsmasq would keep a deleted port's lease, and its address from the next port given it, until it expires.
      assert.ok(!dhcpFile('leases').includes(x.mac.toLowerCase()), `${x.s.name}: dnsmasq still holds a lease for ${x.mac}`);
    }
    await cloud.os(['image', 'delete', 'vm1-snap'], demo);
  });

  test('kill -9 the daemon: the guest runs on, the restarted daemon shows it ACTIVE; a qemu killed by hand goes SHUTOFF', async () => {
    const vm3 = await boot('vm3', 'cirros');
    const pid = qemuPid(vm3.id);
    assert.ok(pid);
    await cloud.down('SIGKILL');
    assert.equal(qemuPid(vm3.id), pid, 'the guest died with the daemon');
    await cloud.up();
    // The restarted daemon's first pass finds the guest again by its pid file and QMP socket.
    const s = await show('vm3');
    assert.equal(s.status, 'ACTIVE');
    await until('the restarted daemon settles', async () => ((await show('vm3'))['OS-EXT-STS:task_state'] ? undefined : true), 60_000);
    assert.equal(qemuPid(vm3.id), pid, 'the restart replaced the running qemu');

    process.kill(pid, 'SIGKILL');
    await statusIs('vm3', 'SHUTOFF', 120_000);
    assert.equal(qemuPid(vm3.id), undefined);
  });

  test('console url show --novnc: its websocket speaks RFB', async () => {
    // vm3 is SHUTOFF after the previous test: a console needs a running guest.
    await cloud.os(['server', 'start', 'vm3'], demo);
    await statusIs('vm3', 'ACTIVE');
    const url = new URL((await cloud.osJson<{ url: string }>(['console', 'url', 'show', '--novnc', 'vm3'], demo)).url);
    const path = url.searchParams.get('path');
    assert.ok(path, `no path= in ${url.toString()}`);
    // noVNC joins path= to the page's host, not to the page's directory.
    const wsUrl = new URL(`/${path.replace(/^\//, '')}`, url);
    wsUrl.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const first = await new Promise<Buffer>((resolve, reject) => {
      const sock = new WebSocket(wsUrl.toString(), ['binary']);
      const timer = setTimeout(() => {
        sock.terminate();
        reject(new Error(`no RFB greeting from ${wsUrl.toString()}`));
      }, 30_000);
      sock.on('message', (data: Buffer) => {
        clearTimeout(timer);
        sock.close();
        resolve(Buffer.from(data));
      });
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    assert.equal(first.subarray(0, 11).toString('latin1'), 'RFB 003.008');
  });
});
