import type { Db } from '../db.js';
import { chunks } from './ipam.repo.js';

/** Tags of any Neutron resource, and per-project quota overrides. */
export class NetworkMetaRepo {
  constructor(private readonly db: Db) {}

  /** Tags of each resource, sorted. */
  async tagsOf(resourceIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(resourceIds)) {
      const rows = await this.db.selectFrom('network_tags').select(['resource_id', 'tag']).where('resource_id', 'in', chunk).orderBy('tag').execute();
      for (const r of rows) {
        const l = out.get(r.resource_id);
        if (l) l.push(r.tag);
        else out.set(r.resource_id, [r.tag]);
      }
    }
    return out;
  }

  async setTags(resourceType: string, resourceId: string, tags: readonly string[]): Promise<void> {
    await this.db.deleteFrom('network_tags').where('resource_id', '=', resourceId).execute();
    const unique = [...new Set(tags)];
    if (unique.length > 0) {
      await this.db
        .insertInto('network_tags')
        .values(unique.map((tag) => ({ resource_id: resourceId, resource_type: resourceType, tag })))
        .execute();
    }
  }

  /** Adds one tag; false when it was there already. */
  async addTag(resourceType: string, resourceId: string, tag: string): Promise<boolean> {
    const r = await this.db
      .insertInto('network_tags')
      .values({ resource_id: resourceId, resource_type: resourceType, tag })
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0n) > 0;
  }

  /** Removes one tag; false when it was not there. */
  async removeTag(resourceId: string, tag: string): Promise<boolean> {
    const r = await this.db.deleteFrom('network_tags').where('resource_id', '=', resourceId).where('tag', '=', tag).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async clearTags(resourceId: string): Promise<void> {
    await this.db.deleteFrom('network_tags').where('resource_id', '=', resourceId).execute();
  }

  // --- quotas

  async quotaOverrides(projectId: string): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom('network_quotas').select(['resource', 'hard_limit']).where('project_id', '=', projectId).execute();
    return new Map(rows.map((r) => [r.resource, r.hard_limit]));
  }

  /** Projects that have any override, with their overrides. */
  async allQuotaOverrides(): Promise<Map<string, Map<string, number>>> {
    const rows = await this.db.selectFrom('network_quotas').selectAll().orderBy('project_id').execute();
    const out = new Map<string, Map<string, number>>();
    for (const r of rows) {
      const m = out.get(r.project_id) ?? new Map<string, number>();
      m.set(r.resource, r.hard_limit);
      out.set(r.project_id, m);
    }
    return out;
  }

  async setQuota(projectId: string, resource: string, limit: number): Promise<void> {
    await this.db
      .insertInto('network_quotas')
      .values({ project_id: projectId, resource, hard_limit: limit })
      .onConflict((oc) => oc.columns(['project_id', 'resource']).doUpdateSet({ hard_limit: limit }))
      .execute();
  }

  async deleteQuotas(projectId: string): Promise<void> {
    await this.db.deleteFrom('network_quotas').where('project_id', '=', projectId).execute();
  }

  /** How many of a quota resource the project holds. */
  async usage(projectId: string, resource: string): Promise<number> {
    const table = USAGE_TABLE[resource];
    if (!table) return 0;
    const r = await this.db
      .selectFrom(table)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}

const USAGE_TABLE: Record<string, 'networks' | 'subnets' | 'ports' | 'routers' | 'floatingips' | 'security_groups' | 'security_group_rules'> = {
  network: 'networks',
  subnet: 'subnets',
  port: 'ports',
  router: 'routers',
  floatingip: 'floatingips',
  security_group: 'security_groups',
  security_group_rule: 'security_group_rules',
};
