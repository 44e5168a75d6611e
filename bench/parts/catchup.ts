import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import { ConsumerProcess } from '../../test/support/consumer-process.ts';
import type { LogLine } from '../../test/support/consumer-process.ts';
import { startLocalStack } from '../../test/support/local-stack.ts';
import type { LocalStack } from '../../test/support/local-stack.ts';
import type { TestDatabase } from '../../test/support/postgres.ts';
import { putRecords } from '../../test/support/put-records.ts';
import { formatBytes, formatNumber, progress, table } from '../support/bench-output.ts';
import type { BenchPart } from '../support/bench-output.ts';
import { countDocuments, countProcessed, lastCommitTime, outboxByStatus } from '../../test/support/stack-queries.ts';
import { summarizeCpuProfile } from '../support/cpu-profile.ts';
import type { CpuProfileSummary } from '../support/cpu-profile.ts';
import { runNaiveBaseline } from '../naive/run-naive-baseline.ts';
import { benchGroups, startCpuAccounting } from '../support/cpu-accounting.ts';
import type { CpuAccount } from '../support/cpu-accounting.ts';
import type { NaiveResult } from '../naive/run-naive-baseline.ts';
import { measureSinkCeilings } from '../ceilings/sink-ceilings.ts';
import type { SinkCeilings } from '../ceilings/sink-ceilings.ts';

export interface CatchupOptions {
  readonly events: number;
  readonly shards: number;
  readonly naiveEvents: number;
  /** Events of a second, profiled catch-up run (0 = no profile). Profiling slows the run, so it is never the measured one. */
  readonly profileEvents: number;
}

export interface ConsumerRunResult {
  readonly records: number;
  readonly uniqueEvents: number;
  /** From the consumer's "consumer starting" log line to the commit of its last batch. */
  readonly seconds: number;
  readonly recordsPerSecond: number;
  readonly eventsPerSecond: number;
  /** From spawning the process to its exit (startup, migrations, healthchecks and shutdown included). */
  readonly wallSeconds: number;
  readonly peakRssBytes: number;
  readonly openSearchEventDocs: number | null;
  readonly outbox: Record<string, number>;
  /** CPU seconds by process group while the backlog was consumed (null if the window could not close in time). */
  readonly cpu: CpuAccount | null;
  /** Events committed and resident memory, every 2 s. */
  readonly timeline: readonly TimelinePoint[];
}

export interface TimelinePoint {
  readonly seconds: number;
  readonly committed: number;
  readonly rssBytes: number;
}

export interface CatchupResult {
  readonly events: number;
  readonly shards: number;
  readonly pipeline: ConsumerRunResult;
  readonly naive: NaiveResult;
  readonly speedup: number;
  /** What OpenSearch and Postgres each sustain alone on the same backlog, measured in the same run. */
  readonly ceilings: SinkCeilings;
  /** The pipeline's events/s as a share of the slower sink's. */
  readonly shareOfCeiling: number;
  /** The pipeline's events/s as a share of both raw loads run at once (what the cores allow writing both sinks). */
  readonly shareOfTogether: number;
  readonly goals: {
    readonly eventsPerSecond: 8_000;
    readonly speedup: 20;
    readonly shareOfCeiling: 0.8;
    readonly metEventsPerSecond: boolean;
    readonly metSpeedup: boolean;
    readonly metShareOfCeiling: boolean;
  };
  readonly profile: CpuProfileSummary | null;
  readonly settings: Record<string, string>;
}

/** Consumer settings of the catch-up and memory benches; everything else (Slack pacing included) is the product's default. */
export const BenchConsumerSettings: Readonly<Record<string, string>> = {
  DRIFTWATCH_WORKER_ID: 'bench-worker',
  LOG_LEVEL: 'info',
};

/**
 * Catch-up: a backlog in Kinesis consumed by `driftwatch run --until-caught-up` (a child process) through every sink:
 * Postgres, OpenSearch, and the Slack notifier against the local Slack server. Beside it, the naive per-event baseline.
 */
