import SQLite from 'better-sqlite3';
import { groupBy, type PortFilter, type PortRow, type PortWithChildren } from './ports.repo.js';

/**
 * Port lists through a read-only connection of their own.
 *
 * Listing is the hot read (a thousand ports in one response), and two
 * things made it slow on the shared connection: every list queued behind
 * the writer's transactions (the store has one connection and Kysely
 * serializes on it), and rows came back as objects built column by column.
 * A second connection reads the last committed state in WAL mode without
 * waiting for the writer, never sees a transaction half-way, keeps its
 * prepared statements, and reads rows as arrays. Children come from one
 * query per table over the same selection of ports.
 */

const COLUMNS = [
  'id', 'network_id', 'project_id', 'name', 'description', 'mac_address', 'admin_state_up', 'status', 'device_id', 'device_owner',
  'binding_host_id', 'binding_vnic_type', 'binding_profile', 'binding_vif_type', 'binding_vif_details', 'port_security_enabled',
  'allowed_address_pairs', 'dns_name', 'created_at', 'updated_at', 'revision_number',
] as const;

type Cell = string | number | null;

/** Bound so that lists with ever-different IN-list lengths cannot grow the cache without end. */
const MAX_STATEMENTS = 64;

export class PortListReader {
  private readonly db: SQLite.Database;
  private readonly statements = new Map<string, SQLite.Statement<unknown[], Cell[]>>();

  constructor(file: string) {
    this.db = new SQLite(file, { readonly: true, fileMustExist: true });
    this.db.pragma('busy_timeout = 5000');
  }

  list(f: PortFilter): PortWithChildren[] {
    const where: string[] = [];
    const params: string[] = [];
    if (f.projectId !== undefined) {
      where.push('(p.project_id = ? OR p.network_id IN (SELECT id FROM networks WHERE project_id = ?))');
      params.push(f.projectId, f.projectId);
    }
    const inList = (column: string, values: readonly string[] | undefined) => {
      if (values === undefined) return;
      const vs = values.length > 0 ? values : [''];
      where.push(`p.${column} IN (${vs.map(() => '?').join(', ')})`);
      params.push(...vs);
    };
    inList('id', f.ids);
    inList('network_id', f.networkIds);
    inList('device_id', f.deviceIds);
    inList('device_owner', f.deviceOwners);
    inList('name', f.names);
    const cond = where.length ? ` WHERE ${where.join(' AND ')}` : '';
    const ids = where.length ? ` WHERE port_id IN (SELECT p.id FROM ports p${cond})` : '';
    // One read transaction, so the ports and their children are the same snapshot.
    return this.db.transaction(() => {
      const rows = this.statement(`SELECT ${COLUMNS.map((c) => `p.${c}`).join(', ')} FROM ports p${cond} ORDER BY p.rowid`).all(...params);
      const allocs = groupBy(this.statement(`SELECT port_id, subnet_id, ip_address FROM ip_allocations${ids} ORDER BY rowid`).all(...params), portOf);
      const groups = groupBy(this.statement(`SELECT port_id, security_group_id FROM port_security_groups${ids} ORDER BY rowid`).all(...params), portOf);
      const tagIds = where.length ? ` AND resource_id IN (SELECT p.id FROM ports p${cond})` : '';
      const tags = groupBy(this.statement(`SELECT resource_id, tag FROM network_tags WHERE resource_type = 'ports'${tagIds} ORDER BY tag`).all(...params), portOf);
      return rows.map((r) => {
        const row = toRow(r);
        return {
          row,
          fixedIps: (allocs.get(row.id) ?? []).map((a) => ({ subnet_id: str(a[1]), ip_address: str(a[2]) })),
          securityGroupIds: (groups.get(row.id) ?? []).map((g) => str(g[1])),
          tags: (tags.get(row.id) ?? []).map((t) => str(t[1])),
        };
      });
    })();
  }

  close(): void {
    this.statements.clear();
    if (this.db.open) this.db.close();
  }

  private statement(sql: string): SQLite.Statement<unknown[], Cell[]> {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
      s = this.db.prepare<unknown[], Cell[]>(sql).raw(true);
      this.statements.set(sql, s);
    }
    return s;
  }
}

const str = (v: Cell | undefined): string => (typeof v === 'string' ? v : String(v ?? ''));
const num = (v: Cell | undefined): number => Number(v ?? 0);
const portOf = (r: Cell[]): string => str(r[0]);

function toRow(r: Cell[]): PortRow {
  return {
    id: str(r[0]),
    network_id: str(r[1]),
    project_id: str(r[2]),
    name: str(r[3]),
    description: str(r[4]),
    mac_address: str(r[5]),
    admin_state_up: num(r[6]),
    status: str(r[7]),
    device_id: str(r[8]),
    device_owner: str(r[9]),
    binding_host_id: str(r[10]),
    binding_vnic_type: str(r[11]),
    binding_profile: str(r[12]),
    binding_vif_type: str(r[13]),
    binding_vif_details: str(r[14]),
    port_security_enabled: num(r[15]),
    allowed_address_pairs: str(r[16]),
    dns_name: str(r[17]),
    created_at: str(r[18]),
    updated_at: str(r[19]),
    revision_number: num(r[20]),
  };
}
