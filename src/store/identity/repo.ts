import type { Db } from '../db.js';
import type {
  AppCredentialTable,
  AssignmentTable,
  DomainTable,
  EndpointTable,
  GroupTable,
  ProjectTable,
  RegionTable,
  RoleTable,
  ServiceTable,
  UserTable,
} from '../schema.js';

export type DomainRow = DomainTable;
export type ProjectRow = ProjectTable;
export type UserRow = UserTable;
export type GroupRow = GroupTable;
export type RoleRow = RoleTable;
export type AssignmentRow = AssignmentTable;
export type RegionRow = RegionTable;
export type ServiceRow = ServiceTable;
export type EndpointRow = EndpointTable;
export type AppCredentialRow = AppCredentialTable;

/** Keystone's tables. Every method is one statement or one transaction. */
export class IdentityRepo {
  /**
   * Bumped by every write. Caches derived from identity data (validated
   * tokens, effective roles, the catalog) compare it instead of expiring on
   * a timer, so a revoked token or a removed role takes effect on the very
   * next request. One process owns the store, so a counter suffices.
   */
  generation = 0;

  constructor(readonly db: Db) {}

  // --- meta
  async getMeta(key: string): Promise<string | undefined> {
    const r = await this.db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  }
  async setMeta(key: string, value: string): Promise<void> {
    this.generation++;
    await this.db
      .insertInto('meta')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  // --- domains
  getDomain(id: string): Promise<DomainRow | undefined> {
    return this.db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getDomainByName(name: string): Promise<DomainRow | undefined> {
    return this.db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
  }
  listDomains(f: { name?: string; enabled?: boolean }): Promise<DomainRow[]> {
    let q = this.db.selectFrom('domains').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.enabled !== undefined) q = q.where('enabled', '=', f.enabled ? 1 : 0);
    return q.orderBy('name').execute();
  }
  async insertDomain(row: DomainRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('domains').values(row).execute();
  }
  // An empty patch (a PATCH that names nothing we store) is a no-op: SQL has no empty SET.
  async updateDomain(id: string, patch: Partial<DomainRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('domains').set(patch).where('id', '=', id).execute();
  }
  async deleteDomain(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('domains').where('id', '=', id).execute();
  }
  async domainHasChildren(id: string): Promise<boolean> {
    const p = await this.db.selectFrom('projects').select('id').where('domain_id', '=', id).executeTakeFirst();
    const u = await this.db.selectFrom('users').select('id').where('domain_id', '=', id).executeTakeFirst();
    const g = await this.db.selectFrom('groups').select('id').where('domain_id', '=', id).executeTakeFirst();
    return Boolean(p ?? u ?? g);
  }

  // --- projects
  getProject(id: string): Promise<ProjectRow | undefined> {
    return this.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getProjectByName(domainId: string, name: string): Promise<ProjectRow | undefined> {
    return this.db
      .selectFrom('projects')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
  }
  listProjects(f: { name?: string; domainId?: string; enabled?: boolean; parentId?: string; ids?: string[] }): Promise<ProjectRow[]> {
    let q = this.db.selectFrom('projects').selectAll();
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('enabled', '=', f.enabled ? 1 : 0);
    if (f.parentId !== undefined) q = q.where('parent_id', '=', f.parentId);
    if (f.ids !== undefined) {
      if (f.ids.length === 0) return Promise.resolve([]);
      q = q.where('id', 'in', f.ids);
    }
    return q.orderBy('name').execute();
  }
  async insertProject(row: ProjectRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('projects').values(row).execute();
  }
  async updateProject(id: string, patch: Partial<ProjectRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('projects').set(patch).where('id', '=', id).execute();
  }
  async deleteProject(id: string): Promise<void> {
    this.generation++;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('assignments').where('target_type', '=', 'project').where('target_id', '=', id).execute();
      await trx.deleteFrom('app_credentials').where('project_id', '=', id).execute();
      await trx.deleteFrom('projects').where('id', '=', id).execute();
    });
  }
  async projectHasChildren(id: string): Promise<boolean> {
    return Boolean(await this.db.selectFrom('projects').select('id').where('parent_id', '=', id).executeTakeFirst());
  }

