import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Runtime } from '../runtime/create-runtime.ts';
import { syntheticEvent, syntheticEventId, syntheticRecord } from '../reconcile/synthetic-event.ts';

export interface AccountEffects {
  /** Open ProductionOnly findings resolved OUT_OF_SCOPE because their account is no longer production. */
  readonly resolvedOutOfScope: number;
  /** ProductionOnly results still NON_COMPLIANT opened again because their account is production (again). */
  readonly reopenedInScope: number;
  /** Open findings whose owner or Slack channel followed their account's new one. */
  readonly reassigned: number;
}

const ShardId = 'accounts';
const BatchSize = 500;

interface ScopeChange {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly configRuleName: string;
  readonly resourceType: string;
  readonly resourceId: string;
  readonly orderingTime: Date;
}

/**
 * Makes open findings agree with the registry now in force. State-based, not change-based, so it is safe to run after
 * every sync and refresh on every worker, and a crash in between loses nothing:
 * - an open finding of a ProductionOnly rule in an account that is now staging/development/sandbox resolves
 *   OUT_OF_SCOPE, through the stages (a synthetic event per finding, id derived from the finding: once only),
 *   so its Slack message is edited and OpenSearch updated like any resolution;
 * - the reverse: a ProductionOnly result recorded out of scope and still NON_COMPLIANT in an account that is
 *   production (or unknown) again opens a finding at once, through the stages (a new alert), rather than waiting for
 *   a compliance change Config would never send for a resource that stays non-compliant (nor would reconcile, which
 *   finds the stored result equal to the aggregator's). It opens as of the result (the SLA counts from when the
 *   resource became non-compliant, as it would had the account never left production); id derived from the stored
 *   result, so once per out-of-scope episode;
 * - open findings take their account's current owner and channel, so escalations and reminders go to them, and are
 *   marked for the finding facts sync, which writes the owner and account name onto their OpenSearch documents.
 */
export async function applyAccountEffects(runtime: Pick<Runtime, 'database' | 'accounts' | 'catalog' | 'createProcessor'>, signal: AbortSignal, logger?: Logger): Promise<AccountEffects> {
  const db = runtime.database.db;
  const accounts = runtime.accounts.accounts;
  // The scope stage's rule: unknown stays in scope (hiding a finding is worse than a false alarm).
  const outOfScope = (environment: string) => environment !== 'production' && environment !== 'unknown';
  const nonProduction = accounts.filter((a) => outOfScope(a.environment)).map((a) => a.id);
  const inScope = accounts.filter((a) => !outOfScope(a.environment)).map((a) => a.id);
  const productionOnly = runtime.catalog.rules.filter((r) => r.scope === 'ProductionOnly').map((r) => r.name);
  let resolvedOutOfScope = 0;
  let reopenedInScope = 0;
  if (nonProduction.length > 0 && productionOnly.length > 0) {
    const rows = await db
      .selectFrom('findings as f')
      .innerJoin('evaluations as e', 'e.evaluation_key', 'f.evaluation_key')
      .select(['f.finding_id', 'f.account_id', 'f.region', 'f.config_rule_name', 'f.resource_type', 'f.resource_id', 'e.ordering_time'])
      .where('f.status', '=', 'open')
      .where('f.account_id', 'in', nonProduction)
      .where('f.rule', 'in', productionOnly)
      .execute();
    const changes = rows.map((row) => ({
      id: syntheticEventId('accounts', 'out-of-scope', row.finding_id), accountId: row.account_id, region: row.region, configRuleName: row.config_rule_name,
      resourceType: row.resource_type, resourceId: row.resource_id, orderingTime: row.ordering_time,
    }));
    resolvedOutOfScope = (await feed(runtime, changes, 'account is no longer production', signal)).resolved;
  }
  if (inScope.length > 0 && productionOnly.length > 0) {
    const rows = await db
      .selectFrom('evaluations as e')
      .select(['e.evaluation_key', 'e.event_id', 'e.account_id', 'e.region', 'e.rule', 'e.resource_type', 'e.resource_id', 'e.ordering_time'])
      // The rule's name in the member account, from the key's last finding; the normalized name when it never had one.
      .select((eb) =>
        eb
          .selectFrom('findings as f')
          .select('f.config_rule_name')
          .whereRef('f.evaluation_key', '=', 'e.evaluation_key')
          .orderBy('f.opened_at', 'desc')
          .limit(1)
          .as('config_rule_name'),
      )
      .where('e.in_scope', '=', false)
      .where('e.compliance', '=', 'NON_COMPLIANT')
      .where('e.open_finding_id', 'is', null)
      .where('e.account_id', 'in', inScope)
      .where('e.rule', 'in', productionOnly)
      .execute();
    const changes = rows.map((row) => ({
      id: syntheticEventId('accounts', 'in-scope', row.evaluation_key, row.event_id), accountId: row.account_id, region: row.region,
      configRuleName: row.config_rule_name ?? row.rule, resourceType: row.resource_type, resourceId: row.resource_id, orderingTime: row.ordering_time,
    }));
    reopenedInScope = (await feed(runtime, changes, 'account is production again', signal)).opened;
  }
  let reassigned = 0;
  const values = accounts.map((a) => sql`(${a.id}, ${a.owner}, ${a.slackChannel ?? ''}, ${a.name})`);
  if (values.length > 0) {
    // facts_dirty (migration 0004): the finding facts sync writes the new owner and name onto the OpenSearch document;
    // facts_version (0009) tells a sync pass in flight that its owner and name are stale.
    const result = await sql`
      update findings f set owner = v.owner, slack_channel = v.channel, account_name = v.name, updated_at = now(),
        facts_dirty = true, facts_tried_at = null, facts_version = f.facts_version + 1
      from (values ${sql.join(values)}) as v(account_id, owner, channel, name)
      where f.account_id = v.account_id and f.status = 'open' and v.channel <> ''
        and (f.owner <> v.owner or f.slack_channel <> v.channel or f.account_name <> v.name)`.execute(db);
    reassigned = Number(result.numAffectedRows ?? 0);
  }
  if (resolvedOutOfScope > 0 || reopenedInScope > 0 || reassigned > 0) logger?.info({ resolvedOutOfScope, reopenedInScope, reassigned }, 'findings follow the account registry');
  return { resolvedOutOfScope, reopenedInScope, reassigned };
}

/**
 * Scope changes through the stages: still NON_COMPLIANT, only the account's scope changed. Just after the stored
 * result, so newer Config results still win.
 */
async function feed(runtime: Pick<Runtime, 'createProcessor'>, changes: readonly ScopeChange[], annotation: string, signal: AbortSignal): Promise<{ opened: number; resolved: number }> {
  let opened = 0;
  let resolved = 0;
  const now = Date.now();
  for (let i = 0; i < changes.length; i += BatchSize) {
    const records = changes.slice(i, i + BatchSize).map((change) =>
      syntheticRecord(
        syntheticEvent({
          id: change.id,
          source: 'driftwatch.accounts',
          mark: { run: 'accounts-sync', notify: 'alert' },
          accountId: change.accountId,
          region: change.region,
          configRuleName: change.configRuleName,
          resourceType: change.resourceType,
          resourceId: change.resourceId,
          compliance: 'NON_COMPLIANT',
          orderingTime: new Date(change.orderingTime).getTime() + 1,
          now,
          annotation,
        }),
        ShardId,
      ),
    );
    const summary = await runtime.createProcessor(ShardId).process(ShardId, records, null, 'accounts', signal);
    opened += summary.opened;
    resolved += summary.resolved;
  }
  return { opened, resolved };
}
