import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import type { EvaluationState, Finding } from '../../../stages/track/finding.ts';
import type { TrackedEvent } from '../../../stages/track/track-stage.ts';
import type { CommitSummary, StateCommit } from './state-commit.ts';
import { LeaseLostError } from './lease-lost-error.ts';
import { multiRowInsert } from './multi-row-insert.ts';
import type { SqlValue } from './multi-row-insert.ts';

// Dead letters are few: a builder insert, chunked under Postgres's 65,535 parameters.
const RowsPerStatement = 1_000;

/** What the Slack notifier is asked to do, written beside the finding change (transactional outbox). */
export interface NotificationIntent {
  readonly kind: 'finding.opened' | 'finding.resolved';
  readonly finding: Finding;
  readonly eventId: string;
  /** A backfill's new findings: one digest per channel and rule, or no message (the planner honours it). */
  readonly notify?: 'digest' | 'silent';
}

/**
 * The state store's side of a batch: evaluations, findings, notification intents, dead letters, processed event
 * ids and the shard checkpoint, in ONE transaction. A crash before commit leaves nothing; after commit, everything.
 */
export class PostgresStateSink {
  readonly name = 'postgres';
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async healthcheck(): Promise<void> {
    await this.#db.selectFrom('shard_leases').select('shard_id').limit(1).execute();
  }

  async commit(commit: StateCommit): Promise<CommitSummary> {
    const evaluations = new Map<string, EvaluationState>();
    const findings = new Map<string, Finding>();
    const intents: NotificationIntent[] = [];
    const eventIds: string[] = [];
    for (const { value } of commit.tracked) {
      eventIds.push(value.event.eventId);
      collect(value, evaluations, findings, intents);
    }
    return this.#db.transaction().execute(async (trx) => {
      await multiRowInsert(trx, { table: 'processed_events', columns: ['event_id'], rows: eventIds.map((id) => [id]), tail: 'on conflict do nothing' });
      await upsertEvaluations(trx, [...evaluations.values()]);
      await upsertFindings(trx, [...findings.values()]);
      await multiRowInsert(trx, {
        table: 'notification_outbox',
        columns: ['intent_id', 'finding_id', 'kind', 'payload'],
        rows: intents.map((intent) => [`${intent.finding.findingId}:${intent.kind}`, intent.finding.findingId, intent.kind, JSON.stringify(intent)]),
        tail: 'on conflict do nothing',
      });
      await insertChunked(commit.deadLetters, (chunk) =>
        trx
          .insertInto('dead_letters')
          .values(chunk.map((letter) => ({
            source: commit.source,
            shard_id: letter.origin.shardId,
            sequence_number: letter.origin.sequenceNumber,
            stage: letter.stage,
            reason: letter.reason,
            raw: letter.raw,
            redriven_at: null,
          })))
          .onConflict((oc) => oc.columns(['source', 'shard_id', 'sequence_number', 'stage']).doNothing())
          .execute(),
      );
      if (commit.checkpoint) {
        const { streamName, shardId, sequenceNumber, owner, leaseToken } = commit.checkpoint;
        const result = await trx
          .updateTable('shard_leases')
          .set({ checkpoint: sequenceNumber, updated_at: new Date() })
          .where('stream_name', '=', streamName)
          .where('shard_id', '=', shardId)
          .where('owner', '=', owner)
          .where('lease_token', '=', leaseToken)
          .executeTakeFirst();
        if (Number(result.numUpdatedRows) !== 1) throw new LeaseLostError(shardId);
      }
      let opened = 0;
      let resolved = 0;
      for (const intent of intents) intent.kind === 'finding.opened' ? opened++ : resolved++;
      return { evaluations: evaluations.size, opened, resolved, deadLetters: commit.deadLetters.length, notifications: intents.length };
    });
  }

  async close(): Promise<void> {}
}

function collect(tracked: TrackedEvent, evaluations: Map<string, EvaluationState>, findings: Map<string, Finding>, intents: NotificationIntent[]): void {
  if (tracked.state) evaluations.set(tracked.state.evaluationKey, tracked.state);
  if (tracked.transition === 'opened' && tracked.finding) {
    findings.set(tracked.finding.findingId, tracked.finding);
    const notify = tracked.event.notify;
    intents.push({ kind: 'finding.opened', finding: tracked.finding, eventId: tracked.event.eventId, ...(notify ? { notify } : {}) });
  } else if (tracked.transition === 'resolved' && tracked.finding) {
    findings.set(tracked.finding.findingId, tracked.finding);
    intents.push({ kind: 'finding.resolved', finding: tracked.finding, eventId: tracked.event.eventId });
  }
}

