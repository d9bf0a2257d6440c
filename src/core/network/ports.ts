import type { NetworkRow } from '../../store/network/networks.repo.js';
import type { PortRow } from '../../store/network/ports.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError, forbidden } from '../errors.js';
import { adminOnly, owns, targetProject, type Caller } from './access.js';
import { checkRevision, stamp, visibleNetwork, type NetCore } from './core.js';
import { invalidAttr, policyNotAuthorized, portNotFound } from './errors.js';
import { formatCidr, formatIp, parseCidr, parseIp } from './ip.js';
import { allocateFixedIps, releaseIp, type FixedIpRequest } from './ipam.js';
import { listPortModels, loadPorts, type PortModel } from './models.js';
import { bindingFor, generateMac, insertPort, isServicePort, portEvents, removePort } from './port-ops.js';
import { checkQuota } from './quotas.js';
import { ensureDefaultGroup, resolvePortGroups } from './secgroups.js';

/** Ports: a device's attachment to a network, with its addresses, MAC, security groups and binding. */

export interface AddressPair {
  ip_address: string;
  mac_address?: string;
}

export interface PortCreate {
  network_id: string;
  name?: string;
  description?: string;
  admin_state_up?: boolean;
  mac_address?: string;
  fixed_ips?: FixedIpRequest[];
  device_id?: string;
  device_owner?: string;
  security_groups?: string[];
  port_security_enabled?: boolean;
  allowed_address_pairs?: AddressPair[];
  'binding:host_id'?: string;
  'binding:vnic_type'?: string;
  'binding:profile'?: Record<string, unknown>;
  dns_name?: string;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export type PortUpdate = Omit<PortCreate, 'network_id' | 'project_id' | 'tenant_id' | 'tags'>;

const MAX_ADDRESS_PAIRS = 10;
const DNS_NAME = /^(?=.{1,255}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

const conflictOf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });
const badOf = (type: string, message: string): CloudError => new CloudError('BadRequest', message, { type });

/** A unicast, non-zero MAC in lower case. */
export function normalizeMac(mac: string): string {
  const m = mac.toLowerCase().replaceAll('-', ':');
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(m) || m === '00:00:00:00:00:00' || (parseInt(m.slice(0, 2), 16) & 1) === 1) {
    throw invalidAttr('mac_address', `'${mac}' is not a valid MAC address`);
  }
  return m;
}

function addressPairs(pairs: AddressPair[], portMac: string): { ip_address: string; mac_address: string }[] {
  if (pairs.length > MAX_ADDRESS_PAIRS) {
    throw badOf('AllowedAddressPairExhausted', `The number of allowed address pair exceeds the maximum ${MAX_ADDRESS_PAIRS}.`);
  }
  const out: { ip_address: string; mac_address: string }[] = [];
  for (const p of pairs) {
    let ip: string;
    if (p.ip_address.includes('/')) {
      const c = parseCidr(p.ip_address);
      if (!c) throw invalidAttr('allowed_address_pairs', `'${p.ip_address}' is not a valid IP address or CIDR`);
      ip = formatCidr(c);
    } else {
      const a = parseIp(p.ip_address);
      if (!a) throw invalidAttr('allowed_address_pairs', `'${p.ip_address}' is not a valid IP address or CIDR`);
      ip = formatIp(a.version, a.value);
    }
    const mac = p.mac_address === undefined ? portMac : normalizeMac(p.mac_address);
    if (out.some((o) => o.ip_address === ip && o.mac_address === mac)) {
      throw badOf('DuplicateAddressPairInRequest', `Request contains duplicate address pair: mac_address ${mac} ip_address ${ip}.`);
    }
    out.push({ ip_address: ip, mac_address: mac });
  }
  return out;
}

function checkDnsName(name: string | undefined): void {
  if (name !== undefined && name !== '' && !DNS_NAME.test(name)) {
    throw invalidAttr('dns_name', `'${name}' is not a valid DNS name (letters, digits and hyphens, labels of at most 63)`);
  }
}

