import { CompiledQuery } from 'kysely';
import type { Transaction } from 'kysely';
import type { Database } from '../../store/database-schema.ts';

/** A parameter value: text, number, boolean, bytes or null. Timestamps go as ISO strings; the target column gives the type. */
export type SqlValue = string | number | boolean | Uint8Array | null;

export interface MultiRowInsert {
  readonly table: string;
  readonly columns: readonly string[];
  /** One value per column, in `columns` order. */
  readonly rows: readonly (readonly SqlValue[])[];
  /** A last column whose value is SQL rather than a parameter, e.g. `{ column: 'updated_at', sql: 'now()' }`. */
  readonly computed?: { readonly column: string; readonly sql: string };
  /** After the VALUES list: `on conflict ...`, and `returning ...` to get rows back. */
  readonly tail: string;
}

// Postgres takes at most 65,535 parameters per statement.
const MaxParameters = 65_535;
const MaxRows = 1_000;

/**
 * `insert into <table> (<columns>) values ($1, $2, ...), (...) <tail>`, written as text with numbered parameters.
 * The state commit writes thousands of rows per batch; building them through the query builder's tree (one node
 * per value, visited twice) was a fifth of the consumer's CPU in `npm run bench:catchup`. Table, columns and tail
 * are constants of the caller, never input; every value is a parameter.
 */
export async function multiRowInsert<R = unknown>(trx: Transaction<Database>, insert: MultiRowInsert): Promise<R[]> {
  const returned: R[] = [];
  const width = insert.columns.length;
  const perStatement = Math.max(1, Math.min(MaxRows, Math.floor(MaxParameters / width)));
  const columns = insert.computed ? [...insert.columns, insert.computed.column] : insert.columns;
  const head = `insert into ${insert.table} (${columns.join(', ')}) values `;
  for (let start = 0; start < insert.rows.length; start += perStatement) {
    const rows = insert.rows.slice(start, start + perStatement);
    const parameters: SqlValue[] = [];
    const tuples: string[] = [];
    for (const row of rows) {
      const marks: string[] = [];
      for (const value of row) {
        parameters.push(value);
        marks.push(`$${parameters.length}`);
      }
      if (insert.computed) marks.push(insert.computed.sql);
      tuples.push(`(${marks.join(', ')})`);
    }
    const result = await trx.executeQuery<R>(CompiledQuery.raw(`${head}${tuples.join(', ')} ${insert.tail}`, parameters));
    for (const row of result.rows) returned.push(row);
  }
  return returned;
}
