import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/**
 * Runs a migration script one statement at a time: PGlite (the embedded default) speaks only the extended
 * protocol, which takes one statement per query. Statements are split on `;` at line ends, so keep bodies plain.
 */
export async function executeStatements(db: Kysely<any>, script: string): Promise<void> {
  const statements = script
    .split(/;\s*$/m)
    .map((statement) => statement.replace(/^\s*--.*$/gm, '').trim())
    .filter((statement) => statement.length > 0);
  for (const statement of statements) await sql.raw(statement).execute(db);
}
