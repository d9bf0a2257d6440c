import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InstanceSpec } from '../driver.js';
import { ComputeError } from '../errors.js';
import { QemuConfigError, renderQemuArgv } from './argv.js';
import { qemuConfigFor, validateSpec, type HostSettings } from './config.js';
import { instancePaths } from './layout.js';

/**
 * Golden tests: a spec's QEMU command line is pinned in testdata/*.argv
 * (one argument per line). A change to the rendering shows up as a diff of
 * those files; regenerate them with UPDATE_GOLDEN=1 and review the diff.
 */

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const TESTDATA = join(repoRoot(), 'src', 'host', 'compute', 'qemu', 'testdata');

function golden(name: string, argv: string[]): void {
  const file = join(TESTDATA, `${name}.argv`);
  const text = `${argv.join('\n')}\n`;
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(file, text);
  assert.equal(text, readFileSync(file, 'utf8'), `argv differs from ${file} (UPDATE_GOLDEN=1 regenerates it)`);
}

const ID = '0b9f3c5e-8d6a-4c1e-9f2b-7a3d5e6f1a2b';
const PATHS = instancePaths('/var/lib/stacklet/instances', 'sl', ID);
const TCG: HostSettings = { prefix: 'sl', accel: 'tcg', tbSizeMiB: 8, spareHotplugPorts: 2, version: '0.1.0' };
const KVM: HostSettings = { ...TCG, accel: 'kvm' };

const tinyDirect: InstanceSpec = {
  id: ID,
  name: 'vm1',
  memoryMiB: 128,
  vcpus: 1,
  kernel: {
    kernel: '/var/lib/stacklet/images/k/vmlinuz',
    ramdisk: '/var/lib/stacklet/images/r/initramfs.img',
    cmdline: 'console=ttyS0 tsc_early_khz=2000000 quiet panic=-1',
  },
  nics: [{ portId: 'a1b2c3d4-0000-4000-8000-000000000001', tap: 'sltapa1b2c3d4', mac: 'FA:16:3E:00:00:01', mtu: 1450 }],
  configDrive: { 'openstack/latest/meta_data.json': '{}' },
};

const diskQ35: InstanceSpec = {
  id: ID,
  name: 'debian',
  memoryMiB: 2048,
  vcpus: 2,
  rootDisk: { image: { path: '/var/lib/stacklet/images/deb.qcow2', format: 'qcow2' }, sizeGiB: 20 },
  nics: [
    { portId: 'a1b2c3d4-0000-4000-8000-000000000001', tap: 'sltapa1b2c3d4', mac: 'fa:16:3e:00:00:01' },
    { portId: 'a1b2c3d4-0000-4000-8000-000000000002', tap: 'sltapa1b2c3d5', mac: 'fa:16:3e:00:00:02' },
  ],
};

describe('QEMU argv (golden)', () => {
  test('tiny guest, direct kernel boot on microvm under TCG, config drive, one NIC', () => {
    golden('microvm-kernel-tcg', renderQemuArgv(qemuConfigFor(tinyDirect, PATHS, TCG, false)));
  });

  test('disk image on q35 under KVM, two NICs on root ports plus two spare ports', () => {
    golden('q35-disk-kvm', renderQemuArgv(qemuConfigFor(diskQ35, PATHS, KVM, false)));
  });

  test('kernel boot on q35 (hot-plug wanted) with a root disk and no NIC', () => {
    const spec: InstanceSpec = { ...tinyDirect, machine: 'q35', nics: [], configDrive: undefined, rootDisk: { image: { path: '/i/raw.img', format: 'raw' } } };
    golden('q35-kernel-tcg', renderQemuArgv(qemuConfigFor(spec, PATHS, TCG, false)));
  });

  test('restore of a suspended instance waits for the migration stream', () => {
    const argv = renderQemuArgv(qemuConfigFor(tinyDirect, PATHS, TCG, true));
    const i = argv.indexOf('-incoming');
    assert.equal(argv[i + 1], 'defer');
    assert.deepEqual(argv.slice(-2), ['-pidfile', PATHS.pidFile]);
    assert.ok(!argv.includes('-daemonize'), 'Stacklet detaches QEMU itself (the seccomp sandbox forbids forking)');
  });

  test('rendering is deterministic', () => {
    const a = renderQemuArgv(qemuConfigFor(diskQ35, PATHS, TCG, false));
    const b = renderQemuArgv(qemuConfigFor(structuredClone(diskQ35), PATHS, TCG, false));
    assert.deepEqual(a, b);
  });

  test('the translation cache can differ per machine type', () => {
    const host: HostSettings = { ...TCG, tbSizeMiB: { q35: 32, microvm: 24 } };
    const accel = (spec: InstanceSpec) => {
      const argv = renderQemuArgv(qemuConfigFor(spec, PATHS, host, false));
      return argv[argv.indexOf('-accel') + 1];
    };
    assert.equal(accel(diskQ35), 'tcg,tb-size=32');
    assert.equal(accel(tinyDirect), 'tcg,tb-size=24');
  });

  test('SMBIOS says OpenStack Nova in the product name and the chassis asset tag', () => {
    const argv = renderQemuArgv(qemuConfigFor(diskQ35, PATHS, KVM, false));
    const smbios = argv.filter((_, i) => argv[i - 1] === '-smbios');
    assert.ok(smbios.some((s) => s.startsWith('type=1,') && s.includes('product=OpenStack Nova') && s.includes(`uuid=${ID}`)));
    assert.ok(smbios.some((s) => s.startsWith('type=3,') && s.includes('asset=OpenStack Nova')));
  });
});

