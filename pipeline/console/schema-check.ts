import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { Migrations } from '../store/migrate.ts';

/**
 * The console only reads: it never migrates (that needs DDL rights it should not have). It checks that every migration
 * this version knows has been applied, and otherwise says what to run.
 */
export async function assertSchemaCurrent(db: Kysely<any>): Promise<void> {
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.rows.map((r) => r.name));
  } catch (error) {
    if ((error as { code?: string }).code === '42P01' || /kysely_migration.*does not exist/.test((error as Error).message)) {
      throw new Error('the database has no driftwatch schema yet: run `driftwatch migrate` first', { cause: error });
    }
    throw error;
  }
  const missing = Object.keys(Migrations).filter((name) => !applied.has(name));
  if (missing.length > 0) throw new Error(`the database schema is behind (missing ${missing.join(', ')}): run \`driftwatch migrate\` first`);
}
