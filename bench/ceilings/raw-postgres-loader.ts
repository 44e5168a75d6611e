import pg from 'pg';
import { findingRow } from '../../pipeline/sinks/postgres/state-committer.ts';
import type { Finding } from '../../stages/track/finding.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import type { LoadStart, RawLoad } from './raw-opensearch-loader.ts';

type Row = readonly unknown[];

const RowsPerStatement = 1_000;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/**
 * What Postgres sustains alone: per batch, one transaction of plain multi-row upserts of the rows the state commit
 * writes for it (processed events, the last state of each evaluation key, opened and resolved findings, outbox
 * intents), one connection per lane (shard) in parallel, into a freshly migrated database. No reads, no
 * compare-and-set, no lease check: the floor of what the commit costs the database.
 */
export async function rawPostgresLoad(url: string, lanes: readonly (readonly TrackedEvent[][])[], options: LoadStart = {}): Promise<RawLoad> {
  const pool = new pg.Pool({ connectionString: url, max: lanes.length });
  // An idle connection ended by the server (the database dropped after the load) is not a failure of the load:
  // a query's own error still rejects it.
  pool.on('error', () => undefined);
  try {
    // Rows are built before the clock starts: this measures Postgres, not row building.
    const work = lanes.map((batches) => batches.map(batchStatements));
    const events = lanes.reduce((sum, batches) => sum + batches.reduce((n, batch) => n + batch.length, 0), 0);
    await options.ready?.();
    const started = performance.now();
    await Promise.all(
      work.map(async (batches) => {
        const client = await pool.connect();
        try {
          for (const statements of batches) {
            await client.query('begin');
            for (const [text, values] of statements) await client.query(text, values as unknown[]);
            await client.query('commit');
          }
        } finally {
          client.release();
        }
      }),
    );
    const seconds = (performance.now() - started) / 1_000;
    return { events, seconds: Number(seconds.toFixed(2)), eventsPerSecond: Math.round(events / seconds) };
  } finally {
    await pool.end();
  }
}

function batchStatements(batch: readonly TrackedEvent[]): [string, Row][] {
  const processed: Row[] = [];
  const states = new Map<string, Row>();
  const findings = new Map<string, Finding>();
  const outbox: Row[] = [];
  for (const value of batch) {
    const findingId = value.transition === 'stale' ? null : (value.finding?.findingId ?? null);
    processed.push([value.event.eventId, value.transition, findingId]);
    const { state, event } = value;
    if (state) {
      states.set(state.evaluationKey, [state.evaluationKey, event.accountId, event.region, event.rule, event.resourceType, event.resourceId,
        state.compliance, iso(state.orderingTime), state.eventId, state.inScope, state.openFinding?.findingId ?? null]);
    }
    if ((value.transition === 'opened' || value.transition === 'resolved') && value.finding) {
      findings.set(value.finding.findingId, value.finding);
      const kind = value.transition === 'opened' ? 'finding.opened' : 'finding.resolved';
      outbox.push([`${value.finding.findingId}:${kind}`, value.finding.findingId, kind, JSON.stringify({ kind, finding: value.finding, eventId: value.event.eventId })]);
    }
  }
  const byFirst = (a: Row, b: Row) => (String(a[0]) < String(b[0]) ? -1 : 1);
  const findingRows = [...findings.values()]
    .sort((a, b) => (a.status !== b.status ? (a.status === 'resolved' ? -1 : 1) : a.findingId < b.findingId ? -1 : 1))
    .map((f) => Object.entries(findingRow(f)).filter(([column]) => column !== 'updated_at').map(([, v]) => (v instanceof Date ? v.toISOString() : v)));
  const findingColumns = findings.size > 0 ? Object.keys(findingRow([...findings.values()][0]!)).filter((c) => c !== 'updated_at') : [];
  return [
    ...upserts('processed_events', ['event_id', 'transition', 'finding_id'], processed.sort(byFirst), 'on conflict do nothing'),
    ...upserts(
      'evaluations',
      ['evaluation_key', 'account_id', 'region', 'rule', 'resource_type', 'resource_id', 'compliance', 'ordering_time', 'event_id', 'in_scope', 'open_finding_id'],
      [...states.values()].sort(byFirst),
      `on conflict (evaluation_key) do update set compliance = excluded.compliance, ordering_time = excluded.ordering_time,
         event_id = excluded.event_id, in_scope = excluded.in_scope, open_finding_id = excluded.open_finding_id, updated_at = now()`,
      'now()',
    ),
    ...upserts('findings', findingColumns, findingRows, `on conflict (finding_id) do update set status = excluded.status, resolved_at = excluded.resolved_at,
         resolution = excluded.resolution, resolved_event_id = excluded.resolved_event_id, updated_at = excluded.updated_at where findings.status = 'open'`, 'now()'),
    ...upserts('notification_outbox', ['intent_id', 'finding_id', 'kind', 'payload'], outbox, 'on conflict do nothing'),
  ];
}

function upserts(table: string, columns: readonly string[], rows: readonly Row[], tail: string, updatedAt?: string): [string, Row][] {
  const statements: [string, Row][] = [];
  const perStatement = Math.min(RowsPerStatement, Math.floor(65_535 / Math.max(1, columns.length)));
  for (let start = 0; start < rows.length; start += perStatement) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (const row of rows.slice(start, start + perStatement)) {
      const marks = row.map((value) => {
        values.push(value);
        return `$${values.length}`;
      });
      if (updatedAt) marks.push(updatedAt);
      tuples.push(`(${marks.join(', ')})`);
    }
    const head = `insert into ${table} (${[...columns, ...(updatedAt ? ['updated_at'] : [])].join(', ')}) values `;
    statements.push([`${head}${tuples.join(', ')} ${tail}`, values]);
  }
  return statements;
}
