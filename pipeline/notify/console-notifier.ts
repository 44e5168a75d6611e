import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { printable } from '../cli/output/printable.ts';
import type { Clock } from '../clock/clock.ts';
import { SystemClock } from '../clock/clock.ts';
import { systemSleep } from '../clock/sleep.ts';
import { Backoff } from '../runtime/backoff.ts';
import { defaultWorkerId } from '../runtime/worker-id.ts';
import type { Database } from '../store/database-schema.ts';
import { runDrainLoop } from './drain-loop.ts';
import type { DrainWakeup } from './drain-loop.ts';
import { loadFindingStates } from './finding-states.ts';
import { NotificationPayload } from './notification-payload.ts';
import type { FindingSnapshot } from './notification-payload.ts';
import { EmptyDrainSummary } from './notifier.ts';
import type { DrainSummary, Notifier } from './notifier.ts';
import { OutboxStore } from './outbox-store.ts';
import type { SlackNotifierConfig } from './slack/config.ts';
import { DeliveryPlanner } from './slack/delivery-planner.ts';
import { MessageFormatter } from './slack/message-format.ts';
import { formatDuration, utcText } from './slack/mrkdwn.ts';

export interface ConsoleNotifierOptions {
  readonly config: SlackNotifierConfig;
  readonly db: Kysely<Database>;
  readonly logger: Logger;
  readonly catalog: RuleCatalog;
  /** Where the lines go; default stdout. */
  readonly out?: NodeJS.WritableStream;
  readonly clock?: Clock;
  readonly owner?: string;
  /** Wakes the idle loop when intents are committed (the poll interval is then only a fallback). */
  readonly wakeup?: DrainWakeup;
}

/** Findings of one channel and rule shown one by one per drain before the rest is summarized. */
const ShownPerGroup = 3;

/**
 * Without a Slack token (npm start, demo): drains the same outbox and prints one readable line per notification,
 * so the whole flow is visible without a workspace. Floods are summarized as they would be in Slack.
 */
export class ConsoleNotifier implements Notifier {
  readonly name = 'console-notifier';
  readonly #config: SlackNotifierConfig;
  readonly #logger: Logger;
  readonly #out: NodeJS.WritableStream;
  readonly #clock: Clock;
  readonly #db: Kysely<Database>;
  readonly #wakeup: DrainWakeup | undefined;
  readonly #outbox: OutboxStore;
  readonly #planner: DeliveryPlanner;

  constructor(options: ConsoleNotifierOptions) {
    this.#config = options.config;
    this.#logger = options.logger.child({ sink: 'console-notifier' });
    this.#out = options.out ?? process.stdout;
    this.#clock = options.clock ?? new SystemClock();
    this.#outbox = new OutboxStore(options.db, options.owner ?? `${defaultWorkerId()}-console`);
    this.#db = options.db;
    this.#wakeup = options.wakeup;
    this.#planner = new DeliveryPlanner(options.config, new MessageFormatter({ catalog: options.catalog }));
  }

  async init(): Promise<void> {
    this.#logger.info('no SLACK_TOKEN: notifications are printed to the console');
  }

