import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { BackgroundService } from '../types/background-service.ts';
import type { Database } from './database-schema.ts';
import { pruneProcessedEvents } from './postgres-processed-event-index.ts';

/** Keeps `processed_events` bounded: ids older than the retention are deleted every `intervalMs`. */
export class ProcessedEventsPruner implements BackgroundService {
  readonly name = 'processed-events-pruner';
  readonly #db: Kysely<Database>;
  readonly #retentionDays: number;
  readonly #intervalMs: number;
  readonly #logger: Logger;

  constructor(db: Kysely<Database>, retentionDays: number, logger: Logger, intervalMs = 3_600_000) {
    this.#db = db;
    this.#retentionDays = retentionDays;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const deleted = await pruneProcessedEvents(this.#db, this.#retentionDays);
        if (deleted > 0) this.#logger.info({ deleted, retentionDays: this.#retentionDays }, 'processed event ids pruned');
      } catch (error) {
        this.#logger.warn({ err: error }, 'pruning processed event ids failed');
      }
      await sleep(this.#intervalMs, undefined, { signal }).catch(() => undefined);
    }
  }
}
