import { sql } from 'kysely';
import type { Insertable, Kysely, Transaction } from 'kysely';
import { toStorableText } from '../../../schemas/storable-text.ts';
import type { EnrichedEvent } from '../../../stages/enrich/enriched-event.ts';
import type { DeadLetterDraft, Item } from '../../../stages/stage.ts';
import type { EvaluationState, Finding } from '../../../stages/track/finding.ts';
import type { TrackedEvent } from '../../../stages/track/tracked-event.ts';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import { loadEvaluationStates } from '../../store/postgres-evaluation-state-store.ts';
import { deadLetterKeyOf } from './dead-letter-key.ts';
import { advanceEvaluations, insertNewEvaluations } from './evaluation-writes.ts';
import type { EvaluationWrite } from './evaluation-writes.ts';
import { loadFirstEffects } from './first-effects.ts';
import type { FirstEffect } from './first-effects.ts';
import { heldLease } from '../../kinesis/lease-fence.ts';
import { LeaseLostError } from '../../types/lease-lost-error.ts';
import { multiRowInsert } from './multi-row-insert.ts';
import type { SqlValue } from './multi-row-insert.ts';
import type { CommitResult, RewrittenFinding, StateCommit, StateSettle } from './state-commit.ts';
import type { ShardCheckpoint } from '../../types/shard-checkpoint.ts';
import { StateConflictError } from './state-conflict-error.ts';
import { wakeOutboxAfterCommit } from '../../notify/outbox-wakeup.ts';

/** What the Slack notifier is asked to do, written beside the finding change (transactional outbox). */
export interface NotificationIntent {
  readonly kind: 'finding.opened' | 'finding.resolved';
  readonly finding: Finding;
  readonly eventId: string;
  /** A backfill's new findings: one digest per channel, or no message (the planner honours it). */
  readonly notify?: 'digest' | 'silent';
}

// A key moved by other writers while this commit tracked it again this many times in a row: give up, retry the batch.
const MaxRetrackRounds = 5;

/**
 * The state store's side of a batch: evaluations, findings, notification intents, dead letters, processed event
 * ids (with their first effect) and the shard checkpoint, in ONE transaction. A crash before commit leaves nothing;
 * after commit, everything.
 *
 * Postgres is the arbiter between writers (issue 17): several can hold the same evaluation key (`run` on a shard,
 * `replay` and `redrive` beside it, a consumer that lost its lease), each tracking from its own cache. So an event
 * counts as new only if this transaction's insert into processed_events says so, and a key's findings and intents are
 * written only if its evaluation row still held the state the writer's cache assumed (compare-and-set on the last
 * event id). Keys where it did not are read under lock and their events tracked again on top of what is stored: an
 * event older than the stored result becomes stale and changes nothing; a newer one does what it does on that state
 * (a NON_COMPLIANT after another writer's resolution opens a NEW finding rather than reusing the resolved one).
 */
export class StateCommitter {
  readonly name = 'postgres';
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async healthcheck(): Promise<void> {
    await this.#db.selectFrom('shard_leases').select('shard_id').limit(1).execute();
  }

