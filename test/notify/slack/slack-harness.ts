import { Writable } from 'node:stream';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { sql } from 'kysely';
import type { Logger } from 'pino';
import type { Account } from '../../../schemas/account-registry.ts';
import type { ComplianceChangeEvent } from '../../../schemas/compliance-change-event.ts';
import { loadSettings } from '../../../pipeline/config/load-settings.ts';
import type { Clock } from '../../../pipeline/clock/clock.ts';
import { createRuntime } from '../../../pipeline/runtime/create-runtime.ts';
import type { Runtime } from '../../../pipeline/runtime/create-runtime.ts';
import type { BatchProcessor, BatchSummary } from '../../../pipeline/processor/batch-processor.ts';
import { createNotifier } from '../../../pipeline/notify/create-notifier.ts';
import type { DrainWakeup } from '../../../pipeline/notify/drain-loop.ts';
import type { SlackNotifierConfigInput } from '../../../pipeline/notify/slack/config.ts';
import type { DrainSummary, Notifier } from '../../../pipeline/notify/notifier.ts';
import { EmptyDrainSummary } from '../../../pipeline/notify/notifier.ts';
import { OutboxStore } from '../../../pipeline/notify/outbox-store.ts';
import type { SlackNotifierHooks } from '../../../pipeline/notify/slack/slack-notifier-hooks.ts';
import { SlackServer } from '../../slack-server/slack-server.ts';
import type { SlackServerOptions } from '../../slack-server/slack-server-types.ts';
import { createTestDatabase } from '../../support/postgres.ts';
import type { TestDatabase } from '../../support/postgres.ts';

/** A distinctive token, so a test can prove it never reaches a log line or an error. */
export const SlackTestToken = 'xoxb-driftwatch-test-7f3a9c-SECRET';

/**
 * Real time plus whatever the notifier "slept": never behind the database's now() (outbox rows are due at once) and
 * never waiting for real. Shared with the Slack server so its rate limits and storms run on the same time.
 */
export class VirtualClock implements Clock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  advance(ms: number): void {
    this.#offset += Math.max(0, ms);
  }
}

export const Accounts: readonly Account[] = [
  { id: '111111111111', name: 'payments-prod', environment: 'production', owner: 'payments', slackChannel: '#payments-alerts' },
  { id: '222222222222', name: 'identity-prod', environment: 'production', owner: 'identity', slackChannel: '#identity-alerts' },
  { id: '333333333333', name: 'search-dev', environment: 'development', owner: 'search', slackChannel: '#search-alerts' },
  { id: '444444444444', name: 'ads-prod', environment: 'production', owner: 'ads', slackChannel: '#ads-alerts' },
  { id: '555555555555', name: 'ops <!channel> & <@U0BADBAD>', environment: 'production', owner: 'ops <!here>', slackChannel: '#ops-alerts' },
];

export const Rules = {
  critical: 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2',
  high: 'OrgConfigRule-s3-bucket-public-read-prohibited-a1b2',
  medium: 'OrgConfigRule-elb-logging-enabled-a1b2',
} as const;

export interface HarnessOptions {
  readonly slack?: SlackServerOptions;
  readonly env?: Readonly<Record<string, string>>;
}

export interface NotifierOptions {
  readonly hooks?: SlackNotifierHooks;
  readonly owner?: string;
  readonly config?: Partial<SlackNotifierConfigInput>;
  readonly token?: boolean;
  readonly out?: NodeJS.WritableStream;
  /** Real clock and real sleeps (end-to-end runs of the notifier loop). */
  readonly realTime?: boolean;
  /** This notifier's clock runs this far ahead of the harness clock (negative: behind). */
  readonly clockSkewMs?: number;
  /** Called after each of this notifier's sleeps moved the clock: a seam to run something while it waits. */
  readonly onSleep?: (ms: number) => Promise<void>;
  /** Wakes the notifier's idle loop (an OutboxListener), as `driftwatch run` does with Postgres. */
  readonly wakeup?: DrainWakeup;
}

/** Real Postgres, the real pipeline (processor + state sink writing the outbox), the local Slack server, one clock. */
export class SlackHarness {
  readonly database: TestDatabase;
  readonly runtime: Runtime;
  readonly slack: SlackServer;
  readonly clock: VirtualClock;
  readonly logger: Logger;
  /** Every log line any notifier of this harness wrote, as JSON text. */
  readonly logLines: string[];
  readonly #env: Readonly<Record<string, string>>;
  readonly #processor: BatchProcessor;
  #sequence = 0;

  private constructor(database: TestDatabase, runtime: Runtime, slack: SlackServer, clock: VirtualClock, logger: Logger, logLines: string[], env: Readonly<Record<string, string>>) {
    this.database = database;
    this.runtime = runtime;
    this.slack = slack;
    this.clock = clock;
    this.logger = logger;
    this.logLines = logLines;
    this.#env = env;
    this.#processor = runtime.createProcessor('shardId-000000000000');
  }

