import type { AuthContext } from '../auth.js';
import { badRequest } from '../errors.js';
import { requireProjectRole } from '../policy.js';
import type { InstanceRow } from '../../store/compute/instances.repo.js';
import { loadDetails } from './details.js';
import type { ComputeCore } from './service.js';
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

/** Nova's sort keys and the column each stands for (kernel_id/ramdisk_id are always empty here). */
export const SORT_KEYS: Record<string, keyof InstanceRow | null> = {
  access_ip_v4: 'access_ipv4',
  access_ip_v6: 'access_ipv6',
  availability_zone: 'availability_zone',
  config_drive: 'config_drive',
  created_at: 'created_at',
  display_description: 'description',
  display_name: 'name',
  host: 'host',
  hostname: 'hostname',
  image_ref: 'image_id',
  instance_type_id: 'flavor_id',
  kernel_id: null,
  key_name: 'key_name',
  launch_index: 'launch_index',
  launched_at: 'launched_at',
  locked: 'locked',
  locked_by: 'locked_by',
  node: 'node',
  power_state: 'power_state',
  progress: 'progress',
  project_id: 'project_id',
  ramdisk_id: null,
  root_device_name: 'root_device_name',
  task_state: 'task_state',
  terminated_at: 'terminated_at',
  updated_at: 'updated_at',
  user_id: 'user_id',
  uuid: 'id',
  vm_state: 'vm_state',
};

/** A row of the first pass: the columns the filters and sort keys of this request read. */
export type ListRow = Partial<InstanceRow> & Pick<InstanceRow, 'id' | 'name' | 'created_at'>;

/** The columns a filter reads, so the first pass reads no more (wide rows cost: 46 columns × 500 servers). */
function columnsFor(f: ServerListFilter, sortKeys: string[]): (keyof InstanceRow)[] {
  const cols = new Set<keyof InstanceRow>(['id', 'name', 'created_at']);
  const need = (on: unknown, ...c: (keyof InstanceRow)[]) => {
    if (on !== undefined) for (const x of c) cols.add(x);
  };
  need(f.statuses, 'vm_state', 'task_state');
  need(f.image, 'image_id');
  need(f.flavor, 'flavor_id');
  need(f.reservationId, 'reservation_id');
  need(f.userId, 'user_id');
  need(f.locked, 'locked');
  need(f.host, 'host');
  need(f.node, 'node');
  need(f.keyName, 'key_name');
  need(f.availabilityZone, 'node', 'availability_zone');
  need(f.vmState, 'vm_state');
  need(f.taskState, 'task_state');
  need(f.powerState, 'power_state');
  need(f.description, 'description');
  need(f.hostname, 'hostname');
  for (const k of sortKeys) {
    const c = SORT_KEYS[k];
    if (c) cols.add(c);
  }
  return [...cols];
}

const ADMIN_SORT_KEYS = new Set(['host', 'node']);

function compare(a: string | number | null, b: string | number | null): number {
  // SQL's NULLS FIRST for ascending order, as Nova's queries sort.
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  return a < b ? -1 : 1;
}

/**
 * One page of servers, in order, as first-pass rows (id, name and what the
 * filters read); detail views load full rows for the page with fullRows.
 */
export async function listServers(core: ComputeCore, auth: AuthContext, f: ServerListFilter): Promise<ListRow[]> {
  const caller = requireProjectRole(auth, 'read');
  const projectId = caller.isAdmin ? (f.projectId ?? (f.allProjects ? undefined : caller.projectId)) : caller.projectId;
  const repoFilter = {
    projectId,
    changesSince: f.changesSince,
    changesBefore: f.changesBefore,
    deleted: caller.isAdmin ? f.deleted === true : false,
  };
  const keys = f.sortKeys.filter((k) => caller.isAdmin || !ADMIN_SORT_KEYS.has(k));
  for (const k of keys) if (!(k in SORT_KEYS)) throw badRequest(`Invalid sort_key ${k}: use one of ${Object.keys(SORT_KEYS).join(', ')}.`);
  const sortKeys = keys.length ? keys : ['created_at'];
  const cols = columnsFor(f, sortKeys);
  // changes-since/-before also return deleted servers (Nova does, so clients see deletions) unless deleted=false is given.
  const withDeleted = (f.changesSince !== undefined || f.changesBefore !== undefined) && f.deleted === undefined;
  let rows: ListRow[] = await core.instances.listColumns({ ...repoFilter, ...(withDeleted ? { anyDeleted: true } : {}) }, cols);

  const match = f.statuses ? statusMatcher(f.statuses) : undefined;
  rows = rows.filter((r) => {
    if (f.name && !f.name.test(r.name)) return false;
    if (match && !match(r.vm_state ?? '', r.task_state ?? null)) return false;
    if (f.image !== undefined && r.image_id !== f.image) return false;
    if (f.flavor !== undefined && r.flavor_id !== f.flavor) return false;
    if (f.reservationId !== undefined && r.reservation_id !== f.reservationId) return false;
    if (f.userId !== undefined && r.user_id !== f.userId) return false;
    if (f.locked !== undefined && (r.locked === 1) !== f.locked) return false;
    if (f.host !== undefined && r.host !== f.host) return false;
    if (f.node !== undefined && r.node !== f.node) return false;
    if (f.keyName !== undefined && r.key_name !== f.keyName) return false;
    if (f.availabilityZone !== undefined && (r.node ? core.settings.availabilityZone : r.availability_zone) !== f.availabilityZone) return false;
    if (f.uuid !== undefined && r.id !== f.uuid) return false;
    if (f.vmState && !f.vmState.includes(r.vm_state ?? '')) return false;
    if (f.taskState && !f.taskState.includes(r.task_state ?? 'None')) return false;
    if (f.powerState && !f.powerState.includes(r.power_state ?? -1)) return false;
    if (f.description && !f.description.test(r.description ?? '')) return false;
    if (f.hostname && !f.hostname.test(r.hostname ?? '')) return false;
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

  const dirs = sortKeys.map((_, i) => f.sortDirs[i] ?? f.sortDirs[f.sortDirs.length - 1] ?? 'desc');
  // Ties break on id in the first key's direction, so pages are stable.
  const tieDir = dirs[0] ?? 'desc';
  rows.sort((a, b) => {
    for (const [i, k] of sortKeys.entries()) {
      const col = SORT_KEYS[k];
      if (!col) continue;
      const c = compare((a[col] ?? null) as string | number | null, (b[col] ?? null) as string | number | null);
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

/** The full rows of a page, in the page's order. */
export async function fullRows(core: ComputeCore, page: ListRow[]): Promise<InstanceRow[]> {
  const byId = await core.instances.getMany(page.map((r) => r.id));
  return page.flatMap((r) => {
    const row = byId.get(r.id);
    return row ? [row] : [];
  });
}
