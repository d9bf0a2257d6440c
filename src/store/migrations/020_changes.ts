import { sql, type Kysely } from 'kysely';

/** The change-event outbox the reconcilers follow (see store/changes.ts). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('changes')
    .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('op', 'text', (c) => c.notNull().check(sql`op IN ('create', 'update', 'delete')`))
    .addColumn('at', 'text', (c) => c.notNull())
    .execute();
}
