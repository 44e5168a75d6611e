/**
 * npm run bench:opensearch — the OpenSearch sink (TrackedEvent -> documents -> NDJSON -> _bulk -> per-item results,
 * through deliver()) against a minimal raw `_bulk` loader given the SAME documents and action lines as ready objects
 * (built outside the timed region): it only serializes them to NDJSON, POSTs and checks the response. Same batch size,
 * same concurrency, fresh indices with the same templates for every run; the order alternates each round; medians.
 *
 * Env: OPENSEARCH_URL (default: ensureOpenSearch(), i.e. the local node), BENCH_EVENTS (200000), BENCH_ROUNDS (3),
 * BENCH_BATCH (2000 events per batch = one ~3 MiB bulk), BENCH_CONCURRENCY (2 batches in flight, like 2 shards).
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
import { AccountRegistryFile } from '../schemas/account-registry.ts';
import { DecodeStage } from '../stages/decode/decode-stage.ts';
import { AccountRegistry } from '../stages/enrich/account-registry.ts';
import { EnrichStage } from '../stages/enrich/enrich-stage.ts';
import { RuleCatalog } from '../stages/enrich/rule-catalog.ts';
import { ScopeStage } from '../stages/scope/scope-stage.ts';
import type { Item } from '../stages/stage.ts';
import type { EvaluationState } from '../stages/track/finding.ts';
import { SlaPolicy } from '../stages/track/sla-policy.ts';
import { TrackStage } from '../stages/track/track-stage.ts';
import type { TrackedEvent } from '../stages/track/track-stage.ts';
import { ensureOpenSearch } from '../test/support/opensearch.ts';

const Events = Number(process.env.BENCH_EVENTS ?? 200_000);
const Rounds = Number(process.env.BENCH_ROUNDS ?? 3);
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
const decode = new DecodeStage({ maxRecordBytes: 262_144 });
const enrich = new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: new AccountRegistry(AccountRegistryFile.parse({ accounts: org.accounts })) });
const scope = new ScopeStage();
const memory = new Map<string, EvaluationState>();
const track = new TrackStage({ store: { load: async () => memory }, sla: SlaPolicy.defaults() });
const batches: Item<TrackedEvent>[][] = [];
let pending: Item<{ data: Uint8Array }>[] = [];
let sequence = 0;
const flush = async () => {
  const decoded = decode.processSync({ shardId: 'bench', items: pending });
  const scoped = scope.processSync({ shardId: 'bench', items: enrich.processSync({ shardId: 'bench', items: decoded.kept }).kept });
  batches.push((await track.process({ shardId: 'bench', items: scoped.kept }, signal)).kept);
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

async function rawRun(): Promise<number> {
  await resetIndices(rawPrefix);
  const start = performance.now();
  // A minimal loader: serialize the documents to NDJSON, POST, check the response. No retries, no per-item mapping.
  await inParallel(rawBatches, async (lines) => {
    let body = '';
    for (const line of lines) body += `${JSON.stringify(line)}\n`;
    await postBulk(body);
  });
  const ms = performance.now() - start;
  const stored = await countDocuments(rawPrefix);
  if (stored !== uniqueDocuments) throw new Error(`raw loader stored ${stored} documents, expected ${uniqueDocuments}`);
  return ms;
}

async function sinkRun(): Promise<number> {
  await resetIndices(sinkPrefix);
  const sink = (await createOpenSearchSink(loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: sinkPrefix }), logger))!;
  await sink.healthcheck(signal);
  const start = performance.now();
  await inParallel(batches, async (items) => {
    const result = await deliver(sink, { shardId: 'bench', items }, signal, logger);
    if (result.rejected.length > 0) throw new Error(`sink rejected ${result.rejected.length} events: ${result.rejected[0]!.reason}`);
  });
  const ms = performance.now() - start;
  await sink.close();
  const stored = await countDocuments(sinkPrefix);
  if (stored !== uniqueDocuments) throw new Error(`sink stored ${stored} documents, expected ${uniqueDocuments}`);
  return ms;
}

// Finding documents are overwritten as findings move (opened -> resolved): fewer stored documents than actions.
const uniqueDocuments = eventCount + new Set(batches.flat().flatMap((item) => (item.value.finding && item.value.transition !== 'stale' && item.value.transition !== 'recorded' ? [item.value.finding.findingId] : []))).size;

log(`${eventCount.toLocaleString('en-US')} events -> ${documents.toLocaleString('en-US')} bulk actions (${(bytes / 1_048_576).toFixed(0)} MiB NDJSON); warming up...`);
await rawRun();
await sinkRun();
const raw: number[] = [];
const sink: number[] = [];
for (let round = 1; round <= Rounds; round++) {
  // Alternate who goes first so neither always inherits the other's merges and garbage.
  if (round % 2 === 1) {
    raw.push(await rawRun());
    sink.push(await sinkRun());
  } else {
    sink.push(await sinkRun());
    raw.push(await rawRun());
  }
  log(`round ${round}/${Rounds}: raw ${(raw.at(-1)! / 1_000).toFixed(2)} s, sink ${(sink.at(-1)! / 1_000).toFixed(2)} s`);
}
await resetIndices(rawPrefix);
await resetIndices(sinkPrefix);
for (const prefix of [rawPrefix, sinkPrefix]) {
  await admin.transport.request({ method: 'DELETE', path: `/${prefix}-*`, querystring: { expand_wildcards: 'all' } }, { ignore: [404] });
  for (const name of [`${prefix}-events`, `${prefix}-findings`]) await admin.transport.request({ method: 'DELETE', path: `/_index_template/${name}` }, { ignore: [404] });
}
await admin.close();
agent.destroy();

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const rawRate = eventCount / (median(raw) / 1_000);
const sinkRate = eventCount / (median(sink) / 1_000);
const result = {
  events: eventCount,
  bulkActions: documents,
  ndjsonMiB: Number((bytes / 1_048_576).toFixed(1)),
  batchSize: BatchSize,
  concurrency: Concurrency,
  rounds: Rounds,
  rawEventsPerSecond: Math.round(rawRate),
  sinkEventsPerSecond: Math.round(sinkRate),
  ratio: Number((sinkRate / rawRate).toFixed(3)),
  goal: 'sink >= 80% of raw _bulk loader',
  met: sinkRate >= 0.8 * rawRate,
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
      `  ratio                                            ${(result.ratio * 100).toFixed(1).padStart(9)} %   (goal >= 80 %: ${result.met ? 'met' : 'NOT met'})`,
      '',
    ].join('\n'),
  );
}
