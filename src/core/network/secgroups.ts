import type { ChangeBatch } from '../../store/changes.js';
import type { SecurityGroupRow, SecurityGroupRuleRow } from '../../store/network/secgroups.repo.js';
import type { NetworkRepos } from '../../store/network/store.js';
import { CloudError } from '../errors.js';
import { uuid } from '../ids.js';
import { owns, targetProject, type Caller } from './access.js';
import { checkRevision, stamp, type NetCore } from './core.js';
import { securityGroupInUse, securityGroupNotFound, securityGroupRuleNotFound } from './errors.js';
import { loadSecurityGroups, type SecurityGroupModel } from './models.js';
import { checkQuota } from './quotas.js';
import { canonicalRule, ruleFingerprint, type RuleInput } from './secgroup-rules.js';

/**
 * Security groups and rules. Every project has a `default` group, made on
 * first use with Neutron's default rules: all egress, and ingress from
 * members of the group itself.
 */

export interface SecurityGroupCreate {
  name?: string;
  description?: string;
  stateful?: boolean;
  project_id?: string;
  tenant_id?: string;
  tags?: string[];
}

export interface SecurityGroupUpdate {
  name?: string;
  description?: string;
  stateful?: boolean;
}

export interface RuleCreate extends RuleInput {
  security_group_id: string;
  description?: string;
  project_id?: string;
  tenant_id?: string;
}

const DEFAULT_NAME = 'default';

const conflictOf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });

async function insertRule(
  r: NetworkRepos,
  batch: ChangeBatch,
  group: SecurityGroupRow,
  input: RuleInput,
  description: string,
  at: string,
): Promise<SecurityGroupRuleRow> {
  const rule = canonicalRule(input);
  const fingerprint = ruleFingerprint(group.id, rule);
  const existing = await r.secgroups.getRuleByFingerprint(fingerprint);
  if (existing) throw conflictOf('SecurityGroupRuleExists', `Security group rule already exists. Rule id is ${existing.id}.`);
  const row: SecurityGroupRuleRow = {
    id: uuid(),
    security_group_id: group.id,
    project_id: group.project_id,
    direction: rule.direction,
    ethertype: rule.ethertype,
    protocol: rule.protocol,
    port_range_min: rule.port_range_min,
    port_range_max: rule.port_range_max,
    remote_ip_prefix: rule.remote_ip_prefix,
    remote_group_id: rule.remote_group_id,
    description,
    fingerprint,
    created_at: at,
    updated_at: at,
    revision_number: 1,
  };
  await r.secgroups.insertRule(row);
  batch.add('security_group_rule', row.id, 'create');
  batch.add('security_group', group.id, 'update');
  return row;
}

async function insertGroup(
  r: NetworkRepos,
  batch: ChangeBatch,
  projectId: string,
  b: { name: string; description: string; stateful: boolean; tags?: string[] },
  at: string,
): Promise<SecurityGroupRow> {
  const row: SecurityGroupRow = {
    id: uuid(),
    project_id: projectId,
    name: b.name,
    description: b.description,
    stateful: b.stateful ? 1 : 0,
    created_at: at,
    updated_at: at,
    revision_number: 1,
  };
  await r.secgroups.insert(row);
  for (const ethertype of ['IPv4', 'IPv6'] as const) {
    await insertRule(r, batch, row, { direction: 'egress', ethertype }, '', at);
  }
  if (b.tags && b.tags.length > 0) await r.meta.setTags('security_groups', row.id, b.tags);
  batch.add('security_group', row.id, 'create');
  return row;
}

/** The project's default group, made (inside the caller's transaction) if it does not exist yet. */
export async function ensureDefaultGroup(r: NetworkRepos, batch: ChangeBatch, projectId: string, at: string): Promise<string> {
  const existing = await r.secgroups.defaultOf(projectId);
  if (existing) return existing;
  const g = await insertGroup(r, batch, projectId, { name: DEFAULT_NAME, description: 'Default security group', stateful: true }, at);
  await r.secgroups.setDefault(projectId, g.id);
  for (const ethertype of ['IPv4', 'IPv6'] as const) {
    await insertRule(r, batch, g, { direction: 'ingress', ethertype, remote_group_id: g.id }, '', at);
  }
  return g.id;
}

