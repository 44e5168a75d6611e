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
  const placeholders = placeholdersOf(width, perStatement, insert.computed?.sql);
  for (let start = 0; start < insert.rows.length; start += perStatement) {
    const end = Math.min(start + perStatement, insert.rows.length);
    // Sized once: grown by push, the array of ~40,000 values was copied at every doubling.
    const parameters = new Array<SqlValue>((end - start) * width);
    let at = 0;
    for (let row = start; row < end; row++) {
      const values = insert.rows[row]!;
      if (values.length !== width) throw new Error(`multiRowInsert into ${insert.table}: row ${row} has ${values.length} values for ${width} columns`);
      for (const value of values) parameters[at++] = value;
    }
    const text = `${head}${placeholders.text.slice(0, placeholders.ends[end - start - 1])} ${insert.tail}`;
    const result = await trx.executeQuery<R>(CompiledQuery.raw(text, parameters));
    for (const row of result.rows) returned.push(row);
  }
  return returned;
}

interface Placeholders {
  /** `($1, $2), ($3, $4), ...` for the most rows a statement takes. */
  readonly text: string;
  /** ends[n - 1]: the length of the first n tuples of `text`. */
  readonly ends: readonly number[];
}

// Keyed by width and computed SQL: a handful of shapes, each built once.
const placeholderCache = new Map<string, Placeholders>();

/**
 * The VALUES list of n rows is the first n tuples of the longest one, so it is built once per shape and sliced:
 * writing thousands of `$n` marks per statement was a tenth of what the consumer allocated in `npm run bench:catchup`.
 */
function placeholdersOf(width: number, rows: number, computedSql: string | undefined): Placeholders {
  const key = `${width}|${rows}|${computedSql ?? ''}`;
  const cached = placeholderCache.get(key);
  if (cached) return cached;
  const tuples: string[] = [];
  const ends: number[] = [];
  let length = 0;
  for (let row = 0; row < rows; row++) {
    const marks: string[] = [];
    for (let column = 1; column <= width; column++) marks.push(`$${row * width + column}`);
    if (computedSql !== undefined) marks.push(computedSql);
    const tuple = `${row === 0 ? '' : ', '}(${marks.join(', ')})`;
    tuples.push(tuple);
    length += tuple.length;
    ends.push(length);
  }
  const placeholders = { text: tuples.join(''), ends };
  placeholderCache.set(key, placeholders);
  return placeholders;
}
