import type { AuthContext } from '../auth.js';
import { badRequest, conflict, notFound } from '../errors.js';
import { nowIso, uuid } from '../ids.js';
import { requireAdmin } from '../policy.js';
import type { ComputeCatalogRepo, FlavorRow, FlavorWithSpecs } from '../../store/compute/catalog.repo.js';
import type { FlavorSnapshot } from '../../store/compute/schema.js';

/**
 * Flavors: Nova's sizes. Public flavors are visible to everyone; a private
 * one only to admins and the projects given access. Ids are strings (Nova's
 * flavorid), so the seed keeps devstack's well-known ids (1-4, 42, 84).
 */

export interface FlavorInput {
  name: string;
  id?: string | null | undefined;
  ram: number;
  vcpus: number;
  disk: number;
  ephemeral?: number | undefined;
  swap?: number | undefined;
  rxtxFactor?: number | undefined;
  isPublic?: boolean | undefined;
  description?: string | null | undefined;
}

/** The sizes seeded at first start (the tiny guest runs in 96 MiB, so m1.nano fits it). */
export const SEED_FLAVORS: FlavorInput[] = [
  { id: '42', name: 'm1.nano', ram: 128, vcpus: 1, disk: 1 },
  { id: '84', name: 'm1.micro', ram: 192, vcpus: 1, disk: 1 },
  { id: '1', name: 'm1.tiny', ram: 512, vcpus: 1, disk: 1 },
  { id: '2', name: 'm1.small', ram: 2048, vcpus: 1, disk: 20 },
  { id: '3', name: 'm1.medium', ram: 4096, vcpus: 2, disk: 40 },
  { id: '4', name: 'm1.large', ram: 8192, vcpus: 4, disk: 80 },
];

const SEED_MARKER = 'compute.flavors_seeded';

export interface FlavorListFilter {
  /** true: public (plus the caller's private ones); false: private only; null: all. */
  isPublic: boolean | null;
  minRam?: number | undefined;
  minDisk?: number | undefined;
  name?: RegExp | undefined;
  includeDisabled: boolean;
}

export function snapshotOf(f: FlavorWithSpecs): FlavorSnapshot {
  return { id: f.id, name: f.name, ram: f.ram, vcpus: f.vcpus, disk: f.disk, ephemeral: f.ephemeral, swap: f.swap, extra_specs: f.extra_specs };
}

export class FlavorService {
  constructor(readonly repo: ComputeCatalogRepo) {}

  /**
   * Seeds the m1.* flavors on the first start only (a marker remembers it,
   * so flavors a user deleted do not come back); returns how many were made.
   * Flavors whose id or name already exists are left alone.
   */
  async seed(flavors: FlavorInput[] = SEED_FLAVORS): Promise<number> {
    if (await this.repo.getMarker(SEED_MARKER)) return 0;
    let made = 0;
    for (const f of flavors) {
      if ((f.id && (await this.repo.getFlavor(f.id))) || (await this.repo.getFlavorByName(f.name))) continue;
      await this.insert(f);
      made++;
    }
    await this.repo.setMarker(SEED_MARKER, new Date().toISOString());
    return made;
  }

  /** The flavor if the caller may see it: public, admin, or its project has access. */
  async getVisible(auth: AuthContext, id: string): Promise<FlavorWithSpecs> {
    const f = await this.repo.getFlavor(id);
    if (!f || !(await this.canSee(auth, f))) throw notFound(`Flavor ${id} could not be found.`);
    return this.withSpecs(f);
  }

  async withSpecs(f: FlavorRow): Promise<FlavorWithSpecs> {
    const specs = await this.repo.extraSpecsOf([f.id]);
    return { ...f, extra_specs: specs.get(f.id) ?? {} };
  }

  private async canSee(auth: AuthContext, f: FlavorRow): Promise<boolean> {
    if (f.is_public || auth.isAdmin) return true;
    if (!auth.projectId) return false;
    return (await this.repo.flavorProjects(f.id)).includes(auth.projectId);
  }

  /** Nova's list: admin filters by is_public (null = all); others see enabled public flavors and those shared with their project. */
  async list(auth: AuthContext, f: FlavorListFilter): Promise<FlavorWithSpecs[]> {
    const rows = await this.repo.listFlavors();
    const shared = auth.projectId ? await this.repo.flavorsOfProject(auth.projectId) : new Set<string>();
    const out = rows.filter((r) => {
      if (!f.includeDisabled && r.disabled) return false;
      if (f.isPublic === true && !r.is_public && !shared.has(r.id)) return false;
      if (f.isPublic === false && r.is_public) return false;
      if (f.minRam !== undefined && r.ram < f.minRam) return false;
      if (f.minDisk !== undefined && r.disk < f.minDisk) return false;
      if (f.name && !f.name.test(r.name)) return false;
      return true;
    });
    const specs = await this.repo.extraSpecsOf(out.map((r) => r.id));
    return out.map((r) => ({ ...r, extra_specs: specs.get(r.id) ?? {} }));
  }