export async function benchCatchup(options: CatchupOptions): Promise<BenchPart<CatchupResult>> {
  progress(`catch-up: ${formatNumber(options.events)} events, ${options.shards} shards, all sinks`);
  const pipeline = await consumeBacklog({ events: options.events, shards: options.shards, seed: CatchupTrafficSeed, label: 'catch-up' });
  progress('catch-up: now what each sink sustains alone on the same backlog');
  const ceilings = await measureSinkCeilings({ events: options.events, shards: options.shards, orgSeed: BacklogOrgSeed, trafficSeed: CatchupTrafficSeed });
  const shareOfCeiling = pipeline.result.eventsPerSecond / ceilings.ceilingEventsPerSecond;
  progress(`catch-up: ${formatNumber(pipeline.result.recordsPerSecond)} records/s; now the naive baseline on ${formatNumber(options.naiveEvents)} events`);
  const naive = await runNaiveBaseline({ events: options.naiveEvents, shards: options.shards });
  let profile: CpuProfileSummary | null = null;
  if (options.profileEvents > 0) {
    progress(`catch-up: profiled run of ${formatNumber(options.profileEvents)} events (node --cpu-prof)`);
    profile = (await consumeBacklog({ events: options.profileEvents, shards: options.shards, seed: 6, label: 'profile', profile: true })).profile;
  }
  const speedup = pipeline.result.eventsPerSecond / naive.eventsPerSecond;
  const result: CatchupResult = {
    events: options.events,
    shards: options.shards,
    pipeline: pipeline.result,
    naive,
    speedup: Number(speedup.toFixed(1)),
    ceilings,
    shareOfCeiling: Number(shareOfCeiling.toFixed(3)),
    shareOfTogether: Number((pipeline.result.eventsPerSecond / ceilings.together.eventsPerSecond).toFixed(3)),
    goals: {
      eventsPerSecond: 8_000,
      speedup: 20,
      shareOfCeiling: 0.8,
      metEventsPerSecond: pipeline.result.eventsPerSecond >= 8_000,
      metSpeedup: speedup >= 20,
      metShareOfCeiling: shareOfCeiling >= 0.8,
    },
    profile,
    settings: { ...BenchConsumerSettings },
  };
  return { name: 'catchup', result, markdown: catchupMarkdown(result) };
}

interface BacklogRun {
  readonly events: number;
  readonly shards: number;
  readonly seed: number;
  readonly label: string;
  readonly profile?: boolean;
}

// The catch-up backlog: the sink ceilings are measured on the same one.
const BacklogOrgSeed = 11;
const CatchupTrafficSeed = 5;

