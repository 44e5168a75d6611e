import { sql } from 'kysely';
import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery } from '../../pipeline/demo/synthetic-org.ts';
import { ConsumerProcess } from '../../test/support/consumer-process.ts';
import { startLocalStack } from '../../test/support/local-stack.ts';
import type { LocalStack } from '../../test/support/local-stack.ts';
import { formatNumber, percentile, progress, table } from '../support/bench-output.ts';
import { benchGroups, startCpuAccounting } from '../support/cpu-accounting.ts';
import type { CpuAccount } from '../support/cpu-accounting.ts';
import type { BenchPart } from '../support/bench-output.ts';
import { outboxByStatus } from '../../test/support/stack-queries.ts';

export interface LatencyOptions {
  readonly eventsPerSecond: number;
  readonly seconds: number;
  /** Events put in the first seconds are not measured (connections, JIT, caches warming up). */
  readonly warmupSeconds: number;
  readonly shards: number;
}

export interface Distribution {
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface LatencyResult {
  readonly targetEventsPerSecond: number;
  readonly achievedEventsPerSecond: number;
  readonly seconds: number;
  readonly measuredEvents: number;
  readonly toPostgres: Distribution;
  readonly toSearchable: Distribution;
  readonly toSlackPost: Distribution;
  /** From the commit (as the Postgres poller saw it) to the post: the notifier's share of the time to alert. */
  readonly commitToSlackPost: Distribution;
  readonly goal: { readonly p99ToPostgresMs: 1_500; readonly met: boolean };
  /** What the notifier did: the latency of a flood is its backlog over its post rate. */
  readonly slack: SlackActivity;
  /** CPU seconds by process from the first put to the end of the wait for the outbox; machineBusy counts the other benches too. */
  readonly cpu: CpuAccount;
  readonly notes: readonly string[];
  readonly settings: Readonly<Record<string, string>>;
}

/** Poll periods of the observers: each adds up to its period to what it measures. */
const PostgresPollMs = 50;
const SearchPollMs = 100;

const LatencySettings: Readonly<Record<string, string>> = {
  DRIFTWATCH_WORKER_ID: 'bench-latency',
  LOG_LEVEL: 'info',
  // Every opened finding gets its own message, posted as soon as the local server answers: the figure is driftwatch's
  // latency. With Slack's real limit (about one message per second per channel) a channel's backlog waits its turn.
  SLACK_CHANNEL_INTERVAL_MS: '0',
  SLACK_FLOOD_THRESHOLD: '100000',
  SLACK_DEBOUNCE_MS: '0',
};

/** BENCH_LATENCY_LOG_LEVEL=debug adds the notifier's per-drain counts to the consumer's log (BENCH_LATENCY_LOG: a file). */
function consumerSettings(): Readonly<Record<string, string>> {
  const level = process.env.BENCH_LATENCY_LOG_LEVEL;
  return level ? { ...LatencySettings, LOG_LEVEL: level } : LatencySettings;
}

/**
 * Steady traffic at `eventsPerSecond` (PutRecords every 100 ms) into a running `driftwatch run`; for each event, the
 * time from its PutRecords call to: its Postgres commit (a poller sees its processed_events row), its event document
 * being searchable in OpenSearch (a poller finds it by id with _search), and the Slack post of the finding it opened.
 */
export async function benchLatency(options: LatencyOptions): Promise<BenchPart<LatencyResult>> {
  progress(`latency: ${formatNumber(options.eventsPerSecond)} events/s for ${options.seconds} s (${options.warmupSeconds} s warm-up), ${options.shards} shards`);
  const org = createSyntheticOrg({ accounts: 120, seed: 11 });
  const stack = await startLocalStack({ name: 'bench-latency', shards: options.shards, org, slack: { rateLimiting: false } });
  const logFile = process.env.BENCH_LATENCY_LOG;
  const consumer = ConsumerProcess.start({ env: stack.consumerEnv(consumerSettings()), ...(logFile ? { logFile } : {}) });
  try {
    if (!(await consumer.waitForLog('consumer starting', 120_000))) throw new Error(`consumer did not start:\n${consumer.stderrTail()}`);
    await waitForLeases(stack, options.shards, 60_000);
    const total = options.eventsPerSecond * options.seconds;
    const deliveries = [...generateTraffic(org, { deliveries: total, seed: 21, duplicateRate: 0, malformedRate: 0 })];
    const putAt = new Map<string, number>();
    const seenInPostgres = new Map<string, number>();
    const seenSearchable = new Map<string, number>();
    const stopObservers = new AbortController();
    const observers = Promise.all([
      observePostgres(stack, seenInPostgres, stopObservers.signal),
      observeSearch(stack, putAt, seenSearchable, stopObservers.signal),
    ]);
    const accounting = startCpuAccounting(benchGroups({ consumerPid: () => consumer.pid, databaseName: new URL(stack.database.url).pathname.slice(1) }));
    const started = Date.now();
    await produce(stack, deliveries, options.eventsPerSecond, putAt);
    const producedSeconds = (Date.now() - started) / 1_000;
    progress(`latency: ${formatNumber(total)} events put in ${formatNumber(producedSeconds, 1)} s; waiting for the last ones`);
    const deadline = Date.now() + 120_000;
    while ((seenInPostgres.size < putAt.size || seenSearchable.size < putAt.size) && Date.now() < deadline && consumer.running) {
      await new Promise((r) => setTimeout(r, 200));
    }
    await waitForOutbox(stack, 120_000);
    const cpu = accounting.stop();
    stopObservers.abort();
    await observers;
    if (seenInPostgres.size < putAt.size) throw new Error(`only ${seenInPostgres.size} of ${putAt.size} events reached Postgres:\n${consumer.stderrTail()}`);

    const measuredFrom = started + options.warmupSeconds * 1_000;
    const measured = [...putAt.entries()].filter(([, at]) => at >= measuredFrom);
    const delays = (seen: Map<string, number>) => measured.flatMap(([id, at]) => (seen.has(id) ? [seen.get(id)! - at] : []));
    const slack = await slackDelays(stack, putAt, measuredFrom);
    const slackAfterCommit = await slackDelays(stack, putAt, measuredFrom, seenInPostgres);
    const toPostgres = distribution(delays(seenInPostgres));
    const activity = await slackActivity(stack, started, [...seenInPostgres.values()].reduce((a, b) => Math.max(a, b), 0));
    const result: LatencyResult = {
      targetEventsPerSecond: options.eventsPerSecond,
      achievedEventsPerSecond: Math.round(total / producedSeconds),
      seconds: options.seconds,
      measuredEvents: measured.length,
      toPostgres,
      toSearchable: distribution(delays(seenSearchable)),
      toSlackPost: distribution(slack),
      commitToSlackPost: distribution(slackAfterCommit),
      goal: { p99ToPostgresMs: 1_500, met: toPostgres.p99Ms < 1_500 },
      slack: activity,
      cpu,
      notes: [
        `Postgres: observed by a ${PostgresPollMs} ms poller of processed_events (adds up to ${PostgresPollMs} ms).`,
        `Searchable: a ${SearchPollMs} ms poller finds the event document with _search (not a realtime GET), so the index refresh interval counts.`,
        'Slack: chat.postMessage of each opened finding as the local server recorded it; pacing off, no flood digests (see settings).',
      ],
      settings: LatencySettings,
    };
    return { name: 'latency', result, markdown: latencyMarkdown(result) };
  } finally {
    await consumer.stop();
    await stack.close();
  }
}

async function waitForLeases(stack: LocalStack, shards: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const row = await sql<{ n: string }>`select count(*) as n from shard_leases where owner is not null and lease_expires_at > now()`.execute(stack.database.db);
    if (Number(row.rows[0]?.n ?? 0) >= shards) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the consumer did not lease every shard');
}

/** One PutRecords every 100 ms on an absolute schedule (no drift); put time = just before the call. */
async function produce(stack: LocalStack, deliveries: readonly Delivery[], perSecond: number, putAt: Map<string, number>): Promise<void> {
  const perTick = Math.max(1, Math.round(perSecond / 10));
  const start = Date.now();
  for (let tick = 0, offset = 0; offset < deliveries.length; tick++, offset += perTick) {
    const wait = start + tick * 100 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const slice = deliveries.slice(offset, offset + perTick);
    const now = Date.now();
    for (const delivery of slice) if (delivery.event) putAt.set(delivery.event.id, now);
    await stack.kinesis.put(stack.streamName, slice);
    if (tick > 0 && tick % 100 === 0) progress(`latency: ${formatNumber(offset + slice.length)}/${formatNumber(deliveries.length)} events put`);
  }
}

async function observePostgres(stack: LocalStack, seen: Map<string, number>, signal: AbortSignal): Promise<void> {
  // processed_at is the commit's transaction start; a 1 s look-back covers transactions that commit later than they
  // start, and every 40th poll looks 15 s back for the ones a loaded machine kept open longer (seen up to 2 s late).
  let cursor = new Date(0);
  for (let poll = 1; !signal.aborted; poll++) {
    const lookBackMs = poll % 40 === 0 ? 15_000 : 1_000;
    const rows = await sql<{ event_id: string; processed_at: Date }>`
      select event_id, processed_at from processed_events where processed_at >= ${new Date(cursor.getTime() - lookBackMs)}`.execute(stack.database.db);
    const now = Date.now();
    for (const row of rows.rows) {
      if (!seen.has(row.event_id)) seen.set(row.event_id, now);
      if (row.processed_at > cursor) cursor = row.processed_at;
    }
    await new Promise((r) => setTimeout(r, PostgresPollMs));
  }
}

async function observeSearch(stack: LocalStack, putAt: Map<string, number>, seen: Map<string, number>, signal: AbortSignal): Promise<void> {
  const url = `${stack.openSearchUrl}/${stack.indexPrefix}-events-*/_search?ignore_unavailable=true&allow_no_indices=true`;
  while (!signal.aborted) {
    const pending = [...putAt.keys()].filter((id) => !seen.has(id)).slice(0, 5_000);
    if (pending.length > 0) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: { ids: { values: pending } }, _source: false, size: pending.length }),
      });
      const body = (await response.json()) as { hits?: { hits?: { _id: string }[] } };
      const now = Date.now();
      for (const hit of body.hits?.hits ?? []) if (!seen.has(hit._id)) seen.set(hit._id, now);
    }
    await new Promise((r) => setTimeout(r, SearchPollMs));
  }
}

