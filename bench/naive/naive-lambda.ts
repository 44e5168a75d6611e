/**
 * The naive baseline of `npm run bench` (never used by the product): what a per-event AWS Lambda handler does. Each
 * record is handled on its own: decode and enrich it, then ONE SQL round trip (dedupe + evaluation upsert in one
 * statement) and ONE OpenSearch index request. One sequential loop per shard, as a Kinesis event source mapping
 * with a parallelization factor of 1 runs one invocation per shard at a time.
 *
 * It does less than the pipeline (no finding lifecycle, no outbox, no checkpoint), which favours the baseline.
 * Prints `{ records, events, deadLetters, elapsedMs }` as JSON on stdout.
 */
import { Agent, request } from 'node:http';
import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand } from '@aws-sdk/client-kinesis';
import pg from 'pg';
import { createKinesisClient } from '../../pipeline/kinesis/kinesis-client.ts';
import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { Documents } from '../../pipeline/sinks/opensearch/documents.ts';
import { deadLetterKeyOf } from '../../pipeline/sinks/postgres/dead-letter-key.ts';
import { toStorableText } from '../../schemas/storable-text.ts';
import { loadAccountRegistry } from '../../pipeline/config/load-account-registry.ts';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const stream = env('KINESIS_STREAM');
const kinesis = createKinesisClient({ region: 'us-east-1', endpoint: env('KINESIS_ENDPOINT') });
const openSearch = new URL(env('OPENSEARCH_URL'));
const index = env('NAIVE_INDEX');
const decode = new DecodeStage({ maxRecordBytes: 262_144 });
const enrich = new EnrichStage({ catalog: RuleCatalog.builtIn(), accounts: await loadAccountRegistry(env('DRIFTWATCH_ACCOUNTS')) });
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const UpsertSql = `
  with fresh as (insert into processed_events (event_id) values ($1) on conflict do nothing returning event_id)
  insert into evaluations (evaluation_key, account_id, region, rule, resource_type, resource_id, compliance, ordering_time, event_id, in_scope)
  select $2, $3, $4, $5, $6, $7, $8, $9, $1, true from fresh
  on conflict (evaluation_key) do update set compliance = excluded.compliance, ordering_time = excluded.ordering_time, event_id = excluded.event_id
  where evaluations.ordering_time < excluded.ordering_time`;

function indexDocument(id: string, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: openSearch.hostname, port: openSearch.port, method: 'PUT', path: `/${index}/_doc/${encodeURIComponent(id)}`, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => ((res.statusCode ?? 500) < 300 ? resolve() : reject(new Error(`index request answered ${res.statusCode}`))));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const totals = { records: 0, events: 0, deadLetters: 0 };

async function shardLoop(shardId: string): Promise<void> {
  const client = new pg.Client({ connectionString: env('DATABASE_URL') });
  await client.connect();
  try {
    const start = await kinesis.send(new GetShardIteratorCommand({ StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }));
    let iterator = start.ShardIterator;
    // The whole backlog is in the stream before the start: an empty page means this shard is done.
    for (let page = 0; iterator && page < 1_000_000; page++) {
      const result = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
      const records = result.Records ?? [];
      if (records.length === 0) break;
      for (const record of records) {
        totals.records++;
        const data = record.Data ?? new Uint8Array();
        const decoded = decode.decodeOne(data);
        if (typeof decoded === 'string') {
          await client.query('insert into dead_letters (letter_key, source, shard_id, sequence_number, stage, reason, raw) values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing', [deadLetterKeyOf('naive', shardId, record.SequenceNumber!, 'decode', data), 'naive', shardId, record.SequenceNumber, 'decode', toStorableText(decoded), Buffer.from(data)]);
          totals.deadLetters++;
          continue;
        }
        const event = enrich.enrichOne({ event: decoded, raw: data });
        await client.query(UpsertSql, [event.eventId, event.evaluationKey, event.accountId, event.region, event.rule, event.resourceType, event.resourceId, event.compliance, new Date(event.orderingTime)]);
        await indexDocument(event.eventId, JSON.stringify(Documents.event({ event, transition: 'recorded', state: null, finding: null })));
        totals.events++;
      }
      iterator = result.NextShardIterator;
    }
  } finally {
    await client.end();
  }
}

const shards = await kinesis.send(new ListShardsCommand({ StreamName: stream }));
const started = performance.now();
await Promise.all((shards.Shards ?? []).map((shard) => shardLoop(shard.ShardId!)));
const elapsedMs = performance.now() - started;
kinesis.destroy();
agent.destroy();
process.stdout.write(`${JSON.stringify({ ...totals, loops: shards.Shards?.length ?? 0, elapsedMs: Math.round(elapsedMs) })}\n`);
