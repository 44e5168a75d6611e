import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterKeyOf } from '../../pipeline/sinks/postgres/dead-letter-key.ts';
import { runCli } from '../support/cli.ts';
import { complianceEvent } from '../support/events.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

const T0 = Date.parse('2026-03-04T10:00:00Z');
const line = (id: string, resourceId: string) => JSON.stringify(complianceEvent({ id, resourceId, compliance: 'NON_COMPLIANT', at: T0 }));

describe('dead letters are keyed by their bytes, and redrive settles each letter on its own (issue 9)', () => {
  let database: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let dir: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url };
    dir = await mkdtemp(join(tmpdir(), 'dw-letters-'));
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('stores a second bad line at the same line number of the same input, and never reports one it did not store', async () => {
    const file = join(dir, 'events.ndjson');
    await writeFile(file, `${line('first-1', 'a')}\n{"not": "an event" first\n`);
    const first = await runCli(['replay', '--file', file, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ accepted: 1, deadLetters: 1 });

    // The same path (or stdin) next time, another bad line at line 2: same source, shard and line number.
    await writeFile(file, `${line('second-1', 'b')}\n{"not": "an event" second\n`);
    const second = await runCli(['replay', '--file', file, '--json'], env);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ accepted: 1, deadLetters: 1 });
    const letters = await database.db.selectFrom('dead_letters').select(['sequence_number', 'raw']).orderBy('id').execute();
    expect(letters.map((l) => Buffer.from(l.raw).toString())).toEqual(['{"not": "an event" first', '{"not": "an event" second']);
    expect(letters.map((l) => l.sequence_number)).toEqual(['2', '2']);

    // The second file once more: its bad line is already stored, so it is not stored again.
    const third = await runCli(['replay', '--file', file, '--json'], env);
    expect(JSON.parse(third.stdout)).toMatchObject({ accepted: 0, duplicates: 1, deadLetters: 1 });
    expect(await database.db.selectFrom('dead_letters').select('id').execute()).toHaveLength(2);
  });

  it('redrives the letters that now go through and marks the one that fails again with its reason', async () => {
    await sql`delete from dead_letters`.execute(database.db);
    await sql`alter table evaluations add constraint redrive_test_refuses check (resource_id <> 'still-refused')`.execute(database.db);
    const letter = (n: number, raw: string, stage = 'enrich') => {
      const bytes = Buffer.from(raw);
      return { letter_key: deadLetterKeyOf('kinesis', 'shardId-000000000000', String(n), stage, bytes), source: 'kinesis', shard_id: 'shardId-000000000000', sequence_number: String(n), stage, reason: 'account registry was missing', raw: bytes, redriven_at: null };
    };
    await database.db
      .insertInto('dead_letters')
      .values([
        letter(1, line('redrive-ok-1', 'fixed-1')),
        letter(2, line('redrive-refused', 'still-refused')),
        letter(3, line('redrive-ok-2', 'fixed-2')),
        letter(4, '{"still": "not an event"}', 'decode'),
      ])
      .execute();

    const result = await runCli(['redrive', '--json'], env);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { considered: number; redriven: number; failedAgain: number; failures: { id: number; reason: string }[] };
    expect(summary).toMatchObject({ considered: 4, redriven: 2, failedAgain: 2 });

    const rows = await database.db.selectFrom('dead_letters').select(['sequence_number', 'status', 'reason', 'attempts']).orderBy('sequence_number').execute();
    expect(rows.map((r) => `${r.sequence_number} ${r.status} ${r.attempts}`)).toEqual(['1 redriven 1', '2 failed-again 1', '3 redriven 1', '4 failed-again 1']);
    expect(rows[1]!.reason).toMatch(/state store refused this record.*23514/);
    expect(rows[3]!.reason).toMatch(/not a Config compliance-change event/);
    // The letters that failed again were marked, not stored a second time.
    expect(await database.db.selectFrom('dead_letters').select('id').execute()).toHaveLength(4);
    const processed = await database.db.selectFrom('processed_events').select('event_id').where('event_id', 'like', 'redrive-%').orderBy('event_id').execute();
    expect(processed.map((r) => r.event_id)).toEqual(['redrive-ok-1', 'redrive-ok-2']);
  });
});
