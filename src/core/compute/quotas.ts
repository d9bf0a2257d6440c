import { badRequest, CloudError } from '../errors.js';
import type { ComputeCatalogRepo } from '../../store/compute/catalog.repo.js';
import type { Executor, InstancesRepo } from '../../store/compute/instances.repo.js';
import { QUOTA_RESOURCES, type ComputeSettings, type QuotaResource } from './settings.js';

/**
 * Nova's per-project quotas: defaults from the settings, overrides per
 * project in the store, usage counted from what exists (no reservations to
 * leak: usage is always recounted inside the writing transaction).
 */

export type QuotaLimits = Record<QuotaResource, number>;
export type QuotaUsage = Record<QuotaResource, number>;

/** Nova's 403 for quotas, naming the quota a person must raise or free. */
export function overQuota(resources: string[], requested: Record<string, number>, used: Record<string, number>, allowed: Record<string, number>): CloudError {
  const overs = resources.join(', ');
  const pick = (m: Record<string, number>) => resources.map((r) => m[r] ?? 0).join(', ');
  return new CloudError(
    'Forbidden',
    `Quota exceeded for ${overs}: Requested ${pick(requested)}, but already used ${pick(used)} of ${pick(allowed)} ${overs}`,
    { type: 'forbidden' },
  );
}

/** 403 when `count` metadata items exceed the limit (-1: unlimited). */
export function checkMetadataCount(count: number, limit: number): void {
  if (limit >= 0 && count > limit) {
    throw new CloudError('Forbidden', `Quota exceeded for metadata_items: Requested ${count}, but the limit is ${limit} metadata_items per server`, { type: 'forbidden' });
  }
}

export class QuotaService {
  constructor(
    private readonly repo: ComputeCatalogRepo,
    private readonly instances: InstancesRepo,
    private readonly settings: ComputeSettings,
  ) {}

  defaults(): QuotaLimits {
    return { ...this.settings.quotas };
  }

  async limits(projectId: string): Promise<QuotaLimits> {
    const own = await this.repo.quotasOf(projectId);
    const out = this.defaults();
    for (const r of QUOTA_RESOURCES) {
      const v = own[r];
      if (v !== undefined) out[r] = v;
    }
    return out;
  }

  async limitOf(projectId: string, r: QuotaResource): Promise<number> {
    return (await this.limits(projectId))[r];
  }

  async usage(projectId: string, userId?: string, ex?: Executor): Promise<QuotaUsage> {
    const u = await this.instances.projectUsage(projectId, ex);
    return {
      instances: u.instances,
      cores: u.cores,
      ram: u.ram,
      key_pairs: userId ? await this.repo.countKeypairs(userId) : 0,
      metadata_items: 0,
      server_groups: await this.repo.countGroups(projectId),
      server_group_members: 0,
    };
  }

  /**
   * How many servers of a flavor fit in the project's quota, between
   * `min` and `max`; throws Nova's 403 when not even `min` fit.
   */
  async serversAllowed(projectId: string, flavor: { vcpus: number; ram: number }, min: number, max: number, ex?: Executor): Promise<number> {
    const limits = await this.limits(projectId);
    const used = await this.instances.projectUsage(projectId, ex);
    const per: Record<string, number> = { instances: 1, cores: flavor.vcpus, ram: flavor.ram };
    const usedMap: Record<string, number> = { instances: used.instances, cores: used.cores, ram: used.ram };
    let allowed = max;
    for (const r of ['instances', 'cores', 'ram'] as const) {
      const lim = limits[r];
      const each = per[r] ?? 0;
      if (lim < 0 || each === 0) continue;
      allowed = Math.min(allowed, Math.floor(Math.max(0, lim - (usedMap[r] ?? 0)) / each));
    }
    if (allowed >= min) return allowed;
    const overs = (['instances', 'cores', 'ram'] as const).filter((r) => limits[r] >= 0 && (usedMap[r] ?? 0) + (per[r] ?? 0) * min > limits[r]);
    const requested = Object.fromEntries(overs.map((r) => [r, (per[r] ?? 0) * min]));
    throw overQuota(overs, requested, usedMap, limits);
  }

  /** Nova's metadata_items check: 403 when a server would hold more items than the quota. */
  async checkMetadata(projectId: string, count: number): Promise<void> {
    checkMetadataCount(count, await this.limitOf(projectId, 'metadata_items'));
  }

  /**
   * Sets limits; unless forced, a limit below what is already used is a 400
   * (Nova's rule), so a person sees what to free first.
   */
  async update(projectId: string, values: Partial<Record<QuotaResource, number>>, force: boolean): Promise<QuotaLimits> {
    if (!force) {
      const used = await this.usage(projectId);
      for (const [r, v] of Object.entries(values) as [QuotaResource, number][]) {
        if (v >= 0 && v < used[r]) {
          throw badRequest(`Quota limit ${v} for ${r} must be greater than or equal to already used and reserved ${used[r]}.`);
        }
      }
    }
    await this.repo.setQuotas(projectId, values);
    return this.limits(projectId);
  }

  async reset(projectId: string): Promise<void> {
    await this.repo.deleteQuotas(projectId);
  }
}
