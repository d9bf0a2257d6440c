/**
 * Networking settings: what Neutron's ml2 and quota sections configure.
 * Defaults suit the all-in-one cloud; each has a STACKLET_* variable so a
 * test or an operator can change it without touching code.
 */

/** Quota resources Neutron enforces here, in the order it lists them. */
export const QUOTA_RESOURCES = ['network', 'subnet', 'port', 'router', 'floatingip', 'security_group', 'security_group_rule'] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];

export interface NetworkSettings {
  /** Inclusive VXLAN VNI range tenant networks draw from (Neutron's vni_ranges). */
  vniRange: { min: number; max: number };
  /** First three octets of every generated MAC address (Neutron's base_mac). */
  macPrefix: string;
  /** Physical networks flat provider networks may use (Neutron's flat_networks). */
  flatNetworks: string[];
  /** MTU of a network by type: the physical MTU, less the VXLAN overhead for overlays. */
  mtu: { flat: number; vxlan: number };
  /** Default per-project limits; -1 means unlimited. */
  quotas: Record<QuotaResource, number>;
  /** Availability zone reported for networks and routers. */
  availabilityZone: string;
}

export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = {
  vniRange: { min: 1000, max: 1999 },
  macPrefix: 'fa:16:3e',
  flatNetworks: ['public'],
  mtu: { flat: 1500, vxlan: 1450 },
  quotas: { network: 100, subnet: 100, port: 500, router: 10, floatingip: 50, security_group: 10, security_group_rule: 100 },
  availabilityZone: 'nova',
};

/** Checks availability_zone_hints name zones that exist (this cloud has one); throws Neutron's 404 otherwise. */
export function checkZoneHints(settings: NetworkSettings, hints: readonly string[] | undefined, notFound: (name: string) => Error): void {
  for (const h of hints ?? []) if (h !== settings.availabilityZone) throw notFound(h);
}

export class NetworkSettingsError extends Error {
  override name = 'NetworkSettingsError';
}

/** Reads STACKLET_VXLAN_VNI_RANGE ("min:max"), STACKLET_MAC_PREFIX, STACKLET_FLAT_NETWORKS ("a,b") and STACKLET_QUOTA_<RESOURCE>. */
export function networkSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): NetworkSettings {
  const s: NetworkSettings = structuredClone(DEFAULT_NETWORK_SETTINGS);
  const vni = env['STACKLET_VXLAN_VNI_RANGE'];
  if (vni) {
    const m = /^(\d{1,8}):(\d{1,8})$/.exec(vni);
    const min = Number(m?.[1]);
    const max = Number(m?.[2]);
    if (!m || min < 1 || max > 16777215 || min > max) {
      throw new NetworkSettingsError(`STACKLET_VXLAN_VNI_RANGE wants MIN:MAX within 1:16777215 (e.g. 1000:1999), got "${vni}"`);
    }
    s.vniRange = { min, max };
  }
  const mac = env['STACKLET_MAC_PREFIX'];
  if (mac) {
    if (!/^[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$/.test(mac) || (parseInt(mac.slice(0, 2), 16) & 1) === 1) {
      throw new NetworkSettingsError(`STACKLET_MAC_PREFIX wants three lower-case unicast octets like fa:16:3e, got "${mac}"`);
    }
    s.macPrefix = mac;
  }
  const flat = env['STACKLET_FLAT_NETWORKS'];
  if (flat) {
    const names = flat.split(',').map((n) => n.trim()).filter(Boolean);
    if (names.some((n) => !/^[A-Za-z0-9_.-]{1,64}$/.test(n))) {
      throw new NetworkSettingsError(`STACKLET_FLAT_NETWORKS wants comma-separated names, got "${flat}"`);
    }
    s.flatNetworks = names;
  }
  for (const r of Object.keys(s.quotas) as QuotaResource[]) {
    const v = env[`STACKLET_QUOTA_${r.toUpperCase()}`];
    if (v === undefined || v === '') continue;
    const n = Number(v);
    if (!Number.isInteger(n) || n < -1) throw new NetworkSettingsError(`STACKLET_QUOTA_${r.toUpperCase()} wants an integer >= -1, got "${v}"`);
    s.quotas[r] = n;
  }
  return s;
}
