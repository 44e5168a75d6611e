import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { seededRandom } from '../../pipeline/demo/synthetic-org.ts';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { ReconcileMetrics } from '../../pipeline/reconcile/reconcile-metrics.ts';
import { reconcileIndexName } from '../../pipeline/reconcile/reconcile-index.ts';
import type { ReconcileReport } from '../../pipeline/reconcile/reconciler.ts';
import { ConfigEstate } from '../aws-server/config/config-estate.ts';
import type { ConfigEvaluation } from '../aws-server/config/config-estate.ts';
import type { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { Accounts, SlackHarness } from '../notify/slack/slack-harness.ts';
import { complianceEvent } from '../support/events.ts';
import { expectedFindings } from '../support/oracle.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { dropIndexPrefix } from '../support/local-stack.ts';
import { countDocuments } from '../support/stack-queries.ts';
import { reconcile, startAwsServer } from './support/aws-harness.ts';
import { createReconcileSchedule } from '../../pipeline/reconcile/reconcile-schedule.ts';
import pino from 'pino';

const Hour = 3_600_000;
const estate = ConfigEstate.generate({ accountIds: Accounts.map((a) => a.id), regions: 2, rules: 30, seed: 41, nonCompliantRate: 0.25, until: Date.now() - 6 * Hour });
const random = seededRandom(77);

/** The stream that led to the estate: for half the keys an earlier, opposite result two days before the final one. */
function streamOf(evaluations: readonly ConfigEvaluation[]): ComplianceChangeEvent[] {
  const events: ComplianceChangeEvent[] = [];
  let n = 0;
  const event = (e: ConfigEvaluation, compliance: ConfigEvaluation['compliance'], at: number) =>
    complianceEvent({ id: `stream-${++n}`, account: e.accountId, region: e.region, configRuleName: e.configRuleName, resourceType: e.resourceType, resourceId: e.resourceId, compliance, at });
  for (const e of evaluations) {
    if (random() < 0.5) events.push(event(e, e.compliance === 'NON_COMPLIANT' ? 'COMPLIANT' : 'NON_COMPLIANT', e.orderingTime - 2 * 24 * Hour));
    events.push(event(e, e.compliance, e.orderingTime));
  }
  return events.sort((a, b) => Date.parse(a.detail.newEvaluationResult!.evaluationResultIdentifier.orderingTimestamp) - Date.parse(b.detail.newEvaluationResult!.evaluationResultIdentifier.orderingTimestamp));
}

/** Parts of a key as a comparable string (columns, never a split evaluation key). */
// The key of a row's own columns, as the oracle builds it (never parsed back).
const parts = (r: { account_id: string; region: string; rule: string; resource_type: string; resource_id: string }) => evaluationKeyOf(r.account_id, r.region, r.rule, r.resource_type, r.resource_id);

describe('reconcile repairs what the stream missed', () => {
  let aws: AwsJsonServer;
  let harness: SlackHarness;
  let openSearchUrl: string;
  const prefix = `dw-rc-${randomBytes(3).toString('hex')}`;
  const full = streamOf(estate.evaluations());
  const missing = new Set(full.filter(() => random() < 0.05).map((e) => e.id));
  const metrics = new ReconcileMetrics(new Registry());
  let report: ReconcileReport;

  beforeAll(async () => {
    openSearchUrl = await ensureOpenSearch();
    const started = await startAwsServer(estate);
    aws = started.server;
    harness = await SlackHarness.start({ env: { ...started.env, OPENSEARCH_URL: openSearchUrl, OPENSEARCH_INDEX_PREFIX: prefix } });
    for (const hook of harness.runtime.migrationHooks) await hook();
    const delivered = full.filter((e) => !missing.has(e.id));
    for (let i = 0; i < delivered.length; i += 500) await harness.process(delivered.slice(i, i + 500));
    report = await reconcile(harness.runtime, { metrics });
  }, 240_000);

  afterAll(async () => {
    await harness?.close();
    await aws?.close();
    if (openSearchUrl) await dropIndexPrefix(openSearchUrl, prefix);
  });

  it('5% of the stream lost, then reconcile: the state equals the oracle of the full stream', async () => {
    expect(missing.size).toBeGreaterThan(20);
    const environment = new Map(Accounts.map((a) => [a.id, a.environment]));
    const oracle = expectedFindings(full, (event, rule) => harness.runtime.catalog.lookup(rule).rule.scope === 'All' || environment.get(event.detail.awsAccountId) === 'production');
    const expectedOpen = oracle.filter((f) => f.status === 'open').map((f) => f.key).sort();
    const open = await harness.database.db.selectFrom('findings').select(['account_id', 'region', 'rule', 'resource_type', 'resource_id']).where('status', '=', 'open').execute();
    expect(open.map(parts).sort()).toEqual(expectedOpen);
    const evaluations = await harness.database.db.selectFrom('evaluations').select(['account_id', 'region', 'rule', 'resource_type', 'resource_id', 'compliance']).execute();
    const finalByParts = new Map(estate.evaluations().map((e) => [evaluationKeyOf(e.accountId, e.region, normalizeRuleName(e.configRuleName), e.resourceType, e.resourceId), e.compliance]));
    expect(new Map(evaluations.map((r) => [parts(r), r.compliance]))).toEqual(finalByParts);
  });

  it('reports per account and rule, and the drift rate on /metrics and in OpenSearch', async () => {
    expect(report.backfill).toBe(false);
    expect(report.totals.differences).toBeGreaterThan(0);
    expect(report.totals.differences).toBeLessThanOrEqual(missing.size);
    expect(report.totals.evaluations).toBe(estate.size);
    expect(report.totals.unchanged + report.totals.differences + report.totals.newerInStore).toBe(estate.size);
    expect(report.driftRate).toBeCloseTo(report.totals.differences / estate.size, 10);
    const sum = report.tallies.reduce((n, t) => n + t.opened, 0);
    expect(sum).toBe(report.totals.opened);
    expect((await metrics.driftRatio.get()).values[0]!.value).toBeCloseTo(report.driftRate, 10);
    const response = await fetch(`${openSearchUrl}/${reconcileIndexName(prefix)}/_doc/${encodeURIComponent(report.runId)}`);
    const doc = (await response.json()) as { _source: { driftRate: number; differences: number; kind: string } };
    expect(doc._source).toMatchObject({ kind: 'run', differences: report.totals.differences });
    expect(doc._source.driftRate).toBeCloseTo(report.driftRate, 10);
    await fetch(`${openSearchUrl}/${prefix}-events-*/_refresh`, { method: 'POST' });
    expect(await countDocuments(openSearchUrl, `${prefix}-events-*`, { term: { source: 'reconcile' } })).toBe(report.totals.differences);
  });

  it('never moves a key backwards: a stored result newer than the aggregator answer wins', async () => {
    const target = estate.evaluations().find((e) => e.compliance === 'COMPLIANT' && e.resourceType !== 'AWS::::Account')!;
    // The stream saw it turn NON_COMPLIANT after the aggregator's item was captured.
    await harness.process([complianceEvent({ id: 'newer-than-aggregator', account: target.accountId, region: target.region, configRuleName: target.configRuleName, resourceType: target.resourceType, resourceId: target.resourceId, compliance: 'NON_COMPLIANT', at: Date.now() - Hour })]);
    const again = await reconcile(harness.runtime);
    expect(again.totals).toMatchObject({ differences: 0, newerInStore: 1 });
    const row = await harness.database.db.selectFrom('evaluations').select(['compliance', 'event_id']).where('resource_id', '=', target.resourceId).where('region', '=', target.region).where('rule', '=', normalizeRuleName(target.configRuleName)).executeTakeFirstOrThrow();
    expect(row).toEqual({ compliance: 'NON_COMPLIANT', event_id: 'newer-than-aggregator' });
  });

  it('a dry run changes nothing; --account and --rule narrow a run; a result Config no longer reports resolves as DELETED', async () => {
    const open = await harness.database.db.selectFrom('findings').select(['finding_id', 'account_id', 'region', 'rule', 'config_rule_name', 'resource_type', 'resource_id']).where('status', '=', 'open').where('account_id', '=', Accounts[0]!.id).limit(1).executeTakeFirstOrThrow();
    estate.remove({ accountId: open.account_id, region: open.region, configRuleName: open.config_rule_name, resourceType: open.resource_type, resourceId: open.resource_id });
    const before = await harness.database.db.selectFrom('reconcile_runs' as never).select('run_id' as never).execute();
    const dry = await reconcile(harness.runtime, { dryRun: true });
    expect(dry.totals).toMatchObject({ differences: 1, gone: 1 });
    expect(await harness.database.db.selectFrom('reconcile_runs' as never).select('run_id' as never).execute()).toEqual(before);
    expect((await harness.database.db.selectFrom('findings').select('status').where('finding_id', '=', open.finding_id).executeTakeFirstOrThrow()).status).toBe('open');

    const otherAccount = await reconcile(harness.runtime, { account: Accounts[1]!.id });
    expect(otherAccount.accounts).toBe(1);
    expect(otherAccount.totals.differences).toBe(0);
    expect(new Set(otherAccount.tallies.map((t) => t.accountId))).toEqual(new Set([Accounts[1]!.id]));

    const oneRule = await reconcile(harness.runtime, { account: open.account_id, rule: open.rule });
    expect(new Set(oneRule.tallies.map((t) => t.rule))).toEqual(new Set([open.rule]));
    expect(oneRule.totals).toMatchObject({ differences: 1, gone: 1, resolved: 1 });
    const finding = await harness.database.db.selectFrom('findings').select(['status', 'resolution']).where('finding_id', '=', open.finding_id).executeTakeFirstOrThrow();
    expect(finding).toEqual({ status: 'resolved', resolution: 'DELETED' });
  });

  it('inside run: the schedule does nothing until the last run is older than the interval, then reconciles', async () => {
    const db = harness.database.db.withTables<{ reconcile_runs: { run_id: string; status: string; finished_at: Date } }>();
    const runs = async () => (await db.selectFrom('reconcile_runs').select('run_id').where('status', '=', 'finished').execute()).length;
    const before = await runs();
    const stop = new AbortController();
    const schedule = createReconcileSchedule(harness.runtime, pino({ level: 'silent' }));
    const running = schedule.run(stop.signal);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await runs()).toBe(before);
    stop.abort();
    await running;

    await db.updateTable('reconcile_runs').set({ finished_at: new Date(Date.now() - 2 * 86_400_000) }).execute();
    const again = new AbortController();
    const due = createReconcileSchedule(harness.runtime, pino({ level: 'silent' }));
    const loop = due.run(again.signal);
    const deadline = Date.now() + 60_000;
    while ((await runs()) === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    again.abort();
    await loop;
    expect(await runs()).toBe(before + 1);
  });

  it('an active account the aggregator reports nothing for keeps its evaluations; once the organization closed it, they resolve', async () => {
    const silent = Accounts[2]!.id;
    const openFindings = () => harness.database.db.selectFrom('findings').select('finding_id').where('status', '=', 'open').where('account_id', '=', silent).execute();
    const open = (await openFindings()).length;
    expect(open).toBeGreaterThan(0);
    // Its recorder stopped recording AWS::Config::ResourceCompliance: every item of the account disappears at once.
    for (const e of estate.evaluations().filter((e) => e.accountId === silent)) estate.remove(e);

    const kept = await reconcile(harness.runtime, { account: silent });
    expect(kept.totals).toMatchObject({ differences: 0, gone: 0 });
    expect((await openFindings()).length).toBe(open);

    const now = new Date();
    await harness.database.db.withTables<{ accounts: Record<string, unknown> }>().insertInto('accounts')
      .values({ account_id: silent, name: 'closed', state: 'CLOSED', environment: 'production', first_seen_at: now, last_seen_at: now, updated_at: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ state: 'CLOSED' }))
      .execute();
    const closed = await reconcile(harness.runtime, { account: silent });
    expect(closed.totals.gone).toBeGreaterThan(0);
    expect((await openFindings()).length).toBe(0);
  });
});
