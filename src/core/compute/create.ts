import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict, forbidden, notFound } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import { requireProjectRole } from '../policy.js';
import type { InstancePortRow, InstanceRow, NewInstance } from '../../store/compute/instances.repo.js';
import type { FlavorSnapshot } from '../../store/compute/schema.js';
import { flavorIdFromRef, snapshotOf } from './flavors.js';
import type { ImageInfo, NetworkInfo, PortInfo } from './neighbours.js';
import { capacityOf, demandOf, NO_VALID_HOST, place, type GroupPlacement } from './scheduler.js';
import type { ComputeCore } from './service.js';
import { TASK, VM, POWER } from './states.js';

/** A server create request, already checked for shape by the API. */
export interface ServerCreate {
  name: string;
  description?: string | null | undefined;
  imageRef?: string | undefined;
  flavorRef: string | number;
  keyName?: string | undefined;
  /** Base64 as sent. */
  userData?: string | null | undefined;
  metadata: Record<string, string>;
  /** undefined: Nova's pre-2.37 default (the project's network if there is exactly one). */
  networks?: 'auto' | 'none' | NetworkRequest[] | undefined;
  securityGroups?: string[] | undefined;
  configDrive: boolean;
  availabilityZone?: string | undefined;
  minCount: number;
  maxCount: number;
  accessIPv4?: string | undefined;
  accessIPv6?: string | undefined;
  diskConfig?: string | undefined;
  tags: string[];
  trustedCerts?: string[] | null | undefined;
  blockDevices?: BlockDeviceRequest[] | undefined;
  legacyBlockDevices?: boolean | undefined;
  groupId?: string | undefined;
  host?: string | undefined;
  hypervisorHostname?: string | undefined;
}

export interface NetworkRequest {
  uuid?: string | undefined;
  port?: string | null | undefined;
  fixedIp?: string | undefined;
  tag?: string | undefined;
}

export interface BlockDeviceRequest {
  sourceType?: string | undefined;
  destinationType?: string | undefined;
  uuid?: string | undefined;
  bootIndex?: number | string | null | undefined;
  volumeSize?: number | string | undefined;
}

export interface CreateResult {
  servers: InstanceRow[];
  reservationId: string;
}

type ResolvedNic = { kind: 'net'; network: NetworkInfo; fixedIp?: string | undefined; tag?: string | undefined } | { kind: 'port'; port: PortInfo; tag?: string | undefined };

const GIB = 1024 ** 3;

/** Nova's hostname from a display name: lower case, [a-z0-9-] only, at most 63 characters. */
export function sanitizeHostname(name: string, fallbackId: string): string {
  const h = name
    .toLowerCase()
    .replace(/[ _.]+/g, '-')
    .replace(/[^a-z0-9-]/g, '')
    .replace(/-{2,}/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return h || `server-${fallbackId}`;
}

/** Strict base64 (RFC 4648, padding optional) → bytes, or Nova's 400. */
export function decodeUserData(b64: string, max: number): Buffer {
  const s = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 === 1) throw badRequest('User data needs to be valid base 64.');
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length > max) {
    throw badRequest(`User data too large: ${bytes.length} bytes after base64 decoding, at most ${max} bytes (64 KiB) are allowed.`);
  }
  return bytes;
}

async function resolveImage(core: ComputeCore, auth: AuthContext, req: ServerCreate): Promise<string> {
  let imageRef = req.imageRef ?? '';
  if (req.legacyBlockDevices) {
    throw badRequest('block_device_mapping (legacy) needs volumes, which this cloud does not have: boot from an image with imageRef.');
  }
  for (const bd of req.blockDevices ?? []) {
    const boot = bd.bootIndex === undefined || bd.bootIndex === null ? null : Number(bd.bootIndex);
    if (bd.sourceType === 'image' && (bd.destinationType ?? 'local') === 'local' && (boot === 0 || boot === null)) {
      if (!bd.uuid) throw badRequest('block_device_mapping_v2: an image source needs the image id in uuid.');
      if (imageRef && imageRef !== bd.uuid) throw badRequest('block_device_mapping_v2 names a different image than imageRef: give one image.');
      imageRef = bd.uuid;
      continue;
    }
    throw badRequest(
      `block_device_mapping_v2 supports only {source_type: image, destination_type: local, boot_index: 0} here (there is no volume service); got source_type ${bd.sourceType ?? 'none'}, destination_type ${bd.destinationType ?? 'none'}.`,
    );
  }
  if (!imageRef) throw badRequest('Missing imageRef attribute: give the image to boot from.');
  return imageRef;
}

