/**
 * The compute driver: the only way the rest of Stacklet touches instances
 * on the host. Specs are plain data (what the reconciler wants), results are
 * plain data (what the host has). Every method is idempotent: "already
 * running", "already off" and "already gone" are success.
 *
 * Nova's virt driver interface grew to ~110 methods; this one stays small
 * and leaves policy (which vm_state allows what, retries, faults) to the
 * caller.
 */

/** How guests are run: hardware virtualisation or QEMU's translator. */
export type Accel = 'kvm' | 'tcg';

/**
 * What the hypervisor says about an instance (Nova's power_state axis).
 * `suspended`: no process, memory saved to a file that resume() restores.
 * `crashed`: the process exists but the guest panicked or QEMU hit an
 * internal or I/O error.
 */
export type PowerState = 'running' | 'paused' | 'suspended' | 'shutdown' | 'crashed';

/** x86 machine types: microvm boots a kernel directly (fast, no PCI hot-plug); q35 boots disks through SeaBIOS. */
export type MachineType = 'microvm' | 'q35';

/** A disk image on the host; the driver only ever reads it (instances write to their own overlay). */
export interface ImageFile {
  path: string;
  format: 'raw' | 'qcow2';
}

/** What networking hands compute for one port (Nova's VIF): a tap that already exists, on its bridge. */
export interface NicBinding {
  /** Neutron port id: names the NIC inside QEMU so it can be detached later. */
  portId: string;
  /** Host tap device, created beforehand by the network side. */
  tap: string;
  /** Lower-case colon-separated MAC, e.g. fa:16:3e:12:34:56. */
  mac: string;
  /** MTU advertised to the guest through virtio-net's host_mtu (guests that honour it use it without DHCP). */
  mtu?: number;
}

/** Direct kernel boot (AMI-style kernel + ramdisk images). */
export interface KernelBoot {
  kernel: string;
  ramdisk?: string;
  cmdline: string;
}

/** Files of a config drive (ISO 9660, label config-2): relative path → content, e.g. `openstack/latest/meta_data.json`. */
export type ConfigDriveFiles = Record<string, string | Uint8Array>;

/** One instance as the reconciler wants it. */
export interface InstanceSpec {
  /** Nova server id (a uuid): names the instance dir and becomes the SMBIOS/QEMU uuid. */
  id: string;
  /** Display name, for humans reading `ps` and QMP; not trusted (sanitised before use). */
  name: string;
  memoryMiB: number;
  vcpus: number;
  /** Defaults to microvm when booting a kernel directly, q35 otherwise. */
  machine?: MachineType;
  /** Boot this kernel directly instead of from the root disk's boot loader. */
  kernel?: KernelBoot;
  /** Root disk: a qcow2 overlay on this image, grown to sizeGiB when that is larger than the image. */
  rootDisk?: { image: ImageFile; sizeGiB?: number };
  nics: NicBinding[];
  /** Attach a config drive holding these files. Rebuilt on every (re)start so it follows the spec. */
  configDrive?: ConfigDriveFiles;
}

/** What the host has for one instance. */
export interface InstanceStatus {
  id: string;
  state: PowerState;
  /** QEMU's pid while a process exists. */
  pid?: number;
  machine?: MachineType;
  accel?: Accel;
  /** QEMU's own status word (`running`, `paused`, `guest-panicked`, ...) when a process answered. */
  detail?: string;
}

/** Which accelerator the host uses, and why (shown by `stacklet status`). */
export interface AccelChoice {
  accel: Accel;
  reason: string;
}

/** Host figures for os-hypervisors. */
export interface HostFigures {
  hostname: string;
  vcpus: number;
  memoryTotalMiB: number;
  /** MemAvailable: what new guests can still get without swapping. */
  memoryFreeMiB: number;
  /** Filesystem that holds the instances. */
  diskTotalGiB: number;
  diskFreeGiB: number;
  /** e.g. "7.2.22" */
  qemuVersion: string;
  accel: AccelChoice;
  cpuModel: string;
}

/** Options for destroy(). */
export interface DestroyOptions {
  /** Keep the serial log (e.g. for a server in ERROR someone wants to read). */
  keepLog?: boolean;
}

/**
 * The compute driver. Implementations: qemu/driver.ts (the real host) and
 * fake/driver.ts (in memory, for reconciler unit tests).
 */
export interface ComputeDriver {
  /**
   * Makes the instance run: prepares its dir, overlay and config drive and
   * starts QEMU. A suspended instance is restored from its saved state
   * instead (Nova's resume): its memory is the guest's truth. A running or
   * paused instance is left as it is. Resolves once QEMU runs, not when the
   * guest has booted.
   */
  ensureRunning(spec: InstanceSpec): Promise<InstanceStatus>;
  /** Clean shutdown (ACPI power button) for up to timeoutMs, then a forced stop. Discards a suspended state. */
  powerOff(id: string, opts?: { timeoutMs?: number }): Promise<void>;
  /**
   * Soft: the guest is asked to reboot (Ctrl-Alt-Del on q35) and reset if it
   * has not within timeoutMs; microvm has no keyboard, so soft is hard there.
   * Hard: a reset, like pressing the reset button.
   */
  reboot(id: string, kind: 'soft' | 'hard', opts?: { timeoutMs?: number }): Promise<void>;
  /** Freezes the vCPUs; memory stays allocated. */
  pause(id: string): Promise<void>;
  unpause(id: string): Promise<void>;
  /** Saves the guest's memory and device state to a file in the instance dir and stops QEMU (frees the RAM); ensureRunning restores it. */
  suspend(id: string): Promise<void>;
  /** Kills QEMU and removes everything of the instance on the host: overlay, config drive, sockets, saved state, log. */
  destroy(id: string, opts?: DestroyOptions): Promise<void>;
  /** undefined when the host knows nothing of this id. */
  status(id: string): Promise<InstanceStatus | undefined>;
  /** Every instance this cloud has on the host (running or not), found by its dir, pid file and QMP socket. */
  list(): Promise<InstanceStatus[]>;
  /** The serial console log: the last `lines` lines (all when absent). */
  consoleLog(id: string, opts?: { lines?: number }): Promise<string>;
  /** Path of the running instance's VNC unix socket, for the console proxy. */
  vncSocket(id: string): Promise<string>;
  /** Hot-plugs a NIC into a running instance (q35 only); the caller adds it to the spec for later starts. */
  attachInterface(id: string, nic: NicBinding): Promise<void>;
  /** Hot-unplugs a NIC by port id; resolves when the guest has released it. */
  detachInterface(id: string, portId: string): Promise<void>;
  /** Copies the instance's root disk (overlay + image flattened) to dest; a running guest is paused meanwhile. */
  snapshotDisk(id: string, dest: ImageFile): Promise<void>;
  hostFigures(): Promise<HostFigures>;
}
