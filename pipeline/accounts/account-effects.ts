import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/create-runtime.ts';
import { syntheticEvent, syntheticEventId, syntheticRecord } from '../reconcile/synthetic-event.ts';

export interface AccountEffects {
  /** Open ProductionOnly findings resolved OUT_OF_SCOPE because their account is no longer production. */
  readonly resolvedOutOfScope: number;
  /** Open findings whose owner or Slack channel followed their account's new one. */
  readonly reassigned: number;
}

const ShardId = 'accounts';
const BatchSize = 500;

/**
 * Makes open findings agree with the registry now in force. State-based, not change-based, so it is safe to run after
 * every sync and refresh on every worker, and a crash in between loses nothing:
 * - an open finding of a ProductionOnly rule in an account that is now staging/development/sandbox resolves
 *   OUT_OF_SCOPE, through the stages (a synthetic event per finding, id derived from the finding: once only),
 *   so its Slack message is edited and OpenSearch updated like any resolution;
 * - open findings take their account's current owner and channel, so escalations and reminders go to them.
 */
export async function applyAccountEffects(runtime: Pick<Runtime, 'database' | 'accounts' | 'catalog' | 'createProcessor'>, signal: AbortSignal, logger?: Logger): Promise<AccountEffects> {
  const db = runtime.database.db;
  const accounts = runtime.accounts.accounts;
  const nonProduction = accounts.filter((a) => a.environment !== 'production' && a.environment !== 'unknown').map((a) => a.id);
  const productionOnly = runtime.catalog.rules.filter((r) => r.scope === 'ProductionOnly').map((r) => r.name);
  let resolvedOutOfScope = 0;
  if (nonProduction.length > 0 && productionOnly.length > 0) {
    const rows = await db
      .selectFrom('findings as f')
      .innerJoin('evaluations as e', 'e.evaluation_key', 'f.evaluation_key')
      .select(['f.finding_id', 'f.account_id', 'f.region', 'f.config_rule_name', 'f.resource_type', 'f.resource_id', 'e.ordering_time'])
      .where('f.status', '=', 'open')
      .where('f.account_id', 'in', nonProduction)
      .where('f.rule', 'in', productionOnly)
      .execute();
    const now = Date.now();
    for (let i = 0; i < rows.length; i += BatchSize) {
      const records = rows.slice(i, i + BatchSize).map((row) =>
        syntheticRecord(
          syntheticEvent({
            id: syntheticEventId('accounts', 'out-of-scope', row.finding_id),
            source: 'driftwatch.accounts',
            mark: { run: 'accounts-sync', notify: 'alert' },
            accountId: row.account_id,
            region: row.region,
            configRuleName: row.config_rule_name,
            resourceType: row.resource_type,
            resourceId: row.resource_id,
            // Still non-compliant; only the scope changed. Just after the stored result, so newer Config results still win.
            compliance: 'NON_COMPLIANT',
            orderingTime: new Date(row.ordering_time).getTime() + 1,
            now,
            annotation: 'account is no longer production',
          }),
          ShardId,
        ),
      );
      const summary = await runtime.createProcessor(ShardId).process(ShardId, records, null, 'accounts', signal);
      resolvedOutOfScope += summary.resolved;
    }
  }
  let reassigned = 0;
  const values = accounts.map((a) => sql`(${a.id}, ${a.owner}, ${a.slackChannel ?? ''}, ${a.name})`);
  if (values.length > 0) {
    const result = await sql`
      update findings f set owner = v.owner, slack_channel = v.channel, account_name = v.name, updated_at = now()
      from (values ${sql.join(values)}) as v(account_id, owner, channel, name)
      where f.account_id = v.account_id and f.status = 'open' and v.channel <> ''
        and (f.owner <> v.owner or f.slack_channel <> v.channel or f.account_name <> v.name)`.execute(db);
    reassigned = Number(result.numAffectedRows ?? 0);
  }
  if (resolvedOutOfScope > 0 || reassigned > 0) logger?.info({ resolvedOutOfScope, reassigned }, 'findings follow the account registry');
  return { resolvedOutOfScope, reassigned };
}
