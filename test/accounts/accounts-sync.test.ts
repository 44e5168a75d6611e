import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import { syncAccounts } from '../../pipeline/accounts/accounts-sync.ts';
import type { AccountsSyncSummary } from '../../pipeline/accounts/accounts-sync.ts';
import { environmentOfTag, taggedFields } from '../../pipeline/accounts/organization-account.ts';
import { awsClientConfig } from '../../pipeline/reconcile/aws-call.ts';
import type { AccountListItem } from '../../pipeline/cli/commands/accounts-command.ts';
import { AwsJsonServer } from '../aws-server/aws-json-server.ts';
import { organizationsService } from '../aws-server/organizations/organizations-service.ts';
import { GeneratedOrganization } from '../aws-server/organizations/generated-organization.ts';
import { SlackHarness } from '../notify/slack/slack-harness.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const TagKeys = { environment: 'Environment', owner: 'Owner', slackChannel: 'SlackChannel' };

describe('tags to registry fields', () => {
  it.each([
    ['Production', 'production'], ['prod', 'production'], ['stg', 'staging'], ['Staging', 'staging'], ['Dev', 'development'],
    ['sandbox', 'sandbox'], ['qa', 'unknown'], [undefined, 'unknown'], [' PRD ', 'production'],
  ])('Environment=%s is %s', (tag, environment) => {
    expect(environmentOfTag(tag)).toBe(environment);
  });

  it('uses the configured tag keys and gives a bare channel name its #', () => {
    expect(taggedFields({ Env: 'prod', Team: 'payments', Alerts: 'pay-alerts' }, { environment: 'Env', owner: 'Team', slackChannel: 'Alerts' })).toEqual({
      environment: 'production', environmentTag: 'prod', owner: 'payments', slackChannel: '#pay-alerts',
    });
    expect(taggedFields({}, TagKeys)).toEqual({ environment: 'unknown', environmentTag: null, owner: null, slackChannel: null });
  });
});

