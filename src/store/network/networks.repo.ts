import { sql } from 'kysely';
import type { Db } from '../db.js';
import { chunks } from './ipam.repo.js';
import type { NetworkTable, SubnetTable } from './schema.js';

export type NetworkRow = NetworkTable;
export type SubnetRow = SubnetTable;

/** Who is asking: undefined project = everything (admin or the data plane). */
export interface Scope {
  projectId?: string;
}

export interface NetworkFilter extends Scope {
  ids?: readonly string[];
  names?: readonly string[];
  external?: boolean;
}

export interface SubnetFilter extends Scope {
  ids?: readonly string[];
  networkIds?: readonly string[];
  names?: readonly string[];
}

/** Sets updated_at and bumps revision_number, Neutron's standard attributes on every write. */
export const touched = (at: string) => ({ updated_at: at, revision_number: sql<number>`revision_number + 1` });

/** Networks and subnets. */
export class NetworksRepo {
  constructor(private readonly db: Db) {}

  get(id: string): Promise<NetworkRow | undefined> {
    return this.db.selectFrom('networks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Networks visible to the scope's project: its own, shared ones and external ones. */
  list(f: NetworkFilter = {}): Promise<NetworkRow[]> {
    let q = this.db.selectFrom('networks').selectAll();
    if (f.projectId !== undefined) {
      const p = f.projectId;
      q = q.where((eb) => eb.or([eb('project_id', '=', p), eb('shared', '=', 1), eb('external', '=', 1)]));
    }
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.names) q = q.where('name', 'in', f.names.length ? [...f.names] : ['']);
    if (f.external !== undefined) q = q.where('external', '=', f.external ? 1 : 0);
    return q.orderBy(sql`rowid`).execute();
  }

  async insert(row: NetworkRow): Promise<void> {
    await this.db.insertInto('networks').values(row).execute();
  }

  async update(id: string, patch: Partial<Omit<NetworkRow, 'id' | 'revision_number' | 'status'>>, at: string): Promise<void> {
    await this.db.updateTable('networks').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  /** Bumps the revision because something the network shows (its subnets, tags) changed. */
  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('networks').set(touched(at)).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('networks').where('id', '=', id).execute();
  }

  /** VNIs in use within [min, max], ascending. */
  async usedVnis(min: number, max: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('networks')
      .select('segmentation_id')
      .where('network_type', '=', 'vxlan')
      .where('segmentation_id', '>=', min)
      .where('segmentation_id', '<=', max)
      .orderBy('segmentation_id')
      .execute();
    return rows.map((r) => r.segmentation_id ?? 0);
  }

  async byVni(vni: number): Promise<NetworkRow | undefined> {
    return this.db.selectFrom('networks').selectAll().where('network_type', '=', 'vxlan').where('segmentation_id', '=', vni).executeTakeFirst();
  }

  async flatOn(physicalNetwork: string): Promise<NetworkRow | undefined> {
    return this.db
      .selectFrom('networks')
      .selectAll()
      .where('network_type', '=', 'flat')
      .where('physical_network', '=', physicalNetwork)
      .executeTakeFirst();
  }

  /** Observed state, written by the data plane only; no revision bump, no change event. */
  async setStatus(id: string, status: string): Promise<void> {
    await this.db.updateTable('networks').set({ status }).where('id', '=', id).execute();
  }

  // --- subnets

  getSubnet(id: string): Promise<SubnetRow | undefined> {
    return this.db.selectFrom('subnets').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Subnets visible to the scope's project: its own and those of shared networks. */
  listSubnets(f: SubnetFilter = {}): Promise<SubnetRow[]> {
    let q = this.db.selectFrom('subnets').selectAll();
    if (f.projectId !== undefined) {
      const p = f.projectId;
      q = q.where((eb) =>
        eb.or([eb('project_id', '=', p), eb('network_id', 'in', eb.selectFrom('networks').select('id').where('shared', '=', 1))]),
      );
    }
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.networkIds) q = q.where('network_id', 'in', f.networkIds.length ? [...f.networkIds] : ['']);
    if (f.names) q = q.where('name', 'in', f.names.length ? [...f.names] : ['']);
    return q.orderBy(sql`rowid`).execute();
  }

  /** Subnet ids of each network, in creation order. */
  async subnetIdsOf(networkIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(networkIds)) {
      const rows = await this.db.selectFrom('subnets').select(['id', 'network_id']).where('network_id', 'in', chunk).orderBy(sql`rowid`).execute();
      for (const r of rows) {
        const l = out.get(r.network_id);
        if (l) l.push(r.id);
        else out.set(r.network_id, [r.id]);
      }
    }
    return out;
  }

  async insertSubnet(row: SubnetRow): Promise<void> {
    await this.db.insertInto('subnets').values(row).execute();
  }

  async updateSubnet(id: string, patch: Partial<Omit<SubnetRow, 'id' | 'revision_number'>>, at: string): Promise<void> {
    await this.db.updateTable('subnets').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async touchSubnet(id: string, at: string): Promise<void> {
    await this.db.updateTable('subnets').set(touched(at)).where('id', '=', id).execute();
  }

  async deleteSubnet(id: string): Promise<void> {
    await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', id).execute();
    await this.db.deleteFrom('subnets').where('id', '=', id).execute();
  }
}
