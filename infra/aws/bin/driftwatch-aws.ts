#!/usr/bin/env -S npx tsx
// The CDK app. `npm run synth` (repo root) writes every template to infra/aws/cdk.out without AWS credentials;
// `npx cdk deploy` (in infra/aws) runs this same file through cdk.json. Bad input stops it with one line.
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildDriftwatchApp } from '../lib/driftwatch-app.ts';
import { readNagReport } from '../lib/nag/nag-report.ts';
import { DeploymentError } from '../lib/settings/deployment-error.ts';
import { ExampleConfigPath, RepoRoot, loadDeployment } from '../lib/settings/load-deployment.ts';

const started = performance.now();
try {
  const fromCli = process.env['CDK_CONTEXT_JSON'] !== undefined || process.env['CDK_OUTDIR'] !== undefined;
  // Run by the CDK CLI, context comes through its environment; run directly, from cdk.json and `-c key=value`.
  const context = fromCli ? {} : { ...cdkJsonContext(), ...contextArguments(process.argv.slice(2)) };
  const app = new App({ ...(fromCli ? {} : { outdir: resolve(RepoRoot, 'infra/aws/cdk.out'), context }), analyticsReporting: false });
  const deployment = loadDeployment({ context: appContext(app) });
  if (deployment.configPath === ExampleConfigPath) {
    process.stderr.write(`driftwatch-aws: using the example settings ${deployment.configPath} (set -c config=FILE or DRIFTWATCH_AWS_CONFIG)\n`);
  }
  const stacks = buildDriftwatchApp(app, deployment);
  const assembly = app.synth();
  const nag = readNagReport(assembly.directory);
  process.stderr.write(
    `driftwatch-aws: ${assembly.stacks.length} stacks (+ the member template) in ${assembly.directory}, ` +
      `runtime ${deployment.settings.runtime}, ${deployment.rules.length} organization rules x ${deployment.settings.regions.length} regions, ` +
      `cdk-nag AwsSolutions: ${nag.errors.length} errors, ${nag.warnings.length} warnings, ${nag.acknowledged.length} acknowledged; ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
} catch (error) {
  if (error instanceof DeploymentError) {
    process.stderr.write(`driftwatch-aws: ${error.message}\n`);
  } else if (error instanceof Error && error.message.startsWith('Validation failed')) {
    // CDK printed each finding above (rule, construct, how to acknowledge it).
    process.stderr.write(`driftwatch-aws: cdk-nag found unacknowledged errors (listed above); fix them or acknowledge them with a reason in infra/aws/lib/nag/suppressions.ts\n`);
  } else {
    throw error;
  }
  process.exitCode = 1;
}


function cdkJsonContext(): Record<string, unknown> {
  const path = resolve(RepoRoot, 'infra/aws/cdk.json');
  if (!existsSync(path)) return {};
  return (JSON.parse(readFileSync(path, 'utf8')) as { context?: Record<string, unknown> }).context ?? {};
}

function contextArguments(args: readonly string[]): Record<string, string> {
  const context: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg !== '-c' && arg !== '--context') throw new DeploymentError(`unknown argument ${arg}: expected -c key=value`);
    const pair = args[++i] ?? '';
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new DeploymentError(`context ${JSON.stringify(pair)} is not key=value`);
    context[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return context;
}

/** Context the CLI handed over (cdk.json, -c): only the keys this app reads. */
function appContext(app: App): Record<string, unknown> {
  const all = app.node.getAllContext() as Record<string, unknown>;
  return Object.fromEntries(Object.entries(all).filter(([key]) => !key.startsWith('@aws-cdk/') && !key.startsWith('aws:') && !key.startsWith('cdk')));
}
