import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import type { Logger } from 'pino';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import type { Item } from '../../stages/stage.ts';
import type { AccountTables } from '../accounts/account-tables.ts';
import type { Runtime } from '../runtime/create-runtime.ts';
import type { EvaluationsTable } from '../store/database-schema.ts';
import type { AggregatorReader, AggregatorResult } from './aggregator-reader.ts';
import { BatchLanes } from './batch-lanes.ts';
import { ReconcileBusyError, ReconcileStore } from './reconcile-store.ts';
import type { ReconcileRun } from './reconcile-store.ts';
import { driftRate, emptyTally, totalsOf } from './reconcile-tally.ts';
import type { ReconcileTally, TallyTotals } from './reconcile-tally.ts';
import { syntheticEvent, syntheticEventId, syntheticRecord } from './synthetic-event.ts';

export interface ReconcileOptions {
  /** Only this (normalized) rule. */
  readonly rule?: string;
  /** Only this account. */
  readonly account?: string;
  /** Compare and report; change nothing (no run is recorded). */
  readonly dryRun?: boolean;
  /** How a backfill (first run into an empty store) announces its findings. */
  readonly backfillNotify: 'digest' | 'silent' | 'alert';
  /** A stored evaluation Config no longer reports resolves only when older than this (aggregation lags). */
  readonly graceMs: number;
  /** Claim owner (worker id). */
  readonly owner: string;
  readonly onProgress?: (progress: ReconcileProgress) => void;
}

export interface ReconcileProgress {
  readonly runId: string;
  readonly accountsDone: number;
  readonly accountsTotal: number;
  readonly evaluations: number;
  readonly differences: number;
  readonly pages: number;
}

export interface ReconcileReport {
  readonly runId: string;
  readonly backfill: boolean;
  readonly notify: ReconcileRun['notify'];
  readonly dryRun: boolean;
  /** True when this call resumed a run that a crash (or a stop) interrupted. */
  readonly resumed: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly accounts: number;
  readonly totals: TallyTotals;
  /** differences ÷ evaluations compared. */
  readonly driftRate: number;
  readonly tallies: readonly ReconcileTally[];
  readonly calls: number;
  readonly throttled: number;
}

export interface ReconcilerDependencies {
  readonly runtime: Pick<Runtime, 'database' | 'createProcessor'>;
  readonly reader: AggregatorReader;
  readonly logger: Logger;
  /** Throttled calls so far (the reader's retry hook counts them). */
  readonly throttled?: () => number;
  readonly clock?: () => number;
}

const ShardId = 'reconcile';
/** Differences fed through the stages per batch: large enough for throughput, small enough for one transaction. */
const BatchSize = 2_000;
/** Batches processed at once (each by its own processor, each holding a database connection while it commits). */
const Lanes = 3;
/** A batch that already closes accounts is flushed after this long, however few differences it holds. */
const GroupMs = 500;
const HeartbeatMs = 10_000;
/** A run whose heartbeat is older than this is taken over by the next reconcile. */
export const StaleRunMs = 60_000;

/** What reconciliation compares of a stored evaluation: all but its finding link and bookkeeping. */
type StoredEvaluation = Omit<Selectable<EvaluationsTable>, 'in_scope' | 'open_finding_id' | 'updated_at'>;

interface Difference {
  readonly record: Item<RawRecord>;
  readonly tally: ReconcileTally;
}

/** Differences on their way to the stages, and the accounts (their tallies) whose last differences they hold. */
interface OpenBatch {
  /** performance.now() when opened: grouping is about throughput, not the run's clock. */
  readonly openedAt: number;
  readonly differences: Difference[];
  readonly closes: ReconcileTally[][];
}

/** Where one account's comparison goes. */
interface AccountSink {
  /** A promise when the caller flushes (the comparison waits for it), nothing otherwise. */
  difference(difference: Difference): Promise<void> | undefined;
  /** A page compared: how many results it held (after the rule filter and duplicates). */
  page?(results: number): void;
}

