import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Kysely } from 'kysely';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import type { Database } from '../../pipeline/store/database-schema.ts';
import { migrateToLatest } from '../../pipeline/store/migrate.ts';

export interface TestDatabase {
  readonly url: string;
  readonly db: Kysely<Database>;
  drop(): Promise<void>;
}

let serverUrl: Promise<string> | undefined;

/** The Postgres server for tests: TEST_DATABASE_URL, the machine's own on 127.0.0.1:5432, or a testcontainer. */
async function resolveServerUrl(): Promise<string> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
  const local = 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: local, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.end();
    return local;
  } catch {
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:15-alpine').start();
    return container.getConnectionUri();
  }
}

/** A fresh database per test file, migrated; `drop()` removes it. Tests never share state. */
export async function createTestDatabase(options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  serverUrl ??= resolveServerUrl();
  const base = await serverUrl;
  const name = `dw_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), poolSize: 10 });
  if (options.migrate !== false) await migrateToLatest(database.db);
  return {
    url: url.toString(),
    db: database.db,
    drop: async () => {
      await database.close();
      const cleanup = new pg.Client({ connectionString: base });
      await cleanup.connect();
      await cleanup.query(`drop database if exists ${name} with (force)`);
      await cleanup.end();
    },
  };
}
