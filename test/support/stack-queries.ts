import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database } from '../../pipeline/store/database-schema.ts';

/** Small read-only queries the benches and drills use to follow and check a run. */

export async function countProcessed(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('processed_events').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** When the last batch committed (its transaction's start: processed_at defaults to now()). */
export async function lastCommitTime(db: Kysely<Database>): Promise<number | null> {
  const row = await db.selectFrom('processed_events').select((eb) => eb.fn.max('processed_at').as('at')).executeTakeFirst();
  return row?.at ? new Date(row.at as unknown as string | Date).getTime() : null;
}

export async function outboxByStatus(db: Kysely<Database>): Promise<Record<string, number>> {
  const rows = await db.selectFrom('notification_outbox').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
}

export async function countRows(db: Kysely<Database>, table: 'findings' | 'dead_letters' | 'notification_outbox' | 'evaluations'): Promise<number> {
  const row = await sql<{ n: string }>`select count(*) as n from ${sql.table(table)}`.execute(db);
  return Number(row.rows[0]?.n ?? 0);
}

/** Documents in an index pattern after a refresh (so everything written is counted). */
export async function countDocuments(url: string, pattern: string, query: Record<string, unknown> = { match_all: {} }): Promise<number> {
  await fetch(`${url}/${pattern}/_refresh?ignore_unavailable=true&allow_no_indices=true`, { method: 'POST' }).then((r) => r.body?.cancel());
  const response = await fetch(`${url}/${pattern}/_count?ignore_unavailable=true&allow_no_indices=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { count?: number };
  return body.count ?? 0;
}
