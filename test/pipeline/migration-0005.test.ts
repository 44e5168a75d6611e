import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterKeyOf } from '../../pipeline/sinks/postgres/dead-letter-key.ts';
import { findingRow } from '../../pipeline/sinks/postgres/state-committer.ts';
import { Migrations, migrateToLatest } from '../../pipeline/store/migrate.ts';
import { loadEvaluationStates } from '../../pipeline/store/postgres-evaluation-state-store.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import { makeFinding } from '../sla/sla-fixtures.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const at = new Date('2026-03-04T10:00:00Z');
const oldKey = (...parts: string[]) => parts.join('|');

describe('migration 0005: the evaluation key in SQL', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('computes exactly the key evaluationKeyOf computes', async () => {
    const samples: [string, string, string, string, string][] = [
      ['111122223333', 'us-east-1', 'restricted-ssh', 'AWS::EC2::SecurityGroup', 'sg-1|prod'],
      ['111122223333', 'us-east-1', 'restricted-ssh', 'AWS::EC2::SecurityGroup|sg-1', 'prod'],
      ['111122223333', 'ap-northeast-1', 'r', 'AWS::S3::Bucket', 'é'.repeat(768)],
      ['111122223333', 'eu-west-1', 'r', 'AWS::S3::Bucket', '🚀:12:語|'],
    ];
    for (const parts of samples) {
      const row = await sql<{ key: string }>`select driftwatch_evaluation_key(${parts[0]}, ${parts[1]}, ${parts[2]}, ${parts[3]}, ${parts[4]}) as key`.execute(database.db);
      expect(row.rows[0]!.key).toBe(evaluationKeyOf(...parts));
    }
    expect(evaluationKeyOf(...samples[0]!)).not.toBe(evaluationKeyOf(...samples[1]!));
  });
});

describe('migration 0005 converts rows written before it', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase({ migrate: false });
    const migrator = new Migrator({ db: database.db, provider: { getMigrations: async () => Migrations } });
    expect((await migrator.migrateTo('0004-finding-facts-sync')).error).toBeUndefined();
    const db = database.db;
    // A finding on a resource type holding '|' (the old sink split it into the id column), and one the two-writer bug
    // left resolved while its evaluation still pointed at it.
    const split = makeFinding({ findingId: 'f-split', rule: 'restricted-ssh', resourceId: 'prod', openedAt: at.getTime() });
    const splitFinding = { ...split, resourceType: 'AWS::EC2::SecurityGroup|sg-1', evaluationKey: oldKey('111122223333', 'us-east-1', 'restricted-ssh', 'AWS::EC2::SecurityGroup|sg-1', 'prod') };
    const resolved = makeFinding({ findingId: 'f-resolved', rule: 'restricted-ssh', resourceId: 'web', openedAt: at.getTime(), resolvedAt: at.getTime() + 1_000 });
    const resolvedFinding = { ...resolved, evaluationKey: oldKey('111122223333', 'us-east-1', 'restricted-ssh', 'AWS::S3::Bucket', 'web') };
    await db.insertInto('findings').values([findingRow(splitFinding), findingRow(resolvedFinding)]).execute();
    const evaluation = (key: string, resourceType: string, resourceId: string, openFindingId: string | null) => ({
      evaluation_key: key, account_id: '111122223333', region: 'us-east-1', rule: 'restricted-ssh', resource_type: resourceType, resource_id: resourceId,
      compliance: 'NON_COMPLIANT', ordering_time: at, event_id: `e-${resourceId}`, in_scope: true, open_finding_id: openFindingId,
    });
    await db.insertInto('evaluations').values([
      evaluation(splitFinding.evaluationKey, 'AWS::EC2::SecurityGroup', 'sg-1|prod', 'f-split'),
      evaluation(resolvedFinding.evaluationKey, 'AWS::S3::Bucket', 'web', 'f-resolved'),
    ]).execute();
    await db.insertInto('notification_outbox').values({ intent_id: 'f-split:finding.opened', finding_id: 'f-split', kind: 'finding.opened', payload: JSON.stringify({ kind: 'finding.opened', finding: splitFinding, eventId: 'e' }) }).execute();
    await sql`insert into slack_messages (post_key, intent_id, finding_id, evaluation_key, channel, role, state, created_at, updated_at)
      values ('p', 'f-split:finding.opened', 'f-split', ${splitFinding.evaluationKey}, '#c', 'alert', 'posted', now(), now())`.execute(db);
    await sql`insert into dead_letters (source, shard_id, sequence_number, stage, reason, raw) values ('replay', 'replay:-', '3', 'decode', 'not JSON', ${Buffer.from('{oops')})`.execute(db);
    await migrateToLatest(db);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('rekeys evaluations, findings, Slack messages and outbox payloads, with the parts the event gave', async () => {
    const db = database.db;
    const key = evaluationKeyOf('111122223333', 'us-east-1', 'restricted-ssh', 'AWS::EC2::SecurityGroup|sg-1', 'prod');
    const finding = await db.selectFrom('findings').select('evaluation_key').where('finding_id', '=', 'f-split').executeTakeFirstOrThrow();
    expect(finding.evaluation_key).toBe(key);
    const evaluation = await db.selectFrom('evaluations').selectAll().where('open_finding_id', '=', 'f-split').executeTakeFirstOrThrow();
    expect(evaluation).toMatchObject({ evaluation_key: key, resource_type: 'AWS::EC2::SecurityGroup|sg-1', resource_id: 'prod' });
    const message = await sql<{ evaluation_key: string }>`select evaluation_key from slack_messages where post_key = 'p'`.execute(db);
    expect(message.rows[0]!.evaluation_key).toBe(key);
    const outbox = await sql<{ key: string; ordering_key: string }>`select payload #>> '{finding,evaluationKey}' as key, ordering_key from notification_outbox`.execute(db);
    expect(outbox.rows[0]).toEqual({ key, ordering_key: key });
  });

  it('no longer points an evaluation at a finding that is not open, and the loader never follows one', async () => {
    const db = database.db;
    const key = evaluationKeyOf('111122223333', 'us-east-1', 'restricted-ssh', 'AWS::S3::Bucket', 'web');
    const row = await db.selectFrom('evaluations').select('open_finding_id').where('evaluation_key', '=', key).executeTakeFirstOrThrow();
    expect(row.open_finding_id).toBeNull();
    // Even pointed at it again by hand, the state loader reads the key's open finding only: there is none.
    await db.updateTable('evaluations').set({ open_finding_id: 'f-resolved' }).where('evaluation_key', '=', key).execute();
    const states = await loadEvaluationStates(db, [key]);
    expect(states.get(key)?.openFinding).toBeNull();
  });

  it('keys dead letters written before it the way the state sink keys new ones', async () => {
    const letter = await database.db.selectFrom('dead_letters').select('letter_key').executeTakeFirstOrThrow();
    expect(letter.letter_key).toBe(deadLetterKeyOf('replay', 'replay:-', '3', 'decode', Buffer.from('{oops')));
  });
});