async function waitForOutbox(stack: LocalStack, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const outbox = await outboxByStatus(stack.database.db);
    if ((outbox.pending ?? 0) + (outbox.claimed ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Post time of each opened finding's alert minus the put time of the event that opened it, or with `from` the time
 * that event was seen committed.
 */
async function slackDelays(stack: LocalStack, putAt: ReadonlyMap<string, number>, measuredFrom: number, from?: ReadonlyMap<string, number>): Promise<number[]> {
  const findings = await stack.database.db.selectFrom('findings').select(['finding_id', 'opened_event_id']).execute();
  const openedBy = new Map(findings.map((f) => [f.finding_id, f.opened_event_id]));
  const delays: number[] = [];
  for (const message of stack.slack?.messages() ?? []) {
    const postKey = postKeyOf(message.params);
    const match = postKey ? /^(.+):finding\.opened\|/.exec(postKey) : null;
    const eventId = match ? openedBy.get(match[1]!) : undefined;
    const at = eventId ? putAt.get(eventId) : undefined;
    const start = from ? (eventId ? from.get(eventId) : undefined) : at;
    if (at !== undefined && at >= measuredFrom && start !== undefined) delays.push(message.postedAt - start);
  }
  return delays;
}

export interface SlackActivity {
  /** Slack Web API calls by method (as the local server recorded them). */
  readonly calls: Readonly<Record<string, number>>;
  /** Messages posted, by the intent kind of their marker. */
  readonly messages: Readonly<Record<string, number>>;
  /** Messages per second from the first post to the last, and seconds from the first put to the last post. */
  readonly postsPerSecond: number;
  readonly lastPostAfterS: number;
  /**
   * Slack calls per second while the consumer still committed events (both share one process) and after its last
   * commit until the last call: the notifier's own pace apart from the consumer's.
   */
  readonly callsPerSecond: { readonly whileConsuming: number; readonly afterConsuming: number };
  /** Outbox rows by status at the end: pending or claimed ones never reached Slack within the bench's wait. */
  readonly outbox: Readonly<Record<string, number>>;
}

async function slackActivity(stack: LocalStack, started: number, lastCommit: number): Promise<SlackActivity> {
  const calls: Record<string, number> = {};
  const chatTimes: number[] = [];
  for (const call of stack.slack?.calls ?? []) {
    calls[call.method] = (calls[call.method] ?? 0) + 1;
    if (call.method.startsWith('chat.')) chatTimes.push(call.time);
  }
  const firstCall = chatTimes.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const lastCall = chatTimes.reduce((a, b) => Math.max(a, b), 0);
  const rate = (from: number, to: number) => (to > from ? Math.round((chatTimes.filter((t) => t >= from && t < to).length / ((to - from) / 1_000)) * 10) / 10 : 0);
  const messages: Record<string, number> = {};
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  for (const message of stack.slack?.messages() ?? []) {
    const kind = /:([a-z]+\.[a-z]+)\|/.exec(postKeyOf(message.params) ?? '')?.[1] ?? 'other';
    messages[kind] = (messages[kind] ?? 0) + 1;
    first = Math.min(first, message.postedAt);
    last = Math.max(last, message.postedAt);
  }
  const total = Object.values(messages).reduce((a, b) => a + b, 0);
  const outbox = await outboxByStatus(stack.database.db);
  return {
    calls,
    messages,
    postsPerSecond: total > 1 ? Math.round((total / Math.max(1, last - first)) * 10_000) / 10 : 0,
    lastPostAfterS: total > 0 ? Math.round((last - started) / 100) / 10 : 0,
    callsPerSecond: { whileConsuming: rate(firstCall, lastCommit), afterConsuming: rate(lastCommit, lastCall + 1) },
    outbox,
  };
}

export function postKeyOf(params: Readonly<Record<string, unknown>>): string | null {
  const metadata = params.metadata as { event_payload?: { post_key?: unknown } } | undefined;
  const key = metadata?.event_payload?.post_key;
  return typeof key === 'string' ? key : null;
}

function distribution(values: readonly number[]): Distribution {
  return {
    count: values.length,
    p50Ms: Math.round(percentile(values, 50)),
    p95Ms: Math.round(percentile(values, 95)),
    p99Ms: Math.round(percentile(values, 99)),
    maxMs: Math.round(values.reduce((a, b) => Math.max(a, b), 0)),
  };
}

function latencyMarkdown(r: LatencyResult): string {
  const row = (name: string, d: Distribution, goal = '', met = '') => [name, d.count, d.p50Ms, d.p95Ms, d.p99Ms, d.maxMs, goal, met];
  return [
    `## Latency at a steady ${formatNumber(r.targetEventsPerSecond)} events/s (achieved ${formatNumber(r.achievedEventsPerSecond)}), ${r.seconds} s, from PutRecords`,
    '',
    table(
      ['to', 'events', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'goal', 'met'],
      [
        row('Postgres commit', r.toPostgres, 'p99 < 1,500 ms', r.goal.met ? 'yes' : 'NO'),
        row('searchable in OpenSearch', r.toSearchable),
        row('Slack post (opened findings)', r.toSlackPost),
        row('commit → Slack post', r.commitToSlackPost),
      ],
    ),
    '',
    `Slack: ${formatNumber(r.slack.postsPerSecond, 1)} messages/s (calls/s ${r.slack.callsPerSecond.whileConsuming} while the consumer commits, ${r.slack.callsPerSecond.afterConsuming} after), last post ${formatNumber(r.slack.lastPostAfterS, 1)} s after the first put; ` +
      `messages ${JSON.stringify(r.slack.messages)}; calls ${JSON.stringify(r.slack.calls)}; outbox at the end ${JSON.stringify(r.slack.outbox)}`,
    `CPU: ${JSON.stringify(r.cpu.byGroup)} s over ${formatNumber(r.cpu.seconds, 1)} s; machine busy ${formatNumber(r.cpu.machineBusy * 100)} % of ${r.cpu.cores} cores`,
    '',
    ...r.notes.map((note) => `- ${note}`),
  ].join('\n');
}
