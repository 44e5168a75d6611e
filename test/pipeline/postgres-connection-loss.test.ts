import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../pipeline/store/open-database.ts';
import type { StateDatabase } from '../../pipeline/store/open-database.ts';
import { TcpProxy, viaProxy } from '../../drill/support/tcp-proxy.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';

/**
 * A Postgres restart as the client sees it (every connection reset, through a proxy in front of the shared server):
 * a connection that breaks while a transaction waits between two statements used to emit an unhandled 'error' and
 * crash `driftwatch run`. It must fail that transaction only; the pool must reconnect once the server is back.
 */
describe('losing the Postgres connection', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let state: StateDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    const url = new URL(database.url);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port) });
    state = await openDatabase({ url: viaProxy(database.url, proxy), poolSize: 4 });
  });

  afterAll(async () => {
    await state?.close();
    await proxy?.close();
    await database?.drop();
  });

  it('fails the transaction in progress, survives, and reconnects after the outage', async () => {
    let inTransaction!: () => void;
    const reached = new Promise<void>((resolve) => (inTransaction = resolve));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    const transaction = state.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      inTransaction();
      await resumed; // the connection breaks here, between two statements
      await sql`select 2`.execute(trx);
    });
    await reached;
    proxy.cut();
    // Let the reset arrive while the client is checked out and idle: this is where the 'error' event fired.
    await new Promise((r) => setTimeout(r, 100));
    resume();
    await expect(transaction).rejects.toThrow();
    await expect(sql`select 1`.execute(state.db)).rejects.toThrow();
    proxy.restore();
    const row = await sql<{ n: number }>`select 42 as n`.execute(state.db);
    expect(row.rows[0]?.n).toBe(42);
  });
});
