import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TINY_GUEST_CMDLINE, tinyGuestQemuArgs } from './boot-config.js';
import type { TinyGuest } from './types.js';

const guest: TinyGuest = {
  kernel: '/c/build-x/vmlinuz',
  initramfs: '/c/build-x/initramfs.img',
  disk: '/c/build-x/disk.qcow2',
  diskFormat: 'qcow2',
  cmdline: TINY_GUEST_CMDLINE,
  inputsHash: 'x',
  sizes: { kernel: 1, initramfs: 1, disk: 1, diskVirtual: 1, initramfsUnpacked: 1 },
  kernelRelease: '6.1.0-56-cloud-amd64',
  packages: {},
};
const common = [
  '-accel', 'tcg', '-cpu', 'max', '-m', '128', '-smp', '1', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
  '-chardev', 'file,id=serial0,path=/w/serial.log', '-serial', 'chardev:serial0',
  '-netdev', 'tap,id=net0,ifname=sltgtap0,script=no,downscript=no',
];

test('direct boot renders microvm with -kernel/-initrd/-append (golden)', () => {
  const args = tinyGuestQemuArgs(guest, { packaging: 'direct', tap: 'sltgtap0', mac: '52:54:00:77:00:10', serialLog: '/w/serial.log' });
  assert.deepEqual(args, [
    '-machine', 'microvm', ...common,
    '-device', 'virtio-net-device,netdev=net0,mac=52:54:00:77:00:10',
    '-kernel', '/c/build-x/vmlinuz', '-initrd', '/c/build-x/initramfs.img',
    '-append', 'console=ttyS0 tsc_early_khz=2000000 quiet cryptomgr.notests panic=-1',
  ]);
});

test('disk boot renders q35 with the qcow2 on virtio-blk and no NIC option ROM (golden)', () => {
  const args = tinyGuestQemuArgs(guest, {
    packaging: 'disk', tap: 'sltgtap0', mac: '52:54:00:77:00:10', serialLog: '/w/serial.log',
    extraDisks: [{ path: '/w/cd.iso', format: 'raw' }],
  });
  assert.deepEqual(args, [
    '-machine', 'q35', ...common,
    '-device', 'virtio-net-pci,netdev=net0,mac=52:54:00:77:00:10,romfile=',
    '-drive', 'file=/c/build-x/disk.qcow2,format=qcow2,if=none,id=disk0,snapshot=on',
    '-device', 'virtio-blk-pci,drive=disk0,bootindex=0',
    '-drive', 'file=/w/cd.iso,format=raw,if=none,id=extra0,readonly=on',
    '-device', 'virtio-blk-pci,drive=extra0',
  ]);
});

test('refuses option injection, bad MACs and too little RAM', () => {
  const vm = { packaging: 'disk' as const, tap: 'sltgtap0', mac: '52:54:00:77:00:10', serialLog: '/w/s.log' };
  assert.throws(() => tinyGuestQemuArgs(guest, { ...vm, serialLog: '/w/a,b.log' }));
  assert.throws(() => tinyGuestQemuArgs(guest, { ...vm, mac: 'zz' }));
  assert.throws(() => tinyGuestQemuArgs(guest, { ...vm, memoryMiB: 64 }));
});
