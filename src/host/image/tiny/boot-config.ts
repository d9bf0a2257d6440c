import type { TinyGuest } from './types.js';

/**
 * How the tiny guest boots: its kernel command line and the QEMU arguments
 * for each packaging. Both are plain data so callers (compute driver,
 * tests, bench) share one rendering.
 */

/**
 * tsc_early_khz skips TSC calibration, without which microvm under TCG
 * (no PIT/HPET to calibrate against) hangs; quiet keeps slow serial output
 * off the boot path; cryptomgr.notests skips the boot-time self-tests of
 * every kernel crypto algorithm, the slowest initcall under TCG
 * (initcall_debug: crypto_algapi_init ~0.75 s of a ~2 s kernel boot);
 * panic=-1 turns a panic into a reboot, which -no-reboot turns into a
 * QEMU exit.
 */
export const TINY_GUEST_CMDLINE = 'console=ttyS0 tsc_early_khz=2000000 quiet cryptomgr.notests panic=-1';

/** Guest RAM: the kernel needs ~80 MiB to unpack itself and the initramfs. */
export const TINY_GUEST_MIN_MEMORY_MIB = 96;
export const TINY_GUEST_DEFAULT_MEMORY_MIB = 128;

/** `direct`: microvm, -kernel/-initrd. `disk`: q35 + SeaBIOS booting the disk image through SYSLINUX. */
export type TinyGuestPackaging = 'direct' | 'disk';

/** A virtual machine to boot the tiny guest in. */
export interface TinyGuestVm {
  packaging: TinyGuestPackaging;
  /** Host tap device the NIC attaches to (created beforehand, in the caller's namespace). */
  tap: string;
  mac: string;
  /** File the serial console is written to. */
  serialLog: string;
  memoryMiB?: number;
  accel?: 'tcg' | 'kvm';
  /** Extra read-only disks, e.g. a config drive. */
  extraDisks?: Array<{ path: string; format: 'raw' | 'qcow2' }>;
}

const SAFE_ARG = /^[A-Za-z0-9_./:+@-]+$/;

function safe(value: string, what: string): string {
  // QEMU option values are comma-separated: a comma (or anything odd) in a path would inject options.
  if (!SAFE_ARG.test(value)) throw new Error(`${what} ${JSON.stringify(value)} has characters QEMU option strings cannot carry`);
  return value;
}

/** QEMU arguments (without the binary) that boot the tiny guest. */
export function tinyGuestQemuArgs(guest: TinyGuest, vm: TinyGuestVm): string[] {
  const mem = vm.memoryMiB ?? TINY_GUEST_DEFAULT_MEMORY_MIB;
  if (mem < TINY_GUEST_MIN_MEMORY_MIB) throw new Error(`the tiny guest needs at least ${TINY_GUEST_MIN_MEMORY_MIB} MiB of RAM`);
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(vm.mac)) throw new Error(`bad MAC ${vm.mac}`);
  const direct = vm.packaging === 'direct';
  const args = [
    '-machine',
    direct ? 'microvm' : 'q35',
    '-accel',
    vm.accel ?? 'tcg',
    '-cpu',
    'max',
    '-m',
    String(mem),
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-no-reboot',
    '-chardev',
    `file,id=serial0,path=${safe(vm.serialLog, 'serial log')}`,
    '-serial',
    'chardev:serial0',
    '-netdev',
    `tap,id=net0,ifname=${safe(vm.tap, 'tap')},script=no,downscript=no`,
    '-device',
    // romfile= drops the iPXE option ROM: nothing netboots, and SeaBIOS skips loading it.
    direct ? `virtio-net-device,netdev=net0,mac=${vm.mac}` : `virtio-net-pci,netdev=net0,mac=${vm.mac},romfile=`,
  ];
  if (direct) {
    args.push('-kernel', guest.kernel, '-initrd', guest.initramfs, '-append', guest.cmdline);
  } else {
    args.push(
      '-drive',
      `file=${safe(guest.disk, 'disk')},format=${guest.diskFormat},if=none,id=disk0,snapshot=on`,
      '-device',
      'virtio-blk-pci,drive=disk0,bootindex=0',
    );
  }
  (vm.extraDisks ?? []).forEach((d, i) => {
    args.push(
      '-drive',
      `file=${safe(d.path, 'disk')},format=${d.format},if=none,id=extra${i},readonly=on`,
      '-device',
      `${direct ? 'virtio-blk-device' : 'virtio-blk-pci'},drive=extra${i}`,
    );
  });
  return args;
}
