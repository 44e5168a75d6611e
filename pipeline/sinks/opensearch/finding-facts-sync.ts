import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import type { ColumnType, Kysely, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Settings } from '../../../schemas/settings.ts';
import { SystemClock } from '../../clock/clock.ts';
import type { Clock } from '../../clock/clock.ts';
import { loadEscalationFacts } from '../../escalation/escalation-facts.ts';
import type { EscalationFacts } from '../../escalation/escalation-facts.ts';
import type { BackgroundService } from '../../types/background-service.ts';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import { createOpenSearchClient } from './client.ts';
import { openSearchConfigFromSettings } from './config.ts';
import type { OpenSearchConfig } from './config.ts';
import type { FindingDocument } from './documents.ts';
import { IndexNames } from './index-names.ts';
import { OpenSearchRequestError } from './opensearch-request-error.ts';
import { createSecretRedactor } from './secret-redactor.ts';
import type { Redact } from './secret-redactor.ts';

/** Columns of migration 0004: set by triggers when a finding's facts must be (re)applied to its document. */
export interface FindingFactsColumns {
  readonly facts_dirty: ColumnType<boolean, boolean | undefined, boolean>;
  /** Last failed attempt; null = a fresh change (synced first). */
  readonly facts_tried_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

type FactsTables = { readonly findings: FindingsTable & FindingFactsColumns };

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
  /** Findings claimed per transaction (one `_bulk` each). */
  readonly batchSize?: number;
}

const BulkFilterPath = 'errors,items.*.status,items.*.error.type,items.*.error.reason';

/**
 * Keeps the escalation and exception facts of finding documents in step with Postgres. The sink writes a finding
 * document from the in-memory Finding (which has none of these facts) and replaces it on every write, so triggers
 * (migration 0004) mark a finding whenever its facts change or its document was rewritten, and each pass here sends
 * one `_bulk` of partial `update`s for the marked findings and clears the marks of the documents updated.
 *
 * The claimed rows stay locked (FOR UPDATE SKIP LOCKED) until the marks are cleared, so a change committed meanwhile
 * cannot be cleared unseen, and several workers share the work. A document not indexed yet (404) or an item
 * OpenSearch refused keeps its mark and is retried after fresher changes; an unreachable cluster clears nothing.
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

  constructor(options: FindingFactsSyncOptions) {
    this.#client = options.client;
    this.#db = options.db;
    this.#logger = options.logger.child({ sink: 'opensearch', job: this.name });
    this.#clock = options.clock ?? new SystemClock();
    this.#redact = createSecretRedactor(options.config.auth);
    this.#index = IndexNames.findings(options.config.indexPrefix);
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#batchSize = options.batchSize ?? 500;
  }

  /** Syncs every marked finding (batch after batch) until a batch is short or had failures. */
  async syncOnce(signal: AbortSignal): Promise<FindingFactsSyncSummary> {
    let synced = 0;
    let failed = 0;
    for (;;) {
      signal.throwIfAborted();
      const pass = await this.#db.transaction().execute((trx) => this.#syncBatch(trx, signal));
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

  async #syncBatch(trx: Transaction<Database>, signal: AbortSignal): Promise<{ claimed: number; synced: number; failed: number }> {
    const store = trx.withTables<FactsTables>();
    const claimed = await store
      .selectFrom('findings')
      .select(['finding_id', 'owner', 'account_name'])
      .where('facts_dirty', '=', true)
      .orderBy('facts_tried_at', (ob) => ob.asc().nullsFirst())
      .orderBy('finding_id')
      .limit(this.#batchSize)
      .forUpdate()
      .skipLocked()
      .execute();
    if (claimed.length === 0) return { claimed: 0, synced: 0, failed: 0 };
    const facts = await loadEscalationFacts(trx, claimed.map((row) => row.finding_id), this.#clock.now());
    const ids = [...facts.keys()];
    const registry = new Map(claimed.map((row) => [row.finding_id, { owner: row.owner, accountName: row.account_name }]));
    const outcome = await this.#sendUpdates(ids.map((id) => factsDocument(facts.get(id)!, registry.get(id)!)), signal);
    if (outcome.kind === 'unreachable') {
      this.#logger.warn({ findings: ids.length, error: outcome.error.message }, 'finding facts not synced: opensearch request failed');
      return { claimed: claimed.length, synced: 0, failed: ids.length };
    }
    const done: string[] = [];
    const retry: string[] = [];
    const refused: { findingId: string; status: number; error: string }[] = [];
    outcome.statuses.forEach((status, i) => {
      const findingId = ids[i]!;
      if (status >= 200 && status < 300) done.push(findingId);
      else {
        retry.push(findingId);
        // 404 = the document is not indexed yet (the sink writes it before the state commit, so this is brief).
        if (status !== 404) refused.push({ findingId, status, error: outcome.errors[i] ?? '' });
      }
    });
    if (done.length > 0) {
      await store.updateTable('findings').set({ facts_dirty: false, facts_tried_at: null }).where('finding_id', 'in', done).execute();
    }
    if (retry.length > 0) {
      await store.updateTable('findings').set({ facts_tried_at: new Date(this.#clock.now()) }).where('finding_id', 'in', retry).execute();
    }
    if (refused.length > 0) {
      this.#logger.warn({ refused: refused.length, missing: retry.length - refused.length, examples: refused.slice(0, 3) }, 'opensearch refused finding facts updates');
    }
    return { claimed: claimed.length, synced: done.length, failed: retry.length };
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