describe('driftwatch accounts sync | list | export | history (CLI, local Organizations server)', () => {
  const org = GeneratedOrganization.generate({ accounts: 12, seed: 3, untaggedEvery: 5 });
  let server: AwsJsonServer;
  let database: TestDatabase;
  let env: Record<string, string>;
  let dir: string;

  beforeAll(async () => {
    server = await AwsJsonServer.start([organizationsService(org)]);
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'dw-accounts-'));
    env = { DATABASE_URL: database.url, ORGANIZATIONS_ENDPOINT: server.endpoint, LOG_LEVEL: 'silent' };
  });

  afterAll(async () => {
    await database?.drop();
    await server?.close();
  });

  const sync = async (extra: Record<string, string> = {}) => {
    const result = await runCli(['accounts', 'sync', '--json'], { ...env, ...extra });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as AccountsSyncSummary;
  };
  const list = async (extra: Record<string, string> = {}) => JSON.parse((await runCli(['accounts', 'list', '--json'], { ...env, ...extra })).stdout) as AccountListItem[];

  it('reads every account with its OU path and tags (all tag pages), despite a throttling burst', async () => {
    server.throttle(6, 'ListTagsForResource', 'TooManyRequestsException');
    const summary = await sync();
    expect(summary.accounts).toBe(12);
    expect(server.callsOf('ListTagsForResource').filter((c) => c.error === 'TooManyRequestsException')).toHaveLength(6);
    expect(summary.changes.filter((c) => c.field === 'added')).toHaveLength(12);
    const items = await list();
    expect(items.map((a) => a.id)).toEqual(org.accounts.map((a) => a.id).sort());
    for (const account of org.accounts) {
      const item = items.find((i) => i.id === account.id)!;
      expect(item).toMatchObject({ name: account.name, environment: environmentOfTag(account.tags.get('Environment')), owner: account.tags.get('Owner'), slackChannel: account.tags.get('SlackChannel'), ouPath: org.pathOf(account.id), status: 'ACTIVE', source: 'organizations' });
    }
    expect(items.filter((i) => i.environment === 'unknown')).toHaveLength(2);
    const stored = await database.db.withTables<{ accounts: { account_id: string; tags: Record<string, string> } }>().selectFrom('accounts').select(['account_id', 'tags']).execute();
    // Four tags, two per page: a client that ignored NextToken would have lost CostCenter and SlackChannel.
    expect(stored.every((row) => Object.keys(row.tags).length === (org.account(row.account_id).tags.size))).toBe(true);
  });

  it('records each change with its old and new value, marks suspended, closed and removed accounts, deletes nothing', async () => {
    const [a, b, c, d] = org.accounts;
    org.setTag(a!.id, 'Owner', 'new-owner');
    org.setTag(a!.id, 'SlackChannel', '#new-owner-alerts');
    org.setTag(b!.id, 'Environment', 'Dev');
    c!.state = 'SUSPENDED';
    d!.state = 'CLOSED';
    const removed = org.accounts[4]!.id;
    org.remove(removed);
    const summary = await sync();
    const before = (field: string, id: string) => summary.changes.find((ch) => ch.accountId === id && ch.field === field)?.oldValue;
    const changes = summary.changes.map((ch) => `${ch.accountId} ${ch.field} ${ch.oldValue} -> ${ch.newValue}`).sort();
    const expected = [
      `${a!.id} owner ${before('owner', a!.id)} -> new-owner`,
      `${a!.id} slack_channel ${before('slack_channel', a!.id)} -> #new-owner-alerts`,
      `${c!.id} state ACTIVE -> SUSPENDED`,
      `${d!.id} state ACTIVE -> CLOSED`,
      `${removed} state ACTIVE -> REMOVED`,
    ];
    // b was tagged Dev: a change only if it was not development already.
    if (before('environment', b!.id) !== undefined) expected.push(`${b!.id} environment ${before('environment', b!.id)} -> development`);
    expect(before('owner', a!.id)).not.toBe('new-owner');
    expect(changes).toEqual(expected.sort());
    const items = await list();
    expect(items).toHaveLength(12);
    expect(items.find((i) => i.id === c!.id)!.status).toBe('SUSPENDED');
    expect(items.find((i) => i.id === d!.id)!.status).toBe('CLOSED');
    expect(items.find((i) => i.id === removed)!.status).toBe('REMOVED');
    const history = JSON.parse((await runCli(['accounts', 'history', '--account', a!.id, '--json'], env)).stdout) as { field: string; oldValue: string | null; newValue: string | null }[];
    expect(history.map((h) => h.field)).toEqual(['added', 'owner', 'slack_channel']);
    expect(history[1]).toMatchObject({ newValue: 'new-owner' });
    // Nothing changed since: a sync records nothing.
    expect((await sync()).changes).toEqual([]);
  });

  it('the file overrides an account wholesale; export writes the registry in force in the file format', async () => {
    const target = org.accounts[5]!;
    const file = join(dir, 'accounts.yaml');
    await writeFile(file, `accounts:\n  - { id: "${target.id}", name: hand-written, environment: production, owner: platform, slackChannel: "#platform" }\n`);
    const items = await list({ DRIFTWATCH_ACCOUNTS: file });
    expect(items.find((i) => i.id === target.id)).toMatchObject({ name: 'hand-written', environment: 'production', owner: 'platform', source: 'file-override' });
    const output = join(dir, 'export.yaml');
    const exported = await runCli(['accounts', 'export', '--output', output], { ...env, DRIFTWATCH_ACCOUNTS: file });
    expect(exported.code, exported.stderr).toBe(0);
    const registry = AccountRegistryFile.parse(parse(await readFile(output, 'utf8')));
    expect(registry.accounts.map((a) => a.id)).toEqual(items.map((i) => i.id));
    expect(registry.accounts.find((a) => a.id === target.id)!.environment).toBe('production');
    expect(registry.accounts.filter((a) => a.status === 'SUSPENDED')).toHaveLength(1);
    // What the CDK app derives from it: ProductionOnly rules exclude every account that is not production.
    const excluded = registry.accounts.filter((a) => a.environment !== 'production' && a.environment !== 'unknown').map((a) => a.id);
    expect(excluded).toEqual(items.filter((i) => i.environment !== 'production' && i.environment !== 'unknown').map((i) => i.id));
  });

  it('a bad setting is one line naming it', async () => {
    const result = await runCli(['accounts', 'sync'], { ...env, DRIFTWATCH_ORGANIZATIONS_ROLE_ARN: 'not-an-arn' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('DRIFTWATCH_ORGANIZATIONS_ROLE_ARN');
  });
});

