import type { Kysely } from 'kysely';
import type { EvaluationState, Finding, Resolution } from '../../stages/track/finding.ts';
import type { EvaluationStateStore } from '../../stages/track/evaluation-state-store.ts';
import type { Compliance } from '../../stages/enrich/enriched-event.ts';
import type { Database, FindingsTable } from './database-schema.ts';
import type { Selectable } from 'kysely';
import type { Severity } from '../../schemas/rule-catalog.ts';
import type { Environment } from '../../schemas/account-registry.ts';

const LoadChunk = 5_000;

/** Current state per evaluation key, with the finding it keeps open. */
export class PostgresEvaluationStateStore implements EvaluationStateStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async load(evaluationKeys: readonly string[]): Promise<ReadonlyMap<string, EvaluationState>> {
    return loadEvaluationStates(this.#db, evaluationKeys);
  }
}

/**
 * The stored state of each key that has one. The open finding is the key's finding whose status is open (at most one,
 * by a unique index), never whatever `open_finding_id` names: a pointer to a resolved finding once made every later
 * NON_COMPLIANT result "unchanged" and so hid it (issue 17). `lock` takes the evaluation rows FOR UPDATE, in key
 * order, inside the caller's transaction: the state commit reads what it must arbitrate that way.
 */
export async function loadEvaluationStates(
  db: Kysely<Database>,
  evaluationKeys: readonly string[],
  options: { readonly lock?: boolean } = {},
): Promise<Map<string, EvaluationState>> {
  const states = new Map<string, EvaluationState>();
  const keys = options.lock ? [...evaluationKeys].sort() : evaluationKeys;
  for (let i = 0; i < keys.length; i += LoadChunk) {
    const chunk = keys.slice(i, i + LoadChunk);
    let query = db
      .selectFrom('evaluations as e')
      .leftJoin('findings as f', (join) => join.onRef('f.evaluation_key', '=', 'e.evaluation_key').on('f.status', '=', 'open'))
      .selectAll('f')
      .select([
        'e.evaluation_key as e_key',
        'e.compliance as e_compliance',
        'e.ordering_time as e_ordering_time',
        'e.event_id as e_event_id',
        'e.in_scope as e_in_scope',
      ])
      .where('e.evaluation_key', '=', (eb) => eb.fn<string>('any', [eb.val(chunk)]));
    if (options.lock) query = query.orderBy('e.evaluation_key').forUpdate('e');
    const rows = await query.execute();
    for (const row of rows) {
      states.set(row.e_key, {
        evaluationKey: row.e_key,
        compliance: row.e_compliance as Compliance,
        orderingTime: row.e_ordering_time.getTime(),
        eventId: row.e_event_id,
        inScope: row.e_in_scope,
        openFinding: row.finding_id ? findingFromRow(row as Selectable<FindingsTable>) : null,
      });
    }
  }
  return states;
}

export function findingFromRow(row: Selectable<FindingsTable>): Finding {
  return {
    findingId: row.finding_id,
    evaluationKey: row.evaluation_key,
    accountId: row.account_id,
    accountName: row.account_name,
    region: row.region,
    rule: row.rule,
    configRuleName: row.config_rule_name,
    ruleTitle: row.rule_title,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    severity: row.severity as Severity,
    environment: row.environment as Environment,
    owner: row.owner,
    slackChannel: row.slack_channel,
    annotation: row.annotation,
    status: row.status,
    openedAt: row.opened_at.getTime(),
    openedEventId: row.opened_event_id,
    deadline: row.deadline ? row.deadline.getTime() : null,
    resolvedAt: row.resolved_at ? row.resolved_at.getTime() : null,
    resolution: row.resolution as Resolution | null,
    resolvedEventId: row.resolved_event_id,
  };
}