function openBatch(now: number): OpenBatch {
  return { openedAt: now, differences: [], closes: [] };
}

/**
 * Reconciliation with the organization aggregator: for each account, compare the aggregator's current results with
 * the stored evaluations and feed each difference through the same stages as the stream (a synthetic compliance
 * change marked source driftwatch.reconcile), so severity, scope, SLA, OpenSearch and Slack all apply. The store
 * wins when it is newer. Resumable: the cursor (accounts done) and their tallies commit together, event ids are
 * derived from the run and the difference, so an account redone after a crash is deduplicated and counted the same.
 */
export class Reconciler {
  readonly #deps: ReconcilerDependencies;
  readonly #store: ReconcileStore;
  readonly #now: () => number;

  constructor(deps: ReconcilerDependencies) {
    this.#deps = deps;
    this.#store = new ReconcileStore(deps.runtime.database.db);
    this.#now = deps.clock ?? Date.now;
  }

  async run(options: ReconcileOptions, signal: AbortSignal): Promise<ReconcileReport> {
    if (options.dryRun) return this.#dryRun(options, signal);
    let run = await this.#store.running();
    let resumed = false;
    if (run) {
      if (!(await this.#store.claim(run.run_id, options.owner, this.#now(), StaleRunMs))) {
        throw new ReconcileBusyError(`reconcile run ${run.run_id} is in progress on ${run.owner}`);
      }
      resumed = true;
      this.#deps.logger.info({ runId: run.run_id, nextAccount: run.next_account, accounts: run.accounts.length }, 'resuming reconcile run');
    } else {
      const backfill = (await this.#deps.runtime.database.db.selectFrom('evaluations').select('evaluation_key').limit(1).executeTakeFirst()) === undefined;
      const startedAt = this.#now();
      run = await this.#store.create({
        runId: `rc-${new Date(startedAt).toISOString()}-${randomBytes(3).toString('hex')}`,
        backfill,
        notify: backfill ? options.backfillNotify : 'alert',
        rule: options.rule ?? null,
        account: options.account ?? null,
        accounts: await this.#accountsToVisit(options),
        owner: options.owner,
        now: startedAt,
      });
    }
    const heartbeat = setInterval(() => {
      this.#store.heartbeat(run.run_id, options.owner, this.#now()).catch((error: unknown) => this.#deps.logger.warn({ err: error }, 'reconcile heartbeat failed'));
    }, HeartbeatMs);
    heartbeat.unref();
    try {
      await this.#visit(run, options, signal);
      const finishedAt = this.#now();
      await this.#store.finish(run.run_id, options.owner, 'finished', finishedAt);
      const tallies = await this.#store.tallies(run.run_id);
      return this.#report(run, tallies, { resumed, dryRun: false, finishedAt });
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #accountsToVisit(options: Pick<ReconcileOptions, 'account'>): Promise<string[]> {
    if (options.account) return [options.account];
    // Accounts the store knows but the aggregator no longer reports at all: every evaluation there is gone.
    const [aggregated, stored] = await Promise.all([
      this.#deps.reader.accounts(),
      this.#deps.runtime.database.db.selectFrom('evaluations').select('account_id').distinct().execute(),
    ]);
    return [...new Set([...aggregated, ...stored.map((row) => row.account_id)])].sort();
  }

  /**
   * Accounts in order, their differences in batches of up to BatchSize that span accounts (a repair finds a few dozen
   * per account; one batch each cost a commit, a bulk and a settle per account), flushed by `Lanes` processors at once
   * so that our CPU, Postgres and OpenSearch overlap. Keys never repeat within a run, so batches in flight never touch
   * the same evaluation. The cursor moves in batch order: an account counts as done once every batch up to the one
   * that closed it has been processed, and its tallies commit with the cursor.
   */
  async #visit(run: ReconcileRun, options: ReconcileOptions, signal: AbortSignal): Promise<void> {
    const startedAt = new Date(run.started_at).getTime();
    const lanes = new BatchLanes(Lanes, () => this.#deps.runtime.createProcessor(ShardId), signal);
    let cursor = run.next_account;
    let commits: Promise<void> = Promise.resolve();
    let batch = openBatch(performance.now());
    let evaluations = 0;
    let differences = 0;
    let pages = 0;
    const flush = () => {
      const closing = batch;
      batch = openBatch(performance.now());
      const done = lanes.run(async (processor) => {
        if (closing.differences.length === 0) return;
        const records = closing.differences.map((d) => d.record);
        await processor.process(ShardId, records, null, 'reconcile', lanes.signal);
        const outcomes = await this.#store.outcomes(records.map((r) => r.origin.sequenceNumber));
        for (const d of closing.differences) {
          const outcome = outcomes.get(d.record.origin.sequenceNumber);
          if (outcome) d.tally[outcome]++;
        }
      });
      // After the previous link has settled (never only after the first rejection, as Promise.all would): once the
      // chain has settled, no cursor write of this run is still on its way.
      commits = commits.then(() => done).then(async () => {
        if (closing.closes.length === 0) return;
        const from = cursor;
        cursor += closing.closes.length;
        await this.#store.completeAccounts(run.run_id, options.owner, from, cursor, closing.closes.flat(), this.#now());
        options.onProgress?.({ runId: run.run_id, accountsDone: cursor, accountsTotal: run.accounts.length, evaluations, differences, pages });
      });
      // Observed below (the next flush or the end); a failure meanwhile stops the lanes rather than going unhandled.
      commits.catch((error: unknown) => lanes.fail(error));
      return lanes.ready();
    };
    try {
      for (let index = run.next_account; index < run.accounts.length; index++) {
        lanes.throwIfFailed();
        const tallies = await this.#compareAccount(run, run.accounts[index]!, startedAt - options.graceMs, {
          difference: (difference) => {
            batch.differences.push(difference);
            differences++;
            return batch.differences.length >= BatchSize ? flush() : undefined;
          },
          page: (results) => {
            pages++;
            evaluations += results;
            options.onProgress?.({ runId: run.run_id, accountsDone: cursor, accountsTotal: run.accounts.length, evaluations, differences, pages });
          },
        });
        batch.closes.push(tallies);
        // A batch of few differences still closes after GroupMs, so the cursor keeps moving on a quiet repair.
        if (performance.now() - batch.openedAt >= GroupMs) await flush();
      }
      if (batch.differences.length > 0 || batch.closes.length > 0) await flush();
      await lanes.drain();
      await commits;
    } catch (error) {
      // Stop the batches in flight and let every cursor write settle before the run reports its failure: a write
      // landing later would move the cursor under the run that resumes this one.
      lanes.fail(error);
      await Promise.allSettled([lanes.drain(), commits]);
      throw error;
    }
  }

  /**
   * One account: the aggregator's results against the stored evaluations, then the stored ones Config no longer
   * reports (older than `cutoff`). Each difference goes to `sink.difference` (awaited: the caller may flush there);
   * returns the account's tallies per rule.
   */
  async #compareAccount(run: ReconcileRun, accountId: string, cutoff: number, sink: AccountSink): Promise<ReconcileTally[]> {
    const tallies = new Map<string, ReconcileTally>();
    const tallyOf = (rule: string) => {
      let tally = tallies.get(rule);
      if (!tally) tallies.set(rule, (tally = emptyTally(accountId, rule)));
      return tally;
    };
    const stored = await this.#stored(accountId, run.rule_filter);
    const seen = new Set<string>();
    let reported = 0;
    for await (const page of readAhead(this.#deps.reader.pages(accountId))) {
      let results = 0;
      reported += page.results.length;
      for (const result of page.results) {
        const key = firstSightOf(result, run.rule_filter, seen);
        if (key === null) continue;
        const tally = tallyOf(result.rule);
        tally.evaluations++;
        results++;
        const record = this.#compare(run, key, result, stored.get(key), tally);
        if (!record) continue;
        // Awaited only when the caller flushes: tens of thousands of differences, one microtask each otherwise.
        const flushing = sink.difference({ record, tally });
        if (flushing) await flushing;
      }
      sink.page?.(results);
    }
    if (reported === 0 && stored.size > 0 && !(await this.#leftOrganization(accountId))) {
      // Silence is not proof: an account whose recorder stopped recording AWS::Config::ResourceCompliance (or whose
      // aggregation broke) looks empty. Resolving everything it holds would hide real findings; only an account the
      // organization no longer has active loses its evaluations this way.
      this.#deps.logger.warn({ accountId, stored: stored.size }, 'reconcile: the aggregator reports nothing for an active account; its stored evaluations are kept');
      return [...tallies.values()];
    }
    for (const [key, row] of stored) {
      if (seen.has(key)) continue;
      const record = this.#gone(run, key, row, cutoff);
      if (!record) continue;
      const tally = tallyOf(row.rule);
      tally.gone++;
      tally.differences++;
      const flushing = sink.difference({ record, tally });
      if (flushing) await flushing;
    }
    return [...tallies.values()];
  }

  /** True when the registry knows the account as suspended, closing, closed or gone from the organization. */
  async #leftOrganization(accountId: string): Promise<boolean> {
    const row = await this.#deps.runtime.database.db.withTables<AccountTables>().selectFrom('accounts').select('state').where('account_id', '=', accountId).executeTakeFirst();
    return row !== undefined && row.state !== 'ACTIVE' && row.state !== 'PENDING_ACTIVATION';
  }

  async #stored(accountId: string, rule: string | null): Promise<Map<string, StoredEvaluation>> {
    let query = this.#deps.runtime.database.db
      .selectFrom('evaluations')
      .select(['evaluation_key', 'account_id', 'region', 'rule', 'resource_type', 'resource_id', 'compliance', 'ordering_time', 'event_id'])
      .where('account_id', '=', accountId);
    if (rule) query = query.where('rule', '=', rule);
    const rows = await query.execute();
    return new Map(rows.map((row) => [row.evaluation_key, row]));
  }

  /** A difference to feed through the stages, or null (the store agrees, or holds something newer). */
  #compare(run: ReconcileRun, key: string, result: AggregatorResult, stored: StoredEvaluation | undefined, tally: ReconcileTally): Item<RawRecord> | null {
    // Hashed only when it matters (every difference; a stored result reconcile wrote): most results agree with the store.
    let id: string | null = null;
    const idOf = () => (id ??= syntheticEventId('reconcile', run.run_id, key, result.compliance, String(result.capturedAt)));
    // Applied by this very run before a crash: still a difference (fed again, deduplicated), so the counts come out the same.
    const appliedByThisRun = stored !== undefined && stored.event_id.startsWith('reconcile-') && stored.event_id === idOf();
    if (stored && !appliedByThisRun) {
      if (stored.compliance === result.compliance) {
        tally.unchanged++;
        return null;
      }
      if (new Date(stored.ordering_time).getTime() >= result.capturedAt) {
        tally.newerInStore++;
        return null;
      }
    }
    tally.differences++;
    return syntheticRecord(
      syntheticEvent({
        id: idOf(),
        source: 'driftwatch.reconcile',
        mark: { run: run.run_id, notify: run.notify },
        accountId: result.accountId,
        region: result.region,
        configRuleName: result.configRuleName,
        resourceType: result.resourceType,
        resourceId: result.resourceId,
        compliance: result.compliance,
        orderingTime: result.capturedAt,
        now: this.#now(),
      }),
      ShardId,
    );
  }

  /** A stored evaluation Config no longer reports: resolved as DELETED, just after the stored result (newer real ones win). */
  #gone(run: ReconcileRun, key: string, stored: StoredEvaluation, cutoff: number): Item<RawRecord> | null {
    const ordering = new Date(stored.ordering_time).getTime();
    if (stored.compliance === 'DELETED') {
      // Deleted by this run before a crash (its event sits 1 ms after the result it replaced): count it again.
      return stored.event_id === syntheticEventId('reconcile', run.run_id, key, 'DELETED', String(ordering - 1)) ? this.#deleted(run, key, stored, ordering - 1) : null;
    }
    return ordering < cutoff ? this.#deleted(run, key, stored, ordering) : null;
  }

  #deleted(run: ReconcileRun, key: string, stored: StoredEvaluation, ordering: number): Item<RawRecord> {
    return syntheticRecord(
      syntheticEvent({
        id: syntheticEventId('reconcile', run.run_id, key, 'DELETED', String(ordering)),
        source: 'driftwatch.reconcile',
        mark: { run: run.run_id, notify: run.notify },
        accountId: stored.account_id,
        region: stored.region,
        configRuleName: stored.rule,
        resourceType: stored.resource_type,
        resourceId: stored.resource_id,
        compliance: 'DELETED',
        orderingTime: ordering + 1,
        now: this.#now(),
      }),
      ShardId,
    );
  }

  async #dryRun(options: ReconcileOptions, signal: AbortSignal): Promise<ReconcileReport> {
    const startedAt = this.#now();
    const run: ReconcileRun = {
      run_id: `dry-run-${new Date(startedAt).toISOString()}`, status: 'running', backfill: false, notify: 'alert', rule_filter: options.rule ?? null,
      account_filter: options.account ?? null, dry_run: true, started_at: new Date(startedAt), finished_at: null, accounts: await this.#accountsToVisit(options),
      next_account: 0, heartbeat_at: new Date(startedAt), owner: options.owner, error: null,
    };
    const all: ReconcileTally[] = [];
    for (const accountId of run.accounts) {
      signal.throwIfAborted();
      all.push(...(await this.#compareAccount(run, accountId, startedAt - options.graceMs, { difference: () => undefined })));
    }
    return this.#report(run, all, { resumed: false, dryRun: true, finishedAt: this.#now() });
  }

  #report(run: ReconcileRun, tallies: readonly ReconcileTally[], extra: { resumed: boolean; dryRun: boolean; finishedAt: number }): ReconcileReport {
    const totals = totalsOf(tallies);
    return {
      runId: run.run_id,
      backfill: run.backfill,
      notify: run.notify,
      dryRun: extra.dryRun,
      resumed: extra.resumed,
      startedAt: new Date(run.started_at).toISOString(),
      finishedAt: new Date(extra.finishedAt).toISOString(),
      accounts: run.accounts.length,
      totals,
      driftRate: driftRate(totals),
      tallies,
      calls: this.#deps.reader.calls,
      throttled: this.#deps.throttled?.() ?? 0,
    };
  }
}

/** Fetches the next page while the caller works on this one (the aggregator's latency and our processing overlap). */
async function* readAhead<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const result = await next;
      if (result.done) return;
      next = source.next();
      // Observed when awaited on the next turn; until then a failure must not count as unhandled.
      next.catch(() => undefined);
      yield result.value;
    }
  } finally {
    await source.return(undefined);
  }
}

/** A result's evaluation key the first time an account's listing shows it (within the run's rule filter); else null. */
function firstSightOf(result: AggregatorResult, ruleFilter: string | null, seen: Set<string>): string | null {
  if (ruleFilter && result.rule !== ruleFilter) return null;
  const key = evaluationKeyOf(result.accountId, result.region, result.rule, result.resourceType, result.resourceId);
  if (seen.has(key)) return null;
  seen.add(key);
  return key;
}