  async commit(commit: StateCommit): Promise<CommitResult> {
    const result = await this.#commitInTransaction(commit);
    // After the commit, not in it: a NOTIFY holds Postgres's one notify-queue lock from its pre-commit until the commit
    // is flushed, so every shard's commit (each a WAL flush) would wait for the others'. A wake-up lost here (the
    // connection dropped just after the commit) costs one poll interval of the notifier, not an alert.
    if (result.notifications > 0) await wakeOutboxAfterCommit(this.#db).catch(() => undefined);
    return result;
  }

  #commitInTransaction(commit: StateCommit): Promise<CommitResult> {
    return this.#db.transaction().execute(async (trx) => {
      if (commit.checkpoint && commit.checkpointMode === 'verify') await verifyLease(trx, commit.checkpoint);
      const items = commit.tracked;
      const fresh = await insertProcessedEvents(trx, items.map((item) => item.value));

      const byKey = new Map<string, Item<TrackedEvent>[]>();
      for (const item of items) {
        const key = item.value.event.evaluationKey;
        const list = byKey.get(key);
        if (list) list.push(item);
        else byKey.set(key, [item]);
      }
      // Keys whose work must be redone from what Postgres holds: another writer committed one of their events, the
      // writer did not say what it assumed, or (below) the stored row is no longer what it assumed.
      const conflicted = new Set<string>();
      const duplicates: Item<EnrichedEvent>[] = [];
      for (const item of items) {
        if (fresh.has(item.value.event.eventId)) continue;
        duplicates.push({ origin: item.origin, value: item.value.event });
        conflicted.add(item.value.event.evaluationKey);
      }
      const advances: EvaluationWrite[] = [];
      const inserts: EvaluationWrite[] = [];
      for (const [key, list] of byKey) {
        if (conflicted.has(key)) continue;
        const base = list[0]!.value.previous;
        if (base === undefined) {
          conflicted.add(key);
          continue;
        }
        const last = lastState(list);
        if (!last) continue; // only stale events: stale against the cache is stale against Postgres, which only moves forward
        (base === null ? inserts : advances).push({ base, state: last.state, event: last.event });
      }
      const landed = await advanceEvaluations(trx, advances);
      for (const key of await insertNewEvaluations(trx, inserts)) landed.add(key);
      for (const write of [...advances, ...inserts]) if (!landed.has(write.state.evaluationKey)) conflicted.add(write.state.evaluationKey);

      const retracked = await this.#retrack(trx, commit, [...conflicted], byKey, fresh);
      const tracked: Item<TrackedEvent>[] = [];
      const cursor = new Map<string, number>();
      const changedEffects: TrackedEvent[] = [];
      for (const item of items) {
        if (!fresh.has(item.value.event.eventId)) continue;
        const key = item.value.event.evaluationKey;
        const again = retracked.tracked.get(key);
        if (!again) {
          tracked.push(item);
          continue;
        }
        const at = cursor.get(key) ?? 0;
        cursor.set(key, at + 1);
        const value = again[at]!;
        if (effectOf(value).transition !== effectOf(item.value).transition || effectOf(value).findingId !== effectOf(item.value).findingId) changedEffects.push(value);
        tracked.push({ origin: item.origin, value });
      }
      await updateFirstEffects(trx, changedEffects);

      const findings = new Map<string, Finding>();
      const intents: NotificationIntent[] = [];
      const evaluations = new Set<string>();
      for (const { value } of tracked) {
        if (value.state) evaluations.add(value.state.evaluationKey);
        if ((value.transition === 'opened' || value.transition === 'resolved') && value.finding) {
          findings.set(value.finding.findingId, value.finding);
          const notify = value.transition === 'opened' ? value.event.notify : undefined;
          intents.push({ kind: value.transition === 'opened' ? 'finding.opened' : 'finding.resolved', finding: value.finding, eventId: value.event.eventId, ...(notify ? { notify } : {}) });
        }
      }
      await upsertFindings(trx, [...findings.values()]);
      await multiRowInsert(trx, {
        table: 'notification_outbox',
        columns: ['intent_id', 'finding_id', 'kind', 'payload'],
        rows: intents.map((intent) => [`${intent.finding.findingId}:${intent.kind}`, intent.finding.findingId, intent.kind, JSON.stringify(intent)]),
        tail: 'on conflict do nothing',
      });
      const deadLetters = await insertDeadLetters(trx, commit.source, commit.deadLetters);
      if (commit.checkpoint && commit.checkpointMode !== 'verify') await moveCheckpoint(trx, commit.checkpoint);
      let opened = 0;
      let resolved = 0;
      for (const intent of intents) intent.kind === 'finding.opened' ? opened++ : resolved++;
      return { evaluations: evaluations.size, opened, resolved, deadLetters, notifications: intents.length, tracked, duplicates, refreshed: retracked.states };
    });
  }

  /** After the sinks written past the commit: their dead letters, the facts marks, the checkpoint. */
  async settle(settle: StateSettle): Promise<{ readonly deadLetters: number }> {
    if (settle.deadLetters.length === 0 && settle.rewrittenFindings.length === 0 && !settle.checkpoint) return { deadLetters: 0 };
    return this.#db.transaction().execute(async (trx) => {
      // The lease row first: the shard's next batch may be committing (it holds that row for share until it ends), and
      // waiting for it before locking any finding leaves it no lock of this transaction to wait for (no deadlock).
      if (settle.checkpoint) await moveCheckpoint(trx, settle.checkpoint);
      const deadLetters = await insertDeadLetters(trx, settle.source, settle.deadLetters);
      await markRewrittenFindings(trx, settle.rewrittenFindings);
      return { deadLetters };
    });
  }

  /** The first effects of events already committed, for rebuilding their documents. */
  async firstEffects(eventIds: readonly string[]): Promise<Map<string, FirstEffect>> {
    return loadFirstEffects(this.#db, eventIds);
  }

  async close(): Promise<void> {}

  /**
   * Reads the conflicted keys under lock and tracks their new events again on top of what is stored. A key that did
   * not exist cannot be locked: if another writer inserts it meanwhile, the insert says so and the key goes round again.
   */
  async #retrack(
    trx: Transaction<Database>,
    commit: StateCommit,
    conflicted: readonly string[],
    byKey: ReadonlyMap<string, readonly Item<TrackedEvent>[]>,
    fresh: ReadonlySet<string>,
  ): Promise<{ tracked: Map<string, readonly TrackedEvent[]>; states: Map<string, EvaluationState | null> }> {
    const tracked = new Map<string, readonly TrackedEvent[]>();
    const states = new Map<string, EvaluationState | null>();
    let pending = conflicted;
    for (let round = 0; pending.length > 0; round++) {
      if (!commit.retrack) throw new StateConflictError(pending.length, `${pending.length} evaluation key(s) moved since they were tracked, and this commit cannot track them again`);
      if (round === MaxRetrackRounds) throw new StateConflictError(pending.length, `${pending.length} evaluation key(s) kept moving under other writers`);
      const stored = await loadEvaluationStates(trx, pending, { lock: true });
      const advances: EvaluationWrite[] = [];
      const inserts: EvaluationWrite[] = [];
      for (const key of pending) {
        const base = stored.get(key) ?? null;
        const events = byKey.get(key)!.filter((item) => fresh.has(item.value.event.eventId)).map((item) => item.value.event);
        const again = commit.retrack(base, events);
        tracked.set(key, again);
        let last: { state: EvaluationState; event: EnrichedEvent } | null = null;
        for (const value of again) if (value.state) last = { state: value.state, event: value.event };
        states.set(key, last?.state ?? base);
        if (last) (base === null ? inserts : advances).push({ base, state: last.state, event: last.event });
      }
      const landed = await advanceEvaluations(trx, advances);
      for (const key of await insertNewEvaluations(trx, inserts)) landed.add(key);
      pending = [...advances, ...inserts].map((write) => write.state.evaluationKey).filter((key) => !landed.has(key));
    }
    return { tracked, states };
  }
}

