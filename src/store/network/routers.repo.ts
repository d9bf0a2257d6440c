import { sql } from 'kysely';
import type { Db } from '../db.js';
import { chunks } from './ipam.repo.js';
import { touched, type Scope } from './networks.repo.js';
import type { FloatingIpTable, RouterRouteTable, RouterTable } from './schema.js';

export type RouterRow = RouterTable;
export type RouteRow = RouterRouteTable;
export type FloatingIpRow = FloatingIpTable;

export interface RouterFilter extends Scope {
  ids?: readonly string[];
  names?: readonly string[];
}

export interface FloatingIpFilter extends Scope {
  ids?: readonly string[];
  routerIds?: readonly string[];
  portIds?: readonly string[];
  networkIds?: readonly string[];
}

/** Routers with their extra routes, and floating IPs. Router legs are ports (device_id = router id). */
export class RoutersRepo {
  constructor(private readonly db: Db) {}

  get(id: string): Promise<RouterRow | undefined> {
    return this.db.selectFrom('routers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(f: RouterFilter = {}): Promise<RouterRow[]> {
    let q = this.db.selectFrom('routers').selectAll();
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.names) q = q.where('name', 'in', f.names.length ? [...f.names] : ['']);
    return q.orderBy(sql`rowid`).execute();
  }

  /** Routers whose gateway is on `networkId`. */
  withGatewayOn(networkId: string): Promise<RouterRow[]> {
    return this.db.selectFrom('routers').selectAll().where('gw_network_id', '=', networkId).execute();
  }

  async insert(row: RouterRow): Promise<void> {
    await this.db.insertInto('routers').values(row).execute();
  }

  async update(id: string, patch: Partial<Omit<RouterRow, 'id' | 'revision_number' | 'status'>>, at: string): Promise<void> {
    await this.db.updateTable('routers').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async touch(id: string, at: string): Promise<void> {
    await this.db.updateTable('routers').set(touched(at)).where('id', '=', id).execute();
  }

  async delete(id: string): Promise<void> {
    await this.db.deleteFrom('routers').where('id', '=', id).execute();
  }

  /** Observed state, written by the data plane only. */
  async setStatus(id: string, status: string): Promise<void> {
    await this.db.updateTable('routers').set({ status }).where('id', '=', id).execute();
  }

  /** Extra routes of each router. */
  async routesOf(routerIds: readonly string[]): Promise<Map<string, RouteRow[]>> {
    const out = new Map<string, RouteRow[]>();
    for (const chunk of chunks(routerIds)) {
      const rows = await this.db.selectFrom('router_routes').selectAll().where('router_id', 'in', chunk).orderBy(sql`rowid`).execute();
      for (const r of rows) {
        const l = out.get(r.router_id);
        if (l) l.push(r);
        else out.set(r.router_id, [r]);
      }
    }
    return out;
  }

  async setRoutes(routerId: string, routes: readonly { destination: string; nexthop: string }[]): Promise<void> {
    await this.db.deleteFrom('router_routes').where('router_id', '=', routerId).execute();
    if (routes.length > 0) {
      await this.db
        .insertInto('router_routes')
        .values(routes.map((r) => ({ router_id: routerId, destination: r.destination, nexthop: r.nexthop })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  }

  // --- floating IPs

  getFloatingIp(id: string): Promise<FloatingIpRow | undefined> {
    return this.db.selectFrom('floatingips').selectAll().where('id', '=', id).executeTakeFirst();
  }

  listFloatingIps(f: FloatingIpFilter = {}): Promise<FloatingIpRow[]> {
    let q = this.db.selectFrom('floatingips').selectAll();
    if (f.projectId !== undefined) q = q.where('project_id', '=', f.projectId);
    if (f.ids) q = q.where('id', 'in', f.ids.length ? [...f.ids] : ['']);
    if (f.routerIds) q = q.where('router_id', 'in', f.routerIds.length ? [...f.routerIds] : ['']);
    if (f.portIds) q = q.where('fixed_port_id', 'in', f.portIds.length ? [...f.portIds] : ['']);
    if (f.networkIds) q = q.where('floating_network_id', 'in', f.networkIds.length ? [...f.networkIds] : ['']);
    return q.orderBy(sql`rowid`).execute();
  }

  async insertFloatingIp(row: FloatingIpRow): Promise<void> {
    await this.db.insertInto('floatingips').values(row).execute();
  }

  async updateFloatingIp(id: string, patch: Partial<Omit<FloatingIpRow, 'id' | 'revision_number' | 'status'>>, at: string): Promise<void> {
    await this.db.updateTable('floatingips').set({ ...patch, ...touched(at) }).where('id', '=', id).execute();
  }

  async touchFloatingIp(id: string, at: string): Promise<void> {
    await this.db.updateTable('floatingips').set(touched(at)).where('id', '=', id).execute();
  }

  async deleteFloatingIp(id: string): Promise<void> {
    await this.db.deleteFrom('floatingips').where('id', '=', id).execute();
  }

  /** Observed state (DOWN/ACTIVE/ERROR), written by the data plane only. */
  async setFloatingIpStatus(id: string, status: string): Promise<void> {
    await this.db.updateTable('floatingips').set({ status }).where('id', '=', id).execute();
  }
}