async function consumeBacklog(run: BacklogRun): Promise<{ result: ConsumerRunResult; profile: CpuProfileSummary | null }> {
  const org = createSyntheticOrg({ accounts: 120, seed: BacklogOrgSeed });
  // The Slack server limits like Slack (about one post per second per channel), so the notifier runs as in production.
  const stack = await startLocalStack({ name: `bench-${run.label}`, shards: run.shards, org, slack: { rateLimiting: true } });
  // BENCH_PROFILE_DIR keeps the .cpuprofile (open it in Chrome DevTools); otherwise it goes to a temp dir, deleted after.
  const keepProfile = process.env.BENCH_PROFILE_DIR;
  const profileDir = run.profile ? (keepProfile ?? (await mkdtemp(join(tmpdir(), 'dw-cpuprof-')))) : null;
  try {
    const deliveries = [...generateTraffic(org, { deliveries: run.events, seed: run.seed })];
    const uniqueEvents = new Set(deliveries.flatMap((d) => (d.event ? [d.event.id] : []))).size;
    await putBacklog(stack, deliveries, run.label);
    let consumerPid = 0;
    const result = await runUntilCaughtUp(stack, {
      onStart: (pid) => (consumerPid = pid),
      records: deliveries.length,
      uniqueEvents,
      label: run.label,
      nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
    });
    let profile: CpuProfileSummary | null = null;
    if (profileDir) {
      // One file per thread (tsx's loader runs in a worker): the main thread's is the one whose thread id is 0.
      const files = (await readdir(profileDir)).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${consumerPid}.0.`));
      if (files[0]) profile = await summarizeCpuProfile(join(profileDir, files[0]), 15);
    }
    return { result, profile };
  } finally {
    await stack.close();
    if (profileDir && !keepProfile) await rm(profileDir, { recursive: true, force: true });
  }
}

export async function putBacklog(stack: LocalStack, deliveries: readonly { data: Uint8Array; partitionKey: string }[], label: string): Promise<void> {
  const started = performance.now();
  let reported = 0;
  await putRecords(stack.kinesis, stack.streamName, deliveries, {
    onProgress: (stored) => {
      if (stored - reported >= Math.max(50_000, deliveries.length / 4) || stored === deliveries.length) {
        reported = stored;
        progress(`${label}: put ${formatNumber(stored)}/${formatNumber(deliveries.length)} records`);
      }
    },
  });
  progress(`${label}: backlog in Kinesis after ${formatNumber((performance.now() - started) / 1_000, 1)} s`);
}

export async function runUntilCaughtUp(
  stack: LocalStack,
  run: {
    readonly records: number;
    readonly uniqueEvents: number;
    readonly label: string;
    readonly nodeArgs?: readonly string[];
    readonly env?: Readonly<Record<string, string>>;
    readonly onStart?: (pid: number) => void;
    readonly onLog?: (line: LogLine) => void;
    /** Another database and index prefix than the stack's: a second run over the same backlog starts afresh. */
    readonly target?: { readonly database: TestDatabase; readonly indexPrefix: string };
  },
): Promise<ConsumerRunResult> {
  const database = run.target?.database ?? stack.database;
  const indexPrefix = run.target?.indexPrefix ?? stack.indexPrefix;
  const db = database.db;
  const spawned = Date.now();
  const logFile = join(tmpdir(), `dw-bench-${run.label}-${Date.now()}.log`);
  const consumer = ConsumerProcess.start({
    env: stack.consumerEnv({
      ...BenchConsumerSettings,
      // For experiments: node flags of the consumer only (the bench process holds kinesalite and must not get them).
      ...(process.env.BENCH_CONSUMER_NODE_OPTIONS ? { NODE_OPTIONS: process.env.BENCH_CONSUMER_NODE_OPTIONS } : {}),
      ...(run.target ? { DATABASE_URL: run.target.database.url, OPENSEARCH_INDEX_PREFIX: run.target.indexPrefix } : {}),
      ...run.env,
    }),
    // Measured: consuming the backlog. Waiting for paced Slack deliveries after it is not.
    args: ['--until-caught-up', '--drain-timeout', '0'],
    nodeArgs: run.nodeArgs ?? [],
    ...(run.onLog ? { onLog: run.onLog } : {}),
    logFile,
  });
  run.onStart?.(consumer.pid);
  // Bounded: a run slower than 200 events/s (or 10 minutes minimum) is a failure, not a result.
  const timeoutMs = Math.max(600_000, (run.records / 200) * 1_000);
  const killer = setTimeout(() => consumer.kill('SIGKILL'), timeoutMs);
  try {
    const starting = await consumer.waitForLog('consumer starting', 120_000);
    if (!starting?.time) throw new Error(`consumer did not start:\n${consumer.stderrTail()}`);
    const accounting = startCpuAccounting(benchGroups({ consumerPid: () => consumer.pid, databaseName: new URL(database.url).pathname.slice(1) }));
    let cpu: CpuAccount | null = null;
    const timeline: TimelinePoint[] = [];
    let last = 0;
    let lastAt = Date.now();
    let lastReport = Date.now();
    // Poll every 2 s; report every 5 s; close the CPU window when everything is committed (the process still lives).
    while (consumer.running) {
      await Promise.race([consumer.exited, new Promise((r) => setTimeout(r, 2_000))]);
      if (!consumer.running) break;
      const done = await countProcessed(db);
      if (done >= run.uniqueEvents && !cpu) cpu = accounting.stop();
      const now = Date.now();
      timeline.push({ seconds: Math.round((now - starting.time) / 1_000), committed: done, rssBytes: consumer.samples.at(-1)?.rssBytes ?? 0 });
      if (now - lastReport < 5_000) continue;
      progress(
        `${run.label}: ${formatNumber(done)}/${formatNumber(run.uniqueEvents)} events committed, ` +
          `${formatNumber(((done - last) * 1_000) / (now - lastAt))} events/s, RSS ${formatBytes(consumer.samples.at(-1)?.rssBytes ?? 0)}`,
      );
      last = done;
      lastAt = now;
      lastReport = now;
    }
    const exit = await consumer.exited;
    cpu ??= accounting.stop();
    const wallSeconds = (Date.now() - spawned) / 1_000;
    if (exit.code !== 0) throw new Error(`consumer exited with ${exit.code ?? exit.signal} (whole log: ${logFile}):\n${consumer.stderrTail(60)}`);
    const processed = await countProcessed(db);
    if (processed !== run.uniqueEvents) throw new Error(`${processed} events committed, expected ${run.uniqueEvents}`);
    await rm(logFile, { force: true });
    const lastCommit = await lastCommitTime(db);
    const seconds = ((lastCommit ?? Date.now()) - starting.time) / 1_000;
    const openSearchEventDocs = stack.openSearchUrl ? await countDocuments(stack.openSearchUrl, `${indexPrefix}-events-*`) : null;
    if (openSearchEventDocs !== null && openSearchEventDocs !== run.uniqueEvents) {
      throw new Error(`${openSearchEventDocs} event documents in OpenSearch, expected ${run.uniqueEvents}`);
    }
    return {
      records: run.records,
      uniqueEvents: run.uniqueEvents,
      seconds: Number(seconds.toFixed(2)),
      recordsPerSecond: Math.round(run.records / seconds),
      eventsPerSecond: Math.round(run.uniqueEvents / seconds),
      wallSeconds: Number(wallSeconds.toFixed(2)),
      peakRssBytes: consumer.peakRssBytes,
      openSearchEventDocs,
      outbox: await outboxByStatus(db),
      cpu,
      timeline,
    };
  } finally {
    clearTimeout(killer);
    consumer.kill('SIGKILL');
    await consumer.exited;
  }
}

function catchupMarkdown(r: CatchupResult): string {
  const p = r.pipeline;
  const c = r.ceilings;
  const lines = [
    `## Catch-up: ${formatNumber(r.events)} events, ${r.shards} shards, Postgres + OpenSearch + Slack notifier`,
    '',
    table(
      ['run', 'records', 'unique events', 'seconds', 'events/s', 'records/s', 'goal', 'met'],
      [
        ['driftwatch run --until-caught-up', p.records, p.uniqueEvents, formatNumber(p.seconds, 1), p.eventsPerSecond, p.recordsPerSecond, '≥ 8,000 events/s', r.goals.metEventsPerSecond ? 'yes' : 'NO'],
        [`naive per-event (1 SQL + 1 index request / event, ${r.naive.loops} loops)`, r.naive.records, r.naive.uniqueEvents, formatNumber(r.naive.seconds, 1), r.naive.eventsPerSecond, r.naive.recordsPerSecond, '', ''],
        ['speedup', '', '', '', `${formatNumber(r.speedup, 1)}×`, '', '≥ 20×', r.goals.metSpeedup ? 'yes' : 'NO'],
        [`OpenSearch alone (raw _bulk of the same documents, ${c.lanes} lanes)`, '', c.openSearch.events, formatNumber(c.openSearch.seconds, 1), c.openSearch.eventsPerSecond, '', '', ''],
        [`Postgres alone (raw multi-row upserts of the same rows, ${c.lanes} lanes)`, '', c.postgres.events, formatNumber(c.postgres.seconds, 1), c.postgres.eventsPerSecond, '', '', ''],
        [`pipeline / slower sink (${c.limitedBy})`, '', '', '', `${formatNumber(r.shareOfCeiling * 100, 1)} %`, '', '≥ 80 %', r.goals.metShareOfCeiling ? 'yes' : 'NO'],
        [
          `both sinks at once (the two raw loads together: OpenSearch ${formatNumber(c.together.openSearchSeconds, 1)} s, Postgres ${formatNumber(c.together.postgresSeconds, 1)} s)`,
          '',
          c.openSearch.events,
          formatNumber(Math.max(c.together.openSearchSeconds, c.together.postgresSeconds), 1),
          c.together.eventsPerSecond,
          '',
          '',
          '',
        ],
        ['pipeline / both sinks at once', '', '', '', `${formatNumber(r.shareOfTogether * 100, 1)} %`, '', '', ''],
      ],
    ),
    '',
    `Wall time of the consumer process (start-up, migrations and shutdown included): ${formatNumber(p.wallSeconds, 1)} s; ` +
      `peak RSS ${formatBytes(p.peakRssBytes)}; OpenSearch event documents ${p.openSearchEventDocs === null ? 'n/a' : formatNumber(p.openSearchEventDocs)}; ` +
      `outbox when caught up: ${Object.entries(p.outbox).map(([k, v]) => `${k} ${formatNumber(v)}`).join(', ') || 'empty'}.`,
  ];
  if (p.cpu) {
    lines.push('', `### CPU while catching up (${formatNumber(p.cpu.seconds, 1)} s window, ${p.cpu.cores} cores, machine busy ${formatNumber(p.cpu.machineBusy * 100, 0)} %)`, '');
    lines.push(table(['process', 'CPU seconds', 'cores used'], Object.entries(p.cpu.byGroup).sort((a, b) => b[1] - a[1]).map(([group, s]) => [group, formatNumber(s, 1), formatNumber(s / p.cpu!.seconds, 2)])));
  }
  const osCpu = c.openSearch.cpu;
  lines.push('', `### CPU while OpenSearch loads alone (${formatNumber(osCpu.seconds, 1)} s window, machine busy ${formatNumber(osCpu.machineBusy * 100, 0)} %; the bench process is the loader)`, '');
  lines.push(table(['process', 'CPU seconds', 'cores used'], Object.entries(osCpu.byGroup).sort((a, b) => b[1] - a[1]).map(([group, s]) => [group, formatNumber(s, 1), formatNumber(s / osCpu.seconds, 2)])));
  if (r.profile) {
    lines.push('', `### Where the time goes (node --cpu-prof of a ${formatNumber(r.profile.sampledMs / 1_000, 1)} s profiled run, consumer process)`, '');
    lines.push(table(['by area', 'self ms', 'share'], r.profile.byArea.map((a) => [a.area, formatNumber(a.selfMs), `${formatNumber(a.share * 100, 1)} %`])));
    lines.push('', table(['top self-time functions', 'where', 'self ms', 'share'], r.profile.top.map((f) => [f.functionName, f.location, formatNumber(f.selfMs), `${formatNumber(f.share * 100, 1)} %`])));
  }
  return lines.join('\n');
}
