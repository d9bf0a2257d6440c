import type { AuthContext } from '../auth.js';
import { badRequest, CloudError, conflict, forbidden } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { decodeUserData } from './create.js';
import { flavorIdFromRef, snapshotOf } from './flavors.js';
import { overQuota } from './quotas.js';
import { capacityOf, demandOf, NO_VALID_HOST, place } from './scheduler.js';
import { flavorOf, type ComputeCore } from './service.js';
import { checkLock, checkState, TASK, VM, type DesiredPower } from './states.js';

/**
 * Server actions (POST /servers/{id}/action): each checks lock and state as
 * Nova does, then writes the task and the desired power state in one
 * transaction with its change event and an instance action record. The
 * reconciler does the work and completes the task (see lifecycle.ts).
 */

interface Transition {
  /** The action's name in Nova's messages and os-instance-actions. */
  action: string;
  /** Rule name in STATE_RULES (defaults to action). */
  rule?: string;
  task: string;
  desired?: DesiredPower;
  lock?: boolean;
}

export const TRANSITIONS = {
  start: { action: 'start', task: TASK.POWERING_ON, desired: 'running' },
  stop: { action: 'stop', task: TASK.POWERING_OFF, desired: 'shutdown' },
  reboot: { action: 'reboot', task: TASK.REBOOTING, desired: 'running' },
  reboot_hard: { action: 'reboot', rule: 'reboot_hard', task: TASK.REBOOTING_HARD, desired: 'running' },
  pause: { action: 'pause', task: TASK.PAUSING, desired: 'paused' },
  unpause: { action: 'unpause', task: TASK.UNPAUSING, desired: 'running' },
  suspend: { action: 'suspend', task: TASK.SUSPENDING, desired: 'suspended' },
  resume: { action: 'resume', task: TASK.RESUMING, desired: 'running' },
} as const satisfies Record<string, Transition>;

export type SimpleAction = keyof typeof TRANSITIONS;

async function transition(core: ComputeCore, auth: AuthContext, id: string, t: Transition, requestId: string, extra: Partial<InstanceRow> = {}): Promise<InstanceRow> {
  return core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    if (t.lock !== false) checkLock(s, auth.isAdmin);
    checkState(s, t.rule ?? t.action, t.action);
    const patch: Partial<InstanceRow> = { task_state: t.task, ...extra };
    if (t.desired) patch.desired_power = t.desired;
    await core.instances.updateSpec(trx, id, patch, nowIso());
    await core.recordAction(trx, s, auth, t.action, requestId, false);
    batch.add('server', id, 'update');
    return { ...s, ...patch };
  });
}

/** os-start, os-stop, reboot, pause/unpause, suspend/resume. */
export function simpleAction(core: ComputeCore, auth: AuthContext, id: string, a: SimpleAction, requestId: string): Promise<InstanceRow> {
  return transition(core, auth, id, TRANSITIONS[a], requestId);
}

export interface RebuildRequest {
  imageRef: string;
  name?: string | undefined;
  metadata?: Record<string, string> | undefined;
  description?: string | null | undefined;
  keyName?: string | null | undefined;
  userData?: string | null | undefined;
  accessIPv4?: string | undefined;
  accessIPv6?: string | undefined;
  diskConfig?: string | undefined;
  trustedCerts?: string[] | null | undefined;
}

