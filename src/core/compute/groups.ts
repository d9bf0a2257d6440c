import type { AuthContext } from '../auth.js';
import { CloudError, notFound } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import { requireProjectRole, requireWriteOn } from '../policy.js';
import type { ServerGroupRow } from '../../store/compute/catalog.repo.js';
import type { ComputeCore } from './service.js';

/** os-server-groups: affinity policies the scheduler honours (see scheduler.ts). */

export interface ServerGroup extends ServerGroupRow {
  members: string[];
}

export async function createGroup(core: ComputeCore, auth: AuthContext, name: string, policy: string, rules: Record<string, number>): Promise<ServerGroup> {
  const c = requireProjectRole(auth, 'write');
  if (Object.keys(rules).length > 0 && policy !== 'anti-affinity') {
    throw new CloudError('BadRequest', `Only the anti-affinity policy takes rules (max_server_per_host); ${policy} does not.`);
  }
  const limit = await core.quotas.limitOf(c.projectId, 'server_groups');
  if (limit >= 0 && (await core.catalog.countGroups(c.projectId)) >= limit) {
    throw new CloudError('Forbidden', `Quota exceeded, too many server groups: the limit is ${limit} (quota server_groups).`, { type: 'forbidden' });
  }
  const row: ServerGroupRow = { id: uuid(), name, project_id: c.projectId, user_id: auth.userId, policy, rules: JSON.stringify(rules), created_at: nowIso() };
  await core.catalog.insertGroup(row);
  return { ...row, members: [] };
}

export async function getGroup(core: ComputeCore, auth: AuthContext, id: string): Promise<ServerGroup> {
  const g = await core.catalog.getGroup(id);
  if (!g || !(auth.isAdmin || g.project_id === auth.projectId)) throw notFound(`Instance group ${id} could not be found.`);
  return { ...g, members: (await core.catalog.membersOf([g.id])).get(g.id) ?? [] };
}

export async function listGroups(core: ComputeCore, auth: AuthContext, allProjects: boolean): Promise<ServerGroup[]> {
  const c = requireProjectRole(auth, 'read');
  const rows = await core.catalog.listGroups(c.isAdmin && allProjects ? undefined : c.projectId);
  const members = await core.catalog.membersOf(rows.map((r) => r.id));
  return rows.map((r) => ({ ...r, members: members.get(r.id) ?? [] }));
}

export async function deleteGroup(core: ComputeCore, auth: AuthContext, id: string): Promise<void> {
  const g = await core.catalog.getGroup(id);
  if (!g || !(auth.isAdmin || g.project_id === auth.projectId)) throw notFound(`Instance group ${id} could not be found.`);
  requireWriteOn(auth, g.project_id, `Instance group ${id} could not be found.`);
  await core.catalog.deleteGroup(id);
}
