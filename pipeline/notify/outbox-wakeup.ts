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
