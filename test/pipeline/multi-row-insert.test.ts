import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { multiRowInsert } from '../../pipeline/sinks/postgres/multi-row-insert.ts';
import type { SqlValue } from '../../pipeline/sinks/postgres/multi-row-insert.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ migrate: false });
  await sql`create table wide (id integer primary key, label text, payload bytea, flag boolean, at timestamptz)`.execute(database.db);
});

afterAll(async () => {
  await database.drop();
});

const row = (id: number): SqlValue[] => [id, `label ${id}`, new Uint8Array([id % 256]), id % 2 === 0];

describe('multiRowInsert (real Postgres)', () => {
  // 1,000 rows per statement at this width: 1, 999, 1,000, 1,001 and 2,345 rows cover a partial last statement,
  // an exact fit and several statements, each with its own numbering from $1.
  it.each([1, 999, 1_000, 1_001, 2_345])('writes %i rows, every value in its own column, and returns them all', async (count) => {
    await sql`truncate wide`.execute(database.db);
    const rows = Array.from({ length: count }, (_, i) => row(i + 1));
    const returned = await database.db.transaction().execute((trx) =>
      multiRowInsert<{ id: number }>(trx, {
        table: 'wide',
        columns: ['id', 'label', 'payload', 'flag'],
        rows,
        computed: { column: 'at', sql: "'2026-01-02T03:04:05Z'::timestamptz" },
        tail: 'returning id',
      }),
    );
    expect(returned.map((r) => r.id)).toEqual(rows.map((r) => r[0]));
    const stored = await sql<{ id: number; label: string; payload: Buffer; flag: boolean; at: Date }>`select * from wide order by id`.execute(database.db);
    expect(stored.rows).toHaveLength(count);
    for (const [i, r] of stored.rows.entries()) {
      expect([r.id, r.label, [...r.payload], r.flag]).toEqual([i + 1, `label ${i + 1}`, [(i + 1) % 256], (i + 1) % 2 === 0]);
      expect(r.at.toISOString()).toBe('2026-01-02T03:04:05.000Z');
    }
  });

  it('applies the tail to every statement (on conflict over several statements)', async () => {
    await sql`truncate wide`.execute(database.db);
    const rows = Array.from({ length: 1_500 }, (_, i) => row(i + 1));
    const insert = { table: 'wide', columns: ['id', 'label', 'payload', 'flag'], rows, tail: 'on conflict (id) do update set label = excluded.label || \' again\'' };
    await database.db.transaction().execute((trx) => multiRowInsert(trx, insert));
    await database.db.transaction().execute((trx) => multiRowInsert(trx, insert));
    const again = await sql<{ n: string }>`select count(*) as n from wide where label like '% again'`.execute(database.db);
    expect(Number(again.rows[0]!.n)).toBe(1_500);
  });

  it('refuses a row whose width is not the columns', async () => {
    const insert = { table: 'wide', columns: ['id', 'label'], rows: [[1, 'a'], [2]], tail: '' };
    await expect(database.db.transaction().execute((trx) => multiRowInsert(trx, insert))).rejects.toThrow('row 1 has 1 values for 2 columns');
  });

  it('writes nothing and returns nothing for no rows', async () => {
    await sql`truncate wide`.execute(database.db);
    const returned = await database.db.transaction().execute((trx) => multiRowInsert(trx, { table: 'wide', columns: ['id'], rows: [], tail: 'returning id' }));
    expect(returned).toEqual([]);
  });
});
