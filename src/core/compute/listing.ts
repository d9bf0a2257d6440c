import type { AuthContext } from '../auth.js';
import { badRequest } from '../errors.js';
import { requireProjectRole } from '../policy.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { loadDetails } from './details.js';
import { flavorOf, type ComputeCore } from './service.js';
import { statusMatcher } from './states.js';

/**
 * GET /servers and /servers/detail: Nova's filters, sort keys and marker
 * pagination. Filtering happens over the project's rows in memory, which
 * for the sizes one host holds is faster than building SQL per filter.
 */

export interface ServerListFilter {
  allProjects: boolean;
  projectId?: string | undefined;
  userId?: string | undefined;
  name?: RegExp | undefined;
  statuses?: string[] | undefined;
  image?: string | undefined;
  flavor?: string | undefined;
  ip?: RegExp | undefined;
  ip6?: RegExp | undefined;
  changesSince?: string | undefined;
  changesBefore?: string | undefined;
  reservationId?: string | undefined;
  tags?: string[] | undefined;
  tagsAny?: string[] | undefined;
  notTags?: string[] | undefined;
  notTagsAny?: string[] | undefined;
  locked?: boolean | undefined;
  deleted?: boolean | undefined;
  host?: string | undefined;
  node?: string | undefined;
  keyName?: string | undefined;
  availabilityZone?: string | undefined;
  uuid?: string | undefined;
  vmState?: string[] | undefined;
  taskState?: string[] | undefined;
  powerState?: number[] | undefined;
  description?: RegExp | undefined;
  hostname?: RegExp | undefined;
  sortKeys: string[];
  sortDirs: ('asc' | 'desc')[];
  limit: number;
  marker?: string | undefined;
}

/** Nova's sort keys and the row column each stands for. */
export const SORT_KEYS: Record<string, (r: InstanceRow) => string | number | null> = {
  access_ip_v4: (r) => r.access_ipv4,
  access_ip_v6: (r) => r.access_ipv6,
  availability_zone: (r) => r.availability_zone,
  config_drive: (r) => r.config_drive,
  created_at: (r) => r.created_at,
  display_description: (r) => r.description,
  display_name: (r) => r.name,
  host: (r) => r.host,
  hostname: (r) => r.hostname,
  image_ref: (r) => r.image_id,
  instance_type_id: (r) => r.flavor_id,
  kernel_id: () => '',
  key_name: (r) => r.key_name,
  launch_index: (r) => r.launch_index,
  launched_at: (r) => r.launched_at,
  locked: (r) => r.locked,
  locked_by: (r) => r.locked_by,
  node: (r) => r.node,
  power_state: (r) => r.power_state,
  progress: (r) => r.progress,
  project_id: (r) => r.project_id,
  ramdisk_id: () => '',
  root_device_name: (r) => r.root_device_name,
  task_state: (r) => r.task_state,
  terminated_at: (r) => r.terminated_at,
  updated_at: (r) => r.updated_at,
  user_id: (r) => r.user_id,
  uuid: (r) => r.id,
  vm_state: (r) => r.vm_state,
};

const ADMIN_SORT_KEYS = new Set(['host', 'node']);

