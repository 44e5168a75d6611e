/**
 * npm run bench:reconcile — reconciliation with the Config aggregator, end to end, against the local AWS server
 * (test/aws-server) with a generated organization: BENCH_RECONCILE_ACCOUNTS (100) x BENCH_RECONCILE_REGIONS (16) x
 * BENCH_RECONCILE_RULES (30), about 65,000 evaluations. Measures, in order:
 *  1. the server's raw page rate: SelectAggregateResourceConfig pages through the real SDK client, nothing else;
 *  2. `driftwatch accounts sync` of the organization (child process);
 *  3. the backfill: `driftwatch reconcile` into an empty database (child process): every evaluation goes through the
 *     stages, Postgres and OpenSearch (when a node answers on 127.0.0.1:9200);
 *  4. a repair: 5% of the evaluations changed, `driftwatch reconcile` again.
 * Progress on stderr; a table on stdout (`--json`: JSON). BENCH_RECONCILE_CPU_PROF=<dir> profiles the driftwatch children. Needs Postgres on 127.0.0.1:5432 like the tests.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ConfigServiceClient, SelectAggregateResourceConfigCommand } from '@aws-sdk/client-config-service';
import type { ReconcileReport } from '../pipeline/reconcile/reconciler.ts';
import { awsClientConfig } from '../pipeline/reconcile/aws-call.ts';
import { AwsJsonServer } from '../test/aws-server/aws-json-server.ts';
import { ConfigEstate } from '../test/aws-server/config/config-estate.ts';
import { configService } from '../test/aws-server/config/config-service.ts';
import { organizationsService } from '../test/aws-server/organizations/organizations-service.ts';
import { GeneratedOrganization } from '../test/aws-server/organizations/generated-organization.ts';
import { createTestDatabase } from '../test/support/postgres.ts';
import { dropIndexPrefix } from '../test/support/local-stack.ts';
import { envInt, formatNumber, printPart, progress, table } from './support/bench-output.ts';
import { benchGroups, startCpuAccounting } from './support/cpu-accounting.ts';

const Bin = join(import.meta.dirname, '../bin/driftwatch.mjs');
const accounts = envInt('BENCH_RECONCILE_ACCOUNTS', 100);
const regions = Math.min(16, envInt('BENCH_RECONCILE_REGIONS', 16));
const rules = Math.min(32, envInt('BENCH_RECONCILE_RULES', 30));

interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly seconds: number;
}

let childPid = -1;
// BENCH_RECONCILE_CPU_PROF=<dir>: each driftwatch child writes a V8 CPU profile there (open in Chrome DevTools).
const cpuProfDir = process.env.BENCH_RECONCILE_CPU_PROF;

function cli(args: readonly string[], env: NodeJS.ProcessEnv): Promise<ChildResult> {
  const started = performance.now();
  const profile = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const child = spawn(process.execPath, [...profile, Bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  childPid = child.pid ?? -1;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr, seconds: (performance.now() - started) / 1_000 })));
}

async function openSearchUrl(): Promise<string | null> {
  const url = process.env.OPENSEARCH_URL ?? 'http://127.0.0.1:9200';
  return fetch(url).then((r) => (r.ok ? url : null), () => null);
}

progress(`generating ${accounts} accounts x ${regions} regions x ${rules} rules`);
const org = GeneratedOrganization.generate({ accounts, seed: 23 });
const estate = ConfigEstate.generate({ accountIds: org.accounts.map((a) => a.id), regions, rules, seed: 23, until: Date.now() - 6 * 3_600_000 });
const server = await AwsJsonServer.start([configService(estate), organizationsService(org)]);
progress(`local AWS server at ${server.endpoint}: ${formatNumber(estate.size)} evaluations on ${formatNumber(estate.items().length)} resources`);

// 1. Raw page rate: the SDK and the server alone.
// The same client configuration reconcile uses (keep-alive, adaptive retries).
const client = new ConfigServiceClient(awsClientConfig({ region: 'us-east-1', endpoint: server.endpoint, sessionName: 'bench' }));
let rawPages = 0;
let rawResources = 0;
const rawStarted = performance.now();
for (const account of org.accounts) {
  let token: string | undefined;
  do {
    const page = await client.send(new SelectAggregateResourceConfigCommand({
      ConfigurationAggregatorName: estate.aggregatorName,
      Expression: `SELECT accountId, awsRegion, configuration.targetResourceId, configuration.targetResourceType, configuration.configRuleList, configurationItemCaptureTime, configurationItemStatus WHERE resourceType = 'AWS::Config::ResourceCompliance' AND accountId = '${account.id}'`,
      Limit: 100,
      ...(token ? { NextToken: token } : {}),
    }));
    rawPages++;
    rawResources += page.Results?.length ?? 0;
    token = page.NextToken;
  } while (token);
}
const rawSeconds = (performance.now() - rawStarted) / 1_000;
client.destroy();
progress(`raw: ${rawPages} pages in ${rawSeconds.toFixed(2)} s`);

const database = await createTestDatabase();
const search = await openSearchUrl();
const prefix = `dw-bench-rc-${Date.now().toString(36)}`;
const env: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  DATABASE_URL: database.url,
  CONFIG_ENDPOINT: server.endpoint,
  ORGANIZATIONS_ENDPOINT: server.endpoint,
  DRIFTWATCH_CONFIG_AGGREGATOR: estate.aggregatorName,
  LOG_LEVEL: 'warn',
  ...(search ? { OPENSEARCH_URL: search, OPENSEARCH_INDEX_PREFIX: prefix } : {}),
};

try {
  progress('accounts sync');
  const sync = await cli(['accounts', 'sync', '--json'], env);
  if (sync.code !== 0) throw new Error(`accounts sync failed: ${sync.stderr}`);
  if (search) {
    progress('installing OpenSearch templates');
    await cli(['migrate'], env);
  }
  progress(`backfill into an empty database${search ? ' (with OpenSearch)' : ' (no OpenSearch node answering: Postgres only)'}`);
  // CPU per process group: figures that hold beside the other sessions' load on this shared machine.
  const cpu = startCpuAccounting({
    classify: (pid, comm, cmdline) => (pid === childPid ? 'driftwatch reconcile' : pid === process.pid ? 'local AWS server (bench process)' : benchGroups({ consumerPid: () => childPid, databaseName: database.url.split('/').pop()! }).classify(pid, comm, cmdline)),
  });
  const backfill = await cli(['reconcile', '--json'], env);
  const backfillCpu = cpu.stop();
  if (backfill.code !== 0) throw new Error(`backfill failed: ${backfill.stderr}`);
  const backfillReport = JSON.parse(backfill.stdout) as ReconcileReport;

  progress('changing 5% of the evaluations, then a repair run');
  let changed = 0;
  for (const e of estate.evaluations()) {
    if ((changed * 20) / estate.size < 1 && Math.random() < 0.05) {
      estate.put({ ...e, compliance: e.compliance === 'NON_COMPLIANT' ? 'COMPLIANT' : 'NON_COMPLIANT', orderingTime: Date.now() - 4 * 3_600_000 });
      changed++;
    }
  }
  const repair = await cli(['reconcile', '--json'], env);
  if (repair.code !== 0) throw new Error(`repair failed: ${repair.stderr}`);
  const repairReport = JSON.parse(repair.stdout) as ReconcileReport;

  const runSeconds = (r: ReconcileReport) => (Date.parse(r.finishedAt) - Date.parse(r.startedAt)) / 1_000;
  const result = {
    organization: { accounts, regions, rules, evaluations: estate.size, resources: estate.items().length },
    raw: { pages: rawPages, seconds: rawSeconds, pagesPerSecond: rawPages / rawSeconds, evaluationsPerSecond: estate.size / rawSeconds, resourcesPerSecond: rawResources / rawSeconds },
    accountsSync: { accounts: org.accounts.length, seconds: sync.seconds },
    backfill: { cpu: backfillCpu, evaluationsPerReconcileCpuSecond: backfillReport.totals.evaluations / (backfillCpu.byGroup['driftwatch reconcile'] ?? Number.NaN), evaluations: backfillReport.totals.evaluations, opened: backfillReport.totals.opened, runSeconds: runSeconds(backfillReport), wallSeconds: backfill.seconds, evaluationsPerSecond: backfillReport.totals.evaluations / runSeconds(backfillReport), calls: backfillReport.calls, openSearch: search !== null },
    repair: { evaluations: repairReport.totals.evaluations, differences: repairReport.totals.differences, opened: repairReport.totals.opened, resolved: repairReport.totals.resolved, driftRate: repairReport.driftRate, runSeconds: runSeconds(repairReport), wallSeconds: repair.seconds, evaluationsPerSecond: repairReport.totals.evaluations / runSeconds(repairReport) },
  };
  const markdown = [
    `## Reconcile (${formatNumber(accounts)} accounts x ${regions} regions x ${rules} rules = ${formatNumber(estate.size)} evaluations on ${formatNumber(result.organization.resources)} resources)`,
    '',
    table(
      ['measure', 'pages', 'seconds', 'evaluations/s', 'notes'],
      [
        ['server raw page rate (SDK only)', rawPages, rawSeconds.toFixed(2), Math.round(result.raw.evaluationsPerSecond), `${formatNumber(result.raw.pagesPerSecond, 1)} pages/s`],
        ['backfill, end to end', backfillReport.calls, result.backfill.runSeconds.toFixed(2), Math.round(result.backfill.evaluationsPerSecond), `${formatNumber(backfillReport.totals.opened)} findings opened; wall ${backfill.seconds.toFixed(1)} s with process start${search ? '; with OpenSearch' : '; no OpenSearch'}`],
        ['repair (5% changed), end to end', repairReport.calls, result.repair.runSeconds.toFixed(2), Math.round(result.repair.evaluationsPerSecond), `${formatNumber(repairReport.totals.differences)} differences, drift ${(repairReport.driftRate * 100).toFixed(2)} %`],
        ['accounts sync', '-', sync.seconds.toFixed(2), '-', `${org.accounts.length} accounts (wall, with process start)`],
      ],
    ),
    '',
    `Backfill CPU seconds by process (machine busy ${(backfillCpu.machineBusy * 100).toFixed(0)} % of ${backfillCpu.cores} cores, other sessions included): ` +
      Object.entries(backfillCpu.byGroup).map(([group, seconds]) => `${group} ${seconds.toFixed(1)}`).join(', ') +
      `; ${formatNumber(result.backfill.evaluationsPerReconcileCpuSecond)} evaluations per CPU second of driftwatch reconcile.`,
    '',
    'Goal: >= 5,000 evaluations/s end to end.',
  ].join('\n');
  printPart({ name: 'reconcile', result, markdown });
} finally {
  await database.drop();
  if (search) await dropIndexPrefix(search, prefix).catch(() => undefined);
  await server.close();
}
