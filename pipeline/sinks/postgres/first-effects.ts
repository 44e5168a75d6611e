import type { Kysely, Selectable } from 'kysely';
import type { Finding } from '../../../stages/track/finding.ts';
import type { Transition } from '../../../stages/track/tracked-event.ts';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import { findingFromRow } from '../../store/postgres-evaluation-state-store.ts';

/** What an event did when it was first committed, and its finding as Postgres holds it now. */
export interface FirstEffect {
  readonly transition: Transition;
  readonly finding: Finding | null;
}

const Chunk = 5_000;

/**
 * The first effects of events already committed (processed_events, migration 0005). Events committed before that
 * migration have none recorded and are left out: their documents were written then.
 */
export async function loadFirstEffects(db: Kysely<Database>, eventIds: readonly string[]): Promise<Map<string, FirstEffect>> {
  const effects = new Map<string, FirstEffect>();
  for (let i = 0; i < eventIds.length; i += Chunk) {
    const rows = await db
      .selectFrom('processed_events as p')
      .leftJoin('findings as f', 'f.finding_id', 'p.finding_id')
      .selectAll('f')
      .select(['p.event_id as p_event_id', 'p.transition as p_transition'])
      .where('p.event_id', '=', (eb) => eb.fn<string>('any', [eb.val(eventIds.slice(i, i + Chunk))]))
      .where('p.transition', 'is not', null)
      .execute();
    for (const row of rows) {
      effects.set(row.p_event_id, {
        transition: row.p_transition as Transition,
        finding: row.finding_id ? findingFromRow(row as Selectable<FindingsTable>) : null,
      });
    }
  }
  return effects;
}
