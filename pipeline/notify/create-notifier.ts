import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Settings } from '../../schemas/settings.ts';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import type { Clock } from '../clock/clock.ts';
import type { Sleep } from '../clock/sleep.ts';
import type { Database } from '../store/database-schema.ts';
import { ConsoleNotifier } from './console-notifier.ts';
import type { DrainWakeup } from './drain-loop.ts';
import type { Notifier } from './notifier.ts';
import { slackNotifierConfigFrom } from './slack/config.ts';
import type { SlackNotifierConfigInput } from './slack/config.ts';
import { SlackNotifier } from './slack/slack-notifier.ts';
import type { SlackNotifierHooks } from './slack/slack-notifier-hooks.ts';

export interface CreateNotifierOptions {
  /** Config overrides (tests, demo). */
  readonly config?: Partial<SlackNotifierConfigInput>;
  readonly clock?: Clock;
  readonly sleep?: Sleep;
  readonly owner?: string;
  readonly hooks?: SlackNotifierHooks;
  /** Wakes the notifier when intents are committed (see OutboxWakeup); without it, it polls. */
  readonly wakeup?: DrainWakeup;
  /** Console notifier output (default stdout). */
  readonly out?: NodeJS.WritableStream;
}

/** SlackNotifier when SLACK_TOKEN is set, else ConsoleNotifier: same interface, same outbox. */
export function createNotifier(settings: Settings, db: Kysely<Database>, logger: Logger, catalog: RuleCatalog, options: CreateNotifierOptions = {}): Notifier {
  const config = slackNotifierConfigFrom(settings, options.config);
  const common = {
    config,
    db,
    logger,
    catalog,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.owner ? { owner: options.owner } : {}),
    ...(options.wakeup ? { wakeup: options.wakeup } : {}),
  };
  if (!config.token) return new ConsoleNotifier({ ...common, ...(options.out ? { out: options.out } : {}) });
  return new SlackNotifier({ ...common, ...(options.sleep ? { sleep: options.sleep } : {}), ...(options.hooks ? { hooks: options.hooks } : {}) });
}
