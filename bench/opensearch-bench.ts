/**
 * npm run bench:opensearch — the OpenSearch sink (TrackedEvent -> documents -> NDJSON -> _bulk -> per-item results,
 * through deliver()) against a minimal raw `_bulk` loader given the SAME documents and action lines as ready objects
 * (built outside the timed region): it only serializes them to NDJSON, POSTs and checks the response. Same batch size,
 * same concurrency, fresh indices with the same templates every round, slices interleaved (see round()); medians.
 *
 * Env: OPENSEARCH_URL (default: ensureOpenSearch(), i.e. the local node), BENCH_EVENTS (200000), BENCH_ROUNDS (5),
 * BENCH_BATCH (2000 events per batch = one ~3.5 MiB bulk), BENCH_CONCURRENCY (2 batches in flight, like 2 shards),
 * BENCH_SLICE (10 batches per interleaved slice).
 */
import { Agent, request } from 'node:http';
import pino from 'pino';
import { loadSettings } from '../pipeline/config/load-settings.ts';
import { createSyntheticOrg, generateTraffic } from '../pipeline/demo/synthetic-org.ts';
import { deliver } from '../pipeline/sinks/deliver.ts';
import { buildBulkRequests } from '../pipeline/sinks/opensearch/bulk-request.ts';
import { createOpenSearchClient } from '../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../pipeline/sinks/opensearch/config.ts';
import { createOpenSearchSink } from '../pipeline/sinks/opensearch/create-opensearch-sink.ts';
import { installOpenSearchIndices } from '../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import type { Item } from '../stages/stage.ts';
import type { TrackedEvent } from '../stages/track/tracked-event.ts';
import { ensureOpenSearch } from '../test/support/opensearch.ts';
import { syntheticChain } from './support/synthetic-chain.ts';

const Events = Number(process.env.BENCH_EVENTS ?? 200_000);
const Rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const BatchSize = Number(process.env.BENCH_BATCH ?? 2_000);
const Concurrency = Number(process.env.BENCH_CONCURRENCY ?? 2);
const json = process.argv.includes('--json');
const logger = pino({ level: process.env.LOG_LEVEL ?? 'warn' });
const url = (process.env.OPENSEARCH_URL ?? (await ensureOpenSearch())).replace(/\/+$/, '');
const signal = new AbortController().signal;
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---- the data: realistic tracked events through the real stages (untimed) ----
log(`preparing ${Events.toLocaleString('en-US')} tracked events...`);
const org = createSyntheticOrg({ accounts: 120, seed: 3 });
const chain = syntheticChain(org);
const batches: Item<TrackedEvent>[][] = [];
let pending: Item<{ data: Uint8Array }>[] = [];
let sequence = 0;
const flush = async () => {
  batches.push((await chain.run({ shardId: 'bench', items: pending }, signal)).kept);
  pending = [];
};
for (const delivery of generateTraffic(org, { deliveries: Events, seed: 9, malformedRate: 0, duplicateRate: 0, outOfOrderRate: 0.02 })) {
  pending.push({ origin: { shardId: 'bench', sequenceNumber: String(++sequence) }, value: { data: delivery.data } });
  if (pending.length === BatchSize) await flush();
}
if (pending.length > 0) await flush();
const eventCount = batches.reduce((n, b) => n + b.length, 0);

// ---- the raw loader's input: the same documents with their action lines, as plain objects (untimed) ----
const rawPrefix = 'dwbench-raw';
const sinkPrefix = 'dwbench-sink';
type RawLine = Record<string, unknown>;
const rawBatches: RawLine[][] = batches.map((batch) =>
  buildBulkRequests(batch.map((item) => item.value), { indexPrefix: rawPrefix, maxBytes: Number.MAX_SAFE_INTEGER })
    .flatMap((r) => r.body.trimEnd().split('\n'))
    .map((line) => JSON.parse(line) as RawLine),
);
const documents = rawBatches.reduce((n, lines) => n + lines.length / 2, 0);
let bytes = 0;
for (const lines of rawBatches) for (const line of lines) bytes += Buffer.byteLength(JSON.stringify(line)) + 1;

