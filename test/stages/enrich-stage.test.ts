import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { AccountRegistryFile } from '../../schemas/account-registry.ts';
import { ConfigFileError } from '../../schemas/config-file-error.ts';
import { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { batchOf, decoded, originOf, readSample, sampleJson } from './stage-fixtures.ts';
import { loadRuleCatalog } from '../../pipeline/config/load-rule-catalog.ts';
import { loadAccountRegistry } from '../../pipeline/config/load-account-registry.ts';

const registry = new AccountRegistry(
  AccountRegistryFile.parse({
    defaults: { environment: 'unknown', owner: 'cloud-platform', slackChannel: '#cloud-triage' },
    accounts: [
      { id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments', slackChannel: '#payments-alerts' },
      { id: '444455556666', name: 'identity-staging', environment: 'staging', owner: 'identity' },
    ],
  }),
);

function enrich(event: ComplianceChangeEvent, catalog = RuleCatalog.builtIn(), accounts = registry) {
  return new EnrichStage({ catalog, accounts }).enrichOne(decoded(event));
}

function eventFrom(change: (json: ReturnType<typeof sampleJson>) => void = () => undefined): ComplianceChangeEvent {
  const json = sampleJson();
  change(json);
  return ComplianceChangeEvent.parse(json);
}

let dir: string;
let fileCount = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dw-enrich-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function fileWith(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('EnrichStage', () => {
  it('attaches the catalog rule and the registry account to the non-compliant sample', () => {
    const enriched = enrich(eventFrom());
    expect(enriched).toEqual({
      eventId: '3f1e6c2a-9b0d-4e57-8c1a-5d2b7e9f0a11',
      evaluationKey: evaluationKeyOf('111122223333', 'ap-northeast-1', 'vpc-sg-open-only-to-authorized-ports', 'AWS::EC2::SecurityGroup', 'sg-0a1b2c3d4e5f67890'),
      accountId: '111122223333',
      region: 'ap-northeast-1',
      rule: 'vpc-sg-open-only-to-authorized-ports',
      configRuleName: 'OrgConfigRule-vpc-sg-open-only-to-authorized-ports-3xk9qz1a',
      resourceType: 'AWS::EC2::SecurityGroup',
      resourceId: 'sg-0a1b2c3d4e5f67890',
      compliance: 'NON_COMPLIANT',
      previousCompliance: 'COMPLIANT',
      orderingTime: Date.parse('2026-03-04T10:14:51.902Z'),
      eventTime: '2026-03-04T10:15:22Z',
      annotation: '0.0.0.0/0 allowed on port 22',
      evaluationMode: 'DETECTIVE',
      ruleTitle: 'Security groups open to 0.0.0.0/0 only on authorized ports',
      ruleCategory: 'public-access',
      severity: 'High',
      scope: 'All',
      ruleKnown: true,
      accountName: 'payments-prod',
      environment: 'production',
      owner: 'payments',
      slackChannel: '#payments-alerts',
      accountKnown: true,
      inScope: true,
    });
  });

  it('enriches the first-evaluation sample: conformance-pack rule, account without its own channel', () => {
    const enriched = enrich(ComplianceChangeEvent.parse(JSON.parse(readSample('compliance-change-first-evaluation.json').toString('utf8'))));
    expect(enriched).toMatchObject({
      rule: 'root-account-mfa-enabled',
      severity: 'Critical',
      scope: 'All',
      ruleKnown: true,
      previousCompliance: null,
      annotation: null,
      evaluationMode: null,
      accountName: 'identity-staging',
      environment: 'staging',
      slackChannel: '#cloud-triage',
      accountKnown: true,
    });
  });

  it.each([
    ['OrgConfigRule-restricted-ssh-0z9y8x7w', 'restricted-ssh', 'High', 'All'],
    ['s3-bucket-logging-enabled-conformance-pack-k2j8x0pq', 's3-bucket-logging-enabled', 'Medium', 'ProductionOnly'],
    ['securityhub-iam-root-access-key-check-8e9f5a2c', 'iam-root-access-key-check', 'Critical', 'All'],
    ['vpc-flow-logs-enabled-with-eni', 'vpc-flow-logs-enabled-with-eni', 'High', 'ProductionOnly'],
  ] as const)('%s -> catalog rule %s (%s, %s)', (configRuleName, rule, severity, scope) => {
    const enriched = enrich(eventFrom((json) => {
      json.detail.configRuleName = configRuleName;
      json.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.configRuleName = configRuleName;
    }));
    expect(enriched).toMatchObject({ rule, configRuleName, severity, scope, ruleKnown: true });
    expect(enriched.evaluationKey).toBe(evaluationKeyOf(enriched.accountId, enriched.region, rule, enriched.resourceType, enriched.resourceId));
  });

  it('gives an unknown rule the catalog defaults and flags it', () => {
    const enriched = enrich(eventFrom((json) => {
      json.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.configRuleName = 'OrgConfigRule-team-tagging-policy-a1b2c3d4';
    }));
    expect(enriched).toMatchObject({
      rule: 'team-tagging-policy',
      ruleTitle: 'team-tagging-policy',
      ruleCategory: 'uncatalogued',
      severity: 'Medium',
      scope: 'All',
      ruleKnown: false,
      accountKnown: true,
    });
  });

  it('gives an unknown account the registry defaults and flags it', () => {
    const enriched = enrich(eventFrom((json) => {
      json.account = '999988887777';
      json.detail.awsAccountId = '999988887777';
    }));
    expect(enriched).toMatchObject({
      accountId: '999988887777',
      accountName: '999988887777',
      environment: 'unknown',
      owner: 'cloud-platform',
      slackChannel: '#cloud-triage',
      accountKnown: false,
      ruleKnown: true,
    });
  });

  it('uses the built-in registry defaults when no registry file is given', async () => {
    const enriched = enrich(eventFrom(), RuleCatalog.builtIn(), await loadAccountRegistry(undefined));
    expect(enriched).toMatchObject({ environment: 'unknown', owner: 'unowned', slackChannel: '#compliance-triage', accountKnown: false });
  });

  it('turns a deleted resource (no newEvaluationResult) into compliance DELETED ordered by the notification time', () => {
    const enriched = enrich(eventFrom((json) => {
      delete json.detail.newEvaluationResult;
    }));
    expect(enriched).toMatchObject({
      compliance: 'DELETED',
      previousCompliance: 'COMPLIANT',
      rule: 'vpc-sg-open-only-to-authorized-ports',
      configRuleName: 'OrgConfigRule-vpc-sg-open-only-to-authorized-ports-3xk9qz1a',
      resourceType: 'AWS::EC2::SecurityGroup',
      resourceId: 'sg-0a1b2c3d4e5f67890',
      orderingTime: Date.parse('2026-03-04T10:15:22.404Z'),
      annotation: null,
      evaluationMode: null,
    });
    // Same key as the evaluations of the resource, so the deletion resolves their finding.
    expect(enriched.evaluationKey).toBe(enrich(eventFrom()).evaluationKey);
  });

  it('keeps origins and order in a batch, rejecting nothing', async () => {
    const events = ['a', 'b', 'c'].map((id) => decoded(eventFrom((json) => { json.id = id; })));
    const result = await new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: registry }).process(batchOf(events));
    expect(result.kept.map((item) => [item.origin, item.value.eventId])).toEqual([[originOf(0), 'a'], [originOf(1), 'b'], [originOf(2), 'c']]);
    expect(result.rejected).toEqual([]);
    expect(result.dropped).toEqual([]);
  });
});

describe('RuleCatalog.load', () => {
  it('returns the built-in catalog without a file', async () => {
    const catalog = await loadRuleCatalog(undefined);
    expect(catalog.rules.length).toBe(RuleCatalog.builtIn().rules.length);
    expect(catalog.lookup('root-account-mfa-enabled').rule.severity).toBe('Critical');
  });

  it('lets a YAML file override a built-in rule, add a rule and change the defaults', async () => {
    const path = await fileWith('catalog.yaml', [
      'defaults:',
      '  severity: Low',
      '  scope: ProductionOnly',
      'rules:',
      '  - name: restricted-ssh',
      '    title: SSH closed to the internet',
      '    severity: Critical',
      '    scope: ProductionOnly',
      '  - name: team-tagging-policy',
      '    title: Resources carry a team tag',
      '    severity: Low',
      '    scope: All',
      '    category: governance',
      '    runbookUrl: https://wiki.example.com/rules/team-tagging-policy',
      '',
    ].join('\n'));
    const catalog = await loadRuleCatalog(path);
    expect(catalog.lookup('restricted-ssh')).toEqual({
      known: true,
      rule: { name: 'restricted-ssh', title: 'SSH closed to the internet', severity: 'Critical', scope: 'ProductionOnly', category: 'general', risk: '', remediation: '', custom: false },
    });
    expect(catalog.lookup('team-tagging-policy')).toMatchObject({ known: true, rule: { severity: 'Low', category: 'governance', runbookUrl: 'https://wiki.example.com/rules/team-tagging-policy' } });
    // Untouched built-ins survive the merge.
    expect(catalog.lookup('root-account-mfa-enabled')).toMatchObject({ known: true, rule: { severity: 'Critical', scope: 'All' } });
    expect(catalog.rules.length).toBe(RuleCatalog.builtIn().rules.length + 1);
    expect(catalog.lookup('never-heard-of-it')).toMatchObject({ known: false, rule: { severity: 'Low', scope: 'ProductionOnly' } });

    const enriched = enrich(eventFrom((json) => {
      json.detail.newEvaluationResult.evaluationResultIdentifier.evaluationResultQualifier.configRuleName = 'OrgConfigRule-restricted-ssh-0z9y8x7w';
    }), catalog);
    expect(enriched).toMatchObject({ rule: 'restricted-ssh', severity: 'Critical', scope: 'ProductionOnly', ruleTitle: 'SSH closed to the internet' });
  });

  it('reads a JSON file too', async () => {
    const path = await fileWith('catalog.json', JSON.stringify({ rules: [{ name: 'x-rule', title: 'X', severity: 'High', scope: 'All' }] }));
    expect((await loadRuleCatalog(path)).lookup('x-rule')).toMatchObject({ known: true, rule: { severity: 'High' } });
  });

  it.each([
    ['an unknown severity', 'rules:\n  - name: r\n    title: R\n    severity: Urgent\n    scope: All\n', /rules\.0\.severity: /],
    ['a missing title', 'rules:\n  - name: ok\n    title: OK\n    severity: Low\n    scope: All\n  - name: r\n    severity: Low\n    scope: All\n', /rules\.1\.title: /],
    ['an unknown default scope', 'defaults:\n  scope: Everywhere\n', /defaults\.scope: /],
    ['a bad runbook URL', 'rules:\n  - name: r\n    title: R\n    severity: Low\n    scope: All\n    runbookUrl: not a url\n', /rules\.0\.runbookUrl: /],
    ['rules that are not a list', 'rules: everything\n', /rules: /],
    ['invalid YAML', 'rules: [\n  - name: r\n', /is not valid YAML\/JSON: /],
  ])('rejects %s with a one-line ConfigFileError naming the file and the field', async (_name, text, field) => {
    const path = await fileWith(`bad-catalog-${++fileCount}.yaml`, text);
    const error = await loadRuleCatalog(path).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    const message = (error as ConfigFileError).message;
    expect((error as ConfigFileError).name).toBe('ConfigFileError');
    expect(message).not.toContain('\n');
    expect(message).toContain(`rule catalog file ${path}`);
    expect(message).toMatch(field);
  });

  it('names a missing file and its error code', async () => {
    const path = join(dir, 'does-not-exist.yaml');
    await expect(loadRuleCatalog(path)).rejects.toThrow(new ConfigFileError(`cannot read rule catalog file ${path}: ENOENT`));
  });
});

describe('AccountRegistry.load', () => {
  it('reads accounts from a YAML file, filling the default channel', async () => {
    const path = await fileWith('accounts.yaml', [
      'defaults:',
      '  owner: platform',
      '  slackChannel: "#platform"',
      'accounts:',
      '  - { id: "111122223333", name: payments-prod, environment: production, owner: payments, slackChannel: "#payments" }',
      '  - { id: "444455556666", name: sandbox-1, environment: sandbox, owner: research }',
      '',
    ].join('\n'));
    const accounts = await loadAccountRegistry(path);
    expect(accounts.lookup('111122223333')).toEqual({ known: true, account: { id: '111122223333', name: 'payments-prod', environment: 'production', owner: 'payments', slackChannel: '#payments' } });
    expect(accounts.lookup('444455556666')).toMatchObject({ known: true, account: { environment: 'sandbox', slackChannel: '#platform' } });
    expect(accounts.lookup('000000000000')).toEqual({
      known: false,
      account: { id: '000000000000', name: '000000000000', environment: 'unknown', owner: 'platform', slackChannel: '#platform' },
    });
  });

  it.each([
    ['an account id of 4 digits', 'accounts:\n  - { id: "1234", name: a, environment: production, owner: o }\n', /accounts\.0\.id: an AWS account id has 12 digits/],
    // YAML dropped the leading zero of 011122223333: the message says to quote the id (a 12-digit number is accepted).
    ['an unquoted account id that lost its leading zeros', 'accounts:\n  - { id: 011122223333, name: a, environment: production, owner: o }\n', /accounts\.0\.id: YAML read the id as the number 11122223333 and dropped its leading zeros: write it in quotes, e\.g\. "011122223333"/],
    ['an unknown environment', 'accounts:\n  - { id: "111122223333", name: a, environment: production, owner: o }\n  - { id: "444455556666", name: b, environment: prod, owner: o }\n', /accounts\.1\.environment: /],
    ['a missing owner', 'accounts:\n  - { id: "111122223333", name: a, environment: production }\n', /accounts\.0\.owner: /],
    ['an unknown default environment', 'defaults:\n  environment: live\n', /defaults\.environment: /],
  ])('rejects %s with a one-line ConfigFileError naming the file and the field', async (_name, text, field) => {
    const path = await fileWith(`bad-accounts-${++fileCount}.yaml`, text);
    const error = await loadAccountRegistry(path).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigFileError);
    const message = (error as ConfigFileError).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(`account registry file ${path} is invalid: `);
    expect(message).toMatch(field);
  });
});
