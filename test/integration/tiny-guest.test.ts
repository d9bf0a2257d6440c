/**
 * Boots Stacklet's tiny guest under QEMU/TCG in a network namespace this
 * test makes (bridge, tap, dnsmasq with fixed leases, a metadata responder
 * on 169.254.169.254) and logs in over SSH with a key served as metadata.
 * Both packagings: direct kernel boot on microvm, and the SYSLINUX disk on
 * q35 through SeaBIOS. KVM is not used: this machine's /dev/kvm is KVM-PVM,
 * where Debian kernels hang.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildTinyGuest } from '../../src/host/image/tiny/index.js';
import type { TinyGuest } from '../../src/host/image/tiny/index.js';
import { TinyGuestSandbox, removeStaleSandboxes } from './tiny-guest/sandbox.js';

const CACHE = process.env.STACKLET_TINY_CACHE ?? '/var/cache/stacklet-test/tiny';
const READY = 'Stacklet tiny guest ready; login: cirros (SSH key only)';
const BOOT_TIMEOUT = 180_000;

function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const skipReason =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces, taps, dnsmasq)'
    : !hasCommand('qemu-system-x86_64')
      ? 'qemu-system-x86_64 is not installed'
      : undefined;

let guest: TinyGuest | undefined;
let sandbox: TinyGuestSandbox | undefined;
let workDir = '';
const keep = process.env.STACKLET_KEEP_TEST_ENV === '1';

before(async () => {
  if (skipReason) return;
  await removeStaleSandboxes('sltg');
  workDir = await mkdtemp(join(tmpdir(), 'sltg-'));
  guest = await buildTinyGuest({ cacheDir: CACHE, onProgress: (s) => console.log(`tiny guest: ${s}`) });
  sandbox = await TinyGuestSandbox.create({ prefix: 'sltg', workDir, slots: 4 });
});

after(async () => {
  if (keep) {
    console.log(`keeping ${workDir} and namespace ${sandbox?.ns ?? '-'} (STACKLET_KEEP_TEST_ENV=1)`);
    return;
  }
  await sandbox?.destroy();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

function ready(): { g: TinyGuest; sb: TinyGuestSandbox } {
  if (!guest || !sandbox) throw new Error('set-up did not finish');
  return { g: guest, sb: sandbox };
}

test('the build is cached and within size targets', { skip: skipReason }, async () => {
  const { g } = ready();
  const t0 = Date.now();
  const again = await buildTinyGuest({ cacheDir: CACHE });
  assert.ok(Date.now() - t0 < 1000, 'a second build with the same inputs returns from the cache');
  assert.equal(again.inputsHash, g.inputsHash);
  assert.ok(g.sizes.kernel + g.sizes.initramfs <= 20_000_000, `kernel + initramfs is ${g.sizes.kernel + g.sizes.initramfs} bytes`);
  assert.match(g.cmdline, /console=ttyS0/);
});

test('direct kernel boot (microvm): DHCP, OpenStack metadata, SSH key login, user data, ping', { skip: skipReason, timeout: 300_000 }, async () => {
  const { g, sb } = ready();
  const slot = sb.slot(0);
  await sb.setMetadata(slot, {
    openstack: {
      metaData: { uuid: 'a1', hostname: 'sltg-direct', name: 'direct boot', public_keys: { 'test key': `${sb.publicKey}\n` } },
      userData: '#!/bin/sh\necho "user data ran as $(id -un)" > /tmp/user-data-proof\n',
    },
  });
  const vm = await sb.boot(g, slot, 'direct');
  try {
    const readyMs = await vm.waitForSerial(READY, BOOT_TIMEOUT);
    const bannerMs = await vm.waitForSshBanner();
    console.log(`direct boot: serial banner ${readyMs} ms, SSH banner ${bannerMs} ms`);
    assert.equal((await sb.sshUntil(slot, 'hostname', 30_000)).trim(), 'sltg-direct');
    const proof = await sb.sshUntil(slot, 'cat /tmp/user-data-proof', 30_000);
    assert.equal(proof.trim(), 'user data ran as root');
    assert.ok(await sb.ping(slot), 'guest answers ping');
    const serial = await vm.waitForSerial('sltg-direct login:', 30_000).then(() => true, () => false);
    assert.ok(serial, 'serial console shows a login prompt');
  } finally {
    await vm.stop();
  }
});

test('disk image (q35, SeaBIOS, SYSLINUX): classless static routes to the metadata service, SSH', { skip: skipReason, timeout: 300_000 }, async () => {
  const { g, sb } = ready();
  // A second sandbox whose DHCP hands out option 121 instead of a router.
  const dir = await mkdtemp(join(workDir, 'opt121-'));
  const sb121 = await TinyGuestSandbox.create({ prefix: 'sltg', workDir: dir, slots: 1, classlessRoutes: true });
  try {
    const slot = sb121.slot(0);
    await sb121.setMetadata(slot, {
      openstack: { metaData: { uuid: 'b2', hostname: 'sltg-disk', public_keys: { a: sb121.publicKey, b: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJunk second key' } } },
    });
    const vm = await sb121.boot(g, slot, 'disk');
    try {
      const readyMs = await vm.waitForSerial(READY, BOOT_TIMEOUT);
      const bannerMs = await vm.waitForSshBanner();
      console.log(`disk boot: serial banner ${readyMs} ms, SSH banner ${bannerMs} ms`);
      assert.equal((await sb121.sshUntil(slot, 'hostname', 30_000)).trim(), 'sltg-disk');
      const routes = await sb121.ssh(slot, 'ip route');
      assert.match(routes, /169\.254\.169\.254 via 10\.77\.0\.1/);
      assert.match(routes, /default via 10\.77\.0\.1/);
      const keys = await sb121.ssh(slot, 'cat .ssh/authorized_keys');
      assert.equal(keys.trim().split('\n').length, 2, 'both public keys are installed');
      // A login prompt on the first virtual terminal too: what a VNC console shows.
      assert.match(await sb121.ssh(slot, 'ps'), /getty 38400 tty1/);
    } finally {
      await vm.stop();
    }
  } finally {
    await sb121.destroy();
  }
  assert.ok(sb.ns.startsWith('sltg-'));
});

test('EC2 metadata layout when the OpenStack one is missing', { skip: skipReason, timeout: 300_000 }, async () => {
  const { g, sb } = ready();
  const slot = sb.slot(1);
  await sb.setMetadata(slot, {
    ec2: { hostname: 'sltg-ec2', publicKeys: [sb.publicKey], userData: '#!/bin/sh\ntouch /tmp/ec2-user-data\n' },
  });
  const vm = await sb.boot(g, slot, 'direct');
  try {
    await vm.waitForSerial(READY, BOOT_TIMEOUT);
    assert.equal((await sb.sshUntil(slot, 'hostname', 30_000)).trim(), 'sltg-ec2');
    await sb.sshUntil(slot, 'test -e /tmp/ec2-user-data', 30_000);
  } finally {
    await vm.stop();
  }
});

test('config drive (ISO9660, label config-2) instead of the metadata service', { skip: skipReason ?? (hasCommand('genisoimage') ? undefined : 'genisoimage is not installed'), timeout: 300_000 }, async () => {
  const { g, sb } = ready();
  const slot = sb.slot(2);
  // Nothing is served over HTTP for this guest: only the drive can name it.
  await sb.setMetadata(slot, {});
  const iso = await sb.makeConfigDrive('cd2', { uuid: 'c3', hostname: 'sltg-cdrive', public_keys: { k: sb.publicKey } });
  const vm = await sb.boot(g, slot, 'direct', [{ path: iso, format: 'raw' }]);
  try {
    await vm.waitForSerial(READY, BOOT_TIMEOUT);
    assert.equal((await sb.sshUntil(slot, 'hostname', 30_000)).trim(), 'sltg-cdrive');
    assert.match(await readFile(vm.serialLog, 'utf8'), /source: +config drive/);
  } finally {
    await vm.stop();
  }
});