describe('an account re-tagged from production to development', () => {
  const org = GeneratedOrganization.generate({ accounts: 4, seed: 8, untaggedEvery: 1_000 });
  const account = org.accounts.find((a) => a.tags.get('Environment') === 'Production')!;
  let server: AwsJsonServer;
  let harness: SlackHarness;
  let client: OrganizationsClient;
  const logger = pino({ level: 'silent' });
  const resync = () => syncAccounts({ runtime: harness.runtime, client, tagKeys: TagKeys, logger }, new AbortController().signal);

  beforeAll(async () => {
    server = await AwsJsonServer.start([organizationsService(org)]);
    const dir = await mkdtemp(join(tmpdir(), 'dw-retag-'));
    const empty = join(dir, 'accounts.json');
    await writeFile(empty, '{}');
    harness = await SlackHarness.start({ env: { DRIFTWATCH_ACCOUNTS: empty } });
    client = new OrganizationsClient(awsClientConfig({ region: 'us-east-1', endpoint: server.endpoint, sessionName: 'test' }));
    await resync();
    expect(harness.runtime.accounts.lookup(account.id).account.environment).toBe('production');
    const at = Date.now() - 3_600_000;
    const event = (id: string, rule: string, resourceId: string, resourceType: string) =>
      complianceEvent({ id, account: account.id, configRuleName: `OrgConfigRule-${rule}-ab12cd`, resourceType, resourceId, compliance: 'NON_COMPLIANT', at });
    await harness.process([
      event('e1', 'elb-logging-enabled', 'lb-1', 'AWS::ElasticLoadBalancingV2::LoadBalancer'),
      event('e2', 'elb-logging-enabled', 'lb-2', 'AWS::ElasticLoadBalancingV2::LoadBalancer'),
      event('e3', 'db-instance-backup-enabled', 'db-1', 'AWS::RDS::DBInstance'),
      event('e4', 's3-bucket-public-read-prohibited', 'bucket-1', 'AWS::S3::Bucket'),
    ]);
    await harness.drainUntilSettled(harness.notifier());
  }, 120_000);

  afterAll(async () => {
    client?.destroy();
    await harness?.close();
    await server?.close();
  });

  it('resolves its ProductionOnly findings OUT_OF_SCOPE exactly once, edits their Slack messages, keeps the others open', async () => {
    const posted = harness.slack.calls.filter((c) => c.method === 'chat.postMessage').length;
    expect(posted).toBe(4);
    org.setTag(account.id, 'Environment', 'development');
    const first = await resync();
    expect(first.changes).toEqual([{ accountId: account.id, field: 'environment', oldValue: 'production', newValue: 'development' }]);
    expect(first.resolvedOutOfScope).toBe(3);
    const findings = await harness.database.db.selectFrom('findings').select(['resource_id', 'status', 'resolution']).orderBy('resource_id').execute();
    expect(findings).toEqual([
      { resource_id: 'bucket-1', status: 'open', resolution: null },
      { resource_id: 'db-1', status: 'resolved', resolution: 'OUT_OF_SCOPE' },
      { resource_id: 'lb-1', status: 'resolved', resolution: 'OUT_OF_SCOPE' },
      { resource_id: 'lb-2', status: 'resolved', resolution: 'OUT_OF_SCOPE' },
    ]);
    await harness.drainUntilSettled(harness.notifier());
    const updates = harness.slack.calls.filter((c) => c.method === 'chat.update' && c.status === 200);
    expect(updates).toHaveLength(3);
    expect(harness.slack.messages().filter((m) => /out of scope/.test(m.text ?? ''))).toHaveLength(3);

    // Again, and again with the stream still reporting them NON_COMPLIANT: nothing more resolves, nothing opens.
    expect((await resync()).resolvedOutOfScope).toBe(0);
    await harness.process([
      complianceEvent({ id: 'later-1', account: account.id, configRuleName: 'OrgConfigRule-elb-logging-enabled-ab12cd', resourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer', resourceId: 'lb-1', compliance: 'NON_COMPLIANT', at: Date.now() }),
    ]);
    expect((await resync()).resolvedOutOfScope).toBe(0);
    const resolvedIntents = await harness.database.db.selectFrom('notification_outbox').select('intent_id').where('kind', '=', 'finding.resolved').execute();
    expect(resolvedIntents).toHaveLength(3);
    expect(await harness.database.db.selectFrom('findings').select('finding_id').where('status', '=', 'open').execute()).toHaveLength(1);
  });

  it('a new channel tag: the open findings\' future messages go to the new channel', async () => {
    org.setTag(account.id, 'SlackChannel', '#new-home');
    const summary = await resync();
    expect(summary.reassigned).toBe(1);
    const open = await harness.database.db.selectFrom('findings').select(['slack_channel', 'owner']).where('status', '=', 'open').executeTakeFirstOrThrow();
    expect(open.slack_channel).toBe('#new-home');
  });
});