function compare(a: string | number | null, b: string | number | null): number {
  // SQL's NULLS FIRST for ascending order, as Nova's queries sort.
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

export async function listServers(core: ComputeCore, auth: AuthContext, f: ServerListFilter): Promise<InstanceRow[]> {
  const caller = requireProjectRole(auth, 'read');
  const projectId = caller.isAdmin ? (f.projectId ?? (f.allProjects ? undefined : caller.projectId)) : caller.projectId;
  const repoFilter = {
    projectId,
    changesSince: f.changesSince,
    changesBefore: f.changesBefore,
    deleted: caller.isAdmin ? f.deleted === true : false,
  };
  // changes-since/-before also return deleted servers (Nova does, so clients see deletions) unless deleted=false is given.
  let rows =
    (f.changesSince !== undefined || f.changesBefore !== undefined) && f.deleted === undefined
      ? await core.instances.listChanged(repoFilter)
      : await core.instances.list(repoFilter);

  const match = f.statuses ? statusMatcher(f.statuses) : undefined;
  rows = rows.filter((r) => {
    if (f.name && !f.name.test(r.name)) return false;
    if (match && !match(r.vm_state, r.task_state)) return false;
    if (f.image !== undefined && r.image_id !== f.image) return false;
    if (f.flavor !== undefined && flavorOf(r).id !== f.flavor) return false;
    if (f.reservationId !== undefined && r.reservation_id !== f.reservationId) return false;
    if (f.userId !== undefined && r.user_id !== f.userId) return false;
    if (f.locked !== undefined && (r.locked === 1) !== f.locked) return false;
    if (f.host !== undefined && r.host !== f.host) return false;
    if (f.node !== undefined && r.node !== f.node) return false;
    if (f.keyName !== undefined && r.key_name !== f.keyName) return false;
    if (f.availabilityZone !== undefined && (r.node ? core.settings.availabilityZone : r.availability_zone) !== f.availabilityZone) return false;
    if (f.uuid !== undefined && r.id !== f.uuid) return false;
    if (f.vmState && !f.vmState.includes(r.vm_state)) return false;
    if (f.taskState && !f.taskState.includes(r.task_state ?? 'None')) return false;
    if (f.powerState && !f.powerState.includes(r.power_state)) return false;
    if (f.description && !f.description.test(r.description ?? '')) return false;
    if (f.hostname && !f.hostname.test(r.hostname)) return false;
    return true;
  });

  if (f.tags || f.tagsAny || f.notTags || f.notTagsAny) {
    const tags = await core.instances.tagsOf(rows.map((r) => r.id));
    rows = rows.filter((r) => {
      const have = new Set(tags.get(r.id) ?? []);
      if (f.tags && !f.tags.every((t) => have.has(t))) return false;
      if (f.tagsAny && !f.tagsAny.some((t) => have.has(t))) return false;
      if (f.notTags && f.notTags.every((t) => have.has(t))) return false;
      if (f.notTagsAny && f.notTagsAny.some((t) => have.has(t))) return false;
      return true;
    });
  }
  if (f.ip || f.ip6) {
    const details = await loadDetails(core, rows);
    rows = rows.filter((r) => {
      const addrs = details.get(r.id)?.addresses ?? [];
      if (f.ip && !addrs.some((a) => a.version === 4 && f.ip?.test(a.addr))) return false;
      if (f.ip6 && !addrs.some((a) => a.version === 6 && f.ip6?.test(a.addr))) return false;
      return true;
    });
  }

  const keys = f.sortKeys.filter((k) => caller.isAdmin || !ADMIN_SORT_KEYS.has(k));
  for (const k of keys) if (!SORT_KEYS[k]) throw badRequest(`Invalid sort_key ${k}: use one of ${Object.keys(SORT_KEYS).join(', ')}.`);
  const sortKeys = keys.length ? keys : ['created_at'];
  const dirs = sortKeys.map((_, i) => f.sortDirs[i] ?? f.sortDirs[f.sortDirs.length - 1] ?? 'desc');
  // Ties break on id in the first key's direction, so pages are stable.
  const tieDir = dirs[0] ?? 'desc';
  rows.sort((a, b) => {
    for (const [i, k] of sortKeys.entries()) {
      const get = SORT_KEYS[k];
      if (!get) continue;
      const c = compare(get(a), get(b));
      if (c !== 0) return dirs[i] === 'asc' ? c : -c;
    }
    const c = compare(a.id, b.id);
    return tieDir === 'asc' ? c : -c;
  });

  if (f.marker !== undefined) {
    const at = rows.findIndex((r) => r.id === f.marker);
    if (at < 0) throw badRequest(`marker [${f.marker}] not found`);
    rows = rows.slice(at + 1);
  }
  return rows.slice(0, f.limit);
}
