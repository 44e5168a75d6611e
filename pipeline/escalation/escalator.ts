import type { Kysely, Selectable, Transaction } from 'kysely';
import type { Logger } from 'pino';
import type { Database, FindingsTable } from '../store/database-schema.ts';
import { findingFromRow } from '../store/postgres-evaluation-state-store.ts';
import type { Finding } from '../../stages/track/finding.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import type { EscalationTables } from './escalation-table.ts';
import { wakeOutbox } from '../notify/outbox-wakeup.ts';

/**
 * What the Slack notifier is asked when a finding passes its deadline: post to the security channel naming the
 * owner, and reply in the thread of the finding's original alert. `count` is 0 for the escalation itself and k for
 * the k-th reminder; `at` is epoch ms.
 */
export interface EscalationIntent {
  readonly kind: 'finding.escalated';
  readonly finding: Finding;
  readonly escalation: { readonly reminder: boolean; readonly count: number; readonly at: number };
}

export interface EscalationSummary {
  readonly escalated: number;
  readonly reminded: number;
}

export interface EscalatorOptions {
  readonly db: Kysely<Database>;
  readonly sla: SlaPolicy;
  /** Recorded with each escalation; the notifier posts there. */
  readonly securityChannel: string;
  /** Findings claimed per transaction. */
  readonly batchSize?: number;
  readonly logger?: Logger;
}

/**
 * Escalates every open, un-excepted finding of an escalating severity past its deadline exactly once, then reminds
 * at the policy's cadence until it resolves. Several escalators may run at once: each transaction claims due
 * findings with FOR UPDATE SKIP LOCKED (a row re-checked after a concurrent commit no longer qualifies), and the
 * unique (finding_id, n) of escalations backs that up. The outbox row is written in the same transaction, so the
 * Slack message is as durable as the record.
 */
export class Escalator {
  readonly #db: Kysely<Database & EscalationTables>;
  readonly #sla: SlaPolicy;
  readonly #channel: string;
  readonly #batchSize: number;
  readonly #logger: Logger | undefined;

  constructor(options: EscalatorOptions) {
    this.#db = options.db.withTables<EscalationTables>();
    this.#sla = options.sla;
    this.#channel = options.securityChannel;
    this.#batchSize = options.batchSize ?? 500;
    this.#logger = options.logger;
  }

  async escalateDue(now: number, signal: AbortSignal): Promise<EscalationSummary> {
    const severities = this.#sla.escalatingSeverities();
    let escalated = 0;
    let reminded = 0;
    if (severities.length === 0) return { escalated, reminded };
    for (;;) {
      signal.throwIfAborted();
      const pass = await this.#db.transaction().execute(async (trx) => {
        const due = await trx
          .selectFrom('findings')
          .selectAll()
          .where('status', '=', 'open')
          .where('exception_id', 'is', null)
          .where('severity', 'in', severities)
          .where('deadline', '<=', new Date(now))
          .where((eb) =>
            eb.or([
              eb('escalated_at', 'is', null),
              eb(eb.fn.coalesce('last_reminder_at', 'escalated_at'), '<=', new Date(now - this.#sla.reminderIntervalMs)),
            ]),
          )
          .orderBy('deadline')
          .orderBy('finding_id')
          .limit(this.#batchSize)
          .forUpdate()
          .skipLocked()
          .execute();
        const recorded = await this.#record(trx, due, now);
        const first = recorded.filter((r) => r.n === 0).length;
        const reminders = recorded.length - first;
        return { claimed: due.length, first, reminders };
      });
      escalated += pass.first;
      reminded += pass.reminders;
      if (pass.claimed < this.#batchSize) break;
    }
    if (escalated + reminded > 0) this.#logger?.info({ escalated, reminded }, 'findings escalated');
    return { escalated, reminded };
  }

  /**
   * Records a batch of claimed findings in a few multi-row statements (a backlog of thousands escalates in seconds):
   * the escalation rows first, and only what they accepted moves on to the findings and the outbox.
   */
  async #record(trx: Transaction<Database & EscalationTables>, due: readonly Selectable<FindingsTable>[], now: number): Promise<{ findingId: string; n: number }[]> {
    if (due.length === 0) return [];
    const at = new Date(now);
    const inserted = await trx
      .insertInto('escalations')
      .values(due.map((row) => {
        const n = row.escalated_at === null ? 0 : row.reminder_count + 1;
        return {
          finding_id: row.finding_id,
          kind: n === 0 ? ('escalation' as const) : ('reminder' as const),
          n,
          at,
          channel: this.#channel,
          owner: row.owner,
          account_id: row.account_id,
          rule: row.rule,
          severity: row.severity,
          deadline: row.deadline ?? at,
        };
      }))
      .onConflict((oc) => oc.columns(['finding_id', 'n']).doNothing())
      .returning(['finding_id', 'n'])
      .execute();
    if (inserted.length === 0) return [];
    const noticeOf = new Map(inserted.map((r) => [r.finding_id, r.n]));
    const firsts = inserted.filter((r) => r.n === 0).map((r) => r.finding_id);
    const reminders = inserted.filter((r) => r.n > 0).map((r) => r.finding_id);
    const updated: Selectable<FindingsTable>[] = [];
    if (firsts.length > 0) {
      updated.push(...(await trx.updateTable('findings').set({ escalated_at: at, updated_at: new Date() }).where('finding_id', 'in', firsts).returningAll().execute()));
    }
    if (reminders.length > 0) {
      // The rows are locked by this transaction, so reminder_count + 1 is the n just recorded.
      updated.push(
        ...(await trx
          .updateTable('findings')
          .set((eb) => ({ last_reminder_at: at, reminder_count: eb('reminder_count', '+', 1), updated_at: new Date() }))
          .where('finding_id', 'in', reminders)
          .returningAll()
          .execute()),
      );
    }
    await trx
      .insertInto('notification_outbox')
      .values(updated.map((row) => {
        const n = noticeOf.get(row.finding_id) ?? 0;
        const intent: EscalationIntent = { kind: 'finding.escalated', finding: findingFromRow(row), escalation: { reminder: n > 0, count: n, at: now } };
        return { intent_id: `${row.finding_id}:finding.escalated:${n}`, finding_id: row.finding_id, kind: intent.kind, payload: JSON.stringify(intent) };
      }))
      .onConflict((oc) => oc.column('intent_id').doNothing())
      .execute();
    await wakeOutbox(trx);
    return inserted.map((r) => ({ findingId: r.finding_id, n: r.n }));
  }
}
