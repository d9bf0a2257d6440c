import { forbidden, notFound } from '../errors.js';
import type { NetworkRepos } from '../../store/network/store.js';
import type { Caller } from './access.js';
import { overQuota } from './errors.js';
import { QUOTA_RESOURCES, type NetworkSettings, type QuotaResource } from './settings.js';
import { invalidAttr } from './errors.js';

/** Per-project limits: the defaults of the settings, overridden per project. -1 is unlimited. */

export type QuotaSet = Record<QuotaResource, number>;

export interface QuotaDetail {
  used: number;
  limit: number;
  reserved: number;
}

export async function limitsOf(r: NetworkRepos, settings: NetworkSettings, projectId: string): Promise<QuotaSet> {
  const over = await r.meta.quotaOverrides(projectId);
  const out = { ...settings.quotas };
  for (const res of QUOTA_RESOURCES) {
    const v = over.get(res);
    if (v !== undefined) out[res] = v;
  }
  return out;
}

/**
 * Throws OverQuota when `projectId` may not hold `adding` more of
 * `resource`. Call it inside the write transaction that creates them, so
 * concurrent creates cannot both pass.
 */
export async function checkQuota(r: NetworkRepos, settings: NetworkSettings, projectId: string, resource: QuotaResource, adding = 1): Promise<void> {
  const over = await r.meta.quotaOverrides(projectId);
  const limit = over.get(resource) ?? settings.quotas[resource];
  if (limit < 0) return;
  const used = await r.meta.usage(projectId, resource);
  if (used + adding > limit) throw overQuota([resource]);
}

/** A project reads its own quota; admin reads and changes everyone's. */
export function requireQuotaAccess(c: Caller, projectId: string, write: boolean): void {
  if (c.isAdmin) return;
  if (write) throw forbidden('Only admin can change quotas.', { type: 'AdminRequired' });
  if (projectId !== c.projectId) throw notFound(`Quota for project ${projectId} could not be found.`);
}

export async function quotaDetails(r: NetworkRepos, settings: NetworkSettings, projectId: string): Promise<Record<QuotaResource, QuotaDetail>> {
  const limits = await limitsOf(r, settings, projectId);
  const out = {} as Record<QuotaResource, QuotaDetail>;
  for (const res of QUOTA_RESOURCES) {
    out[res] = { used: await r.meta.usage(projectId, res), limit: limits[res], reserved: 0 };
  }
  return out;
}

/** Validates a quota update body: known resources, integers >= -1. */
export function parseQuotaUpdate(body: Record<string, unknown>): Partial<QuotaSet> {
  const out: Partial<QuotaSet> = {};
  for (const [k, v] of Object.entries(body)) {
    if (!(QUOTA_RESOURCES as readonly string[]).includes(k)) {
      throw invalidAttr(k, `unknown quota resource; known are ${QUOTA_RESOURCES.join(', ')}`);
    }
    const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < -1 || n > 2147483647) {
      throw invalidAttr(k, `'${String(v)}' is not a valid quota: use an integer >= -1 (-1 is unlimited)`);
    }
    out[k as QuotaResource] = n;
  }
  return out;
}