  async drainOnce(_signal: AbortSignal): Promise<DrainSummary> {
    const claimed = await this.#outbox.claim(this.#config.batchSize, this.#clock.now(), this.#config.leaseMs);
    if (claimed.length === 0) return EmptyDrainSummary;
    const parsed = claimed.map((intent) => ({ intent, parsed: NotificationPayload.safeParse(intent.payload) }));
    const findingIds = parsed.flatMap(({ parsed: p }) => (p.success && p.data.kind !== 'report.monthly' ? [p.data.finding.findingId] : []));
    const states = await loadFindingStates(this.#db, findingIds);
    const sent: string[] = [];
    const suppressed: string[] = [];
    const failed: string[] = [];
    const lines: string[] = [];
    const groups = new Map<string, { channel: string; rule: string; findings: FindingSnapshot[] }>();
    for (const { intent, parsed: p } of parsed) {
      if (!p.success) {
        failed.push(intent.intentId);
        continue;
      }
      const payload = p.data;
      if (payload.kind === 'report.monthly') {
        lines.push(`[slack ${printable(payload.channel)}] REPORT ${printable(payload.month)}\n${printable(payload.text, { multiline: true })}`);
        sent.push(intent.intentId);
        continue;
      }
      if (states.get(payload.finding.findingId)?.exceptionId && payload.kind !== 'finding.resolved') {
        suppressed.push(intent.intentId);
        continue;
      }
      sent.push(intent.intentId);
      for (const channel of this.#planner.channelsFor(payload)) {
        if (payload.kind === 'finding.opened') {
          const key = `${channel}\u0000${payload.finding.rule}`;
          const group = groups.get(key) ?? { channel, rule: payload.finding.rule, findings: [] };
          group.findings.push(payload.finding);
          groups.set(key, group);
        } else if (payload.kind === 'finding.resolved') {
          lines.push(`[slack ${printable(channel)}] RESOLVED ${describe(payload.finding)} (${resolution(payload.finding)})`);
        } else if (payload.kind === 'finding.realert') {
          lines.push(`[slack ${printable(channel)}] ALERT AGAIN (risk exception ended) ${describe(payload.finding)}`);
        } else {
          const what = payload.escalation.reminder ? `REMINDER ${payload.escalation.count}` : 'ESCALATED';
          lines.push(`[slack ${printable(channel)}] ${what} past deadline, owner ${printable(payload.finding.owner)}: ${describe(payload.finding)}`);
        }
      }
    }
    for (const group of groups.values()) {
      const shown = group.findings.length > this.#config.floodThreshold ? ShownPerGroup : group.findings.length;
      for (const finding of group.findings.slice(0, shown)) lines.push(`[slack ${printable(group.channel)}] OPEN ${describe(finding)}`);
      if (shown < group.findings.length) {
        lines.push(`[slack ${printable(group.channel)}] DIGEST ${group.findings.length - shown} more new findings of ${printable(group.rule)} (Slack would post one digest)`);
      }
    }
    if (lines.length > 0) this.#out.write(`${lines.join('\n')}\n`);
    const now = this.#clock.now();
    const nSent = await this.#outbox.complete(sent, 'sent', now);
    const nSuppressed = await this.#outbox.complete(suppressed, 'suppressed', now, 'risk exception');
    const nFailed = await this.#outbox.complete(failed, 'failed', now, 'invalid payload');
    return { claimed: claimed.length, sent: nSent, suppressed: nSuppressed, failed: nFailed, retried: 0, posted: lines.length, updated: 0, digested: 0, digestsPosted: 0, digestsUpdated: 0 };
  }

  async run(signal: AbortSignal): Promise<void> {
    await runDrainLoop((s) => this.drainOnce(s), signal, {
      logger: this.#logger,
      clock: this.#clock,
      sleep: systemSleep,
      pollIntervalMs: this.#config.pollIntervalMs,
      backoff: new Backoff({ baseMs: this.#config.backoffBaseMs, maxMs: this.#config.backoffMaxMs }),
      ...(this.#wakeup ? { wakeup: this.#wakeup } : {}),
    });
  }

  async close(): Promise<void> {}
}

function describe(f: FindingSnapshot): string {
  const deadline = f.deadline === null || f.status === 'resolved' ? '' : ` · due ${utcText(f.deadline)}`;
  return printable(
    `${f.severity} · ${f.ruleTitle} (${f.rule}) · ${f.accountName} (${f.accountId}, ${f.environment}) · ${f.region} · ${f.resourceType} ${f.resourceId}${deadline}`,
  );
}

function resolution(f: FindingSnapshot): string {
  const how = f.resolution === 'DELETED' ? 'resource deleted' : f.resolution === 'NOT_APPLICABLE' ? 'no longer applicable' : 'compliant again';
  return f.resolvedAt === null ? how : `${how} after ${formatDuration(f.resolvedAt - f.openedAt)}`;
}

