import type { Kysely } from 'kysely';
import type { Database } from '../store/database-schema.ts';
import type { MonthlyReport } from './monthly-report.ts';
import { formatReportSlack } from './formatters/format-slack.ts';
import { wakeOutbox } from '../notify/outbox-wakeup.ts';

/** What the Slack notifier is asked to post for the monthly report. */
export interface MonthlyReportIntent {
  readonly kind: 'report.monthly';
  readonly month: string;
  readonly channel: string;
  /** Slack mrkdwn. */
  readonly text: string;
}

/**
 * Queues the report for Slack through the outbox (durable, paced with every other message) rather than posting
 * directly. Once per month: a second --post finds the intent already there and queues nothing.
 */
export async function enqueueMonthlyReport(db: Kysely<Database>, report: MonthlyReport, channel: string): Promise<{ queued: boolean; intentId: string }> {
  const intent: MonthlyReportIntent = { kind: 'report.monthly', month: report.month, channel, text: formatReportSlack(report) };
  const intentId = monthlyReportIntentId(report.month);
  const result = await db
    .insertInto('notification_outbox')
    .values({ intent_id: intentId, finding_id: `report:${report.month}`, kind: intent.kind, payload: JSON.stringify(intent) })
    .onConflict((oc) => oc.column('intent_id').doNothing())
    .executeTakeFirst();
  await wakeOutbox(db);
  return { queued: Number(result.numInsertedOrUpdatedRows ?? 0n) > 0, intentId };
}

/** The outbox key of a month's report: one per month, whoever queues it (`report --post`, any `run` worker). */
export function monthlyReportIntentId(month: string): string {
  return `report:${month}:report.monthly`;
}
