import type { Kysely } from 'kysely';
import type { ProcessedEventIndex } from '../../stages/dedupe/dedupe-stage.ts';
import type { Database } from './database-schema.ts';

/** Event ids whose effect is committed; kept for a bounded retention (see `pruneProcessedEvents`). */
export class PostgresProcessedEventIndex implements ProcessedEventIndex {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async findProcessed(eventIds: readonly string[]): Promise<ReadonlySet<string>> {
    if (eventIds.length === 0) return new Set();
    const rows = await this.#db
      .selectFrom('processed_events')
      .select('event_id')
      .where('event_id', '=', (eb) => eb.fn<string>('any', [eb.val([...eventIds])]))
      .execute();
    return new Set(rows.map((row) => row.event_id));
  }
}

/** Deletes ids older than the retention; a redelivery older than that is still caught by orderingTimestamp. */
export async function pruneProcessedEvents(db: Kysely<Database>, retentionDays: number, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  const result = await db.deleteFrom('processed_events').where('processed_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}