function lastState(list: readonly Item<TrackedEvent>[]): { state: EvaluationState; event: EnrichedEvent } | null {
  for (let i = list.length - 1; i >= 0; i--) {
    const value = list[i]!.value;
    if (value.state) return { state: value.state, event: value.event };
  }
  return null;
}

/** What processed_events remembers of an event's effect: its transition and the finding its document names. */
function effectOf(tracked: TrackedEvent): { transition: string; findingId: string | null } {
  return { transition: tracked.transition, findingId: tracked.transition === 'stale' ? null : (tracked.finding?.findingId ?? null) };
}

/** Records the batch's event ids with their (tracked) effect; returns the ids this transaction inserted. */
async function insertProcessedEvents(trx: Transaction<Database>, values: readonly TrackedEvent[]): Promise<Set<string>> {
  if (values.length === 0) return new Set();
  const rows = values
    .map((value) => {
      const effect = effectOf(value);
      return [value.event.eventId, effect.transition, effect.findingId] as SqlValue[];
    })
    // Id order, so two writers inserting the same ids wait for each other instead of deadlocking.
    .sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
  const inserted = await multiRowInsert<{ event_id: string }>(trx, {
    table: 'processed_events',
    columns: ['event_id', 'transition', 'finding_id'],
    rows,
    tail: 'on conflict do nothing returning event_id',
  });
  return new Set(inserted.map((row) => row.event_id));
}

async function updateFirstEffects(trx: Transaction<Database>, values: readonly TrackedEvent[]): Promise<void> {
  for (const value of values) {
    const effect = effectOf(value);
    await trx.updateTable('processed_events').set({ transition: effect.transition, finding_id: effect.findingId }).where('event_id', '=', value.event.eventId).execute();
  }
}

/**
 * Stores dead letters under their key (dead-letter-key.ts) and returns how many are stored: inserted now, or already
 * stored by an earlier read of the same record (same origin, same bytes). Text built from bad input (reasons, replay
 * file names) is made storable first, so a dead letter can always be written.
 */
async function insertDeadLetters(trx: Transaction<Database>, source: string, letters: readonly DeadLetterDraft[]): Promise<number> {
  if (letters.length === 0) return 0;
  const rows = new Map<string, SqlValue[]>();
  for (const letter of letters) {
    const shardId = toStorableText(letter.origin.shardId);
    const sequenceNumber = toStorableText(letter.origin.sequenceNumber);
    const key = deadLetterKeyOf(source, shardId, sequenceNumber, letter.stage, letter.raw);
    rows.set(key, [key, source, shardId, sequenceNumber, letter.stage, toStorableText(letter.reason), letter.raw]);
  }
  const sorted = [...rows.values()].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
  await multiRowInsert(trx, {
    table: 'dead_letters',
    columns: ['letter_key', 'source', 'shard_id', 'sequence_number', 'stage', 'reason', 'raw'],
    rows: sorted,
    tail: 'on conflict (letter_key) do nothing',
  });
  // A conflict means a letter with the same origin and bytes is stored: count it, but check rather than assume.
  const stored = await trx
    .selectFrom('dead_letters')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('letter_key', '=', (eb) => eb.fn<string>('any', [eb.val([...rows.keys()])]))
    .executeTakeFirstOrThrow();
  return Number(stored.n);
}