  static async start(options: HarnessOptions = {}): Promise<SlackHarness> {
    const clock = new VirtualClock();
    const slack = await SlackServer.start({ token: SlackTestToken, retryAfterSeconds: 1, now: () => clock.now(), ...options.slack });
    const database = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'dw-slack-'));
    const accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify({ defaults: { slackChannel: '#compliance-triage' }, accounts: Accounts }));
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    });
    const logger = pino({ level: 'trace' }, sink);
    const env = {
      DATABASE_URL: database.url,
      DRIFTWATCH_ACCOUNTS: accountsFile,
      SLACK_API_URL: slack.url,
      SLACK_SECURITY_CHANNEL: '#security',
      // These tests count messages per channel with security seeing Critical only (the default is every severity).
      SLACK_SECURITY_SEVERITIES: 'Critical',
      SLACK_DEFAULT_CHANNEL: '#compliance-triage',
      DRIFTWATCH_RUNBOOK_BASE_URL: 'https://wiki.example.com/runbooks',
      ...options.env,
    };
    const runtime = await createRuntime(loadSettings(env), pino({ level: 'silent' }));
    return new SlackHarness(database, runtime, slack, clock, logger, logLines, env);
  }

  /** A notifier as `driftwatch run` builds it (createNotifier), on the harness clock; sleeping moves the clock. */
  notifier(options: NotifierOptions = {}): Notifier {
    const settings = loadSettings({ ...this.#env, ...(options.token === false ? {} : { SLACK_TOKEN: this.slack.token }) });
    const skew = options.clockSkewMs ?? 0;
    const virtualTime = {
      clock: skew === 0 ? this.clock : { now: () => this.clock.now() + skew },
      sleep: async (ms: number, signal: AbortSignal) => {
        signal.throwIfAborted();
        this.clock.advance(ms);
        await options.onSleep?.(ms);
      },
    };
    return createNotifier(settings, this.database.db, this.logger, this.runtime.catalog, {
      ...(options.realTime ? {} : virtualTime),
      config: { backoffBaseMs: 200, backoffMaxMs: 5_000, leaseMs: 60_000, ...options.config },
      ...(options.owner ? { owner: options.owner } : {}),
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...(options.out ? { out: options.out } : {}),
      ...(options.wakeup ? { wakeup: options.wakeup } : {}),
    });
  }

  /** Events through the real processor: decode → … → track, then the state sink's transaction (findings + outbox). */
  async process(events: readonly ComplianceChangeEvent[]): Promise<BatchSummary> {
    const records = events.map((event) => ({
      origin: { shardId: 'shardId-000000000000', sequenceNumber: String(++this.#sequence).padStart(20, '0') },
      value: { data: Buffer.from(JSON.stringify(event)) },
    }));
    return this.#processor.process('shardId-000000000000', records, null, 'test', new AbortController().signal);
  }

  /** Drains until every intent is settled, moving the clock to the next due intent when only deferred ones remain. */
  async drainUntilSettled(notifier: Notifier, maxRounds = 500): Promise<DrainSummary> {
    const totals: Record<keyof DrainSummary, number> = { ...EmptyDrainSummary };
    const outbox = new OutboxStore(this.database.db, 'harness');
    const signal = new AbortController().signal;
    for (let round = 0; round < maxRounds; round++) {
      const summary = await notifier.drainOnce(signal);
      for (const key of Object.keys(totals) as (keyof DrainSummary)[]) totals[key] += summary[key];
      if (summary.claimed > 0) continue;
      const backlog = await outbox.backlog(this.clock.now());
      if (backlog.unsettled === 0) return totals;
      this.clock.advance(Math.max(1, (backlog.nextDueAt ?? this.clock.now()) - this.clock.now() + 1));
    }
    throw new Error(`outbox did not drain within ${maxRounds} rounds`);
  }

  /**
   * Time passes for the database: every claim (intents and digests) lapses, as it does when its notifier died a
   * lease ago. Claims run on the database's clock, so moving the harness clock does not expire them.
   */
  async expireClaims(): Promise<void> {
    await sql`update notification_outbox set claimed_until = now() - interval '1 millisecond' where status = 'claimed'`.execute(this.database.db);
    await sql`update slack_digests set claimed_until = now() - interval '1 millisecond' where claimed_until is not null`.execute(this.database.db);
  }

  async outboxStatuses(): Promise<Record<string, number>> {
    const rows = await this.database.db
      .selectFrom('notification_outbox')
      .select(['status', (eb) => eb.fn.countAll<string>().as('n')])
      .groupBy('status')
      .execute();
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
  }

  async close(): Promise<void> {
    await this.runtime.close();
    await this.database.drop();
    await this.slack.close();
  }
}

export const T0 = Date.parse('2026-03-02T09:00:00Z');
const Minute = 60_000;
export const minutes = (n: number): number => n * Minute;

let eventCounter = 0;
/** A unique event id per call, so each event is new to the dedupe stage. */
export function nextEventId(): string {
  eventCounter++;
  return `00000000-0000-4000-8000-${eventCounter.toString(16).padStart(12, '0')}`;
}
