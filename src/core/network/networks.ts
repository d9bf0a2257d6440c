import type { NetworkRow } from '../../store/network/networks.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { adminOnly, owns, targetProject, type Caller } from './access.js';
import { checkRevision, networkVisible, stamp, visibleNetwork, type NetCore } from './core.js';
import { availabilityZoneNotFound, invalidInput, networkInUse, networkNotFound, policyNotAuthorized } from './errors.js';
import { loadNetworks, type NetworkModel } from './models.js';
import { OWNER_DHCP, OWNER_FLOATINGIP, OWNER_ROUTER_GATEWAY, removePort } from './port-ops.js';
import { checkQuota } from './quotas.js';
import { checkZoneHints, type NetworkSettings } from './settings.js';
import { removeSubnetRows } from './subnets.js';

/**
 * Networks: tenant networks are VXLAN with a VNI from the configured range;
 * admin makes flat provider networks on a known physical network (the
 * external "public" network) and chooses provider attributes.
 */

export interface NetworkCreate {
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  shared?: boolean;
  'router:external'?: boolean;
  mtu?: number;
  port_security_enabled?: boolean;
  'provider:network_type'?: string;
  'provider:physical_network'?: string | null;
  'provider:segmentation_id'?: number | null;
  availability_zone_hints?: string[];
  dns_domain?: string;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export type NetworkUpdate = Omit<NetworkCreate, 'project_id' | 'tenant_id' | 'tags' | 'availability_zone_hints'>;

const MIN_MTU = 68;
const MAX_VNI = 16777215;

interface Segment {
  network_type: 'flat' | 'vxlan';
  physical_network: string | null;
  segmentation_id: number | null;
}

const conflictOf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });

async function allocateVni(r: NetworkRepos, settings: NetworkSettings): Promise<number> {
  const { min, max } = settings.vniRange;
  let want = min;
  for (const used of await r.networks.usedVnis(min, max)) {
    if (used > want) break;
    if (used === want) want++;
  }
  if (want > max) {
    throw new CloudError('ServiceUnavailable', 'Unable to create the network. No tenant network is available for allocation.', {
      type: 'NoNetworkAvailable',
    });
  }
  return want;
}

async function segmentFor(r: NetworkRepos, settings: NetworkSettings, b: NetworkCreate): Promise<Segment> {
  const type = b['provider:network_type'] ?? 'vxlan';
  const physnet = b['provider:physical_network'] ?? null;
  const segId = b['provider:segmentation_id'] ?? null;
  if (type === 'flat') {
    if (segId !== null) throw invalidInput('segmentation_id specified for flat provider network');
    if (physnet === null) throw invalidInput('physical_network required for flat provider network');
    if (!settings.flatNetworks.includes(physnet)) {
      throw invalidInput(`physical_network '${physnet}' unknown for flat provider network (known: ${settings.flatNetworks.join(', ')})`);
    }
    if (await r.networks.flatOn(physnet)) {
      throw conflictOf('FlatNetworkInUse', `Unable to create the flat network. Physical network ${physnet} is in use.`);
    }
    return { network_type: 'flat', physical_network: physnet, segmentation_id: null };
  }
  if (type === 'vxlan') {
    if (physnet !== null) throw invalidInput('provider:physical_network specified for VXLAN network');
    if (segId === null) return { network_type: 'vxlan', physical_network: null, segmentation_id: await allocateVni(r, settings) };
    if (!Number.isInteger(segId) || segId < 1 || segId > MAX_VNI) {
      throw invalidInput(`VXLAN segmentation_id ${segId} out of range (1 through ${MAX_VNI})`);
    }
    if (await r.networks.byVni(segId)) throw conflictOf('TunnelIdInUse', `Unable to create the network. The tunnel ID ${segId} is in use.`);
    return { network_type: 'vxlan', physical_network: null, segmentation_id: segId };
  }
  throw invalidInput(`network_type value '${type}' not supported (supported: flat, vxlan)`);
}

function maxMtu(settings: NetworkSettings, type: 'flat' | 'vxlan'): number {
  return type === 'flat' ? settings.mtu.flat : settings.mtu.vxlan;
}

function checkMtu(settings: NetworkSettings, type: 'flat' | 'vxlan', mtu: number): void {
  const max = maxMtu(settings, type);
  if (mtu < MIN_MTU) throw invalidInput(`MTU ${mtu} is too small: the minimum is ${MIN_MTU}`);
  if (mtu > max) throw invalidInput(`Requested MTU is too big, maximum is ${max}`);
}

export async function listNetworks(core: NetCore, c: Caller, f: { ids?: string[]; names?: string[] }): Promise<NetworkModel[]> {
  const r = core.store.read;
  return loadNetworks(r, await r.networks.list({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f }));
}

export async function getNetwork(core: NetCore, c: Caller, id: string): Promise<NetworkModel> {
  const r = core.store.read;
  const [m] = await loadNetworks(r, [await visibleNetwork(r, c, id)]);
  if (!m) throw networkNotFound(id);
  return m;
}

