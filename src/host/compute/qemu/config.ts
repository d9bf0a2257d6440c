import type { Accel, InstanceSpec, MachineType, NicBinding } from '../driver.js';
import { ComputeError } from '../errors.js';
import type { QemuConfig, QemuDisk, QemuNic } from './argv.js';
import type { InstancePaths } from './layout.js';

/**
 * From a plain instance spec to QEMU's typed config: the decisions (which
 * machine, which devices, what the guest reads from SMBIOS) live here, the
 * spelling of the command line in argv.ts.
 */

/** Host-wide settings the driver adds to every spec. */
export interface HostSettings {
  /** Host prefix of this cloud; part of QEMU's guest name so `ps` shows whose it is. */
  prefix: string;
  accel: Accel;
  /** TCG translation cache per instance, MiB, one figure for every machine or one per machine type (ignored with KVM). */
  tbSizeMiB: number | Readonly<Record<MachineType, number>>;
  /** q35: spare PCIe root ports for NIC hot-plug. */
  spareHotplugPorts: number;
  /** SMBIOS system version (Nova puts its own version there). */
  version: string;
}

/** Every guest below this much RAM fails in confusing ways (kernels do not unpack); refuse it up front. */
export const MIN_MEMORY_MIB = 64;
/** Nova's documented maximum NICs per instance is not fixed; 16 keeps q35's root ports within one bus. */
export const MAX_NICS = 16;

/** The machine type a spec runs on: explicit, or microvm for direct kernel boot and q35 for disks. */
export function machineFor(spec: InstanceSpec): MachineType {
  return spec.machine ?? (spec.kernel ? 'microvm' : 'q35');
}

/** qdev id of the NIC bound to a port. */
export function nicIdFor(portId: string): string {
  return `nic-${portId}`;
}

/** Checks what the argv renderer cannot know about: sizes, counts, boot sources. */
export function validateSpec(spec: InstanceSpec): void {
  const bad = (msg: string): never => {
    throw new ComputeError('InvalidSpec', `instance ${spec.id}: ${msg}`);
  };
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < MIN_MEMORY_MIB) bad(`memory must be a whole number of MiB, at least ${MIN_MEMORY_MIB}`);
  if (!Number.isInteger(spec.vcpus) || spec.vcpus < 1 || spec.vcpus > 255) bad('vCPUs must be a whole number from 1 to 255');
  const machine = machineFor(spec);
  if (machine === 'microvm' && !spec.kernel) bad('microvm needs a kernel to boot directly (disk images boot on q35)');
  if (!spec.kernel && !spec.rootDisk) bad('nothing to boot: give a kernel or a root disk');
  if (spec.rootDisk?.sizeGiB !== undefined && (!Number.isInteger(spec.rootDisk.sizeGiB) || spec.rootDisk.sizeGiB < 0)) bad('root disk size must be a whole number of GiB');
  if (spec.nics.length > MAX_NICS) bad(`at most ${MAX_NICS} NICs`);
  const seen = new Set<string>();
  for (const n of spec.nics) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]{0,59}$/.test(n.portId)) bad(`port id ${JSON.stringify(n.portId)} is not an id`);
    if (seen.has(n.portId)) bad(`port ${n.portId} is bound twice`);
    seen.add(n.portId);
  }
}

/** The QEMU NIC for a port binding; `port` is its PCIe root port on q35. */
export function qemuNic(n: NicBinding, port: number | undefined): QemuNic {
  return {
    id: nicIdFor(n.portId),
    tap: n.tap,
    mac: n.mac.toLowerCase(),
    ...(n.mtu === undefined ? {} : { mtu: n.mtu }),
    ...(port === undefined ? {} : { port }),
  };
}

/** The QEMU config for a spec. `incoming`: start waiting for a saved state instead of booting. */
export function qemuConfigFor(spec: InstanceSpec, paths: InstancePaths, host: HostSettings, incoming: boolean): QemuConfig {
  validateSpec(spec);
  const machine = machineFor(spec);
  const disks: QemuDisk[] = [];
  if (spec.rootDisk) disks.push({ id: 'disk0', path: paths.overlay, format: 'qcow2', readOnly: false, bootIndex: 0, serial: spec.id.slice(0, 20) });
  // A read-only virtio disk rather than a CD-ROM: guests find it by its label (config-2) either way, and
  // virtio-blk needs no SCSI/ATAPI drivers in the guest (the tiny guest has none loaded at boot).
  if (spec.configDrive) disks.push({ id: 'config0', path: paths.configDrive, format: 'raw', readOnly: true });
  return {
    guestName: `${host.prefix}-${spec.id}`,
    processName: `${host.prefix}-${spec.id.slice(0, 8)}`,
    uuid: spec.id,
    machine,
    accel: host.accel,
    ...(host.accel === 'tcg' ? { tbSizeMiB: typeof host.tbSizeMiB === 'number' ? host.tbSizeMiB : host.tbSizeMiB[machine] } : {}),
    memoryMiB: spec.memoryMiB,
    vcpus: spec.vcpus,
    ...(spec.kernel
      ? { kernel: { path: spec.kernel.kernel, ...(spec.kernel.ramdisk === undefined ? {} : { initrd: spec.kernel.ramdisk }), cmdline: spec.kernel.cmdline } }
      : {}),
    disks,
    nics: spec.nics.map((n, i) => qemuNic(n, machine === 'q35' ? i : undefined)),
    rootPorts: machine === 'q35' ? spec.nics.length + host.spareHotplugPorts : 0,
    vga: machine === 'q35',
    pidFile: paths.pidFile,
    qmpSocket: paths.qmpSocket,
    vncSocket: paths.vncSocket,
    serialSocket: paths.serialSocket,
    consoleLog: paths.consoleLog,
    smbios: {
      // cloud-init (ds-identify) takes an x86 guest for OpenStack when the product or the chassis asset tag says so.
      manufacturer: 'OpenStack Foundation',
      product: 'OpenStack Nova',
      version: host.version,
      serial: spec.id,
      uuid: spec.id,
      family: 'Virtual Machine',
      assetTag: 'OpenStack Nova',
    },
    incoming,
  };
}