/** Port visibility: its project, the network's owner, admin. */
async function visiblePort(r: NetworkRepos, c: Caller, id: string): Promise<PortRow> {
  const p = await r.ports.get(id);
  if (!p) throw portNotFound(id);
  if (owns(c, p.project_id)) return p;
  const n = await r.networks.get(p.network_id);
  if (n && n.project_id === c.projectId) return p;
  throw portNotFound(id);
}

/** Attribute policy of create_port/update_port that needs the network owner (or admin). */
function requireNetOwner(c: Caller, n: NetworkRow, rule: string): void {
  if (!owns(c, n.project_id)) throw policyNotAuthorized(rule);
}

export async function listPorts(
  core: NetCore,
  c: Caller,
  f: { ids?: string[]; networkIds?: string[]; deviceIds?: string[]; deviceOwners?: string[]; names?: string[] },
): Promise<PortModel[]> {
  return listPortModels(core.store.read, { ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f });
}

export async function getPort(core: NetCore, c: Caller, id: string): Promise<PortModel> {
  const r = core.store.read;
  const [m] = await loadPorts(r, [await visiblePort(r, c, id)]);
  if (!m) throw portNotFound(id);
  return m;
}

export async function createPort(core: NetCore, c: Caller, b: PortCreate): Promise<PortModel> {
  const projectId = targetProject(c, b);
  if (b['binding:host_id'] !== undefined) adminOnly(c, 'create_port:binding:host_id');
  if (b['binding:profile'] !== undefined) adminOnly(c, 'create_port:binding:profile');
  checkDnsName(b.dns_name);
  const mac = b.mac_address === undefined ? undefined : normalizeMac(b.mac_address);
  return core.store.write(async (r, batch) => {
    const at = stamp();
    const n = await visibleNetwork(r, c, b.network_id);
    if (!c.isAdmin && n.project_id !== c.projectId && n.shared !== 1) {
      throw forbidden(`Tenant ${c.projectId} not allowed to create port on this network`, { type: 'HTTPForbidden' });
    }
    const owner = b.device_owner ?? '';
    if (owner.startsWith('network:')) requireNetOwner(c, n, 'create_port:device_owner');
    if (mac !== undefined) requireNetOwner(c, n, 'create_port:mac_address');
    if (b.fixed_ips?.some((f) => f.ip_address !== undefined)) requireNetOwner(c, n, 'create_port:fixed_ips:ip_address');
    if (b.port_security_enabled !== undefined) requireNetOwner(c, n, 'create_port:port_security_enabled');
    if (b.allowed_address_pairs !== undefined && b.allowed_address_pairs.length > 0) requireNetOwner(c, n, 'create_port:allowed_address_pairs');
    await checkQuota(r, core.settings, projectId, 'port');

    const portSecurity = b.port_security_enabled ?? n.port_security_enabled === 1;
    let groups: string[] = [];
    if (!portSecurity) {
      if (b.security_groups && b.security_groups.length > 0) {
        throw badOf('PortSecurityAndIPRequiredForSecurityGroups', 'Port security must be enabled and port must have an IP address in order to use security groups.');
      }
      if (b.allowed_address_pairs && b.allowed_address_pairs.length > 0) {
        throw conflictOf('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
      }
    } else if (b.security_groups !== undefined) {
      groups = await resolvePortGroups(r, c, projectId, b.security_groups);
    } else if (!isServicePort(owner)) {
      groups = [await ensureDefaultGroup(r, batch, projectId, at)];
    }
    // The MAC is needed now as the default of address pairs; insertPort checks an explicit one is free.
    const generated = mac === undefined ? await generateMac(r, core.settings, n.id) : undefined;
    const pairs = addressPairs(b.allowed_address_pairs ?? [], generated ?? mac ?? '');
    const { row, fixedIps } = await insertPort(r, batch, core.settings, n, {
      projectId,
      ...(b.name !== undefined ? { name: b.name } : {}),
      ...(b.description !== undefined ? { description: b.description } : {}),
      ...(mac !== undefined ? { macAddress: mac } : { freeMacAddress: generated ?? '' }),
      ...(b.admin_state_up !== undefined ? { adminStateUp: b.admin_state_up } : {}),
      ...(b.device_id !== undefined ? { deviceId: b.device_id } : {}),
      deviceOwner: owner,
      ...(b['binding:host_id'] !== undefined ? { bindingHostId: b['binding:host_id'] } : {}),
      ...(b['binding:vnic_type'] !== undefined ? { bindingVnicType: b['binding:vnic_type'] } : {}),
      ...(b['binding:profile'] !== undefined ? { bindingProfile: b['binding:profile'] } : {}),
      portSecurity,
      allowedAddressPairs: pairs,
      securityGroupIds: groups,
      ...(b.dns_name !== undefined ? { dnsName: b.dns_name } : {}),
      fixedIps: b.fixed_ips,
      ...(b.tags !== undefined ? { tags: b.tags } : {}),
    }, at);
    // Everything the view shows is known here: no second read for the response.
    return { row, fixedIps, securityGroupIds: groups, tags: [...new Set(b.tags ?? [])].sort() };
  });
}

export async function updatePort(core: NetCore, c: Caller, id: string, b: PortUpdate, ifRevision?: number): Promise<PortModel> {
  if (b['binding:host_id'] !== undefined) adminOnly(c, 'update_port:binding:host_id');
  if (b['binding:profile'] !== undefined) adminOnly(c, 'update_port:binding:profile');
  if (b.mac_address !== undefined) adminOnly(c, 'update_port:mac_address');
  checkDnsName(b.dns_name);
  await core.store.write(async (r, batch) => {
    const at = stamp();
    const p = await visiblePort(r, c, id);
    if (!owns(c, p.project_id)) throw policyNotAuthorized('update_port');
    checkRevision(ifRevision, p.revision_number);
    const n = await r.networks.get(p.network_id);
    if (!n) throw portNotFound(id);
    const service = isServicePort(p.device_owner);
    if (service && (b.fixed_ips !== undefined || b.device_owner !== undefined || b.device_id !== undefined || b.mac_address !== undefined)) {
      throw conflictOf('PortInUse', `Port ${p.id} is owned by ${p.device_owner}: its addresses and device belong to Neutron and cannot be changed here.`);
    }
    if (b.device_owner !== undefined && b.device_owner.startsWith('network:')) requireNetOwner(c, n, 'update_port:device_owner');
    if (b.fixed_ips !== undefined) requireNetOwner(c, n, 'update_port:fixed_ips');
    if (b.port_security_enabled !== undefined) requireNetOwner(c, n, 'update_port:port_security_enabled');
    if (b.allowed_address_pairs !== undefined) requireNetOwner(c, n, 'update_port:allowed_address_pairs');

    const patch: Partial<PortRow> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.description = b.description;
    if (b.admin_state_up !== undefined) patch.admin_state_up = b.admin_state_up ? 1 : 0;
    if (b.device_id !== undefined) patch.device_id = b.device_id;
    if (b.device_owner !== undefined) patch.device_owner = b.device_owner;
    if (b.dns_name !== undefined) patch.dns_name = b.dns_name;
    if (b['binding:vnic_type'] !== undefined) patch.binding_vnic_type = b['binding:vnic_type'];
    if (b['binding:profile'] !== undefined) patch.binding_profile = JSON.stringify(b['binding:profile']);
    if (b['binding:host_id'] !== undefined) {
      const binding = bindingFor(b['binding:host_id']);
      patch.binding_host_id = b['binding:host_id'];
      patch.binding_vif_type = binding.vifType;
      patch.binding_vif_details = binding.vifDetails;
    }
    if (b.mac_address !== undefined) {
      const mac = normalizeMac(b.mac_address);
      if (mac !== p.mac_address) {
        if (p.binding_host_id) throw conflictOf('PortBound', `Unable to complete operation on port ${p.id}, port is already bound: unbind it (binding:host_id '') first.`);
        if (await r.ports.macInUse(n.id, mac)) {
          throw conflictOf('MacAddressInUse', `Unable to complete operation for network ${n.id}. The mac address ${mac} is in use.`);
        }
        patch.mac_address = mac;
      }
    }
    const mac = patch.mac_address ?? p.mac_address;
    const portSecurity = b.port_security_enabled ?? p.port_security_enabled === 1;
    patch.port_security_enabled = portSecurity ? 1 : 0;
    const oldGroups = (await r.ports.securityGroupsOf([p.id])).get(p.id) ?? [];
    const groups = b.security_groups !== undefined ? await resolvePortGroups(r, c, p.project_id, b.security_groups) : oldGroups;
    const pairs = b.allowed_address_pairs !== undefined ? addressPairs(b.allowed_address_pairs, mac) : (JSON.parse(p.allowed_address_pairs) as unknown[]);
    if (!portSecurity && groups.length > 0) {
      throw conflictOf(
        'PortSecurityPortHasSecurityGroup',
        'Port has security group associated. Cannot disable port security or ip address until security group is removed',
      );
    }
    if (!portSecurity && pairs.length > 0) {
      throw conflictOf('AddressPairAndPortSecurityRequired', 'Port Security must be enabled in order to have allowed address pairs on a port.');
    }
    if (b.allowed_address_pairs !== undefined) patch.allowed_address_pairs = JSON.stringify(pairs);
    if (b.security_groups !== undefined) {
      await r.ports.setSecurityGroups(p.id, groups);
      for (const g of new Set([...oldGroups, ...groups])) if (oldGroups.includes(g) !== groups.includes(g)) batch.add('security_group', g, 'update');
    }
    if (b.fixed_ips !== undefined) await replaceFixedIps(r, n, { ...p, mac_address: mac }, b.fixed_ips);
    await r.ports.update(p.id, patch, at);
    portEvents(batch, { ...p, ...patch }, 'update');
    // A port moved between devices (a router leg attached or detached): the old device changes too.
    if (p.device_owner !== (patch.device_owner ?? p.device_owner) || p.device_id !== (patch.device_id ?? p.device_id)) portEvents(batch, p, 'update');
  });
  return getPort(core, c, id);
}

/** Keeps the requested addresses the port already has, releases the others, allocates the new ones. */
async function replaceFixedIps(r: NetworkRepos, n: NetworkRow, p: PortRow, requests: FixedIpRequest[]): Promise<void> {
  const current = await r.ipam.ofPorts([p.id]);
  const keep = new Set<string>();
  const fresh: FixedIpRequest[] = [];
  for (const req of requests) {
    const ip = req.ip_address === undefined ? undefined : parseIp(req.ip_address);
    const text = ip ? formatIp(ip.version, ip.value) : undefined;
    const match = current.find(
      (a) =>
        !keep.has(`${a.subnet_id} ${a.ip_address}`) &&
        (text === undefined ? a.subnet_id === req.subnet_id : a.ip_address === text && (req.subnet_id === undefined || req.subnet_id === a.subnet_id)),
    );
    if (match) keep.add(`${match.subnet_id} ${match.ip_address}`);
    else fresh.push(req);
  }
  for (const a of current) {
    if (keep.has(`${a.subnet_id} ${a.ip_address}`)) continue;
    const fip = (await r.routers.listFloatingIps({ portIds: [p.id] })).find((f) => f.fixed_ip_address === a.ip_address);
    if (fip) {
      throw conflictOf('IpAddressInUse', `IP address ${a.ip_address} of port ${p.id} has floating IP ${fip.floating_ip_address} (${fip.id}): disassociate it first.`);
    }
    const s = await r.networks.getSubnet(a.subnet_id);
    if (s) await releaseIp(r, s, a.ip_address);
  }
  if (fresh.length > 0) {
    if (keep.size + fresh.length > 5) throw badOf('BadRequest', 'Exceeded maximum amount of fixed ips per port.');
    await allocateFixedIps(r, n, { id: p.id, mac: p.mac_address, deviceOwner: p.device_owner }, fresh);
  }
}

export async function deletePort(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const p = await visiblePort(r, c, id);
    if (!owns(c, p.project_id)) throw policyNotAuthorized('delete_port');
    checkRevision(ifRevision, p.revision_number);
    if (isServicePort(p.device_owner)) {
      throw conflictOf('ServicePortInUse', `Port ${p.id} cannot be deleted directly via the port API: has device owner ${p.device_owner}.`);
    }
    await removePort(r, batch, p, stamp());
  });
}
