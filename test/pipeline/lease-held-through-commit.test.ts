import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { sql } from 'kysely';
import { ShardLeaseManager } from '../../pipeline/kinesis/shard-lease-manager.ts';
import type { StreamIdentity } from '../../pipeline/kinesis/stream-identity.ts';
import { StateCommitter } from '../../pipeline/sinks/postgres/state-committer.ts';
import { LeaseLostError } from '../../pipeline/types/lease-lost-error.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { enrichedEvent } from '../opensearch/support/fixtures.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const stream: StreamIdentity = { name: 'held', arn: 'arn:aws:kinesis:eu-west-1:111122223333:stream/held', createdAt: new Date(0), id: 'held@0' };
const ShardId = 'shardId-000000000000';

describe('the state commit holds the lease it checked (issue 10)', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('a worker taking an expired lease over cannot while a commit that verified it is in flight, and the old owner is fenced after', async () => {
    const owner = new ShardLeaseManager(database.db, { streamName: stream.name, owner: 'worker-a', leaseMs: 1 });
    const thief = new ShardLeaseManager(database.db, { streamName: stream.name, owner: 'worker-b', leaseMs: 30_000 });
    await owner.useStream(stream);
    await thief.useStream(stream);
    await owner.sync([{ shardId: ShardId, parentShardIds: [], closed: false }]);
    const [lease] = await owner.acquire(new Set());
    expect(lease?.shardId).toBe(ShardId);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the 1 ms lease has expired: anyone may take it now

    // Another session holds an uncommitted insert of the batch's event id, so the commit waits on it mid-transaction,
    // after its lease check.
    const blocker = new pg.Client({ connectionString: database.url });
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query("insert into processed_events (event_id, transition) values ('evt-held', 'recorded')");

    const event = enrichedEvent({ eventId: 'evt-held', compliance: 'COMPLIANT', resourceId: 'held-bucket' });
    const state = { evaluationKey: event.evaluationKey, compliance: 'COMPLIANT' as const, orderingTime: event.orderingTime, eventId: event.eventId, inScope: true, openFinding: null };
    const tracked: TrackedEvent = { event, transition: 'recorded', state, finding: null, previous: null };
    const checkpoint = { streamName: stream.name, shardId: ShardId, sequenceNumber: '100', owner: 'worker-a', leaseToken: lease!.leaseToken };
    const committer = new StateCommitter(database.db);
    const commit = committer.commit({ source: 'test', tracked: [{ origin: { shardId: ShardId, sequenceNumber: '100' }, value: tracked }], deadLetters: [], checkpoint, checkpointMode: 'verify' });
    commit.catch(() => undefined);
    try {
      await waitForLockWait(database);
      expect(await thief.acquire(new Set())).toEqual([]);
    } finally {
      await blocker.query('rollback');
      await blocker.end();
    }
    expect((await commit).tracked).toHaveLength(1);

    // Once the commit is over the lease is free to take, and the old owner's checkpoint is refused.
    const [taken] = await thief.acquire(new Set());
    expect(taken?.shardId).toBe(ShardId);
    expect(taken?.leaseToken).not.toBe(lease!.leaseToken);
    await expect(committer.settle({ source: 'test', deadLetters: [], checkpoint, rewrittenFindings: [] })).rejects.toBeInstanceOf(LeaseLostError);
  });
});

/** Until a session of this database waits on a row lock (the commit, blocked by the uncommitted insert). */
async function waitForLockWait(database: TestDatabase): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const waiting = await sql<{ n: string }>`
      select count(*)::text as n from pg_stat_activity
       where datname = current_database() and wait_event_type = 'Lock' and query ilike '%processed_events%'`.execute(database.db);
    if (Number(waiting.rows[0]?.n ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the commit never waited on the blocking insert');
}
