/**
 * What the API and the scheduler read from the host, as narrow interfaces
 * the compute driver (src/host/compute) satisfies through the adapters
 * below. A handler never runs a command; it reads through these.
 */

/** The host as a hypervisor: real figures, measured by the driver. */
export interface HostFiguresData {
  /** The hypervisor's host name (what os-hypervisors and OS-EXT-SRV-ATTR:host show). */
  hostname: string;
  vcpus: number;
  memoryMb: number;
  /** Host memory available now (MiB). */
  memoryFreeMb: number;
  /** Size and free space of the filesystem holding instance disks, in GiB. */
  diskGb: number;
  diskFreeGb: number;
  hypervisorType: string;
  /** Nova's integer form: 8.2.2 → 8002002. */
  hypervisorVersion: number;
  cpuModel: string;
  /** "kvm" or "tcg", and why (the KVM probe's verdict). */
  accelerator?: { kind: string; reason: string } | undefined;
  /** The address the host is reached at (host_ip). */
  hostIp?: string | undefined;
  uptimeSeconds?: number | undefined;
  loadAverage?: [number, number, number] | undefined;
}

export interface HostFigures {
  figures(): Promise<HostFiguresData>;
}

/** Reads a server's serial console log (what `console log show` prints). */
export interface ConsoleReader {
  /** The last `tailLines` lines (all when undefined); undefined when the server has no log yet. */
  read(instanceId: string, tailLines?: number): Promise<string | undefined>;
}

/** Nova's integer hypervisor version: "8.2.2" → 8002002. */
export function versionNumber(v: string): number {
  const [a = 0, b = 0, c = 0] = v.split('.').map((p) => Number.parseInt(p, 10) || 0);
  return a * 1_000_000 + b * 1_000 + c;
}

/** The figures as the compute driver reports them (structurally; core does not import host/). */
export interface DriverFigures {
  hostname: string;
  vcpus: number;
  memoryTotalMiB: number;
  memoryFreeMiB: number;
  diskTotalGiB: number;
  diskFreeGiB: number;
  qemuVersion: string;
  accel: { accel: string; reason: string };
  cpuModel: string;
}

/**
 * Adapts the driver's hostFigures() to HostFigures, caching for `ttlMs`
 * (the scheduler asks on every create; the figures move slowly).
 */
export function hostFiguresFrom(
  driver: { hostFigures(): Promise<DriverFigures> },
  extras: () => Partial<Pick<HostFiguresData, 'hostIp' | 'uptimeSeconds' | 'loadAverage'>> = () => ({}),
  ttlMs = 5000,
): HostFigures {
  let cached: { at: number; data: Promise<HostFiguresData> } | undefined;
  return {
    figures() {
      const now = Date.now();
      if (!cached || now - cached.at > ttlMs) {
        const data = driver.hostFigures().then((f) => ({
          hostname: f.hostname,
          vcpus: f.vcpus,
          memoryMb: f.memoryTotalMiB,
          memoryFreeMb: f.memoryFreeMiB,
          diskGb: f.diskTotalGiB,
          diskFreeGb: f.diskFreeGiB,
          hypervisorType: 'QEMU',
          hypervisorVersion: versionNumber(f.qemuVersion),
          cpuModel: f.cpuModel,
          accelerator: { kind: f.accel.accel, reason: f.accel.reason },
          ...extras(),
        }));
        cached = { at: now, data };
        // A failed read must not be cached: the next call asks again.
        data.catch(() => {
          if (cached?.data === data) cached = undefined;
        });
      }
      return cached.data;
    },
  };
}

/** Adapts the driver's consoleLog() to ConsoleReader (a server without a log reads as undefined). */
export function consoleReaderFrom(driver: { consoleLog(id: string, opts?: { lines?: number }): Promise<string> }): ConsoleReader {
  return {
    async read(id, tailLines) {
      try {
        return await driver.consoleLog(id, tailLines === undefined ? {} : { lines: tailLines });
      } catch {
        return undefined;
      }
    },
  };
}
