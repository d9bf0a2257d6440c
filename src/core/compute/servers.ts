import type { AuthContext } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { nowIso } from '../ids.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import type { ComputeCore } from './service.js';
import { checkMetadataCount } from './quotas.js';
import { checkLock, checkState, POWER, TASK, VM } from './states.js';

/**
 * Server changes that are not power actions: update, delete, metadata and
 * tags. Each is one transaction of desired state with its change event.
 */

export interface ServerUpdate {
  name?: string | undefined;
  description?: string | null | undefined;
  accessIPv4?: string | undefined;
  accessIPv6?: string | undefined;
  diskConfig?: string | undefined;
}

export const MAX_TAGS = 50;

export async function updateServer(core: ComputeCore, auth: AuthContext, id: string, u: ServerUpdate): Promise<InstanceRow> {
  const s = await core.writableServer(auth, id);
  const patch: Partial<InstanceRow> = {};
  if (u.name !== undefined) patch.name = u.name;
  if (u.description !== undefined) patch.description = u.description;
  if (u.accessIPv4 !== undefined) patch.access_ipv4 = u.accessIPv4;
  if (u.accessIPv6 !== undefined) patch.access_ipv6 = u.accessIPv6;
  if (u.diskConfig !== undefined) patch.disk_config = u.diskConfig;
  const now = nowIso();
  patch.updated_at = now;
  await core.write(async (trx, batch) => {
    await core.instances.update(trx, id, patch);
    batch.add('server', id, 'update');
  });
  return { ...s, ...patch };
}

/**
 * Releases what a server holds outside compute: the ports it made are
 * deleted, ports the user brought are unbound and go back to the user.
 */
export async function releasePorts(core: ComputeCore, id: string): Promise<void> {
  const ports = (await core.instances.portsOf([id])).get(id) ?? [];
  if (ports.length === 0) return;
  const net = core.net();
  for (const p of ports) {
    if (p.owned) await net.deletePort(p.port_id);
    else await net.unbindPort(p.port_id);
    await core.instances.removePort(core.instances.db, id, p.port_id);
  }
}

/** Marks a server deleted once nothing of it remains on the host (the reconciler calls this after teardown too). */
export async function finishDelete(core: ComputeCore, id: string): Promise<void> {
  await releasePorts(core, id);
  const now = nowIso();
  await core.write(async (trx, batch) => {
    await core.instances.update(trx, id, {
      vm_state: VM.DELETED,
      task_state: null,
      power_state: POWER.NOSTATE,
      deleted: 1,
      deleted_at: now,
      terminated_at: now,
      updated_at: now,
    });
    await core.instances.removeGroupMembership(trx, id);
    const open = await core.instances.openAction(id, trx);
    if (open) await core.instances.finishAction(trx, open.id, now, null);
    batch.add('server', id, 'delete');
  });
  await core.catalog.deleteConsoleTokensOf(id);
}

/**
 * Deletes a server. One the reconciler has not taken on yet has nothing on
 * the host, so it is deleted here at once (Nova's local delete); otherwise
 * it goes to task_state deleting and the reconciler finishes the job.
 */
export async function deleteServer(core: ComputeCore, auth: AuthContext, id: string, requestId: string, force = false): Promise<void> {
  const action = force ? 'forceDelete' : 'delete';
  const local = await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkLock(s, auth.isAdmin);
    checkState(s, action);
    await core.recordAction(trx, s, auth, 'delete', requestId, false);
    if (s.claimed_at === null) return true;
    await core.instances.updateSpec(trx, id, { task_state: TASK.DELETING }, nowIso());
    batch.add('server', id, 'update');
    return false;
  });
  if (local) await finishDelete(core, id);
}

// --- metadata

export async function metadataOf(core: ComputeCore, auth: AuthContext, id: string): Promise<Record<string, string>> {
  await core.visibleServer(auth, id);
  return (await core.instances.metadataOf([id])).get(id) ?? {};
}

/** PUT replaces, POST merges; both check the metadata_items quota on the result. */
export async function writeMetadata(
  core: ComputeCore,
  auth: AuthContext,
  id: string,
  meta: Record<string, string>,
  mode: 'replace' | 'merge',
): Promise<Record<string, string>> {
  const owner = await core.visibleServer(auth, id);
  const limit = await core.quotas.limitOf(owner.project_id, 'metadata_items');
  return core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkLock(s, auth.isAdmin);
    checkState(s, 'update metadata');
    const current = (await core.instances.metadataOf([id], trx)).get(id) ?? {};
    const next = mode === 'replace' ? meta : { ...current, ...meta };
    checkMetadataCount(Object.keys(next).length, limit);
    if (mode === 'replace') await core.instances.replaceMetadata(trx, id, meta);
    else await core.instances.mergeMetadata(trx, id, meta);
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
    return next;
  });
}

export async function deleteMetadataKey(core: ComputeCore, auth: AuthContext, id: string, key: string): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkLock(s, auth.isAdmin);
    checkState(s, 'delete metadata');
    if (!(await core.instances.deleteMetadataKey(trx, id, key))) throw notFound(`Metadata item was not found: ${key}`);
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
  });
}

// --- tags (2.26)

export async function tagsOf(core: ComputeCore, auth: AuthContext, id: string): Promise<string[]> {
  await core.visibleServer(auth, id);
  return (await core.instances.tagsOf([id])).get(id) ?? [];
}

export async function addTag(core: ComputeCore, auth: AuthContext, id: string, tag: string): Promise<boolean> {
  return core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkState(s, 'update tag');
    const have = (await core.instances.tagsOf([id], trx)).get(id) ?? [];
    if (have.includes(tag)) return false;
    if (have.length >= MAX_TAGS) throw badRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
    await core.instances.addTag(trx, id, tag);
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
    return true;
  });
}

export async function replaceTags(core: ComputeCore, auth: AuthContext, id: string, tags: string[]): Promise<string[]> {
  const unique = [...new Set(tags)];
  if (unique.length > MAX_TAGS) throw badRequest(`The number of tags exceeded the per-server limit ${MAX_TAGS}`);
  return core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkState(s, 'update tags');
    await core.instances.replaceTags(trx, id, unique);
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
    return [...unique].sort();
  });
}

export async function deleteTag(core: ComputeCore, auth: AuthContext, id: string, tag: string | undefined): Promise<void> {
  await core.write(async (trx, batch) => {
    const s = await core.writableServer(auth, id, trx);
    checkState(s, tag === undefined ? 'delete tags' : 'delete tag');
    if (tag === undefined) await core.instances.replaceTags(trx, id, []);
    else if (!(await core.instances.deleteTag(trx, id, tag))) throw notFound(`Server ${id} has no tag '${tag}'`);
    await core.instances.update(trx, id, { updated_at: nowIso() });
    batch.add('server', id, 'update');
  });
}
