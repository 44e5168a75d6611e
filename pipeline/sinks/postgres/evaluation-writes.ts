import { CompiledQuery } from 'kysely';
import type { Transaction } from 'kysely';
import type { EnrichedEvent } from '../../../stages/enrich/enriched-event.ts';
import type { EvaluationState } from '../../../stages/track/finding.ts';
import type { Database } from '../../store/database-schema.ts';
import { multiRowInsert } from './multi-row-insert.ts';
import type { SqlValue } from './multi-row-insert.ts';

/** One key's move: from `base` (what the writer's work assumed is stored; null = nothing) to `state`. */
export interface EvaluationWrite {
  readonly base: EvaluationState | null;
  readonly state: EvaluationState;
  /** An event of the key, for the parts of the key (account, region, rule, resource type and id). */
  readonly event: EnrichedEvent;
}

// 7 parameters per row, far under Postgres's 65,535.
const RowsPerStatement = 1_000;

const iso = (ms: number): string => new Date(ms).toISOString();
const byKey = (a: EvaluationWrite, b: EvaluationWrite) => (a.state.evaluationKey < b.state.evaluationKey ? -1 : a.state.evaluationKey > b.state.evaluationKey ? 1 : 0);

/**
 * Inserts the keys for which nothing was stored. Returns the keys inserted: a key another writer inserted meanwhile
 * is not, and its caller must read what is stored and track again. Rows go in key order, like every multi-row write
 * of the commit, so two writers on overlapping keys wait for each other instead of deadlocking.
 */
export async function insertNewEvaluations(trx: Transaction<Database>, writes: readonly EvaluationWrite[]): Promise<Set<string>> {
  if (writes.length === 0) return new Set();
  const rows = await multiRowInsert<{ evaluation_key: string }>(trx, {
    table: 'evaluations',
    columns: ['evaluation_key', 'account_id', 'region', 'rule', 'resource_type', 'resource_id', 'compliance', 'ordering_time', 'event_id', 'in_scope', 'open_finding_id'],
    computed: { column: 'updated_at', sql: 'now()' },
    rows: [...writes].sort(byKey).map(({ state, event }) => [
      state.evaluationKey, event.accountId, event.region, event.rule, event.resourceType, event.resourceId,
      state.compliance, iso(state.orderingTime), state.eventId, state.inScope, state.openFinding?.findingId ?? null,
    ]),
    tail: 'on conflict (evaluation_key) do nothing returning evaluation_key',
  });
  return new Set(rows.map((row) => row.evaluation_key));
}

/**
 * Compare-and-set: moves each key to its new state only where the stored row is still the one the writer based its
 * work on (same last event id). Returns the keys moved; for the others another writer got there first.
 */
export async function advanceEvaluations(trx: Transaction<Database>, writes: readonly EvaluationWrite[]): Promise<Set<string>> {
  const moved = new Set<string>();
  const sorted = [...writes].sort(byKey);
  for (let start = 0; start < sorted.length; start += RowsPerStatement) {
    const chunk = sorted.slice(start, start + RowsPerStatement);
    const parameters: SqlValue[] = [];
    const tuples: string[] = [];
    for (const { base, state } of chunk) {
      const at = parameters.length;
      parameters.push(state.evaluationKey, base!.eventId, state.compliance, iso(state.orderingTime), state.eventId, state.inScope, state.openFinding?.findingId ?? null);
      tuples.push(`($${at + 1}::text, $${at + 2}::text, $${at + 3}::text, $${at + 4}::timestamptz, $${at + 5}::text, $${at + 6}::boolean, $${at + 7}::text)`);
    }
    const result = await trx.executeQuery<{ evaluation_key: string }>(
      CompiledQuery.raw(
        `update evaluations as e set compliance = v.compliance, ordering_time = v.ordering_time, event_id = v.event_id,
           in_scope = v.in_scope, open_finding_id = v.open_finding_id, updated_at = now()
         from (values ${tuples.join(', ')}) as v(evaluation_key, base_event_id, compliance, ordering_time, event_id, in_scope, open_finding_id)
         where e.evaluation_key = v.evaluation_key and e.event_id = v.base_event_id
         returning e.evaluation_key`,
        parameters,
      ),
    );
    for (const row of result.rows) moved.add(row.evaluation_key);
  }
  return moved;
}
