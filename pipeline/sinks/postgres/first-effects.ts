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
 * The first effects of events already committed, as processed_events recorded them (migration 0005). For an event
 * committed before that migration, or whose id was pruned since, the effect is read back from the findings it opened
 * or resolved, and is "recorded" when it did neither: documents rebuilt from it are only created where none exists,
 * so an approximation never overwrites what was written at the time.
 */
export async function loadFirstEffects(db: Kysely<Database>, eventIds: readonly string[]): Promise<Map<string, FirstEffect>> {
  const effects = new Map<string, FirstEffect>();
  for (let i = 0; i < eventIds.length; i += Chunk) {
    const chunk = eventIds.slice(i, i + Chunk);
    const rows = await db
      .selectFrom('processed_events as p')
      .leftJoin('findings as f', 'f.finding_id', 'p.finding_id')
      .selectAll('f')
      .select(['p.event_id as p_event_id', 'p.transition as p_transition'])
      .where('p.event_id', '=', (eb) => eb.fn<string>('any', [eb.val(chunk)]))
      .where('p.transition', 'is not', null)
      .execute();
    for (const row of rows) {
      effects.set(row.p_event_id, {
        transition: row.p_transition as Transition,
        finding: row.finding_id ? findingFromRow(row as Selectable<FindingsTable>) : null,
      });
    }
    const unknown = chunk.filter((id) => !effects.has(id));
    if (unknown.length === 0) continue;
    const findings = await db
      .selectFrom('findings')
      .selectAll()
      .where((eb) => eb.or([eb('opened_event_id', '=', eb.fn<string>('any', [eb.val(unknown)])), eb('resolved_event_id', '=', eb.fn<string>('any', [eb.val(unknown)]))]))
      .execute();
    const wanted = new Set(unknown);
    for (const row of findings) {
      const finding = findingFromRow(row);
      if (row.resolved_event_id && wanted.has(row.resolved_event_id)) effects.set(row.resolved_event_id, { transition: 'resolved', finding });
      if (wanted.has(row.opened_event_id) && !effects.has(row.opened_event_id)) effects.set(row.opened_event_id, { transition: 'opened', finding });
    }
    for (const id of unknown) if (!effects.has(id)) effects.set(id, { transition: 'recorded', finding: null });
  }
  return effects;
}