  async create(auth: AuthContext, input: FlavorInput): Promise<FlavorWithSpecs> {
    requireAdmin(auth, 'os_compute_api:os-flavor-manage:create');
    return this.insert(input);
  }

  private async insert(input: FlavorInput): Promise<FlavorWithSpecs> {
    const id = input.id ?? uuid();
    if (await this.repo.getFlavor(id)) throw conflict(`Flavor with ID ${id} already exists.`);
    if (await this.repo.getFlavorByName(input.name)) throw conflict(`Flavor with name ${input.name} already exists.`);
    const row: FlavorRow = {
      id,
      name: input.name,
      ram: input.ram,
      vcpus: input.vcpus,
      disk: input.disk,
      ephemeral: input.ephemeral ?? 0,
      swap: input.swap ?? 0,
      rxtx_factor: input.rxtxFactor ?? 1,
      is_public: input.isPublic === false ? 0 : 1,
      disabled: 0,
      description: input.description ?? null,
      created_at: nowIso(),
      updated_at: null,
    };
    try {
      await this.repo.insertFlavor(row);
    } catch (err) {
      if (err instanceof Error && /UNIQUE constraint failed/.test(err.message)) throw conflict(`Flavor with name ${input.name} already exists.`);
      throw err;
    }
    return { ...row, extra_specs: {} };
  }

  async updateDescription(auth: AuthContext, id: string, description: string | null): Promise<FlavorWithSpecs> {
    requireAdmin(auth, 'os_compute_api:os-flavor-manage:update');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    const now = nowIso();
    await this.repo.updateFlavor(id, { description, updated_at: now });
    return this.withSpecs({ ...f, description, updated_at: now });
  }

  async delete(auth: AuthContext, id: string): Promise<void> {
    requireAdmin(auth, 'os_compute_api:os-flavor-manage:delete');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    // Servers keep their own copy of the flavor, so deleting it is safe (as in Nova).
    await this.repo.deleteFlavor(id);
  }

  async setExtraSpecs(auth: AuthContext, id: string, specs: Record<string, string>): Promise<Record<string, string>> {
    requireAdmin(auth, 'os_compute_api:os-flavor-extra-specs:create');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    await this.repo.setExtraSpecs(id, specs);
    return specs;
  }

  async deleteExtraSpec(auth: AuthContext, id: string, key: string): Promise<void> {
    requireAdmin(auth, 'os_compute_api:os-flavor-extra-specs:delete');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    if (!(await this.repo.deleteExtraSpec(id, key))) throw notFound(`Flavor ${id} has no extra specs with key ${key}.`);
  }

  async access(auth: AuthContext, id: string): Promise<{ flavor_id: string; tenant_id: string }[]> {
    const f = await this.repo.getFlavor(id);
    if (!f || !(await this.canSee(auth, f))) throw notFound(`Flavor ${id} could not be found.`);
    if (f.is_public) throw notFound('Access list not available for public flavors.');
    return (await this.repo.flavorProjects(id)).map((p) => ({ flavor_id: id, tenant_id: p }));
  }

  async addAccess(auth: AuthContext, id: string, projectId: string): Promise<{ flavor_id: string; tenant_id: string }[]> {
    requireAdmin(auth, 'os_compute_api:os-flavor-access:add_tenant_access');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    if (f.is_public) throw conflict('Can not add access to a public flavor.');
    if (!(await this.repo.addFlavorProject(id, projectId))) throw conflict(`Flavor access already exists for flavor ${id} and project ${projectId} combination.`);
    return (await this.repo.flavorProjects(id)).map((p) => ({ flavor_id: id, tenant_id: p }));
  }

  async removeAccess(auth: AuthContext, id: string, projectId: string): Promise<{ flavor_id: string; tenant_id: string }[]> {
    requireAdmin(auth, 'os_compute_api:os-flavor-access:remove_tenant_access');
    const f = await this.repo.getFlavor(id);
    if (!f) throw notFound(`Flavor ${id} could not be found.`);
    if (!(await this.repo.removeFlavorProject(id, projectId))) throw notFound(`Flavor access not found for ${id} / ${projectId} combination.`);
    return (await this.repo.flavorProjects(id)).map((p) => ({ flavor_id: id, tenant_id: p }));
  }
}

/** Nova accepts a flavorRef as an id or as a link ending in the id. */
export function flavorIdFromRef(ref: string | number): string {
  const s = String(ref).trim();
  if (s === '') throw badRequest('Invalid flavorRef provided.');
  if (/^https?:\/\//.test(s)) {
    try {
      const path = new URL(s).pathname.split('/').filter((p) => p !== '');
      const last = path[path.length - 1];
      if (last) return decodeURIComponent(last);
    } catch {
      // falls through to the 400 below
    }
    throw badRequest(`Invalid flavorRef provided: ${s} is not a valid flavor link.`);
  }
  return s;
}
