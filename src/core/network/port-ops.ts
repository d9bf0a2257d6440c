import { randomBytes } from 'node:crypto';
import type { ChangeBatch } from '../../store/changes.js';
import type { NetworkRow } from '../../store/network/networks.repo.js';
import type { PortRow } from '../../store/network/ports.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { macInUse } from './errors.js';
import { allocateFixedIps, releasePortIps, type FixedIpRequest } from './ipam.js';
import type { FixedIp } from './models.js';
import type { NetworkSettings } from './settings.js';

/**
 * Making and removing port rows with everything that hangs off them
 * (addresses, security group membership, tags, floating IP associations,
 * change events). Every port comes through here: user ports, router legs,
 * floating IP holders and DHCP ports.
 */

export const OWNER_ROUTER_INTERFACE = 'network:router_interface';
export const OWNER_ROUTER_GATEWAY = 'network:router_gateway';
export const OWNER_FLOATINGIP = 'network:floatingip';
export const OWNER_DHCP = 'network:dhcp';

/** Ports Neutron itself manages: no security groups, and not deletable through the port API. */
export const isServicePort = (owner: string): boolean =>
  owner === OWNER_ROUTER_INTERFACE || owner === OWNER_ROUTER_GATEWAY || owner === OWNER_FLOATINGIP || owner === OWNER_DHCP;

export interface NewPort {
  id?: string;
  projectId: string;
  name?: string;
  description?: string;
  /** A MAC the caller chose (checked to be free on the network here). */
  macAddress?: string;
  /** A MAC generateMac just found free in this transaction (not checked again). */
  freeMacAddress?: string;
  adminStateUp?: boolean;
  deviceId?: string;
  deviceOwner?: string;
  bindingHostId?: string;
  bindingVnicType?: string;
  bindingProfile?: Record<string, unknown>;
  portSecurity: boolean;
  allowedAddressPairs?: { ip_address: string; mac_address: string }[];
  securityGroupIds?: string[];
  dnsName?: string;
  /** undefined: automatic addresses; []: none. */
  fixedIps: FixedIpRequest[] | undefined;
  tags?: string[];
}

/** Neutron's base_mac scheme: the configured prefix and three random octets, unique on the network. */
export async function generateMac(r: NetworkRepos, settings: NetworkSettings, networkId: string): Promise<string> {
  for (let i = 0; i < 16; i++) {
    const tail = [...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':');
    const mac = `${settings.macPrefix}:${tail}`;
    if (!(await r.ports.macInUse(networkId, mac))) return mac;
  }
  throw new CloudError('ServiceUnavailable', `Unable to generate a unique MAC address on network ${networkId}; try again.`, {
    type: 'MacAddressGenerationFailure',
  });
}

/** What the binding looks like once a host is set: a Linux bridge port with port filtering. */
export function bindingFor(hostId: string): { vifType: string; vifDetails: string } {
  return hostId
    ? { vifType: 'bridge', vifDetails: JSON.stringify({ port_filter: true, connectivity: 'l2' }) }
    : { vifType: 'unbound', vifDetails: '{}' };
}

/** Emits the events of a port change: the port, its network (DHCP hosts) and, for router legs, the router. */
export function portEvents(batch: ChangeBatch, port: PortRow, op: 'create' | 'update' | 'delete'): void {
  batch.add('port', port.id, op);
  batch.add('network', port.network_id, 'update');
  if ((port.device_owner === OWNER_ROUTER_INTERFACE || port.device_owner === OWNER_ROUTER_GATEWAY) && port.device_id) {
    batch.add('router', port.device_id, 'update');
  }
}

export async function insertPort(
  r: NetworkRepos,
  batch: ChangeBatch,
  settings: NetworkSettings,
  network: NetworkRow,
  np: NewPort,
  at: string,
): Promise<{ row: PortRow; fixedIps: FixedIp[] }> {
  let mac: string;
  if (np.freeMacAddress) {
    mac = np.freeMacAddress;
  } else if (np.macAddress !== undefined) {
    if (await r.ports.macInUse(network.id, np.macAddress)) throw macInUse(network.id, np.macAddress);
    mac = np.macAddress;
  } else {
    mac = await generateMac(r, settings, network.id);
  }
  const hostId = np.bindingHostId ?? '';
  const binding = bindingFor(hostId);
  const row: PortRow = {
    id: np.id ?? uuid(),
    network_id: network.id,
    project_id: np.projectId,
    name: np.name ?? '',
    description: np.description ?? '',
    mac_address: mac,
    admin_state_up: np.adminStateUp === false ? 0 : 1,
    status: 'DOWN',
    device_id: np.deviceId ?? '',
    device_owner: np.deviceOwner ?? '',
    binding_host_id: hostId,
    binding_vnic_type: np.bindingVnicType ?? 'normal',
    binding_profile: JSON.stringify(np.bindingProfile ?? {}),
    binding_vif_type: binding.vifType,
    binding_vif_details: binding.vifDetails,
    port_security_enabled: np.portSecurity ? 1 : 0,
    allowed_address_pairs: JSON.stringify(np.allowedAddressPairs ?? []),
    dns_name: np.dnsName ?? '',
    created_at: at,
    updated_at: at,
    revision_number: 1,
  };
  try {
    await r.ports.insert(row);
  } catch (err) {
    if (err instanceof Error && /UNIQUE constraint failed: ports\.network_id, ports\.mac_address/.test(err.message)) throw macInUse(network.id, mac);
    throw err;
  }
  const fixedIps = await allocateFixedIps(r, network, { id: row.id, mac, deviceOwner: row.device_owner }, np.fixedIps);
  if (np.securityGroupIds && np.securityGroupIds.length > 0) {
    await r.ports.setSecurityGroups(row.id, np.securityGroupIds);
    for (const g of np.securityGroupIds) batch.add('security_group', g, 'update');
  }
  if (np.tags && np.tags.length > 0) await r.meta.setTags('ports', row.id, np.tags);
  portEvents(batch, row, 'create');
  return { row, fixedIps };
}

/**
 * Removes a port and what hangs off it: its addresses go back to the pools,
 * floating IPs pointing at it are disassociated (as Neutron does when a
 * port is deleted), its membership and tags go.
 */
export async function removePort(r: NetworkRepos, batch: ChangeBatch, port: PortRow, at: string): Promise<void> {
  for (const fip of await r.routers.listFloatingIps({ portIds: [port.id] })) {
    await r.routers.updateFloatingIp(fip.id, { fixed_port_id: null, fixed_ip_address: null, router_id: null }, at);
    batch.add('floatingip', fip.id, 'update');
    if (fip.router_id) batch.add('router', fip.router_id, 'update');
  }
  for (const g of (await r.ports.securityGroupsOf([port.id])).get(port.id) ?? []) batch.add('security_group', g, 'update');
  await releasePortIps(r, port.id);
  await r.meta.clearTags(port.id);
  await r.ports.delete(port.id);
  portEvents(batch, port, 'delete');
}
