import { sql } from 'kysely';
import type { Kysely, Selectable } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { ReconcileRunsTable, ReconcileTables } from './reconcile-tables.ts';
import type { ReconcileTally } from './reconcile-tally.ts';

export type ReconcileRun = Selectable<ReconcileRunsTable>;

/** Another worker's run is alive (its heartbeat is fresh): this one does not start a second. */
export class ReconcileBusyError extends Error {
  override readonly name = 'ReconcileBusyError';
}

/** The run lost its claim to another worker (it stalled past the heartbeat timeout): stop without writing. */
export class ReconcileClaimLostError extends Error {
  override readonly name = 'ReconcileClaimLostError';
}

/** Runs, their cursor and tallies in Postgres: a crash resumes at the first account not yet committed. */
export class ReconcileStore {
  readonly #db: Kysely<Database & ReconcileTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<ReconcileTables>();
  }

  get db(): Kysely<Database & ReconcileTables> {
    return this.#db;
  }

  async running(): Promise<ReconcileRun | undefined> {
    return this.#db.selectFrom('reconcile_runs').selectAll().where('status', '=', 'running').executeTakeFirst();
  }

  async lastFinished(): Promise<ReconcileRun | undefined> {
    return this.#db.selectFrom('reconcile_runs').selectAll().where('status', '=', 'finished').orderBy('finished_at', 'desc').limit(1).executeTakeFirst();
  }

  async run(runId: string): Promise<ReconcileRun | undefined> {
    return this.#db.selectFrom('reconcile_runs').selectAll().where('run_id', '=', runId).executeTakeFirst();
  }

  /** Starts a run; fails with ReconcileBusyError when one is already running (the unique index decides a race). */
  async create(run: { runId: string; backfill: boolean; notify: ReconcileRun['notify']; rule: string | null; account: string | null; accounts: readonly string[]; owner: string; now: number }): Promise<ReconcileRun> {
    const now = new Date(run.now);
    try {
      await this.#db
        .insertInto('reconcile_runs')
        .values({
          run_id: run.runId, status: 'running', backfill: run.backfill, notify: run.notify, rule_filter: run.rule, account_filter: run.account, dry_run: false,
          started_at: now, finished_at: null, accounts: JSON.stringify(run.accounts), next_account: 0, heartbeat_at: now, owner: run.owner, error: null,
        })
        .execute();
    } catch (error) {
      if ((error as { code?: string }).code === '23505') throw new ReconcileBusyError('another reconcile run started at the same time');
      throw error;
    }
    return (await this.run(run.runId))!;
  }

  /** Takes over a running run whose owner is this worker or has gone silent for `staleMs`. */
  async claim(runId: string, owner: string, now: number, staleMs: number): Promise<boolean> {
    const result = await this.#db
      .updateTable('reconcile_runs')
      .set({ owner, heartbeat_at: new Date(now) })
      .where('run_id', '=', runId)
      .where('status', '=', 'running')
      .where((eb) => eb.or([eb('owner', '=', owner), eb('heartbeat_at', '<', new Date(now - staleMs))]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async heartbeat(runId: string, owner: string, now: number): Promise<boolean> {
    const result = await this.#db.updateTable('reconcile_runs').set({ heartbeat_at: new Date(now) }).where('run_id', '=', runId).where('owner', '=', owner).where('status', '=', 'running').executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Accounts [from, to) are done: their tallies and the cursor move in one transaction, only while this worker owns the run. */
  async completeAccounts(runId: string, owner: string, from: number, to: number, tallies: readonly ReconcileTally[], now: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      const moved = await trx
        .updateTable('reconcile_runs')
        .set({ next_account: to, heartbeat_at: new Date(now) })
        .where('run_id', '=', runId)
        .where('owner', '=', owner)
        .where('status', '=', 'running')
        .where('next_account', '=', from)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) throw new ReconcileClaimLostError(`reconcile run ${runId} is no longer ours`);
      if (tallies.length === 0) return;
      await trx
        .insertInto('reconcile_tallies')
        .values(tallies.map((t) => ({
          run_id: runId, account_id: t.accountId, rule: t.rule, evaluations: t.evaluations, unchanged: t.unchanged, differences: t.differences,
          opened: t.opened, resolved: t.resolved, newer_in_store: t.newerInStore, gone: t.gone,
        })))
        .onConflict((oc) => oc.columns(['run_id', 'account_id', 'rule']).doUpdateSet((eb) => ({
          evaluations: eb.ref('excluded.evaluations'), unchanged: eb.ref('excluded.unchanged'), differences: eb.ref('excluded.differences'),
          opened: eb.ref('excluded.opened'), resolved: eb.ref('excluded.resolved'), newer_in_store: eb.ref('excluded.newer_in_store'), gone: eb.ref('excluded.gone'),
        })))
        .execute();
    });
  }

  async finish(runId: string, owner: string, status: 'finished' | 'failed', now: number, error: string | null = null): Promise<void> {
    await this.#db.updateTable('reconcile_runs').set({ status, finished_at: new Date(now), error }).where('run_id', '=', runId).where('owner', '=', owner).execute();
  }

  async tallies(runId: string): Promise<ReconcileTally[]> {
    const rows = await this.#db.selectFrom('reconcile_tallies').selectAll().where('run_id', '=', runId).orderBy('account_id').orderBy('rule').execute();
    return rows.map((r) => ({
      accountId: r.account_id, rule: r.rule, evaluations: r.evaluations, unchanged: r.unchanged, differences: r.differences, opened: r.opened,
      resolved: r.resolved, newerInStore: r.newer_in_store, gone: r.gone,
    }));
  }

  /** What reconcile's own events did, found by their ids (partial indexes of migration 0007): exact after a crash too. */
  async outcomes(eventIds: readonly string[]): Promise<Map<string, 'opened' | 'resolved'>> {
    const outcomes = new Map<string, 'opened' | 'resolved'>();
    if (eventIds.length === 0) return outcomes;
    const rows = await sql<{ event_id: string; outcome: 'opened' | 'resolved' }>`
      select opened_event_id as event_id, 'opened' as outcome from findings
      where opened_event_id like 'reconcile-%' and opened_event_id = any(${[...eventIds]})
      union all
      select resolved_event_id as event_id, 'resolved' as outcome from findings
      where resolved_event_id like 'reconcile-%' and resolved_event_id = any(${[...eventIds]})`.execute(this.#db);
    for (const row of rows.rows) outcomes.set(row.event_id, row.outcome);
    return outcomes;
  }
}
