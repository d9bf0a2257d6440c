import type { FastifyInstance } from 'fastify';
import { atLeast, type Microversion } from '../../core/compute/microversion.js';
import type { ComputeCore } from '../../core/compute/service.js';
import { QUOTA_RESOURCES, type QuotaResource } from '../../core/compute/settings.js';
import { badRequest, forbidden } from '../../core/errors.js';
import { requireAdmin, requireProjectRole } from '../../core/policy.js';
import { mvOf, qOne, type Query } from './common.js';
import { quotaUpdateSchema } from './schemas.js';
import { checkBody, novaBool } from './validate.js';

/** GET /limits and os-quota-sets (show, detail, defaults, update, revert to defaults). */

/** Quotas Nova still shows before 2.36 (network proxies) and 2.57 (personality files), with Nova's defaults; nothing here uses them. */
const LEGACY_NETWORK: Record<string, number> = { floating_ips: 10, fixed_ips: -1, security_groups: 10, security_group_rules: 20 };
const LEGACY_FILES: Record<string, number> = { injected_files: 5, injected_file_content_bytes: 10240, injected_file_path_bytes: 255 };

function legacy(v: Microversion): Record<string, number> {
  return { ...(atLeast(v, 36) ? {} : LEGACY_NETWORK), ...(atLeast(v, 57) ? {} : LEGACY_FILES) };
}

export function registerLimitRoutes(app: FastifyInstance, core: ComputeCore): void {
  const quotas = core.quotas;

  /** The project a quota call is about: one's own, or any for admin; others are 403 as in Nova. */
  const target = (auth: ReturnType<typeof requireProjectRole>, projectId: string): string => {
    if (!auth.isAdmin && projectId !== auth.projectId) {
      throw forbidden(`Policy doesn't allow os_compute_api:os-quota-sets:show to be performed for project ${projectId}: you may only see your own project's quotas.`);
    }
    return projectId;
  };

  app.get<{ Querystring: Query }>('/v2.1/limits', async (req) => {
    const auth = requireProjectRole(req.auth, 'read');
    const v = mvOf(req);
    const asked = qOne(req.query, 'tenant_id');
    let projectId = auth.projectId;
    if (asked !== undefined && asked !== auth.projectId) {
      requireAdmin(auth, "os_compute_api:limits:other_project (another project's limits)");
      projectId = asked;
    }
    const lim = await quotas.limits(projectId);
    const used = await quotas.usage(projectId, auth.userId);
    const absolute: Record<string, number> = {
      maxTotalRAMSize: lim.ram,
      maxTotalInstances: lim.instances,
      maxTotalCores: lim.cores,
      maxTotalKeypairs: lim.key_pairs,
      maxServerMeta: lim.metadata_items,
      maxServerGroups: lim.server_groups,
      maxServerGroupMembers: lim.server_group_members,
      totalRAMUsed: used.ram,
      totalCoresUsed: used.cores,
      totalInstancesUsed: used.instances,
      totalServerGroupsUsed: used.server_groups,
    };
    if (!atLeast(v, 39)) absolute['maxImageMeta'] = lim.metadata_items;
    if (!atLeast(v, 36)) {
      Object.assign(absolute, {
        maxTotalFloatingIps: LEGACY_NETWORK['floating_ips'],
        maxSecurityGroups: LEGACY_NETWORK['security_groups'],
        maxSecurityGroupRules: LEGACY_NETWORK['security_group_rules'],
        totalFloatingIpsUsed: 0,
        totalSecurityGroupsUsed: 0,
      });
    }
    if (!atLeast(v, 57)) Object.assign(absolute, { maxPersonality: LEGACY_FILES['injected_files'], maxPersonalitySize: LEGACY_FILES['injected_file_content_bytes'] });
    return { limits: { rate: [], absolute } };
  });

  app.get<{ Params: { projectId: string } }>('/v2.1/os-quota-sets/:projectId', async (req) => {
    const auth = requireProjectRole(req.auth, 'read');
    const id = target(auth, req.params.projectId);
    return { quota_set: { id, ...(await quotas.limits(id)), ...legacy(mvOf(req)) } };
  });

  app.get<{ Params: { projectId: string } }>('/v2.1/os-quota-sets/:projectId/detail', async (req) => {
    const auth = requireProjectRole(req.auth, 'read');
    const id = target(auth, req.params.projectId);
    const lim = await quotas.limits(id);
    const used = await quotas.usage(id, id === auth.projectId ? auth.userId : undefined);
    const out: Record<string, unknown> = { id };
    for (const r of QUOTA_RESOURCES) out[r] = { limit: lim[r], in_use: used[r], reserved: 0 };
    for (const [k, val] of Object.entries(legacy(mvOf(req)))) out[k] = { limit: val, in_use: 0, reserved: 0 };
    return { quota_set: out };
  });

  app.get<{ Params: { projectId: string } }>('/v2.1/os-quota-sets/:projectId/defaults', async (req) => {
    requireProjectRole(req.auth, 'read');
    return { quota_set: { id: req.params.projectId, ...quotas.defaults(), ...legacy(mvOf(req)) } };
  });

  app.put<{ Params: { projectId: string }; Querystring: Query }>('/v2.1/os-quota-sets/:projectId', async (req) => {
    requireAdmin(req.auth, 'os_compute_api:os-quota-sets:update');
    const v = mvOf(req);
    if (qOne(req.query, 'user_id') !== undefined) throw badRequest('Per-user quotas are not supported here: set the project quota (omit user_id).');
    const b = checkBody<{ quota_set: Record<string, number | string | boolean> }>(quotaUpdateSchema(v), req.body).quota_set;
    const force = b['force'] !== undefined && novaBool(b['force']);
    const values: Partial<Record<QuotaResource, number>> = {};
    for (const r of QUOTA_RESOURCES) if (b[r] !== undefined) values[r] = Number(b[r]);
    const lim = await quotas.update(req.params.projectId, values, force);
    return { quota_set: { ...lim, ...legacy(v) } };
  });

  app.delete<{ Params: { projectId: string } }>('/v2.1/os-quota-sets/:projectId', async (req, reply) => {
    requireAdmin(req.auth, 'os_compute_api:os-quota-sets:delete');
    await quotas.reset(req.params.projectId);
    return reply.code(202).send();
  });
}
