import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from 'kysely';
import type { Database } from './schema.js';
import { MIGRATIONS } from './migrations/index.js';

export type Db = Kysely<Database>;

export interface OpenedStore {
  db: Db;
  /** The raw handle, for the few places that need synchronous access (benchmarks, backups). */
  sqlite: SQLite.Database;
  close(): Promise<void>;
}

class StaticProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/**
 * Opens (creating if needed) the store and runs every pending migration.
 * WAL keeps readers from blocking the single writer; `synchronous=NORMAL` is
 * safe with WAL (a power loss can lose the last commit, never corrupt).
 */
export async function openStore(file: string): Promise<OpenedStore> {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  const migrator = new Migrator({ db, provider: new StaticProvider() });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    await db.destroy();
    throw new Error(`store migration ${failed} failed: ${(error as Error).message ?? String(error)}`);
  }
  return {
    db,
    sqlite,
    close: async () => {
      await db.destroy();
    },
  };
}
