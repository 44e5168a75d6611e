import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { sql } from 'kysely';
import type { ColumnType, Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { SystemClock } from '../../clock/clock.ts';
import type { Clock } from '../../clock/clock.ts';
import { loadEscalationFacts } from '../../escalation/escalation-facts.ts';
import type { EscalationFacts } from '../../escalation/escalation-facts.ts';
import type { BackgroundService } from '../../types/background-service.ts';
import type { Database } from '../../store/database-schema.ts';
import { createOpenSearchClient } from './client.ts';
import { openSearchConfigFromSettings } from './config.ts';
import type { OpenSearchConfig } from './config.ts';
import type { FindingDocument } from './documents.ts';
import { IndexNames } from './index-names.ts';
import { OpenSearchRequestError } from './opensearch-request-error.ts';
import { createSecretRedactor } from './secret-redactor.ts';
import type { Redact } from './secret-redactor.ts';

/** Columns of migrations 0004 and 0009: set by triggers when a finding's facts must be (re)applied to its document. */
export interface FindingFactsColumns {
  readonly facts_dirty: ColumnType<boolean, boolean | undefined, boolean>;
  /** Last failed attempt; null = a fresh change (synced first). */
  readonly facts_tried_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  /** Bumped by every mark (bigint: a string). */
  readonly facts_version: ColumnType<string, string | number | undefined, string | number>;
  /** The claim of a sync pass: other passes skip the finding until then. */
  readonly facts_claimed_until: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** What a pass claimed: its findings in id order, and the claim they all hold (see #claim). */
interface Claim {
  readonly rows: readonly { readonly finding_id: string; readonly facts_version: string; readonly owner: string; readonly account_name: string }[];
  readonly token: Date;
}

/** How a pass ends a claim: mark cleared (if unchanged), retried later, or just released (nothing known). */
type Settle = 'done' | 'retry' | 'release';

/**
 * The part of a finding document the sync owns: the escalation and exception facts kept in Postgres, and the owner
 * and account name the account registry gives an open finding after it was indexed (accounts sync, issue 11).
 */
export type FindingFactsDocument = Required<
  Pick<FindingDocument, 'escalated' | 'escalatedAt' | 'lastReminderAt' | 'reminderCount' | 'excepted' | 'exceptionId' | 'slaBreached' | 'escalations' | 'owner' | 'accountName'>
>;

/** What Postgres holds of a finding's registry fields (the account effects update them on open findings). */
export interface FindingRegistryFacts {
  readonly owner: string;
  readonly accountName: string;
}

export interface FindingFactsSyncSummary {
  /** Documents updated; their marks are cleared. */
  readonly synced: number;
  /** Findings still marked: the document is not indexed yet, OpenSearch refused the update, or could not be reached. */
  readonly failed: number;
}

export interface FindingFactsSyncOptions {
  readonly client: Client;
  readonly config: OpenSearchConfig;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Pause between passes (real time); default 10 s. */
  readonly intervalMs?: number;
  /** Findings claimed per pass (one `_bulk` each). */
  readonly batchSize?: number;
  /**
   * How long a claim keeps other workers off its findings; it must outlast a pass (the request timeout bounds the
   * `_bulk`), or a finding may be sent twice at once. A worker that dies leaves its findings claimed this long.
   * Default: the request timeout plus a minute.
   */
  readonly leaseMs?: number;
}

const BulkFilterPath = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

/**
 * Keeps the escalation and exception facts of finding documents in step with Postgres. The sink writes a finding
 * document from the in-memory Finding (which has none of these facts) and replaces it on every write, so triggers
 * (migration 0004) mark a finding whenever its facts change or its document was rewritten, and each pass here sends
 * one `_bulk` of partial `update`s for the marked findings and clears the marks of the documents updated.
 *
 * No finding stays locked during the request (a state commit updating it would wait for OpenSearch, issue 18): a
 * pass claims its findings with a lease (facts_claimed_until, migration 0009), so several workers share the work and
 * never send the same finding at once, and remembers each finding's facts_version, so a change committed while the
 * request is in flight moved the version and keeps its mark. A document not indexed yet (404) or an item OpenSearch
 * refused keeps its mark and is retried after fresher changes; an unreachable cluster clears nothing.
 */
export class FindingFactsSync implements BackgroundService {
  readonly name = 'finding-facts-sync';
  readonly #client: Client;
  readonly #db: Kysely<Database>;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #redact: Redact;
  readonly #index: string;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  readonly #leaseMs: number;

  constructor(options: FindingFactsSyncOptions) {
    this.#client = options.client;
    this.#db = options.db;
    this.#logger = options.logger.child({ sink: 'opensearch', job: this.name });
    this.#clock = options.clock ?? new SystemClock();
    this.#redact = createSecretRedactor(options.config.auth);
    this.#index = IndexNames.findings(options.config.indexPrefix);
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#batchSize = options.batchSize ?? 500;
    this.#leaseMs = options.leaseMs ?? options.config.requestTimeoutMs + 60_000;
  }

  /** Syncs every marked finding (batch after batch) until a batch is short or had failures. */
  async syncOnce(signal: AbortSignal): Promise<FindingFactsSyncSummary> {
    let synced = 0;
    let failed = 0;
    for (;;) {
      signal.throwIfAborted();
      const pass = await this.#syncBatch(signal);
      synced += pass.synced;
      failed += pass.failed;
      if (pass.claimed < this.#batchSize || pass.failed > 0) break;
    }
    if (synced + failed > 0) this.#logger.info({ synced, failed }, 'finding facts synced');
    return { synced, failed };
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      while (!signal.aborted) {
        try {
          await this.syncOnce(signal);
        } catch (error) {
          if (signal.aborted) return;
          // Postgres away: the marks stay, the next pass retries.
          this.#logger.error({ error: this.#redact(error instanceof Error ? error.message : String(error)) }, 'finding facts sync failed');
        }
        await sleep(this.#intervalMs, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  /**
   * One pass over up to batchSize marked findings, with no transaction open during the OpenSearch request: claim
   * (a short statement), read the facts, send, then settle the claims (another short statement).
   */
  async #syncBatch(signal: AbortSignal): Promise<{ claimed: number; synced: number; failed: number }> {
    const claim = await this.#claim();
    if (claim.rows.length === 0) return { claimed: 0, synced: 0, failed: 0 };
    const facts = await loadEscalationFacts(this.#db, claim.rows.map((row) => row.finding_id), this.#clock.now());
    const ids = [...facts.keys()];
    const registry = new Map(claim.rows.map((row) => [row.finding_id, { owner: row.owner, accountName: row.account_name }]));
    const outcome = await this.#sendUpdates(ids.map((id) => factsDocument(facts.get(id)!, registry.get(id)!)), signal);
    const outcomes = new Map<string, Settle>(claim.rows.map((row) => [row.finding_id, 'release']));
    if (outcome.kind === 'unreachable') {
      this.#logger.warn({ findings: ids.length, error: outcome.error.message }, 'finding facts not synced: opensearch request failed');
      await this.#settle(claim, outcomes);
      return { claimed: claim.rows.length, synced: 0, failed: ids.length };
    }
    let retried = 0;
    const refused: { findingId: string; status: number; error: string }[] = [];
    outcome.statuses.forEach((status, i) => {
      const findingId = ids[i]!;
      if (status >= 200 && status < 300) outcomes.set(findingId, 'done');
      else {
        outcomes.set(findingId, 'retry');
        retried++;
        // 404 = the document is not indexed yet (the sink writes it before the state commit, so this is brief).
        if (status !== 404) refused.push({ findingId, status, error: outcome.errors[i] ?? '' });
      }
    });
    const synced = await this.#settle(claim, outcomes);
    if (refused.length > 0) {
      this.#logger.warn({ refused: refused.length, missing: retried - refused.length, examples: refused.slice(0, 3) }, 'opensearch refused finding facts updates');
    }
    return { claimed: claim.rows.length, synced, failed: retried };
  }

  /**
   * Claims marked findings not claimed by a live pass: one statement, so the row locks last only as long as it does
   * (SKIP LOCKED: never waits for a state commit either). Fresh changes first, retries after them.
   */
  async #claim(): Promise<Claim> {
    const result = await sql<{ finding_id: string; facts_version: string; owner: string; account_name: string; facts_claimed_until: Date }>`
      with picked as (
        select finding_id from findings
        where facts_dirty and (facts_claimed_until is null or facts_claimed_until < now())
        order by facts_tried_at asc nulls first, finding_id
        limit ${this.#batchSize}
        for update skip locked
      )
      update findings f
      set facts_claimed_until = date_trunc('milliseconds', now() + ${this.#leaseMs}::double precision * interval '1 millisecond')
      from picked
      where f.finding_id = picked.finding_id
      returning f.finding_id, f.facts_version::text as facts_version, f.owner, f.account_name, f.facts_claimed_until`.execute(this.#db);
    const rows = [...result.rows].sort((a, b) => (a.finding_id < b.finding_id ? -1 : a.finding_id > b.finding_id ? 1 : 0));
    // One statement, one now(): every row holds the same claim, to the millisecond (it is the token of this pass).
    return { rows, token: rows[0]?.facts_claimed_until ?? new Date(0) };
  }

  /**
   * Ends this pass's claims (only those it still holds: a claim that expired may be another worker's now). A document
   * updated loses its mark unless its finding was marked again since the claim (facts_version moved); a retry is
   * dated, unless marked again (then it is a fresh change). Returns how many marks were cleared.
   */
  async #settle(claim: Claim, outcomes: ReadonlyMap<string, Settle>): Promise<number> {
    const ids = claim.rows.map((row) => row.finding_id);
    const versions = claim.rows.map((row) => row.facts_version);
    const settles = claim.rows.map((row) => outcomes.get(row.finding_id) ?? 'release');
    // Rows locked in finding_id order, the order the state commit writes them in.
    const result = await sql<{ finding_id: string; cleared: boolean }>`
      with mine as (
        select finding_id from findings
        where finding_id = any(${ids}::text[]) and facts_claimed_until = ${claim.token}
        order by finding_id
        for update
      )
      update findings f
      set facts_dirty = f.facts_dirty and not (v.settle = 'done' and f.facts_version = v.version),
        facts_tried_at = case
          when f.facts_version <> v.version then f.facts_tried_at
          when v.settle = 'done' then null
          when v.settle = 'retry' then ${new Date(this.#clock.now())}::timestamptz
          else f.facts_tried_at end,
        facts_claimed_until = null
      from mine
      join unnest(${ids}::text[], ${versions}::bigint[], ${settles}::text[]) as v(finding_id, version, settle) on v.finding_id = mine.finding_id
      where f.finding_id = mine.finding_id
      returning f.finding_id, (v.settle = 'done' and not f.facts_dirty) as cleared`.execute(this.#db);
    return result.rows.filter((row) => row.cleared).length;
  }

  /** One `_bulk` of partial updates: per-item statuses (0 = none given), or unreachable when nothing is known. */
  async #sendUpdates(
    facts: readonly { readonly findingId: string; readonly doc: FindingFactsDocument }[],
    signal: AbortSignal,
  ): Promise<{ kind: 'answered'; statuses: number[]; errors: (string | undefined)[] } | { kind: 'unreachable'; error: OpenSearchRequestError }> {
    const body = facts
      .map((f) => `${JSON.stringify({ update: { _index: this.#index, _id: f.findingId, retry_on_conflict: 3 } })}\n${JSON.stringify({ doc: f.doc })}\n`)
      .join('');
    const pending = this.#client.transport.request({ method: 'POST', path: '/_bulk', bulkBody: body, querystring: { filter_path: BulkFilterPath } });
    // A block body on purpose: abort() returns the request, a thenable, and an AbortSignal listener that returns a
    // thenable gets its rejection rethrown by Node as an uncaught exception (a crash at every stop mid-request).
    const onAbort = () => {
      pending.abort();
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const response = await pending;
      const items = (response.body as { items?: unknown } | null)?.items;
      if (!Array.isArray(items) || items.length !== facts.length) {
        return { kind: 'unreachable', error: new OpenSearchRequestError('finding facts bulk answered without one item per update', 'BulkResponse') };
      }
      const results = items.map((item) => (item as { update?: { status?: unknown; error?: { type?: unknown; reason?: unknown } } }).update);
      return {
        kind: 'answered',
        statuses: results.map((r) => (typeof r?.status === 'number' ? r.status : 0)),
        errors: results.map((r) => (r?.error ? this.#redact(`${String(r.error.type)}: ${String(r.error.reason)}`).slice(0, 300) : undefined)),
      };
    } catch (error) {
      return { kind: 'unreachable', error: OpenSearchRequestError.from(error, this.#redact, 'finding facts bulk') };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** The partial document of one finding's facts; field names are those of FindingDocument and the index template. */
export function factsDocument(facts: EscalationFacts, registry: FindingRegistryFacts): { readonly findingId: string; readonly doc: FindingFactsDocument } {
  return { findingId: facts.findingId, doc: factsFields(facts, registry) };
}

function factsFields(facts: EscalationFacts, registry: FindingRegistryFacts): FindingFactsDocument {
  return {
    escalated: facts.escalatedAt !== null,
    escalatedAt: facts.escalatedAt,
    lastReminderAt: facts.lastReminderAt,
    reminderCount: facts.reminderCount,
    excepted: facts.excepted,
    exceptionId: facts.exceptionId,
    slaBreached: facts.slaBreached,
    escalations: facts.escalations,
    owner: registry.owner,
    accountName: registry.accountName,
  };
}

/** The sync from settings, or null when OPENSEARCH_URL is unset (OpenSearch is optional). */
export function createFindingFactsSync(settings: Settings, db: Kysely<Database>, logger: Logger, clock?: Clock): FindingFactsSync | null {
  const config = openSearchConfigFromSettings(settings);
  if (!config) return null;
  return new FindingFactsSync({ client: createOpenSearchClient(config), config, db, logger, ...(clock ? { clock } : {}) });
}
