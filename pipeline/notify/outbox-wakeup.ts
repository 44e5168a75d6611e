import { sql } from 'kysely';
import type { Kysely } from 'kysely';

/** The Postgres channel on which writers of the outbox wake the notifiers (see OutboxListener). */
export const OutboxWakeupChannel = 'driftwatch_outbox';

/**
 * Wakes the notifiers once the caller's transaction commits: Postgres delivers a NOTIFY only on commit (none on
 * rollback), and folds repeats within one transaction into one. Call it in the transaction that wrote the intents.
 */
export async function wakeOutbox(trx: Kysely<any>): Promise<void> {
  await sql`select pg_notify(${OutboxWakeupChannel}, '')`.execute(trx);
}

/**
 * Wakes the notifiers now, in a transaction of its own, for a caller whose intents are already committed. A NOTIFY
 * holds Postgres's one notify-queue lock until its transaction's commit is flushed; this transaction carries no data,
 * so it commits asynchronously (`synchronous_commit` off for it alone) and holds that lock for no WAL flush.
 */
export async function wakeOutboxAfterCommit(db: Kysely<any>): Promise<void> {
  await sql`select set_config('synchronous_commit', 'off', true), pg_notify(${OutboxWakeupChannel}, '')`.execute(db);
}