/**
 * The sink replaced these documents whole: with no escalation and exception facts, and with the owner and account
 * name the writer's enrichment had. The triggers of 0004 marked the facts at the state commit, but a facts sync pass
 * may have run before the documents were replaced; and an accounts sync may have moved the owner in Postgres after
 * this writer's registry was read. Either way the finding is marked again for the facts sync. A finding claimed by a
 * sync pass is marked again too (migration 0009): that pass may have read its facts before this rewrite.
 */
async function markRewrittenFindings(trx: Transaction<Database>, rewritten: readonly RewrittenFinding[]): Promise<void> {
  if (rewritten.length === 0) return;
  // The last document written of each finding is the one OpenSearch keeps; ids in order, like every write of a batch.
  const last = new Map<string, RewrittenFinding>();
  for (const finding of rewritten) last.set(finding.findingId, finding);
  const sorted = [...last.values()].sort((a, b) => (a.findingId < b.findingId ? -1 : a.findingId > b.findingId ? 1 : 0));
  await sql`
    update findings f set facts_dirty = true, facts_tried_at = null, facts_version = f.facts_version + 1
    from unnest(${sorted.map((f) => f.findingId)}::text[], ${sorted.map((f) => f.owner)}::text[], ${sorted.map((f) => f.accountName)}::text[])
      as v(finding_id, owner, account_name)
    where f.finding_id = v.finding_id and (f.facts_dirty = false or f.facts_claimed_until is not null)
      and (f.escalated_at is not null or f.exception_id is not null or f.reminder_count > 0
        or f.owner is distinct from v.owner or f.account_name is distinct from v.account_name)`.execute(trx);
}

/**
 * The lease still held, and held on to until this transaction ends: the row is locked for share, so a worker taking
 * the lease over (its update needs the row) waits for this commit instead of interleaving with it.
 */
async function verifyLease(trx: Transaction<Database>, checkpoint: ShardCheckpoint): Promise<void> {
  const row = await trx.selectFrom('shard_leases').select('shard_id').where(heldLease(checkpoint)).forShare().executeTakeFirst();
  if (!row) throw new LeaseLostError(checkpoint.shardId);
}

async function moveCheckpoint(trx: Transaction<Database>, checkpoint: ShardCheckpoint): Promise<void> {
  const result = await trx
    .updateTable('shard_leases')
    .set({ checkpoint: checkpoint.sequenceNumber, updated_at: new Date() })
    .where(heldLease(checkpoint))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) !== 1) throw new LeaseLostError(checkpoint.shardId);
}

const sqlValue = (value: unknown): SqlValue => (value instanceof Date ? value.toISOString() : ((value ?? null) as SqlValue));

// The columns of findingRow the commit writes (updated_at is now()); escalation and exception columns keep their values.
const FindingColumns = [
  'finding_id', 'evaluation_key', 'account_id', 'account_name', 'region', 'rule', 'config_rule_name', 'rule_title', 'resource_type', 'resource_id',
  'severity', 'environment', 'owner', 'slack_channel', 'annotation', 'status', 'opened_at', 'opened_event_id', 'deadline', 'resolved_at', 'resolution',
  'resolved_event_id',
] as const satisfies readonly (keyof Insertable<FindingsTable>)[];

async function upsertFindings(trx: Transaction<Database>, findings: readonly Finding[]): Promise<void> {
  // Resolve before open (the partial unique index allows one open finding per key at every row), each in id order.
  const ordered = [...findings].sort((a, b) =>
    a.status !== b.status ? (a.status === 'resolved' ? -1 : 1) : a.findingId < b.findingId ? -1 : a.findingId > b.findingId ? 1 : 0,
  );
  await multiRowInsert(trx, {
    table: 'findings',
    columns: FindingColumns,
    computed: { column: 'updated_at', sql: 'now()' },
    rows: ordered.map((f) => {
      const row = findingRow(f);
      return FindingColumns.map((column) => sqlValue(row[column]));
    }),
    // A resolved finding is history: nothing reopens it (a later NON_COMPLIANT opens a new episode).
    tail: `on conflict (finding_id) do update set
      status = excluded.status, resolved_at = excluded.resolved_at, resolution = excluded.resolution,
      resolved_event_id = excluded.resolved_event_id, updated_at = excluded.updated_at
      where findings.status = 'open'`,
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