function checkImageFits(image: ImageInfo, f: FlavorSnapshot): void {
  if (image.status !== 'active') throw badRequest(`Image ${image.id} is not active (it is ${image.status}); wait for its upload or pick another image.`);
  if (image.minRam > f.ram) {
    throw badRequest(`Flavor's memory is too small for requested image: image ${image.name} needs ${image.minRam} MB, flavor ${f.name} has ${f.ram} MB.`);
  }
  if (f.disk === 0) return;
  const flavorBytes = f.disk * GIB;
  const imageBytes = Math.max(image.size ?? 0, image.virtualSize ?? 0);
  if (imageBytes > flavorBytes) {
    throw badRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavorBytes} bytes, image is ${imageBytes} bytes (flavor ${f.name}, image ${image.name}).`);
  }
  if (image.minDisk > f.disk) {
    throw badRequest(`Flavor's disk is too small for requested image. Flavor disk is ${flavorBytes} bytes, minimum required by image is ${image.minDisk * GIB} bytes.`);
  }
}

async function resolveNics(core: ComputeCore, auth: AuthContext, projectId: string, req: ServerCreate): Promise<ResolvedNic[]> {
  const nets = req.networks;
  if (nets === 'none') return [];
  if (nets === undefined || nets === 'auto') {
    if (nets === undefined && !core.network) return [];
    const candidates = (await core.net().networksForAuto(projectId)).filter((n) => !n.external);
    const own = candidates.filter((n) => n.projectId === projectId);
    const pool = own.length > 0 ? own : candidates.filter((n) => n.shared);
    if (pool.length === 0) {
      if (nets === undefined) return [];
      throw badRequest(`Unable to automatically allocate a network for project ${projectId}: it has no network and none is shared. Create one, or pass networks "none".`);
    }
    if (pool.length > 1) {
      throw conflict(`Multiple possible networks found, use a Network ID to be more specific: ${pool.map((n) => `${n.name} (${n.id})`).join(', ')}.`);
    }
    return [{ kind: 'net', network: pool[0] as NetworkInfo }];
  }
  const net = core.net();
  const out: ResolvedNic[] = [];
  const seenPorts = new Set<string>();
  for (const n of nets) {
    if (n.port) {
      if (req.maxCount > 1) throw badRequest('Unable to launch multiple instances with a single configured port ID. Please launch your instance one by one with different ports.');
      if (seenPorts.has(n.port)) throw badRequest(`Port ${n.port} is given twice.`);
      seenPorts.add(n.port);
      const p = await net.getPort(n.port);
      if (!p || (!auth.isAdmin && p.projectId !== projectId)) throw badRequest(`Port id ${n.port} could not be found.`);
      if (p.deviceId) throw conflict(`Port ${p.id} is still in use (by ${p.deviceOwner || 'a device'} ${p.deviceId}); detach it first.`);
      out.push({ kind: 'port', port: p, tag: n.tag });
      continue;
    }
    if (!n.uuid) throw badRequest('Bad networks format: each network needs a uuid or a port.');
    if (n.fixedIp !== undefined && req.maxCount > 1) {
      throw badRequest('Unable to launch multiple instances with a single configured fixed IP: launch them one by one with different fixed IPs.');
    }
    const network = await net.getNetwork(auth, n.uuid);
    if (!network) throw badRequest(`Network ${n.uuid} could not be found.`);
    out.push({ kind: 'net', network, fixedIp: n.fixedIp, tag: n.tag });
  }
  return out;
}