export async function createNetwork(core: NetCore, c: Caller, b: NetworkCreate): Promise<NetworkModel> {
  const projectId = targetProject(c, b);
  if (b.shared === true) adminOnly(c, 'create_network:shared');
  if (b['router:external'] === true) adminOnly(c, 'create_network:router:external');
  for (const k of ['provider:network_type', 'provider:physical_network', 'provider:segmentation_id'] as const) {
    if (b[k] !== undefined) adminOnly(c, `create_network:${k}`);
  }
  checkZoneHints(core.settings, b.availability_zone_hints, availabilityZoneNotFound);
  const id = await core.store.write(async (r, batch) => {
    const at = stamp();
    await checkQuota(r, core.settings, projectId, 'network');
    const seg = await segmentFor(r, core.settings, b);
    const mtu = b.mtu ?? maxMtu(core.settings, seg.network_type);
    checkMtu(core.settings, seg.network_type, mtu);
    const row: NetworkRow = {
      id: uuid(),
      project_id: projectId,
      name: b.name ?? '',
      description: b.description ?? '',
      admin_state_up: b.admin_state_up === false ? 0 : 1,
      shared: b.shared ? 1 : 0,
      external: b['router:external'] ? 1 : 0,
      mtu,
      ...seg,
      port_security_enabled: b.port_security_enabled === false ? 0 : 1,
      dns_domain: b.dns_domain ?? '',
      availability_zone_hints: JSON.stringify(b.availability_zone_hints ?? []),
      status: 'ACTIVE',
      created_at: at,
      updated_at: at,
      revision_number: 1,
    };
    await r.networks.insert(row);
    if (b.tags && b.tags.length > 0) await r.meta.setTags('networks', row.id, b.tags);
    batch.add('network', row.id, 'create');
    return row.id;
  });
  return getNetwork(core, c, id);
}

/** Only the owner (or admin) changes a network; others who can see it (shared/external) get 403. */
function requireNetworkOwner(c: Caller, n: NetworkRow, action: string): void {
  if (owns(c, n.project_id)) return;
  if (networkVisible(c, n)) throw policyNotAuthorized(`${action}_network`);
  throw networkNotFound(n.id);
}

export async function updateNetwork(core: NetCore, c: Caller, id: string, b: NetworkUpdate, ifRevision?: number): Promise<NetworkModel> {
  await core.store.write(async (r, batch) => {
    const n = await visibleNetwork(r, c, id);
    requireNetworkOwner(c, n, 'update');
    checkRevision(ifRevision, n.revision_number);
    const patch: Partial<NetworkRow> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.description = b.description;
    if (b.admin_state_up !== undefined) patch.admin_state_up = b.admin_state_up ? 1 : 0;
    if (b.port_security_enabled !== undefined) patch.port_security_enabled = b.port_security_enabled ? 1 : 0;
    if (b.dns_domain !== undefined) patch.dns_domain = b.dns_domain;
    if (b.mtu !== undefined) {
      checkMtu(core.settings, n.network_type, b.mtu);
      patch.mtu = b.mtu;
    }
    const provider = {
      'provider:network_type': n.network_type,
      'provider:physical_network': n.physical_network,
      'provider:segmentation_id': n.segmentation_id,
    } as const;
    for (const k of Object.keys(provider) as (keyof typeof provider)[]) {
      if (b[k] === undefined) continue;
      adminOnly(c, `update_network:${k}`);
      if (b[k] !== provider[k]) throw invalidInput('Plugin does not support updating provider attributes');
    }
    if (b.shared !== undefined && (b.shared ? 1 : 0) !== n.shared) {
      adminOnly(c, 'update_network:shared');
      if (!b.shared && (await r.ports.foreignOnNetwork(n.id, n.project_id, [OWNER_ROUTER_GATEWAY, OWNER_FLOATINGIP, OWNER_DHCP]))) {
        throw conflictOf('InvalidSharedSetting', `Unable to reconfigure sharing settings for network ${n.id}. Multiple tenants are using it.`);
      }
      patch.shared = b.shared ? 1 : 0;
    }
    if (b['router:external'] !== undefined && (b['router:external'] ? 1 : 0) !== n.external) {
      adminOnly(c, 'update_network:router:external');
      if (!b['router:external'] && (await r.ports.list({ networkIds: [n.id], deviceOwners: [OWNER_ROUTER_GATEWAY, OWNER_FLOATINGIP] })).length > 0) {
        throw conflictOf(
          'ExternalNetworkInUse',
          `External network ${n.id} cannot be updated to be made non-external, since it has existing gateway ports.`,
        );
      }
      patch.external = b['router:external'] ? 1 : 0;
    }
    await r.networks.update(n.id, patch, stamp());
    batch.add('network', n.id, 'update');
  });
  return getNetwork(core, c, id);
}

export async function deleteNetwork(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const n = await visibleNetwork(r, c, id);
    requireNetworkOwner(c, n, 'delete');
    checkRevision(ifRevision, n.revision_number);
    if ((await r.ports.countOnNetwork(n.id, [OWNER_DHCP])) > 0) throw networkInUse(n.id);
    const at = stamp();
    for (const p of await r.ports.list({ networkIds: [n.id] })) await removePort(r, batch, p, at);
    for (const s of await r.networks.listSubnets({ networkIds: [n.id] })) await removeSubnetRows(r, batch, s);
    await r.meta.clearTags(n.id);
    await r.networks.delete(n.id);
    batch.add('network', n.id, 'delete');
  });
}
