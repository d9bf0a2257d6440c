import { sql } from 'kysely';
import type { Db } from '../db.js';
import { chunks } from './ipam.repo.js';
import { touched, type Scope } from './networks.repo.js';
import type { SecurityGroupRuleTable, SecurityGroupTable } from './schema.js';

export type SecurityGroupRow = SecurityGroupTable;
export type SecurityGroupRuleRow = SecurityGroupRuleTable;

export interface SecurityGroupFilter extends Scope {
  ids?: readonly string[];
  names?: readonly string[];
}

export interface RuleFilter extends Scope {
  ids?: readonly string[];
  groupIds?: readonly string[];
}

/** Security groups and their rules. */
export class SecurityGroupsRepo {
  constructor(private readonly db: Db) {}

  get(id: string): Promise<SecurityGroupRow | undefined> {
    return this.db.selectFrom('security_groups').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(f: SecurityGroupFilter = {}): Promise<SecurityGroupRow[]> {
    let q = this.db.selectFrom('security_groups').selectAll();
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.names) q = q.where('name', 'in', f.names.length ? [...f.names] : ['']);
    return q.orderBy(sql`rowid`).execute();
  }

  async insert(row: SecurityGroupRow): Promise<void> {
    await this.db.insertInto('security_groups').values(row).execute();
  }

  async update(id: string, patch: Partial<Omit<SecurityGroupRow, 'id' | 'revision_number'>>, at: string): Promise<void> {
    await this.db.updateTable('security_groups').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('security_groups').set(touched(at)).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('security_groups').where('id', '=', id).execute();
  }

  /** The id of the project's `default` group, if made yet. */
  async defaultOf(projectId: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('default_security_groups').select('security_group_id').where('project_id', '=', projectId).executeTakeFirst();
    return r?.security_group_id;
  }

  async setDefault(projectId: string, groupId: string): Promise<void> {
    await this.db.insertInto('default_security_groups').values({ project_id: projectId, security_group_id: groupId }).execute();
  }

  /** Group ids that are some project's default, among `ids`. */
  async defaultsAmong(ids: readonly string[]): Promise<Set<string>> {
    const out = new Set<string>();
    for (const chunk of chunks(ids)) {
      const rows = await this.db.selectFrom('default_security_groups').select('security_group_id').where('security_group_id', 'in', chunk).execute();
      for (const r of rows) out.add(r.security_group_id);
    }
    return out;
  }

  // --- rules

  getRule(id: string): Promise<SecurityGroupRuleRow | undefined> {
    return this.db.selectFrom('security_group_rules').selectAll().where('id', '=', id).executeTakeFirst();
  }

  getRuleByFingerprint(fingerprint: string): Promise<SecurityGroupRuleRow | undefined> {
    return this.db.selectFrom('security_group_rules').selectAll().where('fingerprint', '=', fingerprint).executeTakeFirst();
  }

  /** Rules visible to the scope's project: its own and those in its groups. */
  listRules(f: RuleFilter = {}): Promise<SecurityGroupRuleRow[]> {
    let q = this.db.selectFrom('security_group_rules').selectAll();
    if (f.projectId !== undefined) {
      const p = f.projectId;
      q = q.where((eb) =>
        eb.or([eb('project_id', '=', p), eb('security_group_id', 'in', eb.selectFrom('security_groups').select('id').where('project_id', '=', p))]),
      );
    }
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.groupIds) q = q.where('security_group_id', 'in', f.groupIds.length ? [...f.groupIds] : ['']);
    return q.orderBy(sql`rowid`).execute();
  }

  /** Rules of each group. */
  async rulesOf(groupIds: readonly string[]): Promise<Map<string, SecurityGroupRuleRow[]>> {
    const out = new Map<string, SecurityGroupRuleRow[]>();
    for (const chunk of chunks(groupIds)) {
      const rows = await this.db.selectFrom('security_group_rules').selectAll().where('security_group_id', 'in', chunk).orderBy(sql`rowid`).execute();
      for (const r of rows) {
        const l = out.get(r.security_group_id);
        if (l) l.push(r);
        else out.set(r.security_group_id, [r]);
      }
    }
    return out;
  }

  /** Groups whose rules name `groupId` as their remote group (they must follow its membership). */
  async groupsReferencing(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('security_group_rules').select('security_group_id').distinct().where('remote_group_id', '=', groupId).execute();
    return rows.map((r) => r.security_group_id);
  }

  async insertRule(row: SecurityGroupRuleRow): Promise<void> {
    await this.db.insertInto('security_group_rules').values(row).execute();
  }

  async updateRule(id: string, patch: Partial<Pick<SecurityGroupRuleRow, 'description'>>, at: string): Promise<void> {
    await this.db.updateTable('security_group_rules').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async deleteRule(id: string): Promise<void> {
    await this.db.deleteFrom('security_group_rules').where('id', '=', id).execute();
  }

  async countRules(projectId: string): Promise<number> {
    const r = await this.db
      .selectFrom('security_group_rules')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('project_id', '=', projectId)
      .executeTakeFirst();
    return Number(r?.n ?? 0);
  }
}
