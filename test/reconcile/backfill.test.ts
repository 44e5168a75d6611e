import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { ConfigEstate } from '../aws-server/config/config-estate.ts';
import type { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { Accounts, SlackHarness } from '../notify/slack/slack-harness.ts';
import type { ReconcileReport } from '../../pipeline/reconcile/reconciler.ts';
import { BackfillDigestRule } from '../../pipeline/notify/backfill-digest.ts';
import { keyOf, reconcile, startAwsServer } from './support/aws-harness.ts';

// 5 accounts (one development) x 3 regions x 30 rules: about 600 evaluations, every kind of rule and scope.
const estate = ConfigEstate.generate({ accountIds: Accounts.map((a) => a.id), regions: 3, rules: 30, seed: 5, nonCompliantRate: 0.3 });

describe('first reconcile into an empty store = the backfill', () => {
  let aws: AwsJsonServer;
  let harness: SlackHarness;
  let report: ReconcileReport;

  beforeAll(async () => {
    const started = await startAwsServer(estate);
    aws = started.server;
    harness = await SlackHarness.start({ env: started.env });
    report = await reconcile(harness.runtime);
  });

  const pendingDigests = async () =>
    Number((await harness.database.db.withTables<{ slack_digests: { state: string } }>().selectFrom('slack_digests').select((eb) => eb.fn.countAll<string>().as('n')).where('state', '<>', 'posted').executeTakeFirstOrThrow()).n);

  afterAll(async () => {
    await harness?.close();
    await aws?.close();
  });

  it('opens exactly the aggregator NON_COMPLIANT set that is in scope, with the catalog severity', async () => {
    const environment = new Map(Accounts.map((a) => [a.id, a.environment]));
    const expected = new Map<string, string>();
    for (const e of estate.evaluations()) {
      if (e.compliance !== 'NON_COMPLIANT') continue;
      const { rule } = harness.runtime.catalog.lookup(normalizeRuleName(e.configRuleName));
      const inScope = rule.scope === 'All' || environment.get(e.accountId) === 'production';
      if (inScope) expected.set(keyOf(e), rule.severity);
    }
    const open = await harness.database.db.selectFrom('findings').select(['evaluation_key', 'severity', 'rule', 'environment']).where('status', '=', 'open').execute();
    expect(new Map(open.map((f) => [f.evaluation_key, f.severity]))).toEqual(expected);
    expect(open.length).toBe(report.totals.opened);
    // The development account's ProductionOnly rules are recorded, not opened.
    const outOfScope = estate.evaluations().filter((e) => e.compliance === 'NON_COMPLIANT' && environment.get(e.accountId) === 'development');
    expect(outOfScope.length).toBeGreaterThan(0);
    expect(open.some((f) => f.environment === 'development' && harness.runtime.catalog.lookup(f.rule).rule.scope === 'ProductionOnly')).toBe(false);
    expect(await harness.database.db.selectFrom('findings').select('finding_id').where('status', '=', 'resolved').execute()).toEqual([]);
  });

  it('records every evaluation the aggregator reports, so the compliance rate covers every pair', async () => {
    const rows = await harness.database.db.selectFrom('evaluations').select(['evaluation_key', 'compliance', 'in_scope']).execute();
    expect(new Map(rows.map((r) => [r.evaluation_key, r.compliance]))).toEqual(new Map(estate.evaluations().map((e) => [keyOf(e), e.compliance])));
    expect(report).toMatchObject({ backfill: true, notify: 'digest', dryRun: false, resumed: false });
    expect(report.totals).toMatchObject({ evaluations: estate.size, differences: estate.size, unchanged: 0, gone: 0 });
    expect(report.driftRate).toBe(1);
  });

  it('marks every event it fed as source reconcile and every opening intent as a digest member', async () => {
    const intents = await harness.database.db.selectFrom('notification_outbox').select(['kind', 'payload']).execute();
    expect(intents.length).toBe(report.totals.opened);
    for (const intent of intents) expect(intent.payload).toMatchObject({ kind: 'finding.opened', notify: 'digest' });
    const events = await harness.database.db.selectFrom('evaluations').select('event_id').execute();
    expect(events.every((e) => e.event_id.startsWith('reconcile-'))).toBe(true);
  });

  it('posts ONE digest per channel, whatever the rules, never one alert per finding', async () => {
    const notifier = harness.notifier();
    await harness.drainUntilSettled(notifier);
    // Digests are posted after the intents settle, paced per channel: drain until none waits.
    const signal = new AbortController().signal;
    for (let round = 0; round < 500 && (await pendingDigests()) > 0; round++) {
      await notifier.drainOnce(signal);
      harness.clock.advance(20_000);
    }
    const posts = harness.slack.calls.filter((c) => c.method === 'chat.postMessage' && c.status === 200);
    const db = harness.database.db.withTables<{ slack_digests: { digest_id: string; channel: string; rule: string; state: string }; slack_messages: { role: string; channel: string; rule: string; digest_id: string | null } }>();
    const members = await db.selectFrom('slack_messages').select(['role', 'channel', 'rule', 'digest_id']).execute();
    expect(members.length).toBeGreaterThanOrEqual(report.totals.opened);
    expect(members.every((m) => m.role === 'digest-member')).toBe(true);
    const digests = await db.selectFrom('slack_digests').select(['digest_id', 'channel', 'rule', 'state']).execute();
    expect(digests.every((d) => d.state === 'posted' && d.rule === BackfillDigestRule)).toBe(true);
    const channels = new Set(members.map((m) => m.channel));
    expect(digests.length).toBe(channels.size);
    expect(new Set(digests.map((d) => d.channel)).size).toBe(digests.length);
    expect(posts.length).toBe(digests.length);
    // Each digest holds its channel's findings of several rules (the old unit was one digest per channel and rule).
    const byDigest = new Map(digests.map((d) => [d.digest_id, d.channel]));
    for (const m of members) expect(byDigest.get(m.digest_id!)).toBe(m.channel);
    const rulesPerChannel = (channel: string) => new Set(members.filter((m) => m.channel === channel).map((m) => m.rule)).size;
    expect(Math.max(...[...channels].map(rulesPerChannel))).toBeGreaterThan(1);
    // Worded as the backfill it is, not as a flood of one rule.
    const texts = harness.slack.messages().map((m) => m.text ?? '');
    expect(texts.length).toBe(digests.length);
    expect(texts.every((t) => t.includes('first reconcile with AWS Config') && !t.includes(' of *'))).toBe(true);
  });

  it('a second run finds nothing to do: drift 0, nothing opened or posted', async () => {
    const postCount = () => harness.slack.calls.filter((c) => c.method === 'chat.postMessage').length;
    const posts = postCount();
    const again = await reconcile(harness.runtime);
    expect(again).toMatchObject({ backfill: false, notify: 'alert' });
    expect(again.totals).toMatchObject({ evaluations: estate.size, unchanged: estate.size, differences: 0, opened: 0, resolved: 0 });
    expect(again.driftRate).toBe(0);
    await harness.drainUntilSettled(harness.notifier());
    expect(postCount()).toBe(posts);
  });
});

describe('backfill with DRIFTWATCH_RECONCILE_BACKFILL=silent', () => {
  it('opens the findings and posts nothing', async () => {
    const small = ConfigEstate.generate({ accountIds: Accounts.slice(0, 2).map((a) => a.id), regions: 1, rules: 10, seed: 9, nonCompliantRate: 0.5 });
    const { server, env } = await startAwsServer(small);
    const harness = await SlackHarness.start({ env: { ...env, DRIFTWATCH_RECONCILE_BACKFILL: 'silent' } });
    try {
      const report = await reconcile(harness.runtime);
      expect(report.totals.opened).toBeGreaterThan(0);
      await harness.drainUntilSettled(harness.notifier());
      expect(await harness.outboxStatuses()).toEqual({ suppressed: report.totals.opened });
      expect(harness.slack.calls.filter((c) => c.method === 'chat.postMessage')).toEqual([]);
    } finally {
      await harness.close();
      await server.close();
    }
  });
});
