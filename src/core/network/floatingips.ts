import type { ChangeBatch } from '../../store/changes.js';
import type { FloatingIpRow } from '../../store/network/routers.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { adminOnly, owns, targetProject, type Caller } from './access.js';
import { checkRevision, stamp, visibleNetwork, type NetCore } from './core.js';
import { badRequestFor, floatingIpNotFound, invalidAttr, portNotFound } from './errors.js';
import { cidrContains, formatIp, parseIp } from './ip.js';
import { cidrOf } from './ipam.js';
import { fixedIpsOf, loadFloatingIps, type FloatingIpModel } from './models.js';
import { insertPort, isServicePort, OWNER_FLOATINGIP, OWNER_ROUTER_INTERFACE, removePort } from './port-ops.js';
import { checkQuota } from './quotas.js';

/**
 * Floating IPs: an address of an external network, held by a port of its
 * own, mapped 1:1 to a fixed IPv4 address of a port that a router connects
 * to that external network.
 */

export interface FloatingIpCreate {
  floating_network_id: string;
  floating_ip_address?: string;
  subnet_id?: string;
  port_id?: string | null;
  fixed_ip_address?: string | null;
  description?: string;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface FloatingIpUpdate {
  port_id?: string | null;
  fixed_ip_address?: string | null;
  description?: string;
}

const badFip = (message: string): CloudError => badRequestFor('floatingip', message);

async function visibleFip(r: NetworkRepos, c: Caller, id: string): Promise<FloatingIpRow> {
  const f = await r.routers.getFloatingIp(id);
  if (!f || !owns(c, f.project_id)) throw floatingIpNotFound(id);
  return f;
}

export async function listFloatingIps(
  core: NetCore,
  c: Caller,
  f: { ids?: string[]; routerIds?: string[]; portIds?: string[]; networkIds?: string[] },
): Promise<FloatingIpModel[]> {
  const r = core.store.read;
  return loadFloatingIps(r, await r.routers.listFloatingIps({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f }));
}

export async function getFloatingIp(core: NetCore, c: Caller, id: string): Promise<FloatingIpModel> {
  const r = core.store.read;
  const [m] = await loadFloatingIps(r, [await visibleFip(r, c, id)]);
  if (!m) throw floatingIpNotFound(id);
  return m;
}

interface Association {
  fixed_port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
}

/**
 * Resolves the fixed address and the router for an association: the port
 * must be the floating IP's project's, the address one of its IPv4
 * addresses, and some router must join that address's subnet to the
 * floating IP's external network.
 */
async function associationFor(
  r: NetworkRepos,
  c: Caller,
  fip: { id: string; project_id: string; floating_network_id: string; floating_ip_address: string },
  portId: string | null,
  fixedIp: string | null | undefined,
): Promise<Association> {
  if (portId === null) {
    if (fixedIp !== undefined && fixedIp !== null) throw badFip('fixed_ip_address cannot be specified without a port_id');
    return { fixed_port_id: null, fixed_ip_address: null, router_id: null };
  }
  const port = await r.ports.get(portId);
  if (!port || !owns(c, port.project_id)) throw portNotFound(portId);
  if (port.project_id !== fip.project_id && !c.isAdmin) {
    throw badFip(`Cannot create floating IP and bind it to Port ${port.id}, since that port is owned by a different tenant.`);
  }
  if (isServicePort(port.device_owner)) {
    throw badFip(`Port ${port.id} has owner ${port.device_owner} and therefore cannot be assigned a floating IP.`);
  }
  const ips = ((await fixedIpsOf(r, [port.id])).get(port.id) ?? []).filter((f) => parseIp(f.ip_address)?.version === 4);
  let chosen: { subnet_id: string; ip_address: string } | undefined;
  if (fixedIp !== undefined && fixedIp !== null) {
    const p = parseIp(fixedIp);
    if (!p) throw invalidAttr('fixed_ip_address', `'${fixedIp}' is not a valid IP address`);
    const text = formatIp(p.version, p.value);
    chosen = ips.find((f) => f.ip_address === text);
    if (!chosen) throw badFip(`Port ${port.id} does not have fixed ip ${text}`);
  } else {
    if (ips.length === 0) throw badFip(`No IPv4 addresses found on port ${port.id}: a floating IP needs one.`);
    if (ips.length > 1) {
      throw badFip(`Port ${port.id} has multiple fixed IPv4 addresses. Must provide a specific IPv4 address when assigning a floating IP`);
    }
    chosen = ips[0];
  }
  if (!chosen) throw badFip(`No IPv4 addresses found on port ${port.id}`);
  const routerId = await routerJoining(r, fip.floating_network_id, port.network_id, chosen.subnet_id);
  if (!routerId) {
    throw new CloudError(
      'NotFound',
      `External network ${fip.floating_network_id} is not reachable from subnet ${chosen.subnet_id}.  Therefore, cannot associate Port ${port.id} with a Floating IP.`,
      { type: 'ExternalGatewayForFloatingIPNotFound' },
    );
  }
  const taken = (await r.routers.listFloatingIps({ portIds: [port.id] })).find((f) => f.fixed_ip_address === chosen?.ip_address && f.id !== fip.id);
  if (taken) {
    throw new CloudError(
      'Conflict',
      `Cannot associate floating IP ${fip.floating_ip_address} (${fip.id}) with port ${port.id} using fixed IP ${chosen.ip_address}, as that fixed IP already has a floating IP on external network ${taken.floating_network_id}.`,
      { type: 'FloatingIPPortAlreadyAssociated' },
    );
  }
  return { fixed_port_id: port.id, fixed_ip_address: chosen.ip_address, router_id: routerId };
}

/** A router with an interface on `subnetId` and its gateway on `externalNetworkId`. */
export async function routerJoining(r: NetworkRepos, externalNetworkId: string, networkId: string, subnetId: string): Promise<string | undefined> {
  const legs = await r.ports.list({ networkIds: [networkId], deviceOwners: [OWNER_ROUTER_INTERFACE] });
  const ips = await fixedIpsOf(r, legs.map((p) => p.id));
  for (const leg of legs) {
    if (!(ips.get(leg.id) ?? []).some((f) => f.subnet_id === subnetId)) continue;
    const router = await r.routers.get(leg.device_id);
    if (router && router.gw_network_id === externalNetworkId) return router.id;
  }
  return undefined;
}

function associationEvents(batch: ChangeBatch, fipId: string, before: string | null, after: string | null): void {
  batch.add('floatingip', fipId, 'update');
  if (before) batch.add('router', before, 'update');
  if (after) batch.add('router', after, 'update');
}

export async function createFloatingIp(core: NetCore, c: Caller, b: FloatingIpCreate): Promise<FloatingIpModel> {
  const projectId = targetProject(c, b);
  if (b.floating_ip_address !== undefined) adminOnly(c, 'create_floatingip:floating_ip_address');
  const id = await core.store.write(async (r, batch) => {
    const at = stamp();
    const n = await visibleNetwork(r, c, b.floating_network_id);
    if (n.external !== 1) throw badFip(`Network ${n.id} is not a valid external network.`);
    await checkQuota(r, core.settings, projectId, 'floatingip');
    const fipId = uuid();
    const request: { subnet_id?: string; ip_address?: string } = {};
    if (b.subnet_id !== undefined) request.subnet_id = b.subnet_id;
    if (b.floating_ip_address !== undefined) request.ip_address = b.floating_ip_address;
    let fixed = Object.keys(request).length > 0 ? [request] : undefined;
    if (!fixed) {
      // One IPv4 address: a floating IP is IPv4 NAT, even on a dual-stack external network.
      const v4 = (await r.networks.listSubnets({ networkIds: [n.id] })).filter((s) => s.ip_version === 4);
      if (v4.length === 0) throw badFip(`External network ${n.id} has no IPv4 subnet to allocate a floating IP from.`);
      fixed = await firstWithRoom(r, v4.map((s) => s.id), n.id);
    }
    if (request.ip_address !== undefined && request.subnet_id === undefined) {
      const ip = parseIp(request.ip_address);
      const subnets = await r.networks.listSubnets({ networkIds: [n.id] });
      if (ip && !subnets.some((s) => cidrContains(cidrOf(s), ip))) {
        throw new CloudError('BadRequest', `IP address ${request.ip_address} is not a valid IP for any of the subnets on the specified network.`, {
          type: 'InvalidIpForNetwork',
        });
      }
    }
    const { row: port, fixedIps } = await insertPort(r, batch, core.settings, n, {
      projectId: '',
      deviceId: fipId,
      deviceOwner: OWNER_FLOATINGIP,
      portSecurity: false,
      fixedIps: fixed,
    }, at);
    const address = fixedIps[0]?.ip_address;
    if (!address) throw badFip(`No address could be allocated on network ${n.id}.`);
    const row: FloatingIpRow = {
      id: fipId,
      project_id: projectId,
      floating_network_id: n.id,
      floating_ip_address: address,
      floating_port_id: port.id,
      fixed_port_id: null,
      fixed_ip_address: null,
      router_id: null,
      description: b.description ?? '',
      status: 'DOWN',
      created_at: at,
      updated_at: at,
      revision_number: 1,
    };
    if (b.port_id !== undefined && b.port_id !== null) {
      Object.assign(row, await associationFor(r, c, row, b.port_id, b.fixed_ip_address));
    }
    await r.routers.insertFloatingIp(row);
    if (b.tags && b.tags.length > 0) await r.meta.setTags('floatingips', row.id, b.tags);
    batch.add('floatingip', row.id, 'create');
    if (row.router_id) batch.add('router', row.router_id, 'update');
    return row.id;
  });
  return getFloatingIp(core, c, id);
}

/** A request for the lowest free address of the first subnet that has one (else the pools are exhausted). */
async function firstWithRoom(r: NetworkRepos, subnetIds: string[], networkId: string): Promise<{ subnet_id: string }[]> {
  for (const id of subnetIds) if ((await r.ipam.freeRanges(id)).length > 0) return [{ subnet_id: id }];
  throw new CloudError('Conflict', `No more IP addresses available on network ${networkId}.`, { type: 'IpAddressGenerationFailure' });
}

export async function updateFloatingIp(core: NetCore, c: Caller, id: string, b: FloatingIpUpdate, ifRevision?: number): Promise<FloatingIpModel> {
  await core.store.write(async (r, batch) => {
    const at = stamp();
    const fip = await visibleFip(r, c, id);
    checkRevision(ifRevision, fip.revision_number);
    const patch: Partial<FloatingIpRow> = {};
    if (b.description !== undefined) patch.description = b.description;
    if (b.port_id !== undefined || b.fixed_ip_address !== undefined) {
      const portId = b.port_id !== undefined ? b.port_id : fip.fixed_port_id;
      const assoc = await associationFor(r, c, fip, portId, b.fixed_ip_address);
      Object.assign(patch, assoc);
      associationEvents(batch, fip.id, fip.router_id, assoc.router_id);
    }
    await r.routers.updateFloatingIp(fip.id, patch, at);
    batch.add('floatingip', fip.id, 'update');
  });
  return getFloatingIp(core, c, id);
}

export async function deleteFloatingIp(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const fip = await visibleFip(r, c, id);
    checkRevision(ifRevision, fip.revision_number);
    await r.meta.clearTags(fip.id);
    await r.routers.deleteFloatingIp(fip.id);
    const port = await r.ports.get(fip.floating_port_id);
    if (port) await removePort(r, batch, port, stamp());
    batch.add('floatingip', fip.id, 'delete');
    if (fip.router_id) batch.add('router', fip.router_id, 'update');
  });
}
