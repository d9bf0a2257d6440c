import type { Db } from '../db.js';
import type { ComputeNodeTable, FlavorTable, KeypairTable, ServerGroupTable } from './schema.js';

export type FlavorRow = FlavorTable;
export type KeypairRow = Omit<KeypairTable, 'id'> & { id: number };
export type ServerGroupRow = ServerGroupTable;
export type ComputeNodeRow = ComputeNodeTable;

export interface FlavorWithSpecs extends FlavorRow {
  extra_specs: Record<string, string>;
}

/**
 * Nova's catalog-like tables: flavors (with extra specs and access), keypairs,
 * server groups, quotas, console tokens and the compute node. One statement
 * or one transaction per method.
 */
export class ComputeCatalogRepo {
  constructor(readonly db: Db) {}

  // --- markers of one-time steps (the shared meta table)
  async getMarker(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }
  async setMarker(key: string, value: string): Promise<void> {
    await this.db.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doUpdateSet({ value })).execute();
  }

  // --- flavors
  getFlavor(id: string): Promise<FlavorRow | undefined> {
    return this.db.selectFrom('flavors').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getFlavorByName(name: string): Promise<FlavorRow | undefined> {
    return this.db.selectFrom('flavors').selectAll().where('name', '=', name).executeTakeFirst();
  }
  listFlavors(): Promise<FlavorRow[]> {
    return this.db.selectFrom('flavors').selectAll().execute();
  }
  async countFlavors(): Promise<number> {
    const r = await this.db.selectFrom('flavors').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
  async extraSpecsOf(ids: string[]): Promise<Map<string, Record<string, string>>> {
    const out = new Map<string, Record<string, string>>();
    if (ids.length === 0) return out;
    const rows = await this.db.selectFrom('flavor_extra_specs').selectAll().where('flavor_id', 'in', ids).execute();
    for (const r of rows) {
      let m = out.get(r.flavor_id);
      if (!m) out.set(r.flavor_id, (m = {}));
      m[r.key] = r.value;
    }
    return out;
  }
  async insertFlavor(row: FlavorRow, specs: Record<string, string> = {}): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('flavors').values(row).execute();
      const entries = Object.entries(specs);
      if (entries.length) await trx.insertInto('flavor_extra_specs').values(entries.map(([key, value]) => ({ flavor_id: row.id, key, value }))).execute();
    });
  }
  async updateFlavor(id: string, patch: Partial<FlavorRow>): Promise<void> {
    await this.db.updateTable('flavors').set(patch).where('id', '=', id).execute();
  }
  async deleteFlavor(id: string): Promise<void> {
    await this.db.deleteFrom('flavors').where('id', '=', id).execute();
  }
  async setExtraSpecs(id: string, specs: Record<string, string>): Promise<void> {
    const entries = Object.entries(specs);
    if (entries.length === 0) return;
    await this.db
      .insertInto('flavor_extra_specs')
      .values(entries.map(([key, value]) => ({ flavor_id: id, key, value })))
      .onConflict((oc) => oc.columns(['flavor_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }
  async deleteExtraSpec(id: string, key: string): Promise<number> {
    const r = await this.db.deleteFrom('flavor_extra_specs').where('flavor_id', '=', id).where('key', '=', key).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  async flavorProjects(id: string): Promise<string[]> {
    const rows = await this.db.selectFrom('flavor_projects').select('project_id').where('flavor_id', '=', id).orderBy('project_id').execute();
    return rows.map((r) => r.project_id);
  }
  async flavorsOfProject(projectId: string): Promise<Set<string>> {
    const rows = await this.db.selectFrom('flavor_projects').select('flavor_id').where('project_id', '=', projectId).execute();
    return new Set(rows.map((r) => r.flavor_id));
  }
  async addFlavorProject(id: string, projectId: string): Promise<boolean> {
    const r = await this.db.insertInto('flavor_projects').values({ flavor_id: id, project_id: projectId }).onConflict((oc) => oc.doNothing()).executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  async removeFlavorProject(id: string, projectId: string): Promise<boolean> {
    const r = await this.db.deleteFrom('flavor_projects').where('flavor_id', '=', id).where('project_id', '=', projectId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // --- keypairs
  getKeypair(userId: string, name: string): Promise<KeypairRow | undefined> {
    return this.db.selectFrom('keypairs').selectAll().where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
  }
  listKeypairs(userId: string): Promise<KeypairRow[]> {
    return this.db.selectFrom('keypairs').selectAll().where('user_id', '=', userId).orderBy('name').execute();
  }
  async countKeypairs(userId: string): Promise<number> {
    const r = await this.db.selectFrom('keypairs').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
  async insertKeypair(row: Omit<KeypairRow, 'id'>): Promise<KeypairRow> {
    const r = await this.db.insertInto('keypairs').values(row).returning('id').executeTakeFirstOrThrow();
    return { ...row, id: r.id };
  }
  async deleteKeypair(userId: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom('keypairs').where('user_id', '=', userId).where('name', '=', name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  // --- server groups
  getGroup(id: string): Promise<ServerGroupRow | undefined> {
    return this.db.selectFrom('server_groups').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listGroups(projectId?: string): Promise<ServerGroupRow[]> {
    let q = this.db.selectFrom('server_groups').selectAll();
    if (projectId !== undefined) q = q.where('project_id', '=', projectId);
    return q.orderBy('created_at').orderBy('id').execute();
  }
  async insertGroup(row: ServerGroupRow): Promise<void> {
    await this.db.insertInto('server_groups').values(row).execute();
  }
  async deleteGroup(id: string): Promise<void> {
    await this.db.deleteFrom('server_groups').where('id', '=', id).execute();
  }
  async countGroups(projectId: string): Promise<number> {
    const r = await this.db.selectFrom('server_groups').select((eb) => eb.fn.countAll<number>().as('n')).where('project_id', '=', projectId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }
  /** Live members of each group (deleted servers leave their group). */
  async membersOf(groupIds: string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(groupIds.map((g) => [g, []]));
    if (groupIds.length === 0) return out;
    const rows = await this.db
      .selectFrom('server_group_members as m')
      .innerJoin('instances as i', 'i.id', 'm.instance_id')
      .select(['m.group_id', 'm.instance_id'])
      .where('m.group_id', 'in', groupIds)
      .where('i.deleted', '=', 0)
      .orderBy('i.created_at')
      .execute();
    for (const r of rows) out.get(r.group_id)?.push(r.instance_id);
    return out;
  }

  // --- quotas
  async quotasOf(projectId: string): Promise<Record<string, number>> {
    const rows = await this.db.selectFrom('compute_quotas').selectAll().where('project_id', '=', projectId).execute();
    return Object.fromEntries(rows.map((r) => [r.resource, r.hard_limit]));
  }
  async setQuotas(projectId: string, limits: Record<string, number>): Promise<void> {
    const entries = Object.entries(limits);
    if (entries.length === 0) return;
    await this.db
      .insertInto('compute_quotas')
      .values(entries.map(([resource, hard_limit]) => ({ project_id: projectId, resource, hard_limit })))
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet((eb) => ({ hard_limit: eb.ref('excluded.hard_limit') })))
      .execute();
  }
  async deleteQuotas(projectId: string): Promise<void> {
    await this.db.deleteFrom('compute_quotas').where('project_id', '=', projectId).execute();
  }

  // --- console tokens
  async insertConsoleToken(row: { token_hash: string; instance_id: string; protocol: string; type: string; expires_at: string; created_at: string }): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      // Expired tokens are worthless; dropping them here keeps the table small without a timer.
      await trx.deleteFrom('console_tokens').where('expires_at', '<', row.created_at).execute();
      await trx.insertInto('console_tokens').values(row).execute();
    });
  }
  getConsoleToken(hash: string) {
    return this.db.selectFrom('console_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
  }
  async deleteConsoleTokensOf(instanceId: string): Promise<void> {
    await this.db.deleteFrom('console_tokens').where('instance_id', '=', instanceId).execute();
  }

  // --- the compute node
  getNode(): Promise<ComputeNodeRow | undefined> {
    return this.db.selectFrom('compute_nodes').selectAll().orderBy('id').executeTakeFirst();
  }
  async insertNode(row: ComputeNodeRow): Promise<void> {
    await this.db.insertInto('compute_nodes').values(row).onConflict((oc) => oc.doNothing()).execute();
  }
  async updateNode(id: number, patch: Partial<ComputeNodeRow>): Promise<void> {
    await this.db.updateTable('compute_nodes').set(patch).where('id', '=', id).execute();
  }
}