  // --- users
  getUser(id: string): Promise<UserRow | undefined> {
    return this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getUserByName(domainId: string, name: string): Promise<UserRow | undefined> {
    return this.db
      .selectFrom('users')
      .selectAll()
      .where('domain_id', '=', domainId)
      .where('name', '=', name)
      .executeTakeFirst();
  }
  listUsers(f: { name?: string; domainId?: string; enabled?: boolean; groupId?: string }): Promise<UserRow[]> {
    let q = this.db.selectFrom('users').selectAll('users');
    if (f.groupId !== undefined) {
      q = q.innerJoin('group_members', 'group_members.user_id', 'users.id').where('group_members.group_id', '=', f.groupId);
    }
    if (f.name !== undefined) q = q.where('users.name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('users.domain_id', '=', f.domainId);
    if (f.enabled !== undefined) q = q.where('users.enabled', '=', f.enabled ? 1 : 0);
    return q.orderBy('users.name').execute();
  }
  async insertUser(row: UserRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('users').values(row).execute();
  }
  async updateUser(id: string, patch: Partial<UserRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('users').set(patch).where('id', '=', id).execute();
  }
  async deleteUser(id: string): Promise<void> {
    this.generation++;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('assignments').where('actor_type', '=', 'user').where('actor_id', '=', id).execute();
      await trx.deleteFrom('users').where('id', '=', id).execute();
    });
  }