/** Makes the caller's default group if needed, without a write when it exists (lists call this). */
export async function ensureDefaultFor(core: NetCore, projectId: string): Promise<void> {
  if (await core.store.read.secgroups.defaultOf(projectId)) return;
  await core.store.write((r, batch) => ensureDefaultGroup(r, batch, projectId, stamp()));
}

async function visibleGroup(r: NetworkRepos, c: Caller, id: string): Promise<SecurityGroupRow> {
  const g = await r.secgroups.get(id);
  if (!g || !owns(c, g.project_id)) throw securityGroupNotFound(id);
  return g;
}

export async function listSecurityGroups(core: NetCore, c: Caller, f: { ids?: string[]; names?: string[] }): Promise<SecurityGroupModel[]> {
  await ensureDefaultFor(core, c.projectId);
  const r = core.store.read;
  const rows = await r.secgroups.list({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f });
  return loadSecurityGroups(r, rows);
}

export async function getSecurityGroup(core: NetCore, c: Caller, id: string): Promise<SecurityGroupModel> {
  const r = core.store.read;
  const [m] = await loadSecurityGroups(r, [await visibleGroup(r, c, id)]);
  if (!m) throw securityGroupNotFound(id);
  return m;
}

export async function createSecurityGroup(core: NetCore, c: Caller, b: SecurityGroupCreate): Promise<SecurityGroupModel> {
  const projectId = targetProject(c, b);
  const name = b.name ?? '';
  if (name.toLowerCase() === DEFAULT_NAME) throw conflictOf('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
  const row = await core.store.write(async (r, batch) => {
    const at = stamp();
    await ensureDefaultGroup(r, batch, projectId, at);
    await checkQuota(r, core.settings, projectId, 'security_group');
    const tags = b.tags;
    return insertGroup(r, batch, projectId, { name, description: b.description ?? '', stateful: b.stateful ?? true, ...(tags ? { tags } : {}) }, at);
  });
  return getSecurityGroup(core, c, row.id);
}

export async function updateSecurityGroup(core: NetCore, c: Caller, id: string, b: SecurityGroupUpdate, ifRevision?: number): Promise<SecurityGroupModel> {
  await core.store.write(async (r, batch) => {
    const g = await visibleGroup(r, c, id);
    checkRevision(ifRevision, g.revision_number);
    const isDefault = (await r.secgroups.defaultOf(g.project_id)) === g.id;
    if (b.name !== undefined && b.name !== g.name) {
      if (isDefault) throw conflictOf('SecurityGroupCannotUpdateDefault', 'Updating default security group not allowed.');
      if (b.name.toLowerCase() === DEFAULT_NAME) throw conflictOf('SecurityGroupDefaultAlreadyExists', 'Default security group already exists.');
    }
    const patch: Partial<SecurityGroupRow> = {};
    if (b.name !== undefined) patch.name = b.name;
    if (b.description !== undefined) patch.description = b.description;
    if (b.stateful !== undefined && (b.stateful ? 1 : 0) !== g.stateful) {
      if (await r.ports.groupInUse(g.id)) {
        throw conflictOf('SecurityGroupInUse', `Security Group ${g.id} in use: remove it from its ports before changing stateful.`);
      }
      patch.stateful = b.stateful ? 1 : 0;
    }
    await r.secgroups.update(g.id, patch, stamp());
    batch.add('security_group', g.id, 'update');
  });
  return getSecurityGroup(core, c, id);
}

export async function deleteSecurityGroup(core: NetCore, c: Caller, id: string, ifRevision?: number): Promise<void> {
  await core.store.write(async (r, batch) => {
    const g = await visibleGroup(r, c, id);
    checkRevision(ifRevision, g.revision_number);
    const isDefault = (await r.secgroups.defaultOf(g.project_id)) === g.id;
    if (isDefault && !c.isAdmin) throw conflictOf('SecurityGroupCannotRemoveDefault', 'Insufficient rights for removing default security group.');
    if (await r.ports.groupInUse(g.id)) throw securityGroupInUse(g.id);
    // Rules elsewhere that name this group as remote go with it (the foreign key cascades); their groups change.
    for (const other of await r.secgroups.groupsReferencing(g.id)) if (other !== g.id) batch.add('security_group', other, 'update');
    for (const rule of await r.secgroups.listRules({ groupIds: [g.id] })) batch.add('security_group_rule', rule.id, 'delete');
    await r.meta.clearTags(g.id);
    await r.secgroups.delete(g.id);
    batch.add('security_group', g.id, 'delete');
  });
}

// --- rules

export async function listRules(core: NetCore, c: Caller, f: { ids?: string[]; groupIds?: string[] }): Promise<SecurityGroupRuleRow[]> {
  await ensureDefaultFor(core, c.projectId);
  return core.store.read.secgroups.listRules({ ...(c.isAdmin ? {} : { projectId: c.projectId }), ...f });
}

async function visibleRule(r: NetworkRepos, c: Caller, id: string): Promise<SecurityGroupRuleRow> {
  const rule = await r.secgroups.getRule(id);
  if (!rule) throw securityGroupRuleNotFound(id);
  if (!owns(c, rule.project_id)) {
    const g = await r.secgroups.get(rule.security_group_id);
    if (!g || !owns(c, g.project_id)) throw securityGroupRuleNotFound(id);
  }
  return rule;
}

export function getRule(core: NetCore, c: Caller, id: string): Promise<SecurityGroupRuleRow> {
  return visibleRule(core.store.read, c, id);
}

export async function createRule(core: NetCore, c: Caller, b: RuleCreate): Promise<SecurityGroupRuleRow> {
  targetProject(c, b);
  return core.store.write(async (r, batch) => {
    const at = stamp();
    const g = await visibleGroup(r, c, b.security_group_id);
    if (b.remote_group_id !== undefined && b.remote_group_id !== null) await visibleGroup(r, c, b.remote_group_id);
    await checkQuota(r, core.settings, g.project_id, 'security_group_rule');
    const rule = await insertRule(r, batch, g, b, b.description ?? '', at);
    await r.secgroups.touch(g.id, at);
    return rule;
  });
}

export async function updateRuleDescription(core: NetCore, c: Caller, id: string, description: string | undefined): Promise<SecurityGroupRuleRow> {
  await core.store.write(async (r, batch) => {
    const rule = await visibleRule(r, c, id);
    if (description !== undefined) await r.secgroups.updateRule(rule.id, { description }, stamp());
    batch.add('security_group_rule', rule.id, 'update');
  });
  return getRule(core, c, id);
}

export async function deleteRule(core: NetCore, c: Caller, id: string): Promise<void> {
  await core.store.write(async (r, batch) => {
    const rule = await visibleRule(r, c, id);
    const g = await r.secgroups.get(rule.security_group_id);
    await r.secgroups.deleteRule(rule.id);
    if (g) await r.secgroups.touch(g.id, stamp());
    batch.add('security_group_rule', rule.id, 'delete');
    batch.add('security_group', rule.security_group_id, 'update');
  });
}

/** Checks that every group exists and belongs to `projectId` (admin may use any); returns them de-duplicated. */
export async function resolvePortGroups(r: NetworkRepos, c: Caller, projectId: string, ids: string[]): Promise<string[]> {
  const unique = [...new Set(ids)];
  for (const id of unique) {
    const g = await r.secgroups.get(id);
    if (!g || (!c.isAdmin && g.project_id !== projectId)) throw securityGroupNotFound(id);
  }
  return unique;
}
