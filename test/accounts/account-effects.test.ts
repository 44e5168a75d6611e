import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@opensearch-project/opensearch';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncAccounts } from '../../pipeline/accounts/accounts-sync.ts';
import { createFindingFactsSync } from '../../pipeline/sinks/opensearch/finding-facts-sync.ts';
import type { AccountsSyncSummary } from '../../pipeline/accounts/accounts-sync.ts';
import { awsClientConfig } from '../../pipeline/reconcile/aws-call.ts';
import { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { organizationsService } from '../aws-server/organizations/organizations-service.ts';
import { GeneratedOrganization } from '../aws-server/organizations/generated-organization.ts';
import { SlackHarness } from '../notify/slack/slack-harness.ts';
import { assertionClient, dropIndices, testIndexPrefix } from '../opensearch/support/opensearch-test-index.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';

const TagKeys = { environment: 'Environment', owner: 'Owner', slackChannel: 'SlackChannel' };
const Lb = 'AWS::ElasticLoadBalancingV2::LoadBalancer';

/**
 * The account effects against the real pipeline, Postgres, OpenSearch (9200) and the local Slack server: a new owner
 * reaches the OpenSearch documents of open findings, and an account back in production gets its ProductionOnly
 * findings again.
 */
describe('account effects: new owner on OpenSearch, back to production', () => {
  const org = GeneratedOrganization.generate({ accounts: 4, seed: 8, untaggedEvery: 1_000 });
  const account = org.accounts.find((a) => a.tags.get('Environment') === 'Production')!;
  const prefix = testIndexPrefix();
  let server: AwsJsonServer;
  let harness: SlackHarness;
  let client: OrganizationsClient;
  let search: Client;
  let env: Record<string, string>;
  const logger = pino({ level: 'silent' });
  const resync = () => syncAccounts({ runtime: harness.runtime, client, tagKeys: TagKeys, logger }, new AbortController().signal);
  const at = Date.now() - 3_600_000;
  const event = (id: string, rule: string, resourceId: string, compliance: 'NON_COMPLIANT' | 'COMPLIANT' = 'NON_COMPLIANT', when = at) =>
    complianceEvent({ id, account: account.id, configRuleName: `OrgConfigRule-${rule}-ab12cd`, resourceType: Lb, resourceId, compliance, at: when });

  async function doc(findingId: string): Promise<Record<string, unknown>> {
    const response = await search.transport.request({ method: 'GET', path: `/${prefix}-findings/_doc/${encodeURIComponent(findingId)}` });
    return (response.body as { _source: Record<string, unknown> })._source;
  }

  async function findings(resourceId: string) {
    return harness.database.db.selectFrom('findings').select(['finding_id', 'status', 'resolution', 'owner', 'opened_at', 'config_rule_name']).where('resource_id', '=', resourceId).orderBy('opened_at').orderBy('status').execute();
  }

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    search = assertionClient(url);
    server = await AwsJsonServer.start([organizationsService(org)]);
    const dir = await mkdtemp(join(tmpdir(), 'dw-effects-'));
    const empty = join(dir, 'accounts.json');
    await writeFile(empty, '{}');
    harness = await SlackHarness.start({ env: { DRIFTWATCH_ACCOUNTS: empty, OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix } });
    for (const hook of harness.runtime.migrationHooks) await hook();
    env = { DATABASE_URL: harness.database.url, DRIFTWATCH_ACCOUNTS: empty, ORGANIZATIONS_ENDPOINT: server.endpoint, OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix, LOG_LEVEL: 'silent' };
    client = new OrganizationsClient(awsClientConfig({ region: 'us-east-1', endpoint: server.endpoint, sessionName: 'test' }));
    await resync();
    expect(harness.runtime.accounts.lookup(account.id).account.environment).toBe('production');
  }, 240_000);

  afterAll(async () => {
    client?.destroy();
    await harness?.close();
    await server?.close();
    if (search) {
      await dropIndices(search, prefix);
      await search.close();
    }
  });

  it('a new Owner tag: open findings\' OpenSearch documents carry the new owner (accounts sync), resolved ones keep theirs', async () => {
    const oldOwner = account.tags.get('Owner')!;
    await harness.process([event('o1', 's3-bucket-public-read-prohibited', 'lb-open'), event('o2', 's3-bucket-public-read-prohibited', 'lb-fixed')]);
    await harness.process([event('o3', 's3-bucket-public-read-prohibited', 'lb-fixed', 'COMPLIANT', at + 60_000)]);
    const [open] = await findings('lb-open');
    const [fixed] = await findings('lb-fixed');
    expect((await doc(open!.finding_id)).owner).toBe(oldOwner);

    org.setTag(account.id, 'Owner', 'platform-team');
    const result = await runCli(['accounts', 'sync', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as AccountsSyncSummary & { opensearch?: { synced: number; failed: number } };
    expect(summary.reassigned).toBe(1);
    expect(summary.opensearch).toEqual({ synced: 1, failed: 0 });
    expect(await doc(open!.finding_id)).toMatchObject({ owner: 'platform-team', status: 'open', severity: 'High' });
    expect(await doc(fixed!.finding_id)).toMatchObject({ owner: oldOwner, status: 'resolved' });
    expect((await findings('lb-open'))[0]!.owner).toBe('platform-team');
    // The CLI synced in its own process: this runtime reads the registry again, as `run` does on its schedule.
    await harness.runtime.accountSource.refresh();
  });

  it('re-tagged development then production again: its ProductionOnly findings resolve, then open again at once, each once', async () => {
    await harness.process([event('p1', 'elb-logging-enabled', 'lb-prod-only')]);
    const [first] = await findings('lb-prod-only');
    expect(first).toMatchObject({ status: 'open' });
    await harness.drainUntilSettled(harness.notifier());
    const calls = (method: string) => harness.slack.calls.filter((c) => c.method === method && c.status === 200).length;
    const postsBefore = calls('chat.postMessage');

    org.setTag(account.id, 'Environment', 'development');
    expect((await resync()).resolvedOutOfScope).toBe(1);
    // Non-compliant while the account is development: recorded, no finding.
    await harness.process([event('p2', 'elb-logging-enabled', 'lb-dev-era', 'NON_COMPLIANT', at + 120_000)]);
    expect(await findings('lb-dev-era')).toEqual([]);
    expect((await doc(first!.finding_id)).status).toBe('resolved');
    await harness.drainUntilSettled(harness.notifier());
    const updatesWhileDevelopment = calls('chat.update');

    org.setTag(account.id, 'Environment', 'Production');
    const back = await resync();
    expect(back.changes).toEqual([{ accountId: account.id, field: 'environment', oldValue: 'development', newValue: 'production' }]);
    expect(back).toMatchObject({ resolvedOutOfScope: 0, reopenedInScope: 2 });
    const again = await findings('lb-prod-only');
    expect(again.map((f) => f.status)).toEqual(['resolved', 'open']);
    expect(again[0]).toMatchObject({ finding_id: first!.finding_id, resolution: 'OUT_OF_SCOPE' });
    // A new episode, as of the result (the SLA counts from when the resource became non-compliant), under its member rule name.
    expect(again[1]!.finding_id).not.toBe(first!.finding_id);
    expect(again[1]!.opened_at.getTime()).toBeGreaterThan(first!.opened_at.getTime());
    expect(again[1]!.opened_at.getTime()).toBeLessThan(at + 10);
    expect(again[1]!.config_rule_name).toBe('OrgConfigRule-elb-logging-enabled-ab12cd');
    const devEra = await findings('lb-dev-era');
    expect(devEra.map((f) => f.status)).toEqual(['open']);
    expect(await doc(again[1]!.finding_id)).toMatchObject({ status: 'open', environment: 'production', owner: 'platform-team' });
    expect(await doc(devEra[0]!.finding_id)).toMatchObject({ status: 'open', resourceId: 'lb-dev-era' });

    // Once only: further syncs, and the stream still saying NON_COMPLIANT, open nothing more.
    expect((await resync()).reopenedInScope).toBe(0);
    await harness.process([event('p3', 'elb-logging-enabled', 'lb-prod-only', 'NON_COMPLIANT', Date.now())]);
    expect((await resync()).reopenedInScope).toBe(0);
    expect((await findings('lb-prod-only')).filter((f) => f.status === 'open')).toHaveLength(1);
    // Back in Slack: the finding that was resolved out of scope flaps (its old message is edited back to open, as the
    // notifier does for a quick reopen); the one never alerted before is posted.
    await harness.drainUntilSettled(harness.notifier());
    expect(calls('chat.postMessage') - postsBefore).toBe(1);
    expect(calls('chat.update') - updatesWhileDevelopment).toBe(1);
    expect(harness.slack.messages().filter((m) => /lb-dev-era/.test(m.text ?? ''))).toHaveLength(1);
  });

  it("later events never write an old owner back: the cached finding takes the registry's, and a writer whose registry lags marks the document for the facts sync", async () => {
    // The track cache has held lb-open's finding since before the owner moved; the runtime's registry is current.
    const [open] = await findings('lb-open');
    expect(open).toMatchObject({ status: 'open', owner: 'platform-team' });
    await harness.process([event('o4', 's3-bucket-public-read-prohibited', 'lb-open', 'NON_COMPLIANT', at + 300_000)]);
    expect(await doc(open!.finding_id)).toMatchObject({ owner: 'platform-team', status: 'open' });

    // The owner moves again in another process; this runtime has not read the registry since.
    org.setTag(account.id, 'Owner', 'team-three');
    const synced = await runCli(['accounts', 'sync', '--json'], env);
    expect(synced.code, synced.stderr).toBe(0);
    expect(await doc(open!.finding_id)).toMatchObject({ owner: 'team-three' });
    await harness.process([event('o5', 's3-bucket-public-read-prohibited', 'lb-open', 'COMPLIANT', at + 360_000)]);
    // The resolve wrote the document with the owner this writer knew, and marked the finding: Postgres holds a newer one.
    expect(await doc(open!.finding_id)).toMatchObject({ owner: 'platform-team', status: 'resolved' });
    const marked = await harness.database.db
      .withTables<{ findings: { finding_id: string; facts_dirty: boolean; owner: string } }>()
      .selectFrom('findings')
      .select(['facts_dirty', 'owner'])
      .where('finding_id', '=', open!.finding_id)
      .executeTakeFirstOrThrow();
    expect(marked).toEqual({ facts_dirty: true, owner: 'team-three' });
    const factsSync = createFindingFactsSync(harness.runtime.settings, harness.database.db, logger)!;
    try {
      expect(await factsSync.syncOnce(new AbortController().signal)).toEqual({ synced: 1, failed: 0 });
    } finally {
      await factsSync.close();
    }
    expect(await doc(open!.finding_id)).toMatchObject({ owner: 'team-three', status: 'resolved', resolution: 'COMPLIANT' });
  });
});
