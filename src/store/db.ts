import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider, type SqliteDatabase } from 'kysely';
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
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachingPrepare(sqlite) }) });
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

/**
 * Kysely prepares every query's SQL anew, and preparing was about an eighth
 * of the CPU of a small authenticated GET. Statements are reused by SQL text
 * instead (safe: Kysely runs one query at a time on its single connection,
 * and SQLite re-prepares a statement itself after a schema change). Bounded,
 * because `in (?, ?, ...)` lists make SQL texts vary.
 */
function cachingPrepare(sqlite: SQLite.Database): SqliteDatabase {
  const statements = new Map<string, SQLite.Statement>();
  return {
    prepare(sql: string) {
      let stmt = statements.get(sql);
      if (!stmt) {
        if (statements.size >= 1000) statements.clear();
        stmt = sqlite.prepare(sql);
        statements.set(sql, stmt);
      }
      return stmt;
    },
    close() {
      statements.clear();
      sqlite.close();
    },
  };
}
