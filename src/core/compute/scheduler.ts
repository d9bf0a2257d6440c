import type { HostFiguresData } from './host.js';
import type { ComputeSettings } from './settings.js';

/**
 * The scheduler for one host, but a real one: it tracks vCPUs, RAM and disk
 * promised to the servers placed there (from their flavors), compares them
 * with the host's capacity times the allocation ratios, and refuses with
 * the reason instead of overcommitting. Server group policies are honoured:
 * anti-affinity cannot place a second member on the only host.
 */

export interface Capacity {
  vcpus: number;
  ramMb: number;
  diskGb: number;
}

export interface Demand {
  vcpus: number;
  ramMb: number;
  diskGb: number;
}

export interface GroupPlacement {
  name: string;
  id: string;
  policy: string;
  /** anti-affinity's max_server_per_host (default 1). */
  maxPerHost: number;
  /** Live members already placed on this host. */
  membersOnHost: number;
}

export type Placement = { ok: true; node: string } | { ok: false; reason: string };

/** Nova's placement arithmetic: (total - reserved) × ratio. */
export function capacityOf(h: Pick<HostFiguresData, 'vcpus' | 'memoryMb' | 'diskGb'>, s: ComputeSettings): Capacity {
  return {
    vcpus: Math.floor(h.vcpus * s.cpuAllocationRatio),
    ramMb: Math.floor(Math.max(0, h.memoryMb - s.reservedHostMemoryMb) * s.ramAllocationRatio),
    diskGb: Math.floor(Math.max(0, h.diskGb - s.reservedHostDiskMb / 1024) * s.diskAllocationRatio),
  };
}

/** What one server of a flavor takes from the host. Disk counts root + ephemeral + swap. */
export function demandOf(f: { vcpus: number; ram: number; disk: number; ephemeral: number; swap: number }): Demand {
  return { vcpus: f.vcpus, ramMb: f.ram, diskGb: f.disk + f.ephemeral + Math.ceil(f.swap / 1024) };
}

/**
 * Places `count` servers of one demand on the host, all or none (as Nova's
 * scheduler answers for a multi-create request).
 */
export function place(host: string, cap: Capacity, used: Demand, want: Demand, count: number, group?: GroupPlacement): Placement {
  const need = { vcpus: want.vcpus * count, ramMb: want.ramMb * count, diskGb: want.diskGb * count };
  const free = { vcpus: cap.vcpus - used.vcpus, ramMb: cap.ramMb - used.ramMb, diskGb: cap.diskGb - used.diskGb };
  const reasons: string[] = [];
  const many = count > 1 ? `${count} servers need` : 'needs';
  if (need.ramMb > free.ramMb) reasons.push(`${many} ${need.ramMb} MB RAM, ${Math.max(0, free.ramMb)} MB free on ${host} (of ${cap.ramMb} MB at the RAM allocation ratio)`);
  if (need.vcpus > free.vcpus) reasons.push(`${many} ${need.vcpus} vCPUs, ${Math.max(0, free.vcpus)} free on ${host} (of ${cap.vcpus} at the CPU allocation ratio)`);
  if (need.diskGb > free.diskGb) reasons.push(`${many} ${need.diskGb} GB disk, ${Math.max(0, free.diskGb)} GB free on ${host} (of ${cap.diskGb} GB)`);
  if (group && group.policy === 'anti-affinity' && group.membersOnHost + count > group.maxPerHost) {
    reasons.push(
      `server group ${group.name} (${group.id}) has the anti-affinity policy and already has ${group.membersOnHost} member(s) on ${host}, the only host; at most ${group.maxPerHost} per host`,
    );
  }
  if (reasons.length > 0) return { ok: false, reason: reasons.join('; ') };
  return { ok: true, node: host };
}

/** Nova's NoValidHost message; the reason goes in the fault's details. */
export const NO_VALID_HOST = 'No valid host was found. There are not enough hosts available.';
