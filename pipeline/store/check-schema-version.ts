import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { Migrations } from './migrate.ts';

/** The database's schema is older than this version of driftwatch needs: a person runs `driftwatch migrate`. */
export class SchemaBehindError extends Error {
  override readonly name = 'SchemaBehindError';
}

/**
 * Read-only and everyday commands need no DDL rights: instead of migrating they check that every migration this
 * version knows has been applied, and stop with one line saying what to run when not. Migrations a newer version
 * applied are fine (they only add).
 */
export async function checkSchemaVersion(db: Kysely<any>): Promise<void> {
  let applied: Set<string>;
  try {
    const rows = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.rows.map((row) => row.name));
  } catch (error) {
    if ((error as { code?: unknown }).code === '42P01') {
      throw new SchemaBehindError('the database has no driftwatch schema yet: run `driftwatch migrate` first (it needs the rights to create tables)', { cause: error });
    }
    throw error;
  }
  const missing = Object.keys(Migrations).filter((name) => !applied.has(name));
  if (missing.length > 0) {
    throw new SchemaBehindError(
      `the database schema is behind this version of driftwatch (${missing.length} migration(s) pending: ${missing.join(', ')}): run \`driftwatch migrate\``,
    );
  }
}
