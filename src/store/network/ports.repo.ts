import { sql } from 'kysely';
import type { Db } from '../db.js';
import { chunks } from './ipam.repo.js';
import { touched, type Scope } from './networks.repo.js';
import type { PortListReader } from './port-list-reader.js';
import type { PortTable } from './schema.js';

export type PortRow = PortTable;

/** A port with what hangs off it, as lists need it. */
export interface PortWithChildren {
  row: PortRow;
  /** In allocation order. */
  fixedIps: { subnet_id: string; ip_address: string }[];
  securityGroupIds: string[];
  /** Sorted. */
  tags: string[];
}

/** Groups child rows by their port, keeping their order. */
export function groupBy<T>(rows: T[], key: (r: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const r of rows) {
    const k = key(r);
    const l = out.get(k);
    if (l) l.push(r);
    else out.set(k, [r]);
  }
  return out;
}

export interface PortFilter extends Scope {
  ids?: readonly string[];
  networkIds?: readonly string[];
  deviceIds?: readonly string[];
  deviceOwners?: readonly string[];
  names?: readonly string[];
}

/** Ports and their security group membership (their addresses are in IpamRepo). */
export class PortsRepo {
  /** `reader` serves lists from a read-only connection when the store has one (never inside a transaction). */
  constructor(
    private readonly db: Db,
    private readonly reader: () => PortListReader | undefined = () => undefined,
  ) {}

  get(id: string): Promise<PortRow | undefined> {
    return this.db.selectFrom('ports').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Ports visible to the scope's project: its own and those on networks it owns. */
  list(f: PortFilter = {}): Promise<PortRow[]> {
    return this.filtered(f).execute();
  }

  /**
   * The same ports with their addresses, security groups and tags: one
   * query per table whatever the number of ports, served by the read-only
   * connection when the store has one.
   */
  async listWithChildren(f: PortFilter = {}): Promise<PortWithChildren[]> {
    const reader = this.reader();
    if (reader) return reader.list(f);
    const rows = await this.list(f);
    const ids = this.filtered(f, false).clearSelect().select('ports.id');
    const allocs = await this.db
      .selectFrom('ip_allocations')
      .select(['port_id', 'subnet_id', 'ip_address'])
      .where('port_id', 'in', ids)
      .orderBy(sql`rowid`)
      .execute();
    const groups = await this.db
      .selectFrom('port_security_groups')
      .select(['port_id', 'security_group_id'])
      .where('port_id', 'in', ids)
      .orderBy(sql`rowid`)
      .execute();
    const tags = await this.db.selectFrom('network_tags').select(['resource_id', 'tag']).where('resource_id', 'in', ids).orderBy('tag').execute();
    const byPort = groupBy(allocs, (a) => a.port_id);
    const sgs = groupBy(groups, (g) => g.port_id);
    const tagged = groupBy(tags, (t) => t.resource_id);
    return rows.map((row) => ({
      row,
      fixedIps: (byPort.get(row.id) ?? []).map((a) => ({ subnet_id: a.subnet_id, ip_address: a.ip_address })),
      securityGroupIds: (sgs.get(row.id) ?? []).map((g) => g.security_group_id),
      tags: (tagged.get(row.id) ?? []).map((t) => t.tag),
    }));
  }

  private filtered(f: PortFilter, ordered = true) {
    let q = this.db.selectFrom('ports').selectAll('ports');
    if (f.projectId !== undefined) {
      const p = f.projectId;
      q = q.where((eb) =>
        eb.or([eb('project_id', '=', p), eb('network_id', 'in', eb.selectFrom('networks').select('id').where('project_id', '=', p))]),
      );
    }
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.networkIds) q = q.where('network_id', 'in', f.networkIds.length ? [...f.networkIds] : ['']);
    if (f.deviceIds) q = q.where('device_id', 'in', f.deviceIds.length ? [...f.deviceIds] : ['']);
    if (f.deviceOwners) q = q.where('device_owner', 'in', f.deviceOwners.length ? [...f.deviceOwners] : ['']);
    if (f.names) q = q.where('name', 'in', f.names.length ? [...f.names] : ['']);
    return ordered ? q.orderBy(sql`ports.rowid`) : q;
  }

  async insert(row: PortRow): Promise<void> {
    await this.db.insertInto('ports').values(row).execute();
  }

  async update(id: string, patch: Partial<Omit<PortRow, 'id' | 'revision_number' | 'status'>>, at: string): Promise<void> {
    await this.db.updateTable('ports').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('ports').set(touched(at)).where('id', '=', id).execute();
  }

  /** Deletes the port row; its allocations and memberships go with it (the caller returns the addresses to the pools first). */
  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('ports').where('id', '=', id).execute();
  }

  async macInUse(networkId: string, mac: string): Promise<boolean> {
    const r = await this.db.selectFrom('ports').select('id').where('network_id', '=', networkId).where('mac_address', '=', mac).executeTakeFirst();
    return r !== undefined;
  }

  /** Observed state (DOWN/ACTIVE/BUILD/ERROR), written by the data plane only; no revision bump, no change event. */
  async setStatus(id: string, status: string): Promise<void> {
    await this.db.updateTable('ports').set({ status }).where('id', '=', id).execute();
  }

  /** Security group ids of each port. */
  async securityGroupsOf(portIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const chunk of chunks(portIds)) {
      const rows = await this.db
        .selectFrom('port_security_groups')
        .select(['port_id', 'security_group_id'])
        .where('port_id', 'in', chunk)
        .orderBy(sql`rowid`)
        .execute();
      for (const r of rows) {
        const l = out.get(r.port_id);
        if (l) l.push(r.security_group_id);
        else out.set(r.port_id, [r.security_group_id]);
      }
    }
    return out;
  }

  async setSecurityGroups(portId: string, groupIds: readonly string[]): Promise<void> {
    await this.db.deleteFrom('port_security_groups').where('port_id', '=', portId).execute();
    if (groupIds.length > 0) {
      await this.db
        .insertInto('port_security_groups')
        .values([...new Set(groupIds)].map((g) => ({ port_id: portId, security_group_id: g })))
        .execute();
    }
  }

  /** Ids of the ports in a security group (the members of its remote set). */
  async portIdsInGroup(groupId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('port_security_groups').select('port_id').where('security_group_id', '=', groupId).execute();
    return rows.map((r) => r.port_id);
  }

  async groupInUse(groupId: string): Promise<boolean> {
    const r = await this.db.selectFrom('port_security_groups').select('port_id').where('security_group_id', '=', groupId).limit(1).executeTakeFirst();
    return r !== undefined;
  }

  /** Ports of a network other than those whose device_owner is in `except`. */
  async countOnNetwork(networkId: string, exceptOwners: readonly string[] = []): Promise<number> {
    let q = this.db.selectFrom('ports').select((eb) => eb.fn.countAll<number>().as('n')).where('network_id', '=', networkId);
    if (exceptOwners.length) q = q.where('device_owner', 'not in', [...exceptOwners]);
    const r = await q.executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Ports on a network owned by another project than `projectId`, except the listed device owners. */
  async foreignOnNetwork(networkId: string, projectId: string, exceptOwners: readonly string[]): Promise<boolean> {
    let q = this.db.selectFrom('ports').select('id').where('network_id', '=', networkId).where('project_id', '!=', projectId);
    if (exceptOwners.length) q = q.where('device_owner', 'not in', [...exceptOwners]);
    return (await q.limit(1).executeTakeFirst()) !== undefined;
  }
}