/** Rebuild: a new root disk from an image (the same or another), same id, ports and flavor. */
export async function rebuild(core: ComputeCore, auth: AuthContext, id: string, r: RebuildRequest, requestId: string): Promise<InstanceRow> {
  const s0 = await core.writableServer(auth, id);
  const image = await core.img().getImage(auth, r.imageRef);
  if (!image) throw badRequest(`Image ${r.imageRef} could not be found.`);
  if (image.status !== 'active') throw badRequest(`Image ${image.id} is not active (it is ${image.status}).`);
  const f = flavorOf(s0);
  if (image.minRam > f.ram) throw badRequest(`Flavor's memory is too small for requested image: image ${image.name} needs ${image.minRam} MB, flavor ${f.name} has ${f.ram} MB.`);
  if (f.disk > 0 && (Math.max(image.size ?? 0, image.virtualSize ?? 0) > f.disk * 1024 ** 3 || image.minDisk > f.disk)) {
    throw badRequest(`Flavor's disk is too small for requested image (flavor ${f.name} has ${f.disk} GB).`);
  }
  if (r.metadata) await core.quotas.checkMetadata(s0.project_id, Object.keys(r.metadata).length);
  if (r.userData !== undefined && r.userData !== null) decodeUserData(r.userData, core.settings.maxUserDataBytes);
  const extra: Partial<InstanceRow> = { image_id: image.id };
  if (r.name !== undefined) extra.name = r.name;
  if (r.description !== undefined) extra.description = r.description;
  if (r.accessIPv4 !== undefined) extra.access_ipv4 = r.accessIPv4;
  if (r.accessIPv6 !== undefined) extra.access_ipv6 = r.accessIPv6;
  if (r.diskConfig !== undefined) extra.disk_config = r.diskConfig;
  if (r.userData !== undefined) extra.user_data = r.userData;
  if (r.trustedCerts !== undefined) extra.trusted_certs = r.trustedCerts ? JSON.stringify(r.trustedCerts) : null;
  if (r.keyName !== undefined) {
    if (r.keyName === null) {
      extra.key_name = null;
      extra.key_data = null;
    } else {
      const kp = await core.catalog.getKeypair(s0.user_id, r.keyName);
      if (!kp) throw badRequest(`Invalid key_name provided: no keypair named ${r.keyName} belongs to the server's user.`);
      extra.key_name = kp.name;
      extra.key_data = kp.public_key;
    }
  }
  const out = await transition(core, auth, id, { action: 'rebuild', task: TASK.REBUILDING }, requestId, extra);
  if (r.metadata) {
    const meta = r.metadata;
    await core.write(async (trx) => core.instances.replaceMetadata(trx, id, meta));
  }
  return out;
}

/** lock (2.73: with a reason); a non-admin owner's lock and an admin's lock are told apart, as in Nova. */
export async function lock(core: ComputeCore, auth: AuthContext, id: string, reason: string | undefined, requestId: string): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    const isOwner = s.project_id === auth.projectId;
    if (s.locked && isOwner) return;
    await core.instances.update(trx, id, { locked: 1, locked_by: isOwner ? 'owner' : 'admin', locked_reason: reason ?? null, updated_at: nowIso() });
    await core.recordAction(trx, s, auth, 'lock', requestId, true);
    batch.add('server', id, 'update');
  });
}

export async function unlock(core: ComputeCore, auth: AuthContext, id: string, requestId: string): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    const expected = s.project_id === auth.projectId ? 'owner' : 'admin';
    if (s.locked_by && s.locked_by !== expected && !auth.isAdmin) {
      throw forbidden(`Instance ${id} was locked by an admin; only an admin may unlock it.`);
    }
    await core.instances.update(trx, id, { locked: 0, locked_by: null, locked_reason: null, updated_at: nowIso() });
    await core.recordAction(trx, s, auth, 'unlock', requestId, true);
    batch.add('server', id, 'update');
  });
}

/**
 * createImage: records the snapshot wanted (the reconciler copies the disk
 * and uploads it to this image id) and reserves the image record when the
 * image service can. Not subject to the lock, as in Nova.
 */
export async function createImage(
  core: ComputeCore,
  auth: AuthContext,
  id: string,
  name: string,
  metadata: Record<string, string>,
  requestId: string,
): Promise<string> {
  const s = await core.writableServer(auth, id);
  checkState(s, 'createImage');
  const imageId = uuid();
  const f = flavorOf(s);
  const base = s.image_id ? await core.img().getImage(auth, s.image_id) : undefined;
  const properties: Record<string, string> = {
    ...metadata,
    image_type: 'snapshot',
    instance_uuid: s.id,
    base_image_ref: s.image_id,
    user_id: auth.userId,
    owner_project_name: auth.projectName ?? '',
    owner_user_name: auth.userName,
  };
  if (core.images?.reserveSnapshot) {
    await core.images.reserveSnapshot(auth, {
      id: imageId,
      name,
      ownerProjectId: s.project_id,
      instanceId: s.id,
      properties,
      minRam: base?.minRam ?? 0,
      minDisk: Math.max(f.disk, base?.minDisk ?? 0),
    });
  }
  try {
    await core.write(async (trx, batch) => {
      const cur = await core.writableServer(auth, id, trx);
      checkState(cur, 'createImage');
      await core.instances.insertSnapshot(trx, {
        image_id: imageId,
        instance_id: id,
        name,
        properties: JSON.stringify(properties),
        project_id: cur.project_id,
        user_id: auth.userId,
        status: 'pending',
        created_at: nowIso(),
      });
      await core.instances.updateSpec(trx, id, { task_state: TASK.IMAGE_SNAPSHOT_PENDING }, nowIso());
      await core.recordAction(trx, cur, auth, 'createImage', requestId, false);
      batch.add('server', id, 'update');
    });
  } catch (err) {
    // The server changed state meanwhile: the reserved image must not stay behind, queued forever.
    await core.images?.releaseSnapshot?.(auth, imageId).catch(() => undefined);
    throw err;
  }
  return imageId;
}