function checkZone(core: ComputeCore, auth: AuthContext, req: ServerCreate, hostname: string): void {
  const az = req.availabilityZone;
  if (az !== undefined) {
    const [zone, host, node] = az.split(':');
    if (zone && zone !== core.settings.availabilityZone) {
      throw badRequest(`The requested availability zone is not available: ${zone}. This cloud has one zone, ${core.settings.availabilityZone}.`);
    }
    if (host || node) {
      if (!auth.isAdmin) throw forbidden('Only an admin may target a host with availability_zone zone:host:node.');
      if ((host && host !== hostname) || (node && node !== hostname)) throw badRequest(`Compute host ${host || node} could not be found (this cloud's host is ${hostname}).`);
    }
  }
  for (const h of [req.host, req.hypervisorHostname]) {
    if (h === undefined) continue;
    if (!auth.isAdmin) throw forbidden('Policy does not allow compute:servers:create:requested_destination to be performed: only an admin may choose the host.');
    if (h !== hostname) throw badRequest(`Compute host ${h} could not be found (this cloud's host is ${hostname}).`);
  }
}

/**
 * Creates servers as Nova's API does: validates every reference (400 with
 * its name), counts quota (403 with which quota), schedules on the host
 * (ERROR with a NoValidHost fault when it does not fit), makes the ports,
 * and writes desired state: BUILD/spawning for the reconciler to start.
 * Nothing is left half-made: ports made before a failure are removed.
 */
