/**
 * npm run drill — reliability drills against local Kinesis, the shared Postgres and OpenSearch (each drill uses its
 * own database and index prefix; outages go through TCP proxies, never the shared servers) and the Slack server:
 *
 *   kill -9   DRILL_KILL_EVENTS (50,000) records, DRILL_KILLS (10) SIGKILLs at random moments, then a clean finish
 *   outages   steady DRILL_OUTAGE_RATE (200) events/s; OpenSearch down DRILL_OPENSEARCH_DOWN_MS (30,000), Postgres
 *             down DRILL_POSTGRES_DOWN_MS (15,000), Slack 500 for DRILL_SLACK_ERROR_MS (30,000) then 429 for
 *             DRILL_SLACK_429_MS (30,000)
 *   poison    DRILL_POISON (10,000) fast-check malformed records among DRILL_POISON_VALID (20,000) valid ones
 *
 * DRILL_ONLY=kill,outage,poison picks some. Each ends with checks against the oracle; the exit code is 1 if any
 * check fails. A Markdown and a JSON report go to bench/results/ (gitignored). `--json` prints the JSON.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { envInt, progress, table } from '../bench/support/bench-output.ts';
import { runKillDrill } from './kill-drill.ts';
import { runOutageDrill } from './outage-drill.ts';
import type { PhaseSummary } from './outage-drill.ts';
import { runPoisonDrill } from './poison-drill.ts';
import { formatDrill } from './support/drill-run.ts';
import type { DrillResult } from './support/drill-run.ts';

const only = new Set((process.env.DRILL_ONLY ?? 'kill,outage,poison').split(',').map((s) => s.trim()));
const shards = envInt('DRILL_SHARDS', 4);
const results: (DrillResult & { phases?: readonly PhaseSummary[] })[] = [];

async function run(name: string, drill: () => Promise<DrillResult & { phases?: readonly PhaseSummary[] }>): Promise<void> {
  if (!only.has(name)) return;
  progress(`drill ${name}: starting`);
  try {
    const result = await drill();
    results.push(result);
    process.stderr.write(`${formatDrill(result)}\n`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    results.push({ name, ok: false, seconds: 0, figures: {}, checks: [{ name: 'drill ran to the end', ok: false, detail: message.slice(0, 2_000) }] });
    process.stderr.write(`FAIL ${name}: ${message}\n`);
  }
}

await run('kill', () => runKillDrill({ events: envInt('DRILL_KILL_EVENTS', 50_000), kills: envInt('DRILL_KILLS', 10), shards, seed: 61, timeoutMs: 20 * 60_000, log: progress }));
await run('outage', () =>
  runOutageDrill({
    eventsPerSecond: envInt('DRILL_OUTAGE_RATE', 200),
    warmupMs: 10_000,
    openSearchDownMs: envInt('DRILL_OPENSEARCH_DOWN_MS', 30_000),
    postgresDownMs: envInt('DRILL_POSTGRES_DOWN_MS', 15_000),
    slackErrorMs: envInt('DRILL_SLACK_ERROR_MS', 30_000),
    slackRateLimitedMs: envInt('DRILL_SLACK_429_MS', 30_000),
    shards,
    seed: 43,
    timeoutMs: 20 * 60_000,
    log: progress,
  }),
);
await run('poison', () => runPoisonDrill({ validEvents: envInt('DRILL_POISON_VALID', 20_000), poison: envInt('DRILL_POISON', 10_000), shards, seed: 71, timeoutMs: 10 * 60_000, log: progress }));

const markdown = [
  `# driftwatch drills — ${new Date().toISOString()}`,
  '',
  table(
    ['drill', 'result', 'seconds', 'figures'],
    results.map((r) => [r.name, r.ok ? 'PASS' : 'FAIL', r.seconds.toFixed(1), Object.entries(r.figures).map(([k, v]) => `${k}: ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join('; ')]),
  ),
  ...results.flatMap((r) => [
    '',
    `## ${r.name}`,
    '',
    table(['check', 'ok', 'detail'], r.checks.map((c) => [c.name, c.ok ? 'yes' : 'NO', c.detail])),
    ...(r.notes ?? []).map((note) => `\n- ${note}`),
    ...(r.phases
      ? [
          '',
          table(
            ['phase', 's', 'max shard lag s', 'max outbox depth', 'oldest intent s', 'OpenSearch stalled seen', 'OpenSearch retries', '/healthz 503', 'recovered in s'],
            r.phases.map((p) => [p.phase, p.seconds, (p.maxLagMs / 1_000).toFixed(1), p.maxOutboxDepth, p.maxOutboxOldestSeconds.toFixed(0), p.openSearchStalledSeen ? 'yes' : 'no', p.openSearchRetries, p.unhealthyScrapes, p.recoverySeconds === null ? '' : p.recoverySeconds.toFixed(1)]),
          ),
        ]
      : []),
  ]),
  '',
].join('\n');

const dir = join(import.meta.dirname, '../bench/results');
await mkdir(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
await writeFile(join(dir, `drill-${stamp}.md`), markdown);
await writeFile(join(dir, `drill-${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(results, null, 2)}\n` : markdown);
progress(`drill reports in bench/results/drill-${stamp}.{md,json}`);
process.exitCode = results.length > 0 && results.every((r) => r.ok) ? 0 : 1;