/**
 * resize: checks the new flavor against quota (the difference) and the
 * host's free capacity (the difference), then asks the reconciler to move
 * the server to it; VERIFY_RESIZE follows, then confirmResize or revertResize.
 */
export async function resize(core: ComputeCore, auth: AuthContext, id: string, flavorRef: string | number, requestId: string): Promise<void> {
  const s = await core.writableServer(auth, id);
  checkLock(s, auth.isAdmin);
  checkState(s, 'resize');
  const cur = flavorOf(s);
  const fid = flavorIdFromRef(flavorRef);
  const row = await core.catalog.getFlavor(fid);
  const visible = row && (row.is_public || auth.isAdmin || (await core.catalog.flavorProjects(fid)).includes(s.project_id));
  if (!row || !visible || row.disabled) throw badRequest(`Flavor ${fid} could not be found.`);
  const next = snapshotOf(await core.flavors.withSpecs(row));
  if (next.id === cur.id) throw badRequest('When resizing, instances must change flavor!');
  if (next.disk < cur.disk) throw badRequest(`Resizing to a smaller disk is not supported: flavor ${next.name} has ${next.disk} GB, the server's disk is ${cur.disk} GB.`);
  await core.schedulerLock.run(async () => {
    const limits = await core.quotas.limits(s.project_id);
    const used = await core.instances.projectUsage(s.project_id);
    const over: string[] = [];
    const dCores = next.vcpus - cur.vcpus;
    const dRam = next.ram - cur.ram;
    if (limits.cores >= 0 && dCores > 0 && used.cores + dCores > limits.cores) over.push('cores');
    if (limits.ram >= 0 && dRam > 0 && used.ram + dRam > limits.ram) over.push('ram');
    if (over.length) throw overQuota(over, { cores: dCores, ram: dRam }, { cores: used.cores, ram: used.ram }, limits);
    const host = s.node ?? (await core.node()).host;
    const figures = await core.hostFigures();
    const nodeUse = await core.instances.nodeUsage(host);
    const a = demandOf(cur);
    const b = demandOf(next);
    const delta = { vcpus: Math.max(0, b.vcpus - a.vcpus), ramMb: Math.max(0, b.ramMb - a.ramMb), diskGb: Math.max(0, b.diskGb - a.diskGb) };
    const p = place(host, capacityOf(figures, core.settings), { vcpus: nodeUse.cores, ramMb: nodeUse.ram, diskGb: nodeUse.disk }, delta, 1);
    if (!p.ok) throw new CloudError('BadRequest', `${NO_VALID_HOST} Resizing to ${next.name}: ${p.reason}.`);
    await transition(core, auth, id, { action: 'resize', task: TASK.RESIZE_PREP }, requestId, { new_flavor: JSON.stringify(next) });
  });
}

/** confirmResize: the old flavor is forgotten; the server is ACTIVE (or SHUTOFF) again. */
export async function confirmResize(core: ComputeCore, auth: AuthContext, id: string, requestId: string): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkLock(s, auth.isAdmin);
    checkState(s, 'confirmResize');
    const vm = s.desired_power === 'shutdown' ? VM.STOPPED : VM.ACTIVE;
    await core.instances.updateSpec(trx, id, { vm_state: vm, task_state: null, old_flavor: null }, nowIso());
    await core.recordAction(trx, s, auth, 'confirmResize', requestId, true);
    batch.add('server', id, 'update');
  });
}

/** revertResize: back to the old flavor; the reconciler restarts the server with it. */
export async function revertResize(core: ComputeCore, auth: AuthContext, id: string, requestId: string): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkLock(s, auth.isAdmin);
    checkState(s, 'revertResize');
    if (!s.old_flavor) throw conflict(`Instance ${id} has no flavor to revert to.`);
    await core.instances.updateSpec(trx, id, { task_state: TASK.RESIZE_REVERTING, new_flavor: s.old_flavor }, nowIso());
    await core.recordAction(trx, s, auth, 'revertResize', requestId, false);
    batch.add('server', id, 'update');
  });
}
