/**
 * npm run bench:console — the web console's organisation board and a team board over a large state store: 100,000
 * findings (40 % open) and 1,000,000 evaluations of 120 accounts x 16 regions x 32 rules, 90 days of daily snapshots.
 * Rows are bulk-loaded with SQL (generate_series) into a fresh Postgres database; then each page is requested over HTTP
 * from the real console server (sign-in cookie, server-side rendering) and, beside it, the same page's queries alone
 * (its loader, as the page runs them). Prints p50/p95 of both. Goal: each page < 300 ms.
 * Sizes: BENCH_CONSOLE_FINDINGS (100,000), BENCH_CONSOLE_EVALUATIONS (1,000,000), BENCH_CONSOLE_ITERATIONS (30).
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import pino from 'pino';
import { Settings } from '../schemas/settings.ts';
import { AccountRegistry } from '../stages/enrich/account-registry.ts';
import { BuiltInRules } from '../stages/enrich/built-in-rules.ts';
import { RuleCatalog } from '../stages/enrich/rule-catalog.ts';
import { ConsoleServer } from '../pipeline/console/console-server.ts';
import { ConsoleSettings } from '../pipeline/console/console-settings.ts';
import { loadOrganisationBoard } from '../pipeline/console/queries/organisation-board.ts';
import { loadTeamBoard } from '../pipeline/console/queries/team-board.ts';
import { loadFindingPage } from '../pipeline/console/queries/finding-page.ts';
import { SettledTrendCache } from '../pipeline/console/queries/compliance-trend.ts';
import { createTestDatabase } from '../test/support/postgres.ts';
import { envInt, formatNumber, JsonOutput, percentile, progress, table } from './support/bench-output.ts';
import { loadSlaPolicy } from '../pipeline/config/load-sla-policy.ts';

const findings = envInt('BENCH_CONSOLE_FINDINGS', 100_000);
const evaluations = Math.max(envInt('BENCH_CONSOLE_EVALUATIONS', 1_000_000), findings);
const iterations = envInt('BENCH_CONSOLE_ITERATIONS', 30);
const Accounts = 120;
const Teams = 20;
const Regions = ['us-east-1', 'us-east-2', 'us-west-1', 'us-west-2', 'eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1',
  'eu-north-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-south-1', 'ca-central-1', 'sa-east-1'];
const Token = 'bench-console-token-0123456789';
const GoalMs = 300;

const database = await createTestDatabase();
const db = database.db;
const logger = pino({ level: 'silent' });
let server: ConsoleServer | undefined;
try {
  const loadStarted = performance.now();
  await load();
  progress(`loaded ${formatNumber(evaluations)} evaluations, ${formatNumber(findings)} findings and 90 days of snapshots in ${formatNumber((performance.now() - loadStarted) / 1_000, 1)} s`);

  const settings = Settings.parse({ DATABASE_URL: database.url });
  const catalog = RuleCatalog.builtIn();
  const accounts = AccountRegistry.empty();
  const sla = await loadSlaPolicy(undefined);
  server = await ConsoleServer.create({
    runtime: { settings, database: { db, kind: 'postgres', description: 'bench', close: async () => undefined }, catalog, accounts, sla },
    settings: ConsoleSettings.parse({ DRIFTWATCH_CONSOLE_TOKEN: Token }),
    port: 0,
    logger,
  });
  await server.listen();
  const base = server.url.replace(/\/$/, '');
  const cookie = await signIn(base);

  const team = (await sql<{ owner: string; n: number }>`select owner, count(*)::int as n from findings where status = 'open' group by owner order by n desc, owner limit 1`.execute(db)).rows[0]!;
  const someFinding = (await sql<{ finding_id: string }>`select finding_id from findings where status = 'open' order by finding_id limit 1`.execute(db)).rows[0]!.finding_id;
  const now = Date.now();
  const trendCache = new SettledTrendCache();
  const cases: { name: string; path: string; queries: () => Promise<unknown> }[] = [
    {
      name: 'organisation board',
      path: '/',
      queries: () => loadOrganisationBoard(db, { now, timezone: sla.timezone, trendDays: 90, accountName: () => undefined, ruleTitle: (r) => catalog.lookup(r).rule.title, trendCache }),
    },
    { name: `team board (${team.owner}, ${formatNumber(Number(team.n))} open)`, path: `/teams/${encodeURIComponent(team.owner)}`, queries: () => loadTeamBoard(db, team.owner, {}, 1, 100, now) },
    {
      name: 'team board, filtered (severity High)',
      path: `/teams/${encodeURIComponent(team.owner)}?severity=High`,
      queries: () => loadTeamBoard(db, team.owner, { severity: 'High' }, 1, 100, now),
    },
    { name: 'finding page', path: `/findings/${someFinding}`, queries: () => loadFindingPage(db, someFinding) },
  ];

  const results = [];
  for (const c of cases) {
    progress(`measuring ${c.name} (${iterations} requests)`);
    // The first request is timed apart (cold: the console's trend cache empty); then the steady state people see.
    const first = performance.now();
    await fetchPage(base, c.path, cookie);
    const firstMs = performance.now() - first;
    await c.queries();
    const page: number[] = [];
    const queries: number[] = [];
    let bytes = 0;
    for (let i = 0; i < iterations; i++) {
      let t = performance.now();
      bytes = (await fetchPage(base, c.path, cookie)).length;
      page.push(performance.now() - t);
      t = performance.now();
      await c.queries();
      queries.push(performance.now() - t);
    }
    results.push({
      page: c.name,
      path: c.path,
      bytes,
      firstMs: round(firstMs),
      pageP50Ms: round(percentile(page, 50)),
      pageP95Ms: round(percentile(page, 95)),
      sqlP50Ms: round(percentile(queries, 50)),
      sqlP95Ms: round(percentile(queries, 95)),
    });
  }
  const report = { findings, evaluations, iterations, goalMs: GoalMs, loadAverage: loadavg(), results };
  if (JsonOutput) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    process.stdout.write(`## Web console: ${formatNumber(findings)} findings, ${formatNumber(evaluations)} evaluations (${iterations} requests per page)\n\n`);
    process.stdout.write(
      `${table(
        ['page', 'first request ms', 'HTTP p50 ms', 'HTTP p95 ms', 'queries p50 ms', 'queries p95 ms', 'HTML KiB', `p95 < ${GoalMs} ms`],
        results.map((r) => [r.page, r.firstMs.toFixed(1), r.pageP50Ms.toFixed(1), r.pageP95Ms.toFixed(1), r.sqlP50Ms.toFixed(1), r.sqlP95Ms.toFixed(1), (r.bytes / 1024).toFixed(0), r.pageP95Ms < GoalMs ? 'yes' : 'NO']),
      )}\n\n`,
    );
    process.stdout.write(
      'HTTP = request to the console server and the whole rendered page; queries = the same page\'s SQL (its loader) alone.\n' +
        'First request = cold (the trend of settled days not yet cached by the console process).\n' +
        `Load average during the run: ${loadavg().map((l) => l.toFixed(2)).join(', ')} on ${cpus().length} cores.\n`,
    );
  }
} finally {
  await server?.close();
  await database.drop();
}

async function signIn(base: string): Promise<string> {
  const response = await fetch(`${base}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
    body: new URLSearchParams({ token: Token, next: '/' }),
  });
  const cookie = response.headers.get('set-cookie');
  if (response.status !== 303 || !cookie) throw new Error(`bench sign-in failed: HTTP ${response.status}`);
  return cookie.split(';')[0]!;
}

async function fetchPage(base: string, path: string, cookie: string): Promise<string> {
  const response = await fetch(`${base}${path}`, { headers: { cookie } });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status}`);
  return text;
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

/** Bulk-loads the state store with SQL: evaluations, findings (open ones linked), a few exceptions, snapshots. */
async function load(): Promise<void> {
  const rules = BuiltInRules.map((r) => r.name);
  const severities = BuiltInRules.map((r) => r.severity);
  const open = Math.round(findings * 0.4);
  const every = Math.max(1, Math.floor(evaluations / findings));
  progress(`loading ${formatNumber(evaluations)} evaluations`);
  // Evaluation i: account i % 120, region (i / 120) % 16, rule (i / 1920) % 32. Finding j belongs to evaluation
  // key(j) = j * every - j % every (one in each run of `every` keys, shifted so findings spread over every account);
  // the first `open` findings are open now (their evaluation NON_COMPLIANT), the others were resolved.
  const hasOpenFinding = sql`i = ((i + ${every} - 1) / ${every}) * ${every} - ((i + ${every} - 1) / ${every}) % ${every} and (i + ${every} - 1) / ${every} <= ${open}`;
  await sql`
    insert into evaluations (evaluation_key, account_id, region, rule, resource_type, resource_id, compliance, ordering_time, event_id, in_scope, open_finding_id)
    select 'key-' || i, (100000000000 + i % ${Accounts})::text, (${Regions}::text[])[1 + (i / ${Accounts}) % 16],
      (${rules}::text[])[1 + (i / ${Accounts * 16}) % 32], 'AWS::S3::Bucket', 'bucket-' || i,
      case when ${hasOpenFinding} then 'NON_COMPLIANT' else 'COMPLIANT' end,
      now() - (i % 10000) * interval '1 minute', 'event-' || i, true,
      case when ${hasOpenFinding} then 'finding-' || ((i + ${every} - 1) / ${every}) end
    from generate_series(1, ${evaluations}) as i`.execute(db);
  progress(`loading ${formatNumber(findings)} findings (${formatNumber(open)} open)`);
  await sql`
    insert into findings (finding_id, evaluation_key, account_id, account_name, region, rule, config_rule_name, rule_title, resource_type,
      resource_id, severity, environment, owner, slack_channel, annotation, status, opened_at, opened_event_id, deadline, resolved_at,
      resolution, resolved_event_id)
    select 'finding-' || j, 'key-' || (j * ${every} - j % ${every}), (100000000000 + (j * ${every} - j % ${every}) % ${Accounts})::text,
      'account-' || ((j * ${every} - j % ${every}) % ${Accounts}), (${Regions}::text[])[1 + ((j * ${every} - j % ${every}) / ${Accounts}) % 16],
      (${rules}::text[])[1 + ((j * ${every} - j % ${every}) / ${Accounts * 16}) % 32], 'OrgConfigRule-x', 'Rule title', 'AWS::S3::Bucket',
      'bucket-' || (j * ${every} - j % ${every}), (${severities}::text[])[1 + ((j * ${every} - j % ${every}) / ${Accounts * 16}) % 32], 'production',
      'team-' || (((j * ${every} - j % ${every}) % ${Accounts}) % ${Teams}), '#team-alerts', null,
      case when j <= ${open} then 'open' else 'resolved' end,
      now() - (j % 2000) * interval '1 hour', 'event-open-' || j, now() - (j % 2000) * interval '1 hour' + interval '72 hours',
      case when j <= ${open} then null else now() - (j % 1000) * interval '1 hour' end,
      case when j <= ${open} then null else 'COMPLIANT' end,
      case when j <= ${open} then null else 'event-resolve-' || j end
    from generate_series(1, ${findings}) as j`.execute(db);
  progress('loading risk exceptions and 90 days of snapshots');
  await sql`
    insert into risk_exceptions (id, rule, account_id, resource_id, until, reason, created_by, created_at)
    select 'exception-' || k, (${rules}::text[])[k], null, null, now() + interval '30 days', 'accepted for the benchmark', 'bench', now() - interval '1 day'
    from generate_series(1, 2) as k`.execute(db);
  await sql`update findings set exception_id = 'exception-' || (array_position(${rules}::text[], rule)) where status = 'open' and rule = any(${rules.slice(0, 2)}::text[])`.execute(db);
  await sql`
    insert into compliance_snapshots (day, account_id, rule, evaluated, compliant, non_compliant, excepted, taken_at)
    select current_date - d, (100000000000 + a)::text, (${rules}::text[])[1 + r], 260, 200 + ((a + r + d) % 60), 60 - ((a + r + d) % 60), 0, now() - d * interval '1 day'
    from generate_series(0, 89) as d, generate_series(0, ${Accounts - 1}) as a, generate_series(0, 31) as r`.execute(db);
  progress('vacuum analyze');
  await sql`vacuum analyze`.execute(db);
}