async function insertChunked<T>(rows: readonly T[], insert: (chunk: readonly T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += RowsPerStatement) await insert(rows.slice(i, i + RowsPerStatement));
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
const sqlValue = (value: unknown): SqlValue => (value instanceof Date ? value.toISOString() : ((value ?? null) as SqlValue));

async function upsertEvaluations(trx: Transaction<Database>, states: readonly EvaluationState[]): Promise<void> {
  await multiRowInsert(trx, {
    table: 'evaluations',
    columns: ['evaluation_key', 'account_id', 'region', 'rule', 'resource_type', 'resource_id', 'compliance', 'ordering_time', 'event_id', 'in_scope', 'open_finding_id'],
    computed: { column: 'updated_at', sql: 'now()' },
    rows: states.map((state) => {
      const [account = '', region = '', rule = '', resourceType = '', ...rest] = state.evaluationKey.split('|');
      return [state.evaluationKey, account, region, rule, resourceType, rest.join('|'), state.compliance, iso(state.orderingTime), state.eventId, state.inScope, state.openFinding?.findingId ?? null];
    }),
    tail: `on conflict (evaluation_key) do update set
      compliance = excluded.compliance, ordering_time = excluded.ordering_time, event_id = excluded.event_id,
      in_scope = excluded.in_scope, open_finding_id = excluded.open_finding_id, updated_at = excluded.updated_at
      where evaluations.ordering_time < excluded.ordering_time`,
  });
}

// The columns of findingRow the commit writes (updated_at is now()); escalation and exception columns keep their values.
const FindingColumns = [
  'finding_id', 'evaluation_key', 'account_id', 'account_name', 'region', 'rule', 'config_rule_name', 'rule_title', 'resource_type', 'resource_id',
  'severity', 'environment', 'owner', 'slack_channel', 'annotation', 'status', 'opened_at', 'opened_event_id', 'deadline', 'resolved_at', 'resolution',
  'resolved_event_id',
] as const satisfies readonly (keyof Insertable<FindingsTable>)[];

async function upsertFindings(trx: Transaction<Database>, findings: readonly Finding[]): Promise<void> {
  // Resolve before open: the partial unique index allows one open finding per key at every row.
  const ordered = [...findings].sort((a, b) => (a.status === b.status ? 0 : a.status === 'resolved' ? -1 : 1));
  await multiRowInsert(trx, {
    table: 'findings',
    columns: FindingColumns,
    computed: { column: 'updated_at', sql: 'now()' },
    rows: ordered.map((f) => {
      const row = findingRow(f);
      return FindingColumns.map((column) => sqlValue(row[column]));
    }),
    tail: `on conflict (finding_id) do update set
      status = excluded.status, resolved_at = excluded.resolved_at, resolution = excluded.resolution,
      resolved_event_id = excluded.resolved_event_id, updated_at = excluded.updated_at`,
  });
}

/** A finding as a `findings` row (the columns the pipeline owns; escalation and exception columns keep their values). */
export function findingRow(f: Finding): Insertable<FindingsTable> {
  return {
    finding_id: f.findingId,
    evaluation_key: f.evaluationKey,
    account_id: f.accountId,
    account_name: f.accountName,
    region: f.region,
    rule: f.rule,
    config_rule_name: f.configRuleName,
    rule_title: f.ruleTitle,
    resource_type: f.resourceType,
    resource_id: f.resourceId,
    severity: f.severity,
    environment: f.environment,
    owner: f.owner,
    slack_channel: f.slackChannel,
    annotation: f.annotation,
    status: f.status,
    opened_at: new Date(f.openedAt),
    opened_event_id: f.openedEventId,
    deadline: f.deadline === null ? null : new Date(f.deadline),
    resolved_at: f.resolvedAt === null ? null : new Date(f.resolvedAt),
    resolution: f.resolution,
    resolved_event_id: f.resolvedEventId,
    updated_at: new Date(),
  };
}
