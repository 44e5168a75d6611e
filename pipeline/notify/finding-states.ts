import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';

export interface FindingState {
  readonly exceptionId: string | null;
  readonly status: string;
}

/** Current exception and status of findings, read at delivery time: an excepted finding alerts nobody. */
export async function loadFindingStates(db: Kysely<Database>, findingIds: readonly string[]): Promise<Map<string, FindingState>> {
  if (findingIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('findings')
    .select(['finding_id', 'exception_id', 'status'])
    .where('finding_id', 'in', [...new Set(findingIds)])
    .execute();
  return new Map(rows.map((row) => [row.finding_id, { exceptionId: row.exception_id, status: row.status }]));
}
