import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database-schema.ts';
import { redactUrls } from '../logging/redact-secrets.ts';

export interface OpenDatabaseOptions {
  /** postgres:// URL; unset = embedded PGlite (in memory, or in `dataDir`). */
  readonly url?: string;
  readonly dataDir?: string;
  readonly poolSize?: number;
}

export interface StateDatabase {
  readonly db: Kysely<Database>;
  readonly kind: 'postgres' | 'embedded';
  /** A description safe for logs: never the password. */
  readonly description: string;
  close(): Promise<void>;
}

// int8 (bigserial ids, lease tokens) as strings; timestamps as Date. Counts come back as int8 too: callers Number() them.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => value);

export async function openDatabase(options: OpenDatabaseOptions): Promise<StateDatabase> {
  if (options.url) {
    // A connection timeout, so an unreachable server fails fast (and /healthz answers) instead of waiting on TCP.
    const pool = new pg.Pool({ connectionString: options.url, max: options.poolSize ?? 8, connectionTimeoutMillis: 10_000 });
    // An idle client's error (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    // Nor may a checked-out client's: a connection that breaks between two statements of a transaction emits 'error'
    // with no pool listener attached. The statement in flight (or the next one) still fails, the caller rolls back and
    // retries, and the pool discards the broken client on release.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', description: redactUrls(options.url), close: () => db.destroy() };
  }
  const [{ PGlite }, { PGliteDialect }] = await Promise.all([import('@electric-sql/pglite'), import('kysely-pglite-dialect')]);
  const pglite = options.dataDir ? new PGlite(options.dataDir) : new PGlite();
  await pglite.waitReady;
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  return {
    db,
    kind: 'embedded',
    description: options.dataDir ? `embedded PGlite in ${options.dataDir}` : 'embedded PGlite in memory',
    close: async () => {
      await db.destroy();
      if (!pglite.closed) await pglite.close();
    },
  };
}
