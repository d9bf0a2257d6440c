import type { Accel, MachineType } from '../driver.js';

/**
 * QEMU's command line as typed data, rendered deterministically (the same
 * config always gives the same argv, pinned by golden files in testdata/),
 * like Incus's qemu templates. Nothing here touches the host.
 */

/** A block device. */
export interface QemuDisk {
  /** qdev/node id, unique in the VM. */
  id: string;
  path: string;
  format: 'raw' | 'qcow2';
  readOnly: boolean;
  /** SeaBIOS boot order (q35); absent: not bootable. */
  bootIndex?: number;
  /** Serial the guest sees (/dev/disk/by-id). */
  serial?: string;
}

/** A virtio NIC on a tap the network side created. */
export interface QemuNic {
  /** qdev id of the NIC; the netdev is `nd-<suffix>` with the same suffix. */
  id: string;
  tap: string;
  mac: string;
  mtu?: number;
  /** q35: index of the PCIe root port it sits on (recorded so a restore or a detach finds the same slot). */
  port?: number;
}

/** Identity the guest reads from SMBIOS (cloud-init's OpenStack detection reads product and asset tag). */
export interface QemuSmbios {
  manufacturer: string;
  product: string;
  version: string;
  serial: string;
  uuid: string;
  family: string;
  assetTag: string;
}

/** Everything the command line says, as data. */
export interface QemuConfig {
  /** Shown by `ps` (as the process name, 15 bytes at most) and in QMP. */
  guestName: string;
  processName: string;
  uuid: string;
  machine: MachineType;
  accel: Accel;
  /** TCG translation cache in MiB (the main per-instance overhead beyond guest RAM under TCG). */
  tbSizeMiB?: number;
  memoryMiB: number;
  vcpus: number;
  kernel?: { path: string; initrd?: string; cmdline: string };
  disks: QemuDisk[];
  nics: QemuNic[];
  /** q35: PCIe root ports, one per NIC plus spares for NICs hot-plugged later (a root port is the unit of PCIe hot-plug). */
  rootPorts: number;
  /** q35: a VGA adapter, so real cloud images show their tty0 on the VNC console. */
  vga: boolean;
  pidFile: string;
  qmpSocket: string;
  vncSocket: string;
  serialSocket: string;
  consoleLog: string;
  smbios: QemuSmbios;
  /** Start paused, waiting for a migration stream (restore of a suspended instance). */
  incoming: boolean;
}

/** Thrown for a config that cannot be rendered safely; a bug or a bad spec upstream. */
export class QemuConfigError extends Error {
  override name = 'QemuConfigError';
}

const QDEV_ID = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/**
 * A value inside a comma-separated QEMU option string. Commas separate
 * options (an unescaped one would inject another), so they are refused
 * outright rather than escaped, as are control characters.
 */
function val(value: string, what: string): string {
  // eslint-disable-next-line no-control-regex
  if (value === '' || /[,\x00-\x1f\x7f]/.test(value)) {
    throw new QemuConfigError(`${what} ${JSON.stringify(value)} is empty or has a comma or control character QEMU options cannot carry`);
  }
  return value;
}

function path(p: string, what: string): string {
  if (!p.startsWith('/')) throw new QemuConfigError(`${what} ${JSON.stringify(p)} must be an absolute path`);
  return val(p, what);
}

function qdevId(id: string): string {
  if (!QDEV_ID.test(id)) throw new QemuConfigError(`device id ${JSON.stringify(id)} is not a valid QEMU id`);
  return id;
}

function positiveInt(n: number, what: string, max: number): string {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new QemuConfigError(`${what} must be an integer from 1 to ${max}, got ${n}`);
  return String(n);
}

/** The netdev id that belongs to a NIC id. */
export function netdevIdFor(nicId: string): string {
  return `nd-${nicId}`;
}

/** The PCIe root port a q35 NIC sits on (hot-plug and -unplug happen per root port). */
export function rootPortId(index: number): string {
  return `rp${index}`;
}

function machineArg(c: QemuConfig): string {
  // No option ROMs (iPXE, linuxboot-dma stays): nothing netboots, and each ROM costs boot time under TCG.
  if (c.machine === 'microvm') return 'microvm,x-option-roms=off,isa-serial=on,pcie=off,usb=off,dump-guest-core=off';
  return 'q35,vmport=off,dump-guest-core=off';
}

function accelArg(c: QemuConfig): string[] {
  if (c.accel === 'kvm') return ['-accel', 'kvm', '-cpu', 'host'];
  const tb = c.tbSizeMiB === undefined ? '' : `,tb-size=${positiveInt(c.tbSizeMiB, 'tb-size', 4096)}`;
  return ['-accel', `tcg${tb}`, '-cpu', 'max'];
}

function smbiosArgs(s: QemuSmbios): string[] {
  const t1 = [
    'type=1',
    `manufacturer=${val(s.manufacturer, 'SMBIOS manufacturer')}`,
    `product=${val(s.product, 'SMBIOS product')}`,
    `version=${val(s.version, 'SMBIOS version')}`,
    `serial=${val(s.serial, 'SMBIOS serial')}`,
    `uuid=${val(s.uuid, 'SMBIOS uuid')}`,
    `family=${val(s.family, 'SMBIOS family')}`,
  ].join(',');
  const t3 = ['type=3', `manufacturer=${val(s.manufacturer, 'SMBIOS manufacturer')}`, `asset=${val(s.assetTag, 'SMBIOS asset tag')}`].join(',');
  return ['-smbios', t1, '-smbios', t3];
}

