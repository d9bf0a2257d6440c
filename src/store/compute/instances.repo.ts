import { sql, type Kysely } from 'kysely';
import type { Db } from '../db.js';
import type { Database } from '../schema.js';
import type {
  InstanceActionEventTable,
  InstanceActionTable,
  InstancePortTable,
  InstanceSnapshotTable,
  InstanceTable,
} from './schema.js';

export type InstanceRow = InstanceTable;
export type InstancePortRow = InstancePortTable;
export type InstanceActionRow = Omit<InstanceActionTable, 'id'> & { id: number };
export type InstanceActionEventRow = Omit<InstanceActionEventTable, 'id'> & { id: number };
export type InstanceSnapshotRow = InstanceSnapshotTable;
/** A Kysely handle or an open transaction: repository writes accept either so the core can group them. */
export type Executor = Kysely<Database>;

export interface NewInstance {
  row: InstanceRow;
  metadata: Record<string, string>;
  tags: string[];
  ports: InstancePortRow[];
  groupId?: string | undefined;
}

export interface InstanceFilter {
  projectId?: string | undefined;
  /** Include deleted servers (admin's deleted=true). */
  deleted?: boolean;
  changesSince?: string | undefined;
  changesBefore?: string | undefined;
  ids?: string[];
}

/** Sums of the flavors of a set of servers. */
export interface Usage {
  instances: number;
  cores: number;
  ram: number;
  disk: number;
}

/** Servers and what hangs off them: metadata, tags, ports, actions with events, snapshots. */
export class InstancesRepo {
  constructor(readonly db: Db) {}

  get(id: string, ex: Executor = this.db): Promise<InstanceRow | undefined> {
    return ex.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Servers matching a filter. user_data (up to 64 KiB each) is left out of
   * list rows (it reads as null); views that show it load it with userDataOf.
   */
  list(f: InstanceFilter): Promise<InstanceRow[]> {
    let q = this.db.selectFrom('instances').select(LIST_COLUMNS).select(sql<null>`null`.as('user_data'));
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    q = q.where('deleted', '=', f.deleted ? 1 : 0);
    if (f.changesSince !== undefined) q = q.where('updated_at', '>=', f.changesSince);
    if (f.changesBefore !== undefined) q = q.where('updated_at', '<=', f.changesBefore);
    if (f.ids !== undefined) {
      if (f.ids.length === 0) return Promise.resolve([]);
      q = q.where('id', 'in', f.ids);
    }
    return q.execute();
  }

  /** Only the given columns of the servers matching a filter (the first pass of a list). */
  async listColumns<K extends keyof InstanceRow>(f: InstanceFilter & { anyDeleted?: boolean }, cols: K[]): Promise<(Pick<InstanceRow, K> & Partial<InstanceRow>)[]> {
    let q = this.db.selectFrom('instances').select(cols);
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (!f.anyDeleted) q = q.where('deleted', '=', f.deleted ? 1 : 0);
    if (f.changesSince !== undefined) q = q.where('updated_at', '>=', f.changesSince);
    if (f.changesBefore !== undefined) q = q.where('updated_at', '<=', f.changesBefore);
    // Kysely types a generic column list loosely; the rows hold exactly `cols`.
    return (await q.execute()) as unknown as (Pick<InstanceRow, K> & Partial<InstanceRow>)[];
  }

  /**
   * Full rows (without user_data, see list) by id. Each row comes back as
   * one JSON text that JSON.parse turns into an object: for hundreds of
   * 45-column rows this is about twice as fast as the driver building the
   * objects column by column (measured on a 500-server detail list).
   */
  async getMany(ids: string[]): Promise<Map<string, InstanceRow>> {
    const out = new Map<string, InstanceRow>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('instances').select(ROW_AS_JSON.as('j')).where('id', 'in', part).execute();
      for (const r of rows) {
        const row = JSON.parse(r.j) as InstanceRow;
        out.set(row.id, row);
      }
    }
    return out;
  }

