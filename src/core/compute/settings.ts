/**
 * Compute settings: what nova.conf's [DEFAULT] allocation ratios, reserved
 * host resources and [quota] section configure. Defaults suit the
 * all-in-one cloud; each has a STACKLET_* variable so a test or an operator
 * can change it without touching code.
 */

/** Nova's per-project quota resources, in the order os-quota-sets lists them. */
export const QUOTA_RESOURCES = ['instances', 'cores', 'ram', 'key_pairs', 'metadata_items', 'server_groups', 'server_group_members'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

export interface ComputeSettings {
  /** Virtual CPUs the host may promise per physical CPU (Nova's cpu_allocation_ratio). */
  cpuAllocationRatio: number;
  /** Guest RAM the host may promise per MiB of its own (ram_allocation_ratio). */
  ramAllocationRatio: number;
  diskAllocationRatio: number;
  /** Host RAM kept for the host itself and Stacklet (reserved_host_memory_mb). */
  reservedHostMemoryMb: number;
  reservedHostDiskMb: number;
  /** The one availability zone compute reports (default_availability_zone). */
  availabilityZone: string;
  /** Default per-project limits; -1 means unlimited. */
  quotas: Record<QuotaResource, number>;
  /** How long a console URL's token admits a connection. */
  consoleTokenTtlSeconds: number;
  /** Largest user_data accepted, after base64 decoding. */
  maxUserDataBytes: number;
}

export const DEFAULT_COMPUTE_SETTINGS: ComputeSettings = {
  cpuAllocationRatio: 16,
  ramAllocationRatio: 1.5,
  diskAllocationRatio: 1,
  reservedHostMemoryMb: 512,
  reservedHostDiskMb: 0,
  availabilityZone: 'nova',
  quotas: { instances: 10, cores: 20, ram: 51200, key_pairs: 100, metadata_items: 128, server_groups: 10, server_group_members: 10 },
  consoleTokenTtlSeconds: 600,
  maxUserDataBytes: 64 * 1024,
};

export class ComputeSettingsError extends Error {
  override name = 'ComputeSettingsError';
}

const RATIOS: [string, 'cpuAllocationRatio' | 'ramAllocationRatio' | 'diskAllocationRatio'][] = [
  ['STACKLET_CPU_ALLOCATION_RATIO', 'cpuAllocationRatio'],
  ['STACKLET_RAM_ALLOCATION_RATIO', 'ramAllocationRatio'],
  ['STACKLET_DISK_ALLOCATION_RATIO', 'diskAllocationRatio'],
];

/**
 * Reads STACKLET_{CPU,RAM,DISK}_ALLOCATION_RATIO, STACKLET_RESERVED_HOST_MEMORY_MB,
 * STACKLET_RESERVED_HOST_DISK_MB, STACKLET_COMPUTE_AZ and STACKLET_QUOTA_<RESOURCE>
 * (e.g. STACKLET_QUOTA_INSTANCES).
 */
export function computeSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ComputeSettings {
  const s: ComputeSettings = structuredClone(DEFAULT_COMPUTE_SETTINGS);
  for (const [name, key] of RATIOS) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > 1000) throw new ComputeSettingsError(`${name} wants a positive number such as 16.0, got "${v}"`);
    s[key] = n;
  }
  const ints: [string, 'reservedHostMemoryMb' | 'reservedHostDiskMb'][] = [
    ['STACKLET_RESERVED_HOST_MEMORY_MB', 'reservedHostMemoryMb'],
    ['STACKLET_RESERVED_HOST_DISK_MB', 'reservedHostDiskMb'],
  ];
  for (const [name, key] of ints) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^\d{1,9}$/.test(v)) throw new ComputeSettingsError(`${name} wants a whole number of MiB, got "${v}"`);
    s[key] = Number(v);
  }
  const az = env['STACKLET_COMPUTE_AZ'];
  if (az) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(az)) throw new ComputeSettingsError(`STACKLET_COMPUTE_AZ wants a simple name such as nova, got "${az}"`);
    s.availabilityZone = az;
  }
  for (const r of QUOTA_RESOURCES) {
    const name = `STACKLET_QUOTA_${r.toUpperCase()}`;
    const v = env[name];
    if (v === undefined || v === '') continue;
    if (!/^-?\d{1,9}$/.test(v) || Number(v) < -1) throw new ComputeSettingsError(`${name} wants a whole number or -1 (unlimited), got "${v}"`);
    s.quotas[r] = Number(v);
  }
  return s;
}