export async function createServers(core: ComputeCore, auth: AuthContext, req: ServerCreate, requestId: string): Promise<CreateResult> {
  const caller = requireProjectRole(auth, 'write');
  const projectId = caller.projectId;
  if (req.minCount > req.maxCount) throw badRequest(`min_count (${req.minCount}) must be <= max_count (${req.maxCount}).`);

  const flavorId = flavorIdFromRef(req.flavorRef);
  const flavorRow = await core.catalog.getFlavor(flavorId);
  if (!flavorRow || flavorRow.disabled) throw badRequest(`Flavor ${flavorId} could not be found.`);
  let visible: boolean = flavorRow.is_public === 1 || auth.isAdmin;
  if (!visible) visible = (await core.catalog.flavorProjects(flavorId)).includes(projectId);
  if (!visible) throw badRequest(`Flavor ${flavorId} could not be found.`);
  const flavor = snapshotOf(await core.flavors.withSpecs(flavorRow));

  const imageId = await resolveImage(core, auth, req);
  const image = await core.img().getImage(auth, imageId);
  if (!image) throw badRequest(`Image ${imageId} could not be found.`);
  checkImageFits(image, flavor);

  let keyData: string | null = null;
  if (req.keyName !== undefined) {
    const kp = await core.catalog.getKeypair(auth.userId, req.keyName);
    if (!kp) throw badRequest(`Invalid key_name provided: no keypair named ${req.keyName} belongs to user ${auth.userName}.`);
    keyData = kp.public_key;
  }
  if (req.userData !== undefined && req.userData !== null) decodeUserData(req.userData, core.settings.maxUserDataBytes);
  await core.quotas.checkMetadata(projectId, Object.keys(req.metadata).length);

  const node = await core.node();
  checkZone(core, auth, req, node.host);

  const nics = await resolveNics(core, auth, projectId, req);
  const wantGroups = nics.some((n) => n.kind === 'net') ? (req.securityGroups ?? ['default']) : [];
  const groupIds = wantGroups.length ? await core.net().resolveSecurityGroups(auth, projectId, [...new Set(wantGroups)]) : [];

  let group: GroupPlacement | undefined;
  if (req.groupId !== undefined) {
    const g = await core.catalog.getGroup(req.groupId);
    if (!g || (!auth.isAdmin && g.project_id !== projectId)) throw badRequest(`Invalid server group: ${req.groupId} could not be found.`);
    const members = (await core.catalog.membersOf([g.id])).get(g.id) ?? [];
    const limit = await core.quotas.limitOf(projectId, 'server_group_members');
    if (limit >= 0 && members.length + req.minCount > limit) {
      throw new CloudError('Forbidden', `Quota exceeded, too many servers in group ${g.name}: ${members.length} of ${limit} (quota server_group_members).`, { type: 'forbidden' });
    }
    const placed = members.length ? (await core.instances.list({ ids: members })).filter((i) => i.node === node.host).length : 0;
    const rules = JSON.parse(g.rules) as { max_server_per_host?: number };
    group = { id: g.id, name: g.name, policy: g.policy, maxPerHost: rules.max_server_per_host ?? 1, membersOnHost: placed };
  }

  const reservationId = `r-${uuid().replaceAll('-', '').slice(0, 8)}`;
  return core.schedulerLock.run(async () => {
    const count = await core.quotas.serversAllowed(projectId, flavor, req.minCount, req.maxCount);
    const figures = await core.hostFigures();
    const used = await core.instances.nodeUsage(node.host);
    const placement = place(node.host, capacityOf(figures, core.settings), { vcpus: used.cores, ramMb: used.ram, diskGb: used.disk }, demandOf(flavor), count, group);

    const now = nowIso();
    const made: PortInfo[] = [];
    const bound: string[] = [];
    const items: NewInstance[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const id = uuid();
        const name = count > 1 ? `${req.name}-${i + 1}` : req.name;
        const row: InstanceRow = {
          id,
          project_id: projectId,
          user_id: auth.userId,
          name,
          description: req.description ?? null,
          hostname: sanitizeHostname(name, id),
          reservation_id: reservationId,
          launch_index: i,
          image_id: imageId,
          flavor_id: flavor.id,
          flavor: JSON.stringify(flavor),
          new_flavor: null,
          old_flavor: null,
          key_name: req.keyName ?? null,
          key_data: keyData,
          user_data: req.userData ?? null,
          config_drive: req.configDrive ? 1 : 0,
          availability_zone: req.availabilityZone?.split(':')[0] || null,
          access_ipv4: req.accessIPv4 ?? '',
          access_ipv6: req.accessIPv6 ?? '',
          disk_config: req.diskConfig ?? 'MANUAL',
          trusted_certs: req.trustedCerts ? JSON.stringify(req.trustedCerts) : null,
          vm_state: placement.ok ? VM.BUILDING : VM.ERROR,
          task_state: placement.ok ? TASK.SPAWNING : null,
          power_state: POWER.NOSTATE,
          desired_power: 'running',
          generation: 1,
          applied_generation: 0,
          host: placement.ok ? node.host : null,
          node: placement.ok ? node.host : null,
          claimed_at: null,
          launched_at: null,
          terminated_at: null,
          locked: 0,
          locked_by: null,
          locked_reason: null,
          progress: 0,
          fault_code: placement.ok ? null : 500,
          fault_message: placement.ok ? null : NO_VALID_HOST,
          fault_details: placement.ok ? null : `Scheduling failed for flavor ${flavor.name}: ${placement.reason}.`,
          fault_created: placement.ok ? null : now,
          root_device_name: '/dev/vda',
          created_at: now,
          updated_at: now,
          deleted_at: null,
          deleted: 0,
        };
        const ports: InstancePortRow[] = [];
        if (placement.ok) {
          for (const [pos, nic] of nics.entries()) {
            if (nic.kind === 'port') {
              const p = await core.net().bindPort(nic.port.id, { deviceId: id, hostId: node.host });
              bound.push(p.id);
              ports.push({ instance_id: id, port_id: p.id, network_id: p.networkId, owned: 0, tag: nic.tag ?? null, position: pos });
            } else {
              const p = await core.net().createPort(auth, {
                networkId: nic.network.id,
                projectId,
                securityGroups: groupIds,
                fixedIp: nic.fixedIp,
                deviceId: id,
                hostId: node.host,
              });
              made.push(p);
              ports.push({ instance_id: id, port_id: p.id, network_id: p.networkId, owned: 1, tag: nic.tag ?? null, position: pos });
            }
          }
        }
        items.push({ row, metadata: req.metadata, tags: req.tags, ports, groupId: group?.id });
      }
      await core.write(async (trx, batch) => {
        await core.instances.insert(trx, items);
        for (const it of items) {
          await core.recordAction(trx, it.row, auth, 'create', requestId, !placement.ok);
          batch.add('server', it.row.id, 'create');
        }
      });
    } catch (err) {
      // Undo in reverse: nothing of a failed create may remain.
      for (const p of made.reverse()) await core.net().deletePort(p.id).catch(() => undefined);
      for (const p of bound.reverse()) await core.net().unbindPort(p).catch(() => undefined);
      throw err;
    }
    return { servers: items.map((i) => i.row), reservationId };
  });
}

/** Nova's 404 for a server group or a member operation on a missing one. */
export const groupNotFound = (id: string) => notFound(`Instance group ${id} could not be found.`);
