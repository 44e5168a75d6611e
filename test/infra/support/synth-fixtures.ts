import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildDriftwatchApp } from '../../../infra/aws/lib/driftwatch-app.ts';
import type { DriftwatchStacks } from '../../../infra/aws/lib/driftwatch-app.ts';
import { loadDeployment } from '../../../infra/aws/lib/settings/load-deployment.ts';
import type { Deployment } from '../../../infra/aws/lib/settings/load-deployment.ts';

/** A registry with every environment: ProductionOnly rules must exclude exactly staging, development and sandbox. */
export const SampleRegistry = {
  defaults: { environment: 'unknown', owner: 'unowned', slackChannel: '#compliance-triage' },
  accounts: [
    { id: '111111111111', name: 'payments-prod', environment: 'production', owner: 'payments' },
    { id: '333333333333', name: 'payments-staging', environment: 'staging', owner: 'payments' },
    { id: '222222222222', name: 'search-dev', environment: 'development', owner: 'search' },
    { id: '444444444444', name: 'data-sandbox', environment: 'sandbox', owner: 'data' },
    { id: '555555555555', name: 'legacy', environment: 'unknown', owner: 'platform' },
  ],
};
export const ExpectedExcluded = ['222222222222', '333333333333', '444444444444'];

export const BaseSettings = {
  organizationId: 'o-a1b2c3d4e5',
  centralAccount: '666666666666',
  centralRegion: 'eu-west-1',
  managementAccount: '777777777777',
  regions: ['eu-west-1', 'us-east-1'],
  forwarding: { organizationalUnitIds: ['r-ab12', 'ou-ab12-11111111'] },
  accountRegistry: 'accounts.yaml',
};

export interface Fixture {
  readonly dir: string;
  readonly configPath: string;
}

/** A temporary folder with a settings file, the sample registry and, optionally, other files. */
export function fixture(settings: Record<string, unknown>, files: Record<string, unknown> = {}): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'driftwatch-infra-'));
  writeFileSync(join(dir, 'accounts.yaml'), JSON.stringify(SampleRegistry));
  const configPath = join(dir, 'deployment.yaml');
  writeFileSync(configPath, JSON.stringify(settings));
  // Written after the settings, so a test can replace the settings file itself too.
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content));
  return { dir, configPath };
}

/** Stand-ins for `npm run build:lambda` output: the synth assertions are on the template, not on the code. */
export function lambdaBundles(dir: string): string {
  const bundleDir = join(dir, 'lambda');
  for (const name of ['kinesis-handler', 'outbox-handler']) {
    mkdirSync(join(bundleDir, name), { recursive: true });
    writeFileSync(join(bundleDir, name, 'index.mjs'), 'export const handler = async () => ({ batchItemFailures: [] });\n');
  }
  return bundleDir;
}

export function synthApp(settings: Record<string, unknown>, context: Record<string, unknown> = {}, lambdaBundleDir?: (dir: string) => string): { deployment: Deployment; stacks: DriftwatchStacks; app: App; dir: string } {
  const { dir, configPath } = fixture(settings);
  const deployment = loadDeployment({ context: { config: configPath, ...context }, cwd: dir, env: {} });
  const app = new App({ outdir: join(dir, 'cdk.out'), analyticsReporting: false });
  const stacks = buildDriftwatchApp(app, deployment, lambdaBundleDir ? { lambdaBundleDir: lambdaBundleDir(dir) } : {});
  return { deployment, stacks, app, dir };
}
