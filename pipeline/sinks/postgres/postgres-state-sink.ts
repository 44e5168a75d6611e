import type { Insertable, Kysely, Transaction } from 'kysely';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import type { EvaluationState, Finding } from '../../../stages/track/finding.ts';
import type { TrackedEvent } from '../../../stages/track/track-stage.ts';
import type { CommitSummary, StateCommit } from './state-commit.ts';
import { LeaseLostError } from './lease-lost-error.ts';

// Postgres takes at most 65,535 parameters per statement; the widest row here has 24 columns.
const RowsPerStatement = 1_000;

/** What the Slack notifier is asked to do, written beside the finding change (transactional outbox). */
export interface NotificationIntent {
  readonly kind: 'finding.opened' | 'finding.resolved';
  readonly finding: Finding;
  readonly eventId: string;
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
      await insertChunked(eventIds, (chunk) =>
        trx.insertInto('processed_events').values(chunk.map((event_id) => ({ event_id }))).onConflict((oc) => oc.doNothing()).execute(),
      );
      await upsertEvaluations(trx, [...evaluations.values()]);
      await upsertFindings(trx, [...findings.values()]);
      await insertChunked(intents, (chunk) =>
        trx
          .insertInto('notification_outbox')
          .values(chunk.map((intent) => ({
            intent_id: `${intent.finding.findingId}:${intent.kind}`,
            finding_id: intent.finding.findingId,
            kind: intent.kind,
            payload: JSON.stringify(intent),
          })))
          .onConflict((oc) => oc.doNothing())
          .execute(),
      );
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
    intents.push({ kind: 'finding.opened', finding: tracked.finding, eventId: tracked.event.eventId });
  } else if (tracked.transition === 'resolved' && tracked.finding) {
    findings.set(tracked.finding.findingId, tracked.finding);
    intents.push({ kind: 'finding.resolved', finding: tracked.finding, eventId: tracked.event.eventId });
  }
}

async function insertChunked<T>(rows: readonly T[], insert: (chunk: readonly T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += RowsPerStatement) await insert(rows.slice(i, i + RowsPerStatement));
}

async function upsertEvaluations(trx: Transaction<Database>, states: readonly EvaluationState[]): Promise<void> {
  await insertChunked(states, (chunk) =>
    trx
      .insertInto('evaluations')
      .values(chunk.map((state) => {
        const [account_id = '', region = '', rule = '', resource_type = '', ...rest] = state.evaluationKey.split('|');
        return {
          evaluation_key: state.evaluationKey,
          account_id,
          region,
          rule,
          resource_type,
          resource_id: rest.join('|'),
          compliance: state.compliance,
          ordering_time: new Date(state.orderingTime),
          event_id: state.eventId,
          in_scope: state.inScope,
          open_finding_id: state.openFinding?.findingId ?? null,
          updated_at: new Date(),
        };
      }))
      .onConflict((oc) =>
        oc.column('evaluation_key').doUpdateSet((eb) => ({
          compliance: eb.ref('excluded.compliance'),
          ordering_time: eb.ref('excluded.ordering_time'),
          event_id: eb.ref('excluded.event_id'),
          in_scope: eb.ref('excluded.in_scope'),
          open_finding_id: eb.ref('excluded.open_finding_id'),
          updated_at: eb.ref('excluded.updated_at'),
        }))
          // Belt and braces for the ordering rule: a stored newer result is never overwritten.
          .where('evaluations.ordering_time', '<', (eb) => eb.ref('excluded.ordering_time')),
      )
      .execute(),
  );
}

async function upsertFindings(trx: Transaction<Database>, findings: readonly Finding[]): Promise<void> {
  // Resolve before open: the partial unique index allows one open finding per key at every row.
  const ordered = [...findings].sort((a, b) => (a.status === b.status ? 0 : a.status === 'resolved' ? -1 : 1));
  await insertChunked(ordered, (chunk) =>
    trx
      .insertInto('findings')
      .values(chunk.map(findingRow))
      .onConflict((oc) =>
        oc.column('finding_id').doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          resolved_at: eb.ref('excluded.resolved_at'),
          resolution: eb.ref('excluded.resolution'),
          resolved_event_id: eb.ref('excluded.resolved_event_id'),
          updated_at: eb.ref('excluded.updated_at'),
        })),
      )
      .execute(),
  );
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