function diskArgs(c: QemuConfig, d: QemuDisk): string[] {
  const id = qdevId(d.id);
  const file = `driver=file,node-name=${id}-file,filename=${path(d.path, 'disk path')},read-only=${d.readOnly ? 'on' : 'off'}${d.readOnly ? '' : ',discard=unmap'}`;
  const fmt = `driver=${d.format},node-name=${id},file=${id}-file,read-only=${d.readOnly ? 'on' : 'off'}${d.readOnly ? '' : ',discard=unmap'}`;
  const dev = [c.machine === 'microvm' ? 'virtio-blk-device' : 'virtio-blk-pci', `id=dev-${id}`, `drive=${id}`];
  if (d.serial !== undefined) dev.push(`serial=${val(d.serial, 'disk serial')}`);
  if (d.bootIndex !== undefined && c.machine === 'q35') dev.push(`bootindex=${d.bootIndex}`);
  return ['-blockdev', file, '-blockdev', fmt, '-device', dev.join(',')];
}

function nicArgs(c: QemuConfig, n: QemuNic): string[] {
  const id = qdevId(n.id);
  if (!IFNAME.test(n.tap)) throw new QemuConfigError(`tap name ${JSON.stringify(n.tap)} is not a valid interface name`);
  if (!MAC.test(n.mac)) throw new QemuConfigError(`MAC ${JSON.stringify(n.mac)} must be lower-case xx:xx:xx:xx:xx:xx`);
  // No vhost-net on these hosts; vhost=off keeps QEMU from trying.
  const netdev = `tap,id=${netdevIdFor(id)},ifname=${n.tap},script=no,downscript=no,vhost=off`;
  const dev =
    c.machine === 'microvm'
      ? [`virtio-net-device`, `id=${id}`, `netdev=${netdevIdFor(id)}`, `mac=${n.mac}`]
      : [`virtio-net-pci`, `id=${id}`, `netdev=${netdevIdFor(id)}`, `mac=${n.mac}`, `bus=${rootPortId(n.port ?? -1)}`, 'romfile='];
  if (n.mtu !== undefined) dev.push(`host_mtu=${positiveInt(n.mtu, 'MTU', 65535)}`);
  return ['-netdev', netdev, '-device', dev.join(',')];
}

/** Renders a config as QEMU's argv (without the binary). Throws QemuConfigError for anything unsafe. */
export function renderQemuArgv(c: QemuConfig): string[] {
  if (c.machine === 'microvm' && c.kernel === undefined) throw new QemuConfigError('microvm boots only a kernel given directly');
  const a: string[] = [];
  a.push('-name', `guest=${val(c.guestName, 'guest name')},process=${val(c.processName, 'process name')},debug-threads=off`);
  a.push('-uuid', val(c.uuid, 'uuid'));
  a.push('-machine', machineArg(c));
  a.push(...accelArg(c));
  a.push('-m', positiveInt(c.memoryMiB, 'memory (MiB)', 1 << 22));
  a.push('-smp', positiveInt(c.vcpus, 'vCPU count', 255));
  a.push('-nodefaults', '-no-user-config', '-display', 'none');
  a.push('-chardev', `socket,id=qmp,path=${path(c.qmpSocket, 'QMP socket')},server=on,wait=off`, '-mon', 'chardev=qmp,mode=control');
  a.push(
    '-chardev',
    `socket,id=serial0,path=${path(c.serialSocket, 'serial socket')},server=on,wait=off,logfile=${path(c.consoleLog, 'console log')},logappend=on`,
    '-serial',
    'chardev:serial0',
  );
  a.push('-vnc', `unix:${path(c.vncSocket, 'VNC socket')}`);
  if (c.vga && c.machine === 'q35') a.push('-device', 'VGA,id=vga0,vgamem_mb=8');
  a.push(...smbiosArgs(c.smbios));
  if (c.kernel) {
    a.push('-kernel', path(c.kernel.path, 'kernel'));
    if (c.kernel.initrd !== undefined) a.push('-initrd', path(c.kernel.initrd, 'ramdisk'));
    // A separate argv element: spaces and commas are fine here, only NUL is not.
    if (c.kernel.cmdline.includes('\0')) throw new QemuConfigError('kernel command line contains NUL');
    a.push('-append', c.kernel.cmdline);
  }
  for (const d of c.disks) a.push(...diskArgs(c, d));
  if (c.machine === 'q35') {
    if (!Number.isInteger(c.rootPorts) || c.rootPorts < 0 || c.rootPorts > 30) throw new QemuConfigError(`root port count must be 0-30, got ${c.rootPorts}`);
    const used = new Set<number>();
    for (const n of c.nics) {
      if (n.port === undefined || !Number.isInteger(n.port) || n.port < 0 || n.port >= c.rootPorts || used.has(n.port)) {
        throw new QemuConfigError(`NIC ${n.id} needs a root port of its own below ${c.rootPorts}, has ${String(n.port)}`);
      }
      used.add(n.port);
    }
    for (let i = 0; i < c.rootPorts; i++) a.push('-device', `pcie-root-port,id=${rootPortId(i)},bus=pcie.0,chassis=${i + 1}`);
  }
  for (const n of c.nics) a.push(...nicArgs(c, n));
  if (c.incoming) a.push('-incoming', 'defer');
  // QEMU runs as root: seccomp keeps a compromised one from exec'ing, forking or changing
  // privileges. It is why Stacklet detaches QEMU itself instead of using -daemonize (which forks).
  a.push('-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny');
  a.push('-pidfile', path(c.pidFile, 'pid file'));
  return a;
}
