import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigServiceClient, InvalidExpressionException, InvalidLimitException, NoSuchConfigurationAggregatorException, SelectAggregateResourceConfigCommand } from '@aws-sdk/client-config-service';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { AggregatorReader } from '../../pipeline/reconcile/aggregator-reader.ts';
import { callAws } from '../../pipeline/reconcile/aws-call.ts';
import { normalizeRuleName } from '../../stages/enrich/normalize-rule-name.ts';
import { runCli } from '../support/cli.ts';
import { AwsJsonServer, TestCredentials } from '../aws-server/aws-json-server.ts';
import { ConfigEstate, RecordingLagMs } from '../aws-server/config/config-estate.ts';
import { configService } from '../aws-server/config/config-service.ts';

const accounts = ['100000000001', '100000000002', '100000000003'];
const estate = ConfigEstate.generate({ accountIds: accounts, regions: 8, rules: 30, seed: 3 });

describe('the local Config server through the real SDK client', () => {
  let server: AwsJsonServer;
  let client: ConfigServiceClient;

  beforeAll(async () => {
    server = await AwsJsonServer.start([configService(estate)]);
    client = new ConfigServiceClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('pages one account in pages of 100 and reads back every result with its capture time', async () => {
    const reader = new AggregatorReader(client, estate.aggregatorName, { signal: new AbortController().signal });
    const got = new Map<string, string>();
    let pages = 0;
    for await (const page of reader.pages(accounts[1]!)) {
      pages++;
      expect(page.resources).toBeLessThanOrEqual(100);
      for (const r of page.results) got.set(`${r.region}|${r.rule}|${r.resourceType}|${r.resourceId}|${r.capturedAt >= 0}`, r.compliance);
    }
    const expected = estate.evaluations().filter((e) => e.accountId === accounts[1]);
    expect(pages).toBe(Math.ceil(estate.items(accounts[1]).length / 100));
    expect(pages).toBeGreaterThan(1);
    expect(got).toEqual(new Map(expected.map((e) => [`${e.region}|${normalizeRuleName(e.configRuleName)}|${e.resourceType}|${e.resourceId}|true`, e.compliance])));
    const sample = (await reader.pages(accounts[0]!).next()).value!.results[0]!;
    const item = estate.items(accounts[0]).find((i) => i.configuration.targetResourceId === sample.resourceId)!;
    expect(sample.capturedAt).toBe(Date.parse(item.configurationItemCaptureTime));
    expect(Math.max(...estate.evaluations().filter((e) => e.resourceId === sample.resourceId && e.region === sample.region).map((e) => e.orderingTime)) + RecordingLagMs).toBe(sample.capturedAt);
  });

  it('lists the aggregator accounts with a GROUP BY query', async () => {
    const reader = new AggregatorReader(client, estate.aggregatorName, { signal: new AbortController().signal });
    expect(await reader.accounts()).toEqual(accounts);
  });

  it('answers the real error shapes: unknown aggregator, bad expression, limit over 100', async () => {
    const send = (input: Partial<ConstructorParameters<typeof SelectAggregateResourceConfigCommand>[0]>) =>
      client.send(new SelectAggregateResourceConfigCommand({ ConfigurationAggregatorName: estate.aggregatorName, Expression: "SELECT accountId WHERE resourceType = 'AWS::Config::ResourceCompliance'", ...input })).catch((e: unknown) => e);
    expect(await send({ ConfigurationAggregatorName: 'nope' })).toBeInstanceOf(NoSuchConfigurationAggregatorException);
    expect(await send({ Expression: 'DELETE everything' })).toBeInstanceOf(InvalidExpressionException);
    expect(await send({ Limit: 101 })).toBeInstanceOf(InvalidLimitException);
    const page = (await send({})) as { Results: string[]; NextToken?: string };
    expect(page.Results).toHaveLength(25);
    expect(page.NextToken).toBeTypeOf('string');
  });

  it('a throttling burst longer than the SDK retries slows the reader down and never fails it', async () => {
    const reader = new AggregatorReader(client, estate.aggregatorName, { signal: new AbortController().signal, baseDelayMs: 5, maxDelayMs: 20 });
    const before = server.callsOf('SelectAggregateResourceConfig').length;
    server.throttle(12, 'SelectAggregateResourceConfig');
    let results = 0;
    for await (const page of reader.pages(accounts[2]!)) results += page.results.length;
    expect(results).toBe(estate.evaluations().filter((e) => e.accountId === accounts[2]).length);
    const calls = server.callsOf('SelectAggregateResourceConfig').slice(before);
    expect(calls.filter((c) => c.error === 'ThrottlingException')).toHaveLength(12);
  });

  it('callAws gives up on an error that is not throttling or transient, at once', async () => {
    let calls = 0;
    const error = await callAws(async () => {
      calls++;
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    }, { signal: new AbortController().signal }).catch((e: unknown) => e);
    expect((error as Error).name).toBe('AccessDeniedException');
    expect(calls).toBe(1);
  });
});

/**
 * Result rows shaped as the Config Developer Guide documents them (advanced query examples and limitations; the
 * AWS::Config::ResourceCompliance property list of awslabs/aws-config-resource-schema): JSON text, selected
 * `configuration.*` fields nested under `configuration`, one item per evaluated resource with its configRuleList.
 */
describe('the reader on documented result rows', () => {
  const capture = '2026-03-02T10:00:00.000Z';
  const row = (resourceId: string, rules: [string, string][], status = 'OK') =>
    JSON.stringify({
      accountId: '100000000009', awsRegion: 'eu-west-1', configurationItemCaptureTime: capture, configurationItemStatus: status,
      configuration: {
        targetResourceId: resourceId, targetResourceType: 'AWS::S3::Bucket',
        configRuleList: rules.map(([configRuleName, complianceType]) => ({ configRuleArn: `arn:aws:config:eu-west-1:100000000009:config-rule/${configRuleName}`, configRuleId: `config-rule-${configRuleName.length}`, configRuleName, complianceType })),
      },
    });
  let server: AwsJsonServer;
  let client: ConfigServiceClient;

  beforeAll(async () => {
    const rows = [
      row('bucket-a', [['OrgConfigRule-s3-bucket-public-read-prohibited-ab12', 'NON_COMPLIANT'], ['OrgConfigRule-s3-bucket-versioning-enabled-ab12', 'NOT_APPLICABLE']]),
      // The developer guide shows the stored form in lower case.
      row('bucket-b', [['OrgConfigRule-s3-bucket-public-read-prohibited-ab12', 'non_compliant'], ['OrgConfigRule-s3-bucket-versioning-enabled-ab12', 'compliant']]),
      // A deleted resource's item: skipped, never read as a current result (its evaluations then count as gone).
      row('bucket-gone', [['OrgConfigRule-s3-bucket-public-read-prohibited-ab12', 'NON_COMPLIANT']], 'ResourceDeleted'),
      // A value the reader does not know is skipped, not guessed.
      row('bucket-c', [['OrgConfigRule-s3-bucket-public-read-prohibited-ab12', 'SOMETHING_NEW']]),
    ];
    server = await AwsJsonServer.start([
      { targetPrefix: 'StarlingDoveService', operations: { SelectAggregateResourceConfig: () => ({ Results: rows, QueryInfo: { SelectFields: [{ Name: 'accountId' }] } }) } },
    ]);
    client = new ConfigServiceClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
  });

  afterAll(async () => {
    client?.destroy();
    await server?.close();
  });

  it('reads each rule of each item, in either case, and skips deleted resources and unknown values', async () => {
    const reader = new AggregatorReader(client, 'org', { signal: new AbortController().signal });
    const pages = [];
    for await (const page of reader.pages('100000000009')) pages.push(page);
    expect(pages).toHaveLength(1);
    expect(pages[0]!).toMatchObject({ resources: 4, skipped: 1 });
    expect(pages[0]!.results.map((r) => `${r.resourceId} ${r.rule} ${r.compliance} ${new Date(r.capturedAt).toISOString()}`)).toEqual([
      `bucket-a s3-bucket-public-read-prohibited NON_COMPLIANT ${capture}`,
      `bucket-a s3-bucket-versioning-enabled NOT_APPLICABLE ${capture}`,
      `bucket-b s3-bucket-public-read-prohibited NON_COMPLIANT ${capture}`,
      `bucket-b s3-bucket-versioning-enabled COMPLIANT ${capture}`,
    ]);
  });
});

describe('the local Config server: SELECT * as documented', () => {
  it('returns only the top-level scalar properties (no configuration, no configurationItemStatus)', async () => {
    const server = await AwsJsonServer.start([configService(estate)]);
    const client = new ConfigServiceClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: TestCredentials, requestHandler: new NodeHttpHandler(), maxAttempts: 1 });
    try {
      const page = await client.send(new SelectAggregateResourceConfigCommand({ ConfigurationAggregatorName: estate.aggregatorName, Expression: "SELECT * WHERE resourceType = 'AWS::Config::ResourceCompliance'" }));
      const first = JSON.parse(page.Results![0]!) as Record<string, unknown>;
      expect(Object.keys(first).sort()).toEqual(['accountId', 'awsRegion', 'configurationItemCaptureTime', 'resourceId', 'resourceType']);
    } finally {
      client.destroy();
      await server.close();
    }
  });
});

describe('driftwatch reconcile arguments and settings', () => {
  it.each([
    [['reconcile'], {}, 'DRIFTWATCH_CONFIG_AGGREGATOR'],
    [['reconcile', '--account', '12'], { DRIFTWATCH_CONFIG_AGGREGATOR: 'org' }, '12-digit'],
    [['reconcile'], { DRIFTWATCH_CONFIG_AGGREGATOR: 'org', DRIFTWATCH_RECONCILE_INTERVAL_MS: '5' }, 'DRIFTWATCH_RECONCILE_INTERVAL_MS'],
    [['reconcile'], { DRIFTWATCH_CONFIG_AGGREGATOR: 'bad name!' }, 'DRIFTWATCH_CONFIG_AGGREGATOR'],
  ])('%j with %j: one line naming the problem', async (argv, env, named) => {
    const result = await runCli(argv, { LOG_LEVEL: 'silent', ...env });
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain(named);
  });
});
