import { ConsumerProcess } from '../test/support/consumer-process.ts';
import { startLocalStack } from '../test/support/local-stack.ts';
import { countProcessed } from '../test/support/stack-queries.ts';
import { checkOpenSearch, checkPostgres, checkSlack, outboxDrained, trafficOf, waitUntil } from './support/drill-checks.ts';
import type { Check } from './support/drill-checks.ts';
import { DrillConsumerSettings, SlackExpectations, drillResult, drillTraffic } from './support/drill-run.ts';
import type { DrillResult } from './support/drill-run.ts';
import { MetricsProbe, freePort, metricMax, metricValue } from './support/metrics-probe.ts';
import { TcpProxy, viaProxy } from './support/tcp-proxy.ts';

export interface OutageDrillOptions {
  /** Steady traffic during the whole drill. */
  readonly eventsPerSecond: number;
  readonly warmupMs: number;
  readonly openSearchDownMs: number;
  readonly postgresDownMs: number;
  /** Slack answers 500 for this long, then 429 (Retry-After 5 s) for `slackRateLimitedMs`. */
  readonly slackErrorMs: number;
  readonly slackRateLimitedMs: number;
  readonly shards: number;
  readonly seed: number;
  readonly timeoutMs: number;
  readonly log?: (message: string) => void;
}

/** What /metrics and /healthz showed, once a second. */
export interface Observation {
  readonly t: number;
  readonly phase: string;
  readonly lagMs: number;
  readonly openSearchStalled: number;
  readonly openSearchRetries: number;
  readonly batchFailures: number;
  readonly outboxDepth: number;
  readonly outboxOldestSeconds: number;
  readonly health: number | null;
}

export interface PhaseSummary {
  readonly phase: string;
  readonly seconds: number;
  readonly maxLagMs: number;
  readonly maxOutboxDepth: number;
  readonly maxOutboxOldestSeconds: number;
  readonly openSearchStalledSeen: boolean;
  readonly openSearchRetries: number;
  /** /healthz answers 503 (unanswered ones are not counted). */
  readonly unhealthyScrapes: number;
  /** From the end of the outage until lag was back under 5 s (and, for Slack, the outbox empty). */
  readonly recoverySeconds: number | null;
}

const RecoveredLagMs = 5_000;

/**
 * Outages mid-run, each while traffic keeps coming: OpenSearch unreachable (a TCP proxy in front of the shared node is
 * cut), Postgres unreachable (the same for the database server: every connection reset, as in a restart), Slack
 * answering 500 then 429. Nothing may be lost, the pipeline must recover by itself and its lag drain, and /metrics
 * must show lag, stalled sinks and outbox depth while each outage lasts.
 */
