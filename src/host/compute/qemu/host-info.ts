import { readFile, statfs } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import type { AccelChoice, HostFigures } from '../driver.js';

/** What os-hypervisors reports about this host: RAM, vCPUs, the instances' disk, QEMU and the accelerator. */

/** MemAvailable from /proc/meminfo in MiB (what new guests can get without swapping). */
export async function memAvailableMiB(): Promise<number> {
  const text = await readFile('/proc/meminfo', 'utf8');
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(text);
  return m?.[1] ? Math.floor(Number(m[1]) / 1024) : 0;
}

/** Figures of this host; `dir` is where instance disks live. */
export async function hostFigures(dir: string, qemuVersion: string, accel: AccelChoice): Promise<HostFigures> {
  const fs = await statfs(dir);
  const gib = 1024 ** 3;
  const list = cpus();
  return {
    hostname: hostname(),
    vcpus: list.length,
    memoryTotalMiB: Math.floor(totalmem() / (1024 * 1024)),
    memoryFreeMiB: await memAvailableMiB(),
    diskTotalGiB: Math.floor((fs.blocks * fs.bsize) / gib),
    diskFreeGiB: Math.floor((fs.bavail * fs.bsize) / gib),
    qemuVersion,
    accel,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
  };
}
