import { sql } from 'kysely';
import { formatIp, ipKey, keyToValue, type IpRange, type IpVersion } from '../../core/network/ip.js';
import type { Db } from '../db.js';
import type { IpAllocationTable } from './schema.js';

export type IpAllocationRow = IpAllocationTable;

/** Insertion order: the order fixed IPs were given. */
const sqlRowid = sql`rowid`;

/**
 * Addresses of subnets: the free ranges of the allocation pools and the
 * allocations. Callers run these inside one transaction per operation (the
 * store serializes transactions on its one connection), so "look, then
 * take" cannot race; the primary key on (subnet_id, ip_address) is the
 * last word if anything ever did.
 */
export class IpamRepo {
  constructor(private readonly db: Db) {}

  /** Replaces the free ranges of a subnet (subnet create, pool change). */
  async setFreeRanges(subnetId: string, version: IpVersion, ranges: IpRange[]): Promise<void> {
    await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', subnetId).execute();
    for (let i = 0; i < ranges.length; i += 200) {
      const chunk = ranges.slice(i, i + 200);
      await this.db
        .insertInto('ip_free_ranges')
        .values(chunk.map((r) => ({ subnet_id: subnetId, first_key: ipKey(version, r.first), last_key: ipKey(version, r.last) })))
        .execute();
    }
  }

  async freeRanges(subnetId: string): Promise<IpRange[]> {
    const rows = await this.db.selectFrom('ip_free_ranges').select(['first_key', 'last_key']).where('subnet_id', '=', subnetId).orderBy('first_key').execute();
    return rows.map((r) => ({ first: keyToValue(r.first_key), last: keyToValue(r.last_key) }));
  }

  /** Takes the lowest free address of the pools: one indexed lookup and one write, however full the subnet is. */
  async takeLowest(subnetId: string, version: IpVersion): Promise<string | undefined> {
    const r = await this.db
      .selectFrom('ip_free_ranges')
      .select(['first_key', 'last_key'])
      .where('subnet_id', '=', subnetId)
      .orderBy('first_key')
      .limit(1)
      .executeTakeFirst();
    if (!r) return undefined;
    const first = keyToValue(r.first_key);
    if (r.first_key === r.last_key) {
      await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', subnetId).where('first_key', '=', r.first_key).execute();
    } else {
      await this.db
        .updateTable('ip_free_ranges')
        .set({ first_key: ipKey(version, first + 1n) })
        .where('subnet_id', '=', subnetId)
        .where('first_key', '=', r.first_key)
        .execute();
    }
    return formatIp(version, first);
  }

  /** Removes `value` from the free ranges; false when it was not free (outside the pools, or taken). */
  async takeSpecific(subnetId: string, version: IpVersion, value: bigint): Promise<boolean> {
    const key = ipKey(version, value);
    const r = await this.db
      .selectFrom('ip_free_ranges')
      .select(['first_key', 'last_key'])
      .where('subnet_id', '=', subnetId)
      .where('first_key', '<=', key)
      .orderBy('first_key', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!r || r.last_key < key) return false;
    const first = keyToValue(r.first_key);
    const last = keyToValue(r.last_key);
    await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', subnetId).where('first_key', '=', r.first_key).execute();
    const rest: { subnet_id: string; first_key: string; last_key: string }[] = [];
    if (first < value) rest.push({ subnet_id: subnetId, first_key: r.first_key, last_key: ipKey(version, value - 1n) });
    if (value < last) rest.push({ subnet_id: subnetId, first_key: ipKey(version, value + 1n), last_key: r.last_key });
    if (rest.length > 0) await this.db.insertInto('ip_free_ranges').values(rest).execute();
    return true;
  }

  /** Returns `value` to the free ranges if it lies in one of `pools`, merging with its neighbours. */
  async giveBack(subnetId: string, version: IpVersion, value: bigint, pools: IpRange[]): Promise<void> {
    if (!pools.some((p) => value >= p.first && value <= p.last)) return;
    const key = ipKey(version, value);
    // Ranges never cross a pool boundary, so merging stops at the pool edges.
    const pool = pools.find((p) => value >= p.first && value <= p.last);
    if (!pool) return;
    const left =
      value > pool.first
        ? await this.db
            .selectFrom('ip_free_ranges')
            .select(['first_key', 'last_key'])
            .where('subnet_id', '=', subnetId)
            .where('last_key', '=', ipKey(version, value - 1n))
            .executeTakeFirst()
        : undefined;
    const right =
      value < pool.last
        ? await this.db
            .selectFrom('ip_free_ranges')
            .select(['first_key', 'last_key'])
            .where('subnet_id', '=', subnetId)
            .where('first_key', '=', ipKey(version, value + 1n))
            .executeTakeFirst()
        : undefined;
    const firstKey = left?.first_key ?? key;
    const lastKey = right?.last_key ?? key;
    if (left) await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', subnetId).where('first_key', '=', left.first_key).execute();
    if (right) await this.db.deleteFrom('ip_free_ranges').where('subnet_id', '=', subnetId).where('first_key', '=', right.first_key).execute();
    await this.db
      .insertInto('ip_free_ranges')
      .values({ subnet_id: subnetId, first_key: firstKey, last_key: lastKey })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async isAllocated(subnetId: string, ip: string): Promise<boolean> {
    const r = await this.db.selectFrom('ip_allocations').select('port_id').where('subnet_id', '=', subnetId).where('ip_address', '=', ip).executeTakeFirst();
    return r !== undefined;
  }

  async insertAllocation(row: IpAllocationRow): Promise<void> {
    await this.db.insertInto('ip_allocations').values(row).execute();
  }

  async deleteAllocation(subnetId: string, ip: string): Promise<void> {
    await this.db.deleteFrom('ip_allocations').where('subnet_id', '=', subnetId).where('ip_address', '=', ip).execute();
  }

  /** Allocations of ports, in the order they were made. */
  async ofPorts(portIds: readonly string[]): Promise<IpAllocationRow[]> {
    const out: IpAllocationRow[] = [];
    for (const chunk of chunks(portIds)) {
      out.push(...(await this.db.selectFrom('ip_allocations').selectAll().where('port_id', 'in', chunk).orderBy(sqlRowid).execute()));
    }
    return out;
  }

  async ofSubnet(subnetId: string): Promise<IpAllocationRow[]> {
    return this.db.selectFrom('ip_allocations').selectAll().where('subnet_id', '=', subnetId).execute();
  }

  async ofNetwork(networkId: string): Promise<IpAllocationRow[]> {
    return this.db.selectFrom('ip_allocations').selectAll().where('network_id', '=', networkId).orderBy(sqlRowid).execute();
  }

  async countBySubnet(subnetIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const chunk of chunks(subnetIds)) {
      const rows = await this.db
        .selectFrom('ip_allocations')
        .select((eb) => ['subnet_id', eb.fn.countAll<number>().as('n')])
        .where('subnet_id', 'in', chunk)
        .groupBy('subnet_id')
        .execute();
      for (const r of rows) out.set(r.subnet_id, Number(r.n));
    }
    return out;
  }
}


/** Splits ids for IN lists, well under SQLite's bound-parameter limit. */
export function* chunks<T>(items: readonly T[], size = 500): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