export async function runOutageDrill(options: OutageDrillOptions): Promise<DrillResult & { readonly phases: readonly PhaseSummary[] }> {
  const started = Date.now();
  const deadline = started + options.timeoutMs;
  const log = options.log ?? (() => undefined);
  const planned = options.warmupMs + options.openSearchDownMs + options.postgresDownMs + options.slackErrorMs + options.slackRateLimitedMs + 180_000;
  const { org, deliveries } = drillTraffic(Math.ceil((options.eventsPerSecond * planned) / 1_000), options.seed);
  const stack = await startLocalStack({ name: 'drill-outage', shards: options.shards, org });
  const openSearch = new URL(stack.openSearchUrl!);
  const database = new URL(stack.database.url);
  const openSearchProxy = await TcpProxy.start({ host: openSearch.hostname, port: Number(openSearch.port || 80) });
  const postgresProxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
  const metricsPort = await freePort();
  const probe = new MetricsProbe(metricsPort);
  const slack = stack.slack!;
  const db = stack.database.db;
  const worker = ConsumerProcess.start({
    env: stack.consumerEnv({
      ...DrillConsumerSettings,
      OPENSEARCH_URL: viaProxy(stack.openSearchUrl!, openSearchProxy),
      DATABASE_URL: viaProxy(stack.database.url, postgresProxy),
      DRIFTWATCH_METRICS_PORT: String(metricsPort),
    }),
  });
  const stop = new AbortController();
  let put = 0;
  let phase = 'warm-up';
  const observations: Observation[] = [];
  const background: Promise<void>[] = [];
  try {
    if (!(await worker.waitForLog('consumer starting', 60_000))) throw new Error(`worker did not start:\n${worker.stderrTail()}`);
    background.push(
      (async () => {
        const perTick = Math.max(1, Math.round(options.eventsPerSecond / 10));
        const t0 = Date.now();
        for (let tick = 0; !stop.signal.aborted && put < deliveries.length; tick++) {
          const wait = t0 + tick * 100 - Date.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          const slice = deliveries.slice(put, put + perTick);
          await stack.kinesis.put(stack.streamName, slice);
          put += slice.length;
        }
      })(),
      (async () => {
        while (!stop.signal.aborted) {
          const [scrape, health] = await Promise.all([probe.scrape(), probe.health()]);
          observations.push({
            t: Date.now(),
            phase,
            lagMs: metricMax(scrape, 'driftwatch_shard_lag_milliseconds'),
            openSearchStalled: metricValue(scrape, 'driftwatch_sink_stalled_batches', { sink: 'opensearch' }),
            openSearchRetries: metricValue(scrape, 'driftwatch_sink_retries_total', { sink: 'opensearch' }),
            batchFailures: metricValue(scrape, 'driftwatch_batch_failures_total'),
            outboxDepth: metricValue(scrape, 'driftwatch_outbox_depth'),
            outboxOldestSeconds: metricValue(scrape, 'driftwatch_outbox_oldest_pending_seconds'),
            health: health?.status ?? null,
          });
          await new Promise((r) => setTimeout(r, 1_000));
        }
      })(),
    );
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const latestLag = () => observations.at(-1)?.lagMs ?? Number.POSITIVE_INFINITY;
    const recovered = async (extra: () => Promise<boolean> = async () => true) =>
      waitUntil(async () => latestLag() < RecoveredLagMs && (observations.at(-1)?.openSearchStalled ?? 1) === 0 && (await extra()), Math.max(0, deadline - Date.now()), 500);
    const recoveries = new Map<string, number | null>();
    const outage = async (name: string, durationMs: number, begin: () => void, end: () => void, extra?: () => Promise<boolean>) => {
      phase = name;
      log(`outage drill: ${name} for ${durationMs / 1_000} s (${put.toLocaleString('en-US')} events put so far)`);
      begin();
      await sleep(durationMs);
      end();
      const ended = Date.now();
      phase = `${name}: recovery`;
      const ok = await recovered(extra);
      recoveries.set(name, ok ? Math.round((Date.now() - ended) / 100) / 10 : null);
      log(`outage drill: ${name} over; ${ok ? `recovered in ${recoveries.get(name)} s` : 'did not recover in time'}`);
    };

    await sleep(options.warmupMs);
    await outage('opensearch down', options.openSearchDownMs, () => openSearchProxy.cut(), () => openSearchProxy.restore());
    await outage('postgres down', options.postgresDownMs, () => postgresProxy.cut(), () => postgresProxy.restore());
    await outage(
      'slack 500 then 429',
      options.slackErrorMs + options.slackRateLimitedMs,
      () => {
        slack.setOutage({ status: 500, durationMs: options.slackErrorMs });
        setTimeout(() => slack.setOutage({ status: 429, durationMs: options.slackRateLimitedMs, retryAfterSeconds: 5 }), options.slackErrorMs).unref();
      },
      () => slack.clearOutage(),
      () => outboxDrained(db),
    );
    phase = 'drain';
    stop.abort();
    await Promise.all(background);
    const traffic = trafficOf(org, deliveries.slice(0, put));
    const drained = await waitUntil(async () => (await countProcessed(db)) >= traffic.uniqueEventIds.size && (await outboxDrained(db)), Math.max(0, deadline - Date.now()), 500);
    log(`outage drill: ${put.toLocaleString('en-US')} events put; ${drained ? 'all processed and notified' : 'NOT drained in time'}`);
    await worker.stop();

    const phases = summarize(observations, recoveries);
    const of = (name: string) => phases.find((p) => p.phase === name);
    const os = of('opensearch down');
    const pg = of('postgres down');
    const sl = of('slack 500 then 429');
    const half = (ms: number) => ms / 2;
    const checks: Check[] = [
      {
        name: 'metrics: lag and a stalled OpenSearch sink visible during its outage',
        ok: !!os && os.maxLagMs >= half(options.openSearchDownMs) && os.openSearchStalledSeen && os.openSearchRetries > 0,
        detail: os ? `max shard lag ${(os.maxLagMs / 1_000).toFixed(1)} s, stalled sink seen ${os.openSearchStalledSeen}, ${os.openSearchRetries} retries` : 'no observation',
      },
      {
        name: 'metrics: lag visible and /healthz 503 during the Postgres outage',
        ok: !!pg && pg.maxLagMs >= half(options.postgresDownMs) && pg.unhealthyScrapes > 0,
        detail: pg ? `max shard lag ${(pg.maxLagMs / 1_000).toFixed(1)} s, ${pg.unhealthyScrapes} unhealthy /healthz answers` : 'no observation',
      },
      {
        name: 'metrics: outbox depth and age visible during the Slack outage',
        ok: !!sl && sl.maxOutboxDepth > 0 && sl.maxOutboxOldestSeconds >= half(options.slackErrorMs) / 1_000,
        detail: sl ? `max outbox depth ${sl.maxOutboxDepth}, oldest intent ${sl.maxOutboxOldestSeconds.toFixed(0)} s` : 'no observation',
      },
      {
        name: 'drill: recovered by itself after every outage, lag drained',
        ok: [...recoveries.values()].every((r) => r !== null) && drained,
        detail: `${[...recoveries.entries()].map(([k, v]) => `${k}: ${v === null ? 'no' : `${v} s`}`).join('; ')}; final drain ${drained ? 'done' : 'NOT done'}`,
      },
      ...(await checkPostgres(db, traffic)),
      ...(await checkOpenSearch(stack.openSearchUrl!, stack.indexPrefix, traffic, db)),
      ...(await checkSlack(slack, db, SlackExpectations)),
    ];
    return {
      ...drillResult('outages', started, { eventsPut: put, eventsPerSecond: options.eventsPerSecond, slackPosts: slack.messages().length }, checks),
      phases,
    };
  } finally {
    stop.abort();
    await Promise.allSettled(background);
    worker.kill('SIGKILL');
    await worker.exited;
    await openSearchProxy.close();
    await postgresProxy.close();
    await stack.close();
  }
}

function summarize(observations: readonly Observation[], recoveries: ReadonlyMap<string, number | null>): PhaseSummary[] {
  const phases: PhaseSummary[] = [];
  for (const name of [...new Set(observations.map((o) => o.phase))]) {
    const during = observations.filter((o) => o.phase === name);
    const finite = (values: number[]) => values.filter(Number.isFinite);
    const retries = finite(during.map((o) => o.openSearchRetries));
    phases.push({
      phase: name,
      seconds: during.length > 1 ? Math.round((during.at(-1)!.t - during[0]!.t) / 1_000) : 0,
      maxLagMs: Math.max(0, ...finite(during.map((o) => o.lagMs))),
      maxOutboxDepth: Math.max(0, ...finite(during.map((o) => o.outboxDepth))),
      maxOutboxOldestSeconds: Math.max(0, ...finite(during.map((o) => o.outboxOldestSeconds))),
      openSearchStalledSeen: during.some((o) => o.openSearchStalled > 0),
      openSearchRetries: retries.length > 1 ? Math.max(...retries) - Math.min(...retries) : 0,
      unhealthyScrapes: during.filter((o) => o.health === 503).length,
      recoverySeconds: recoveries.get(name) ?? null,
    });
  }
  return phases;
}