  /** Live and deleted servers changed since a time (Nova's changes-since also returns deleted ones). */
  listChanged(f: InstanceFilter): Promise<InstanceRow[]> {
    let q = this.db.selectFrom('instances').select(LIST_COLUMNS).select(sql<null>`null`.as('user_data'));
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.changesSince !== undefined) q = q.where('updated_at', '>=', f.changesSince);
    if (f.changesBefore !== undefined) q = q.where('updated_at', '<=', f.changesBefore);
    return q.execute();
  }

  async userDataOf(ids: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('instances').select(['id', 'user_data']).where('id', 'in', part).execute();
      for (const r of rows) out.set(r.id, r.user_data);
    }
    return out;
  }

  async metadataOf(ids: string[], ex: Executor = this.db): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    for (const part of chunks(ids)) {
      const rows = await ex.selectFrom('instance_metadata').selectAll().where('instance_id', 'in', part).execute();
      for (const r of rows) {
        let m = out.get(r.instance_id);
        if (!m) out.set(r.instance_id, (m = {}));
        m[r.key] = r.value;
      }
    }
    return out;
  }

  async tagsOf(ids: string[], ex: Executor = this.db): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunks(ids)) {
      const rows = await ex.selectFrom('instance_tags').selectAll().where('instance_id', 'in', part).orderBy('tag').execute();
      for (const r of rows) {
        let m = out.get(r.instance_id);
        if (!m) out.set(r.instance_id, (m = []));
        m.push(r.tag);
      }
    }
    return out;
  }

  async portsOf(ids: string[], ex: Executor = this.db): Promise<Map<string, InstancePortRow[]>> {
    const out = new Map<string, InstancePortRow[]>();
    for (const part of chunks(ids)) {
      const rows = await ex.selectFrom('instance_ports').selectAll().where('instance_id', 'in', part).orderBy('position').execute();
      for (const r of rows) {
        let m = out.get(r.instance_id);
        if (!m) out.set(r.instance_id, (m = []));
        m.push(r);
      }
    }
    return out;
  }

  async groupsOf(ids: string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('server_group_members').selectAll().where('instance_id', 'in', part).execute();
      for (const r of rows) out.set(r.instance_id, r.group_id);
    }
    return out;
  }

  instanceOfPort(portId: string): Promise<InstancePortRow | undefined> {
    return this.db.selectFrom('instance_ports').selectAll().where('port_id', '=', portId).executeTakeFirst();
  }

  async insert(ex: Executor, items: NewInstance[]): Promise<void> {
    for (const it of items) {
      await ex.insertInto('instances').values(it.row).execute();
      const meta = Object.entries(it.metadata);
      if (meta.length) await ex.insertInto('instance_metadata').values(meta.map(([key, value]) => ({ instance_id: it.row.id, key, value }))).execute();
      if (it.tags.length) await ex.insertInto('instance_tags').values(it.tags.map((tag) => ({ instance_id: it.row.id, tag }))).execute();
      if (it.ports.length) await ex.insertInto('instance_ports').values(it.ports).execute();
      if (it.groupId) await ex.insertInto('server_group_members').values({ group_id: it.groupId, instance_id: it.row.id }).execute();
    }
  }

  async update(ex: Executor, id: string, patch: Partial<InstanceRow>): Promise<void> {
    await ex.updateTable('instances').set(patch).where('id', '=', id).execute();
  }

  /** A write of desired state: bumps the generation the reconciler compares with what it applied. */
  async updateSpec(ex: Executor, id: string, patch: Partial<InstanceRow>, now: string): Promise<void> {
    await ex
      .updateTable('instances')
      .set({ ...patch, updated_at: now })
      .set((eb) => ({ generation: eb('generation', '+', 1) }))
      .where('id', '=', id)
      .execute();
  }

  async replaceMetadata(ex: Executor, id: string, meta: Record<string, string>): Promise<void> {
    await ex.deleteFrom('instance_metadata').where('instance_id', '=', id).execute();
    await this.mergeMetadata(ex, id, meta);
  }
  async mergeMetadata(ex: Executor, id: string, meta: Record<string, string>): Promise<void> {
    const entries = Object.entries(meta);
    if (entries.length === 0) return;
    await ex
      .insertInto('instance_metadata')
      .values(entries.map(([key, value]) => ({ instance_id: id, key, value })))
      .onConflict((oc) => oc.columns(['instance_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }
  async deleteMetadataKey(ex: Executor, id: string, key: string): Promise<boolean> {
    const r = await ex.deleteFrom('instance_metadata').where('instance_id', '=', id).where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async replaceTags(ex: Executor, id: string, tags: string[]): Promise<void> {
    await ex.deleteFrom('instance_tags').where('instance_id', '=', id).execute();
    if (tags.length) await ex.insertInto('instance_tags').values(tags.map((tag) => ({ instance_id: id, tag }))).execute();
  }
  async addTag(ex: Executor, id: string, tag: string): Promise<boolean> {
    const r = await ex.insertInto('instance_tags').values({ instance_id: id, tag }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  async deleteTag(ex: Executor, id: string, tag: string): Promise<boolean> {
    const r = await ex.deleteFrom('instance_tags').where('instance_id', '=', id).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async addPort(ex: Executor, row: InstancePortRow): Promise<void> {
    await ex.insertInto('instance_ports').values(row).execute();
  }
  async removePort(ex: Executor, instanceId: string, portId: string): Promise<void> {
    await ex.deleteFrom('instance_ports').where('instance_id', '=', instanceId).where('port_id', '=', portId).execute();
  }
  async removeGroupMembership(ex: Executor, instanceId: string): Promise<void> {
    await ex.deleteFrom('server_group_members').where('instance_id', '=', instanceId).execute();
  }

  /** What a project's live servers use (quota: every non-deleted server counts, ERROR ones too). */
  async projectUsage(projectId: string, ex: Executor = this.db): Promise<Usage> {
    const r = await ex
      .selectFrom('instances')
      .select([
        sql<number>`count(*)`.as('instances'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.vcpus')), 0)`.as('cores'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.ram')), 0)`.as('ram'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.disk') + json_extract(flavor, '$.ephemeral') + json_extract(flavor, '$.swap') / 1024.0), 0)`.as('disk'),
      ])
      .where('project_id', '=', projectId)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return { instances: Number(r?.instances ?? 0), cores: Number(r?.cores ?? 0), ram: Number(r?.ram ?? 0), disk: Math.ceil(Number(r?.disk ?? 0)) };
  }

  /** What the servers placed on a host hold (scheduler: placed means `node` is set; freed when deleted). */
  async nodeUsage(node: string, ex: Executor = this.db): Promise<Usage> {
    const r = await ex
      .selectFrom('instances')
      .select([
        sql<number>`count(*)`.as('instances'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.vcpus')), 0)`.as('cores'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.ram')), 0)`.as('ram'),
        sql<number>`coalesce(sum(json_extract(flavor, '$.disk') + json_extract(flavor, '$.ephemeral') + json_extract(flavor, '$.swap') / 1024.0), 0)`.as('disk'),
      ])
      .where('node', '=', node)
      .where('deleted', '=', 0)
      .executeTakeFirst();
    return { instances: Number(r?.instances ?? 0), cores: Number(r?.cores ?? 0), ram: Number(r?.ram ?? 0), disk: Math.ceil(Number(r?.disk ?? 0)) };
  }

  async countLive(ex: Executor = this.db): Promise<number> {
    const r = await ex.selectFrom('instances').select(sql<number>`count(*)`.as('n')).where('deleted', '=', 0).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  // --- instance actions
  async insertAction(ex: Executor, row: Omit<InstanceActionRow, 'id'>): Promise<number> {
    const r = await ex.insertInto('instance_actions').values(row).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }
  async finishAction(ex: Executor, id: number, finish: string, message: string | null): Promise<void> {
    await ex.updateTable('instance_actions').set({ finish_time: finish, updated_at: finish, message }).where('id', '=', id).execute();
  }
  async insertEvent(ex: Executor, row: Omit<InstanceActionEventRow, 'id'>): Promise<number> {
    const r = await ex.insertInto('instance_action_events').values(row).returning('id').executeTakeFirstOrThrow();
    return r.id;
  }
  async finishEvent(ex: Executor, id: number, finish: string, result: string, traceback: string | null): Promise<void> {
    await ex.updateTable('instance_action_events').set({ finish_time: finish, result, traceback }).where('id', '=', id).execute();
  }
  listActions(instanceId: string): Promise<InstanceActionRow[]> {
    return this.db.selectFrom('instance_actions').selectAll().where('instance_id', '=', instanceId).orderBy('start_time', 'desc').orderBy('id', 'desc').execute();
  }
  getAction(instanceId: string, requestId: string): Promise<InstanceActionRow | undefined> {
    return this.db.selectFrom('instance_actions').selectAll().where('instance_id', '=', instanceId).where('request_id', '=', requestId).executeTakeFirst();
  }
  /** The newest unfinished action of a server (what the reconciler completes). */
  openAction(instanceId: string, ex: Executor = this.db): Promise<InstanceActionRow | undefined> {
    return ex
      .selectFrom('instance_actions')
      .selectAll()
      .where('instance_id', '=', instanceId)
      .where('finish_time', 'is', null)
      .orderBy('id', 'desc')
      .executeTakeFirst();
  }
  eventsOf(actionId: number, ex: Executor = this.db): Promise<InstanceActionEventRow[]> {
    return ex.selectFrom('instance_action_events').selectAll().where('action_id', '=', actionId).orderBy('id').execute();
  }

  // --- snapshots
  async insertSnapshot(ex: Executor, row: InstanceSnapshotRow): Promise<void> {
    await ex.insertInto('instance_snapshots').values(row).execute();
  }
  snapshotsOf(instanceId: string, ex: Executor = this.db): Promise<InstanceSnapshotRow[]> {
    return ex.selectFrom('instance_snapshots').selectAll().where('instance_id', '=', instanceId).orderBy('created_at').execute();
  }
  async setSnapshotStatus(ex: Executor, imageId: string, status: string): Promise<void> {
    await ex.updateTable('instance_snapshots').set({ status }).where('image_id', '=', imageId).execute();
  }
}

/** Every column but user_data, which list views rarely need and which can be 64 KiB per server. */
const LIST_COLUMNS = [
  'id', 'project_id', 'user_id', 'name', 'description', 'hostname', 'reservation_id', 'launch_index', 'image_id', 'flavor_id',
  'flavor', 'new_flavor', 'old_flavor', 'key_name', 'key_data', 'config_drive', 'availability_zone', 'access_ipv4', 'access_ipv6',
  'disk_config', 'trusted_certs', 'vm_state', 'task_state', 'power_state', 'desired_power', 'generation', 'applied_generation',
  'host', 'node', 'claimed_at', 'launched_at', 'terminated_at', 'locked', 'locked_by', 'locked_reason', 'progress', 'fault_code',
  'fault_message', 'fault_details', 'fault_created', 'root_device_name', 'created_at', 'updated_at', 'deleted_at', 'deleted',
] as const; // prettier-ignore

/** A list row as one JSON object text (user_data null, as in list). */
const ROW_AS_JSON = sql<string>`json_object(${sql.raw(LIST_COLUMNS.map((c) => `'${c}', ${c}`).join(', '))}, 'user_data', null)`;

/** SQLite bounds the number of bound parameters; big IN lists go in slices. */
function chunks<T>(xs: T[], size = 900): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}