const admin = createOpenSearchClient(openSearchConfigFromSettings(loadSettings({ OPENSEARCH_URL: url }))!);
async function resetIndices(prefix: string): Promise<void> {
  await admin.transport.request({ method: 'DELETE', path: `/${prefix}-*`, querystring: { expand_wildcards: 'all' } }, { ignore: [404] });
  await installOpenSearchIndices(admin, loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix }));
}
async function countDocuments(prefix: string): Promise<number> {
  await admin.transport.request({ method: 'POST', path: `/${prefix}-*/_refresh` });
  const response = await admin.transport.request({ method: 'GET', path: `/${prefix}-*/_count` });
  return (response.body as { count: number }).count;
}
async function inParallel<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Concurrency }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

const agent = new Agent({ keepAlive: true, maxSockets: Concurrency });
const target = new URL(url);
function postBulk(body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: target.hostname, port: target.port, method: 'POST', path: '/_bulk?filter_path=errors,items.*.status', agent, headers: { 'content-type': 'application/x-ndjson', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const parsed = JSON.parse(text) as { errors?: boolean; items?: Record<string, { status: number }>[] };
          // 409 = a newer version of a finding is already stored (batches in flight overtake each other): done.
          const failed = parsed.errors === false ? [] : (parsed.items ?? []).filter((item) => Object.values(item).some((r) => r.status >= 300 && r.status !== 409));
          if (failed.length === 0 && (parsed.errors === false || parsed.items)) resolve();
          else reject(new Error(`bulk errors: ${text.slice(0, 300)}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const Slice = Number(process.env.BENCH_SLICE ?? 10);

/**
 * One round: both loaders index every event into their own fresh indices, alternating every `Slice` batches (20k
 * events), the order flipping each slice. This machine is shared (other processes use the same node and cores), so
 * back-to-back whole runs differ by up to 2x; slices seconds apart see the same background load.
 */
async function round(): Promise<{ raw: number; sink: number; rawCpu: number; sinkCpu: number; writes: number }> {
  await resetIndices(rawPrefix);
  await resetIndices(sinkPrefix);
  const sink = (await createOpenSearchSink(loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: sinkPrefix }), logger))!;
  await sink.healthcheck(signal);
  const totals = { raw: 0, sink: 0, rawCpu: 0, sinkCpu: 0, writes: 0 };
  const timed = async (which: 'raw' | 'sink', work: () => Promise<void>) => {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    await work();
    totals[which] += performance.now() - start;
    const used = process.cpuUsage(cpuStart);
    totals[which === 'raw' ? 'rawCpu' : 'sinkCpu'] += (used.user + used.system) / 1_000;
  };
  // A minimal loader: serialize the documents to NDJSON, POST, check the response. No retries, no per-item mapping.
  const rawSlice = (from: number, to: number) =>
    timed('raw', () =>
      inParallel(rawBatches.slice(from, to), async (lines) => {
        let body = '';
        for (const line of lines) body += `${JSON.stringify(line)}\n`;
        await postBulk(body);
      }),
    );
  const sinkSlice = (from: number, to: number) =>
    timed('sink', () =>
      inParallel(batches.slice(from, to), async (items) => {
        const result = await deliver(sink, { shardId: 'bench', items }, signal, logger);
        totals.writes += result.attempts;
        if (result.rejected.length > 0) throw new Error(`sink rejected ${result.rejected.length} events: ${result.rejected[0]!.reason}`);
      }),
    );
  for (let from = 0, k = 0; from < batches.length; from += Slice, k++) {
    const to = Math.min(from + Slice, batches.length);
    if (k % 2 === 0) {
      await rawSlice(from, to);
      await sinkSlice(from, to);
    } else {
      await sinkSlice(from, to);
      await rawSlice(from, to);
    }
  }
  await sink.close();
  for (const prefix of [rawPrefix, sinkPrefix]) {
    const stored = await countDocuments(prefix);
    if (stored !== uniqueDocuments) throw new Error(`${prefix} holds ${stored} documents, expected ${uniqueDocuments}`);
  }
  return totals;
}

// Finding documents are overwritten as findings move (opened -> resolved): fewer stored documents than actions.
const uniqueDocuments = eventCount + new Set(batches.flat().flatMap((item) => (item.value.finding && item.value.transition !== 'stale' && item.value.transition !== 'recorded' ? [item.value.finding.findingId] : []))).size;

log(`${eventCount.toLocaleString('en-US')} events -> ${documents.toLocaleString('en-US')} bulk actions (${(bytes / 1_048_576).toFixed(0)} MiB NDJSON); warming up...`);
await round();
const raw: number[] = [];
const sink: number[] = [];
for (let r = 1; r <= Rounds; r++) {
  const t = await round();
  raw.push(t.raw);
  sink.push(t.sink);
  log(`round ${r}/${Rounds}: raw ${(t.raw / 1_000).toFixed(2)} s (${Math.round(t.rawCpu)} ms CPU), sink ${(t.sink / 1_000).toFixed(2)} s (${Math.round(t.sinkCpu)} ms CPU, ${t.writes} writes for ${batches.length} batches)`);
}
for (const prefix of [rawPrefix, sinkPrefix]) {
  await admin.transport.request({ method: 'DELETE', path: `/${prefix}-*`, querystring: { expand_wildcards: 'all' } }, { ignore: [404] });
  for (const name of [`${prefix}-events`, `${prefix}-findings`]) await admin.transport.request({ method: 'DELETE', path: `/_index_template/${name}` }, { ignore: [404] });
}
await admin.close();
agent.destroy();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rawRate = eventCount / (median(raw) / 1_000);
const sinkRate = eventCount / (median(sink) / 1_000);
// Each round's two totals were measured under the same background load: the median of their ratios is the figure to trust.
const pairedRatio = median(raw.map((r, i) => r / sink[i]!));
const result = {
  events: eventCount,
  bulkActions: documents,
  ndjsonMiB: Number((bytes / 1_048_576).toFixed(1)),
  batchSize: BatchSize,
  concurrency: Concurrency,
  rounds: Rounds,
  rawEventsPerSecond: Math.round(rawRate),
  sinkEventsPerSecond: Math.round(sinkRate),
  ratioOfMedians: Number((sinkRate / rawRate).toFixed(3)),
  ratio: Number(pairedRatio.toFixed(3)),
  rounds_s: raw.map((r, i) => ({ raw: Number((r / 1_000).toFixed(2)), sink: Number((sink[i]! / 1_000).toFixed(2)) })),
  goal: 'sink >= 80% of raw _bulk loader (median of per-round ratios)',
  met: pairedRatio >= 0.8,
  node: process.version,
};
if (json) {
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} else {
  const f = (n: number) => Math.round(n).toLocaleString('en-US').padStart(10);
  process.stdout.write(
    [
      `bench:opensearch — ${eventCount.toLocaleString('en-US')} events (${documents.toLocaleString('en-US')} bulk actions, ${result.ndjsonMiB} MiB), batches of ${BatchSize}, ${Concurrency} in flight, median of ${Rounds} rounds (${process.version}, ${url})`,
      `  raw _bulk loader (ready documents -> NDJSON)    ${f(rawRate)} events/s   ${f((rawRate * documents) / eventCount)} docs/s`,
      `  OpenSearch sink (documents+bulk+retry+deliver)   ${f(sinkRate)} events/s   ${f((sinkRate * documents) / eventCount)} docs/s`,
      `  ratio of the medians                             ${(result.ratioOfMedians * 100).toFixed(1).padStart(9)} %`,
      `  ratio, median of the ${Rounds} paired rounds           ${(result.ratio * 100).toFixed(1).padStart(9)} %   (goal >= 80 %: ${result.met ? 'met' : 'NOT met'})`,
      '',
    ].join('\n'),
  );
}
