import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildDriftwatchApp } from '../../infra/aws/lib/driftwatch-app.ts';
import { DeploymentError } from '../../infra/aws/lib/settings/deployment-error.ts';
import { RepoRoot, loadDeployment, nonProductionAccounts } from '../../infra/aws/lib/settings/load-deployment.ts';
import { BaseSettings, ExpectedExcluded, SampleRegistry, fixture } from './support/synth-fixtures.ts';

// Bad input stops synth with one line naming it; good input resolves files relative to the settings file.

function load(settings: Record<string, unknown>, files: Record<string, unknown> = {}, context: Record<string, unknown> = {}) {
  const { dir, configPath } = fixture(settings, files);
  return loadDeployment({ context: { config: configPath, ...context }, cwd: dir, env: {} });
}

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a DeploymentError');
}

describe('deployment inputs', () => {
  it('reads settings, the registry and the built-in catalog; context values override single fields', () => {
    const deployment = load(BaseSettings, {}, { runtime: 'lambda', 'stream.shardCount': '12', 'stream.mode': 'provisioned' });
    expect(deployment.settings).toMatchObject({ runtime: 'lambda', stream: { mode: 'provisioned', shardCount: 12 }, regions: ['eu-west-1', 'us-east-1'] });
    expect(deployment.rules).toHaveLength(32);
    expect(nonProductionAccounts(deployment.registry!)).toEqual(ExpectedExcluded);
  });

  it('defaults to the 16 regions of the origin case', () => {
    const { regions: _, ...settings } = BaseSettings;
    expect(load(settings).settings.regions).toHaveLength(16);
  });

  it('a catalog file overrides built-in rules, adds rules, and deploy: false keeps one out', () => {
    const catalog = {
      rules: [
        { name: 'restricted-ssh', title: 'No SSH from anywhere', severity: 'Critical', scope: 'ProductionOnly', managedRuleIdentifier: 'INCOMING_SSH_DISABLED', resourceTypes: ['AWS::EC2::SecurityGroup'] },
        { name: 'securityhub-ec2-8', title: 'IMDSv2 (Security Hub control)', severity: 'High', scope: 'All', deploy: false },
        { name: 'ec2-imdsv2-check', title: 'EC2 instances use IMDSv2', severity: 'High', scope: 'All', managedRuleIdentifier: 'EC2_IMDSV2_CHECK', resourceTypes: ['AWS::EC2::Instance'] },
      ],
    };
    const deployment = load({ ...BaseSettings, ruleCatalog: 'rules.yaml' }, { 'rules.yaml': catalog });
    expect(deployment.rules.map((r) => r.name)).toContain('ec2-imdsv2-check');
    expect(deployment.rules.map((r) => r.name)).not.toContain('securityhub-ec2-8');
    expect(deployment.rules.find((r) => r.name === 'restricted-ssh')).toMatchObject({ scope: 'ProductionOnly', severity: 'Critical' });
    expect(deployment.rules).toHaveLength(33);
  });

  it('stops on a non-custom rule with no managed identifier', () => {
    const catalog = { rules: [{ name: 'my-rule', title: 'Mine', severity: 'High', scope: 'All' }] };
    expect(failure(() => load({ ...BaseSettings, ruleCatalog: 'rules.yaml' }, { 'rules.yaml': catalog }))).toBe(
      'rule my-rule is not custom and has no managedRuleIdentifier: add the AWS managed rule identifier, or deploy: false',
    );
  });

  it('stops on a custom rule that has no Lambda here, or no trigger', () => {
    const unknown = { rules: [{ name: 'my-custom', title: 'Mine', severity: 'High', scope: 'All', custom: true, maximumExecutionFrequency: 'One_Hour' }] };
    expect(failure(() => load({ ...BaseSettings, ruleCatalog: 'rules.yaml' }, { 'rules.yaml': unknown }))).toMatch(/^rule my-custom is custom but infra\/aws\/custom-rules has no Lambda for it/);
    const untriggered = { rules: [{ name: 'ami-not-public', title: 'AMIs', severity: 'Critical', scope: 'All', custom: true }] };
    expect(failure(() => load({ ...BaseSettings, ruleCatalog: 'rules.yaml' }, { 'rules.yaml': untriggered }))).toBe(
      'custom rule ami-not-public has neither resourceTypes nor maximumExecutionFrequency: AWS Config would never run it',
    );
  });

  it('stops on an unknown region, naming it', () => {
    expect(failure(() => load({ ...BaseSettings, regions: ['eu-west-1', 'eu-wset-1'] }))).toMatch(/is invalid: regions\.1: unknown AWS region "eu-wset-1"$/);
    expect(failure(() => load({ ...BaseSettings, centralRegion: 'mars-north-1' }))).toMatch(/centralRegion: unknown AWS region "mars-north-1"$/);
    expect(failure(() => load({ ...BaseSettings, globalResourcesRegion: 'ap-south-1' }))).toBe(
      "region ap-south-1 (globalResourcesRegion, else centralRegion) is not in regions: the member stacks create the custom rules' evaluator role there",
    );
  });

  it('stops when ProductionOnly rules have no registry to exclude non-production accounts', () => {
    const { accountRegistry: _, ...settings } = BaseSettings;
    expect(failure(() => load(settings))).toMatch(/^ProductionOnly rules \(vpc-flow-logs-enabled-with-eni, elb-logging-enabled, .*\) need an account registry to exclude non-production accounts: set accountRegistry$/);
  });

  it('stops on a bad registry, a missing file, a secret given as a plain consumer variable', () => {
    const badRegistry = { accounts: [{ ...SampleRegistry.accounts[0], id: '1234' }] };
    expect(failure(() => load(BaseSettings, { 'accounts.yaml': badRegistry }))).toMatch(/account registry file .*accounts\.yaml is invalid: accounts\.0\.id: an AWS account id has 12 digits$/);
    expect(failure(() => load({ ...BaseSettings, accountRegistry: 'missing.yaml' }))).toMatch(/^account registry file .*missing\.yaml does not exist$/);
    expect(failure(() => load({ ...BaseSettings, consumerEnvironment: { SLACK_TOKEN: 'xoxb-123' } }))).toBe(
      'consumerEnvironment.SLACK_TOKEN is set by the app (endpoints from the settings, secrets from Secrets Manager only)',
    );
    expect(failure(() => load({ ...BaseSettings, organizationId: 'my-org' }))).toMatch(/organizationId: expected an organization id such as o-a1b2c3d4e5$/);
    expect(failure(() => load(BaseSettings, { 'deployment.yaml': 'organizationId: [unclosed' }))).toMatch(/^deployment settings file .* is not valid YAML\/JSON: /);
  });

  it('stops the Lambda runtime when the bundles are not built, naming the command', () => {
    const deployment = load({ ...BaseSettings, regions: ['eu-west-1'], runtime: 'lambda', lambda: { bundleDir: '/nonexistent/driftwatch/lambda' } });
    expect(failure(() => buildDriftwatchApp(new App(), deployment))).toBe(
      'lambda bundle /nonexistent/driftwatch/lambda/kinesis-handler/index.mjs is missing: run npm run build:lambda first (or -c runtime=ecs)',
    );
  });

  it('the synth command prints exactly one line and exits 1', async () => {
    const { configPath } = fixture({ ...BaseSettings, regions: ['eu-west-1', 'eu-wset-1'] });
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', join(RepoRoot, 'infra/aws/bin/driftwatch-aws.ts'), '-c', `config=${configPath}`], { cwd: RepoRoot });
    const error = (await run.then(() => undefined, (e: unknown) => e)) as { code: number; stderr: string; stdout: string };
    expect(error.code).toBe(1);
    expect(error.stdout).toBe('');
    expect(error.stderr).toBe(`driftwatch-aws: deployment settings (${configPath}) is invalid: regions.1: unknown AWS region "eu-wset-1"\n`);
  });
});