  // --- groups
  getGroup(id: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listGroups(f: { name?: string; domainId?: string; userId?: string }): Promise<GroupRow[]> {
    let q = this.db.selectFrom('groups').selectAll('groups');
    if (f.userId !== undefined) {
      q = q.innerJoin('group_members', 'group_members.group_id', 'groups.id').where('group_members.user_id', '=', f.userId);
    }
    if (f.name !== undefined) q = q.where('groups.name', '=', f.name);
    if (f.domainId !== undefined) q = q.where('groups.domain_id', '=', f.domainId);
    return q.orderBy('groups.name').execute();
  }
  async insertGroup(row: GroupRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('groups').values(row).execute();
  }
  async updateGroup(id: string, patch: Partial<GroupRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('groups').set(patch).where('id', '=', id).execute();
  }
  async deleteGroup(id: string): Promise<void> {
    this.generation++;
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('assignments').where('actor_type', '=', 'group').where('actor_id', '=', id).execute();
      await trx.deleteFrom('groups').where('id', '=', id).execute();
    });
  }
  async addMember(groupId: string, userId: string): Promise<void> {
    this.generation++;
    await this.db.insertInto('group_members').values({ group_id: groupId, user_id: userId }).onConflict((oc) => oc.doNothing()).execute();
  }
  async removeMember(groupId: string, userId: string): Promise<number> {
    this.generation++;
    const r = await this.db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  async isMember(groupId: string, userId: string): Promise<boolean> {
    return Boolean(
      await this.db.selectFrom('group_members').select('user_id').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst(),
    );
  }
  async groupIdsOf(userId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('group_members').select('group_id').where('user_id', '=', userId).execute();
    return rows.map((r) => r.group_id);
  }

  // --- roles
  getRole(id: string): Promise<RoleRow | undefined> {
    return this.db.selectFrom('roles').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getRoleByName(name: string, domainId = ''): Promise<RoleRow | undefined> {
    return this.db.selectFrom('roles').selectAll().where('name', '=', name).where('domain_id', '=', domainId).executeTakeFirst();
  }
  listRoles(f: { name?: string; domainId?: string }): Promise<RoleRow[]> {
    let q = this.db.selectFrom('roles').selectAll().where('domain_id', '=', f.domainId ?? '');
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    return q.orderBy('name').execute();
  }
  allRoles(): Promise<RoleRow[]> {
    return this.db.selectFrom('roles').selectAll().execute();
  }
  async insertRole(row: RoleRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('roles').values(row).execute();
  }
  async updateRole(id: string, patch: Partial<RoleRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('roles').set(patch).where('id', '=', id).execute();
  }
  async deleteRole(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('roles').where('id', '=', id).execute();
  }
  listImplied(): Promise<{ prior_role_id: string; implied_role_id: string }[]> {
    return this.db.selectFrom('implied_roles').selectAll().execute();
  }
  async insertImplied(prior: string, implied: string): Promise<void> {
    this.generation++;
    await this.db.insertInto('implied_roles').values({ prior_role_id: prior, implied_role_id: implied }).onConflict((oc) => oc.doNothing()).execute();
  }
  async deleteImplied(prior: string, implied: string): Promise<number> {
    this.generation++;
    const r = await this.db.deleteFrom('implied_roles').where('prior_role_id', '=', prior).where('implied_role_id', '=', implied).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  // --- assignments
  async grant(a: AssignmentRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('assignments').values(a).onConflict((oc) => oc.doNothing()).execute();
  }
  async revoke(a: AssignmentRow): Promise<number> {
    this.generation++;
    const r = await this.db
      .deleteFrom('assignments')
      .where('actor_type', '=', a.actor_type)
      .where('actor_id', '=', a.actor_id)
      .where('target_type', '=', a.target_type)
      .where('target_id', '=', a.target_id)
      .where('role_id', '=', a.role_id)
      .where('inherited', '=', a.inherited)
      .executeTakeFirst();
    return Number(r.numDeletedRows);
  }
  async hasAssignment(a: AssignmentRow): Promise<boolean> {
    const r = await this.db
      .selectFrom('assignments')
      .select('role_id')
      .where('actor_type', '=', a.actor_type)
      .where('actor_id', '=', a.actor_id)
      .where('target_type', '=', a.target_type)
      .where('target_id', '=', a.target_id)
      .where('role_id', '=', a.role_id)
      .where('inherited', '=', a.inherited)
      .executeTakeFirst();
    return Boolean(r);
  }
  listAssignments(f: {
    actorType?: 'user' | 'group';
    actorIds?: string[];
    targetType?: 'project' | 'domain';
    targetId?: string;
    roleId?: string;
    inherited?: boolean;
  }): Promise<AssignmentRow[]> {
    let q = this.db.selectFrom('assignments').selectAll();
    if (f.actorType !== undefined) q = q.where('actor_type', '=', f.actorType);
    if (f.actorIds !== undefined) {
      if (f.actorIds.length === 0) return Promise.resolve([]);
      q = q.where('actor_id', 'in', f.actorIds);
    }
    if (f.targetType !== undefined) q = q.where('target_type', '=', f.targetType);
    if (f.targetId !== undefined) q = q.where('target_id', '=', f.targetId);
    if (f.roleId !== undefined) q = q.where('role_id', '=', f.roleId);
    if (f.inherited !== undefined) q = q.where('inherited', '=', f.inherited ? 1 : 0);
    return q.execute();
  }

  // --- regions, services, endpoints
  getRegion(id: string): Promise<RegionRow | undefined> {
    return this.db.selectFrom('regions').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listRegions(f: { parentRegionId?: string }): Promise<RegionRow[]> {
    let q = this.db.selectFrom('regions').selectAll();
    if (f.parentRegionId !== undefined) q = q.where('parent_region_id', '=', f.parentRegionId);
    return q.orderBy('id').execute();
  }
  async insertRegion(row: RegionRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('regions').values(row).execute();
  }
  async updateRegion(id: string, patch: Partial<RegionRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('regions').set(patch).where('id', '=', id).execute();
  }
  async deleteRegion(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('regions').where('id', '=', id).execute();
  }
  getService(id: string): Promise<ServiceRow | undefined> {
    return this.db.selectFrom('services').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listServices(f: { type?: string; name?: string }): Promise<ServiceRow[]> {
    let q = this.db.selectFrom('services').selectAll();
    if (f.type !== undefined) q = q.where('type', '=', f.type);
    if (f.name !== undefined) q = q.where('name', '=', f.name);
    return q.orderBy('type').execute();
  }
  async insertService(row: ServiceRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('services').values(row).execute();
  }
  async updateService(id: string, patch: Partial<ServiceRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('services').set(patch).where('id', '=', id).execute();
  }
  async deleteService(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('services').where('id', '=', id).execute();
  }
  getEndpoint(id: string): Promise<EndpointRow | undefined> {
    return this.db.selectFrom('endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  }
  listEndpoints(f: { serviceId?: string; interface?: string; regionId?: string }): Promise<EndpointRow[]> {
    let q = this.db.selectFrom('endpoints').selectAll();
    if (f.serviceId !== undefined) q = q.where('service_id', '=', f.serviceId);
    if (f.interface !== undefined) q = q.where('interface', '=', f.interface);
    if (f.regionId !== undefined) q = q.where('region_id', '=', f.regionId);
    return q.execute();
  }
  async insertEndpoint(row: EndpointRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('endpoints').values(row).execute();
  }
  async updateEndpoint(id: string, patch: Partial<EndpointRow>): Promise<void> {
    if (Object.keys(patch).length === 0) return;
    this.generation++;
    await this.db.updateTable('endpoints').set(patch).where('id', '=', id).execute();
  }
  async deleteEndpoint(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('endpoints').where('id', '=', id).execute();
  }

  // --- application credentials
  getAppCredential(id: string): Promise<AppCredentialRow | undefined> {
    return this.db.selectFrom('app_credentials').selectAll().where('id', '=', id).executeTakeFirst();
  }
  getAppCredentialByName(userId: string, name: string): Promise<AppCredentialRow | undefined> {
    return this.db
      .selectFrom('app_credentials')
      .selectAll()
      .where('user_id', '=', userId)
      .where('name', '=', name)
      .executeTakeFirst();
  }
  listAppCredentials(userId: string, name?: string): Promise<AppCredentialRow[]> {
    let q = this.db.selectFrom('app_credentials').selectAll().where('user_id', '=', userId);
    if (name !== undefined) q = q.where('name', '=', name);
    return q.orderBy('name').execute();
  }
  async insertAppCredential(row: AppCredentialRow): Promise<void> {
    this.generation++;
    await this.db.insertInto('app_credentials').values(row).execute();
  }
  async deleteAppCredential(id: string): Promise<void> {
    this.generation++;
    await this.db.deleteFrom('app_credentials').where('id', '=', id).execute();
  }

  // --- revocations
  async insertRevocation(r: {
    audit_id?: string | null;
    user_id?: string | null;
    project_id?: string | null;
    app_cred_id?: string | null;
    issued_before: string;
    expires_at: string;
  }): Promise<void> {
    this.generation++;
    await this.db
      .insertInto('revocations')
      .values({
        audit_id: r.audit_id ?? null,
        user_id: r.user_id ?? null,
        project_id: r.project_id ?? null,
        app_cred_id: r.app_cred_id ?? null,
        issued_before: r.issued_before,
        expires_at: r.expires_at,
      })
      .execute();
  }
  async liveRevocations(nowIso: string): Promise<
    { audit_id: string | null; user_id: string | null; project_id: string | null; app_cred_id: string | null; issued_before: string }[]
  > {
    await this.db.deleteFrom('revocations').where('expires_at', '<', nowIso).execute();
    return this.db.selectFrom('revocations').select(['audit_id', 'user_id', 'project_id', 'app_cred_id', 'issued_before']).execute();
  }
}
