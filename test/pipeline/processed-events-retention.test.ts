import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneProcessedEvents } from '../../pipeline/store/postgres-processed-event-index.ts';
import { PostgresProcessedEventIndex } from '../../pipeline/store/postgres-processed-event-index.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

describe('processed event ids', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('are found by the durable index and pruned past their retention only', async () => {
    const now = new Date('2026-03-20T00:00:00Z');
    await database.db
      .insertInto('processed_events')
      .values([
        { event_id: 'old', processed_at: new Date('2026-03-01T00:00:00Z') },
        { event_id: 'recent', processed_at: new Date('2026-03-10T00:00:00Z') },
      ])
      .execute();
    const index = new PostgresProcessedEventIndex(database.db);
    expect([...(await index.findProcessed(['old', 'recent', 'never']))].sort()).toEqual(['old', 'recent']);
    expect(await pruneProcessedEvents(database.db, 14, now)).toBe(1);
    expect([...(await index.findProcessed(['old', 'recent']))]).toEqual(['recent']);
  });
});