describe('QEMU argv refuses what would inject options or cannot run', () => {
  const render = (spec: InstanceSpec, host = TCG): string[] => renderQemuArgv(qemuConfigFor(spec, PATHS, host, false));

  test('a comma in an image path', () => {
    const spec: InstanceSpec = { ...diskQ35, rootDisk: { image: { path: '/x', format: 'raw' } }, kernel: { kernel: '/k,format=raw', cmdline: '' } };
    assert.throws(() => render(spec), QemuConfigError);
  });

  test('a tap name that is not an interface name', () => {
    assert.throws(() => render({ ...tinyDirect, nics: [{ portId: 'p1', tap: 'tap0,script=/bin/sh', mac: 'fa:16:3e:00:00:01' }] }), QemuConfigError);
    assert.throws(() => render({ ...tinyDirect, nics: [{ portId: 'p1', tap: 'a-name-far-too-long', mac: 'fa:16:3e:00:00:01' }] }), QemuConfigError);
  });

  test('a malformed MAC', () => {
    assert.throws(() => render({ ...tinyDirect, nics: [{ portId: 'p1', tap: 'tap0', mac: 'fa:16:3e:00:00' }] }), QemuConfigError);
  });

  test('a relative kernel path', () => {
    assert.throws(() => render({ ...tinyDirect, kernel: { kernel: 'vmlinuz', cmdline: '' } }), QemuConfigError);
  });

  test('a zero tb-size', () => {
    assert.throws(() => render(tinyDirect, { ...TCG, tbSizeMiB: 0 }), QemuConfigError);
  });

  test('specs that cannot boot are InvalidSpec', () => {
    const invalid = (spec: InstanceSpec): void =>
      assert.throws(
        () => validateSpec(spec),
        (e: unknown) => e instanceof ComputeError && e.code === 'InvalidSpec',
      );
    invalid({ ...diskQ35, machine: 'microvm' });
    invalid({ ...tinyDirect, kernel: undefined });
    invalid({ ...tinyDirect, memoryMiB: 16 });
    invalid({ ...tinyDirect, vcpus: 0 });
    invalid({ ...tinyDirect, memoryMiB: 128.5 });
    const nic = { portId: 'p1', tap: 'tap0', mac: 'fa:16:3e:00:00:01' };
    invalid({ ...diskQ35, nics: [nic, { ...nic, tap: 'tap1' }] });
    invalid({ ...diskQ35, rootDisk: { image: { path: '/x', format: 'raw' }, sizeGiB: -1 } });
  });

  test('a data dir so deep the sockets would not fit in sun_path', () => {
    assert.throws(
      () => instancePaths(`/${'d'.repeat(80)}`, 'sl', ID),
      (e: unknown) => e instanceof ComputeError && e.code === 'InvalidSpec' && /shorter data dir/.test(e.message),
    );
  });
});
