import type { AuthContext } from '../auth.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { nowIso } from '../ids.js';
import type { PortInfo } from './neighbours.js';
import type { ComputeCore } from './service.js';
import { checkLock, checkState } from './states.js';

/**
 * A server's network interfaces after create: os-interface attach/detach
 * and the security group actions, which act on the server's ports through
 * the network core. The reconciler hot-plugs what the store says.
 */

export interface AttachRequest {
  netId?: string | undefined;
  portId?: string | undefined;
  fixedIp?: string | undefined;
  tag?: string | undefined;
}

export interface InterfaceView {
  port: PortInfo;
  tag: string | null;
}

export async function listInterfaces(core: ComputeCore, auth: AuthContext, id: string): Promise<InterfaceView[]> {
  await core.visibleServer(auth, id);
  const rows = (await core.instances.portsOf([id])).get(id) ?? [];
  if (rows.length === 0 || !core.network) return [];
  const infos = await core.network.portsById(rows.map((r) => r.port_id));
  return rows.flatMap((r) => {
    const port = infos.get(r.port_id);
    return port ? [{ port, tag: r.tag }] : [];
  });
}

export async function getInterface(core: ComputeCore, auth: AuthContext, id: string, portId: string): Promise<InterfaceView> {
  const found = (await listInterfaces(core, auth, id)).find((i) => i.port.id === portId);
  if (!found) throw notFound(`Port ${portId} is not attached to server ${id}.`);
  return found;
}

export async function attachInterface(core: ComputeCore, auth: AuthContext, id: string, req: AttachRequest, requestId: string): Promise<InterfaceView> {
  const s = await core.writableServer(auth, id);
  checkLock(s, auth.isAdmin);
  checkState(s, 'attach_interface');
  if (req.netId && req.portId) throw badRequest('Must not input both network_id and port_id.');
  if (req.portId && req.fixedIp) throw badRequest('Must input network_id when requesting IP address.');
  const net = core.net();
  const host = s.node ?? (await core.node()).host;
  let port: PortInfo;
  let owned: number;
  if (req.portId) {
    const p = await net.getPort(req.portId);
    if (!p || (!auth.isAdmin && p.projectId !== s.project_id)) throw notFound(`Port ${req.portId} could not be found.`);
    if (p.deviceId) throw conflict(`Port ${p.id} is still in use (by ${p.deviceOwner || 'a device'} ${p.deviceId}).`);
    port = await net.bindPort(p.id, { deviceId: id, hostId: host });
    owned = 0;
  } else {
    let networkId = req.netId;
    if (!networkId) {
      const pool = (await net.networksForAuto(s.project_id)).filter((n) => !n.external);
      const own = pool.filter((n) => n.projectId === s.project_id);
      const pick = own.length ? own : pool.filter((n) => n.shared);
      if (pick.length !== 1) throw conflict('Multiple possible networks found, use a Network ID to be more specific.');
      networkId = pick[0]?.id;
    }
    const network = networkId ? await net.getNetwork(auth, networkId) : undefined;
    if (!network) throw notFound(`Network ${networkId ?? ''} could not be found.`);
    port = await net.createPort(auth, { networkId: network.id, projectId: s.project_id, securityGroups: ['default'], fixedIp: req.fixedIp, deviceId: id, hostId: host });
    owned = 1;
  }
  try {
    await core.write(async (trx, batch) => {
      const existing = (await core.instances.portsOf([id], trx)).get(id) ?? [];
      const position = existing.reduce((m, p) => Math.max(m, p.position + 1), 0);
      await core.instances.addPort(trx, { instance_id: id, port_id: port.id, network_id: port.networkId, owned, tag: req.tag ?? null, position });
      await core.instances.updateSpec(trx, id, {}, nowIso());
      await core.recordAction(trx, s, auth, 'attach_interface', requestId, true);
      batch.add('server', id, 'update');
    });
  } catch (err) {
    if (owned) await net.deletePort(port.id).catch(() => undefined);
    else await net.unbindPort(port.id).catch(() => undefined);
    throw err;
  }
  return { port, tag: req.tag ?? null };
}

export async function detachInterface(core: ComputeCore, auth: AuthContext, id: string, portId: string, requestId: string): Promise<void> {
  const s = await core.writableServer(auth, id);
  checkLock(s, auth.isAdmin);
  checkState(s, 'detach_interface');
  const row = ((await core.instances.portsOf([id])).get(id) ?? []).find((p) => p.port_id === portId);
  if (!row) throw notFound(`Port ${portId} is not attached to server ${id}.`);
  await core.write(async (trx, batch) => {
    await core.instances.removePort(trx, id, portId);
    await core.instances.updateSpec(trx, id, {}, nowIso());
    await core.recordAction(trx, s, auth, 'detach_interface', requestId, true);
    batch.add('server', id, 'update');
  });
  const net = core.net();
  if (row.owned) await net.deletePort(portId);
  else await net.unbindPort(portId);
}

/** addSecurityGroup / removeSecurityGroup: every port of the server gains or loses the group, as in Nova. */
export async function changeSecurityGroup(core: ComputeCore, auth: AuthContext, id: string, name: string, add: boolean): Promise<void> {
  const s = await core.writableServer(auth, id);
  const net = core.net();
  const [groupId] = await net.resolveSecurityGroups(auth, s.project_id, [name]);
  if (!groupId) throw badRequest(`Security group ${name} not found for project ${s.project_id}.`);
  const rows = (await core.instances.portsOf([id])).get(id) ?? [];
  if (rows.length === 0) throw badRequest(`Server ${id} has no network ports, so security groups cannot be applied to it.`);
  const infos = await net.portsById(rows.map((r) => r.port_id));
  const ports = [...infos.values()];
  if (add && ports.every((p) => p.securityGroupIds.includes(groupId))) {
    throw badRequest(`Security group ${name} is already associated with the instance ${id}`);
  }
  if (!add && !ports.some((p) => p.securityGroupIds.includes(groupId))) {
    throw badRequest(`Security group ${name} is not associated with the instance ${id}`);
  }
  for (const p of ports) {
    const next = add ? [...new Set([...p.securityGroupIds, groupId])] : p.securityGroupIds.filter((g) => g !== groupId);
    if (next.length !== p.securityGroupIds.length || next.some((g, i) => g !== p.securityGroupIds[i])) await net.setPortSecurityGroups(p.id, next);
  }
  await core.write(async (trx, batch) => {
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
  });
}
