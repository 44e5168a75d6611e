import { z } from 'zod';
import { Severity } from '../../../schemas/rule-catalog.ts';
import type { Settings } from '../../../schemas/settings.ts';
import { SlackToken } from './slack-token.ts';

const Ms = z.number().int().min(0);

/**
 * What the Slack notifier needs, derived from Settings (see `slackNotifierConfigFrom`). The token is wrapped so the
 * config object can be logged or printed without leaking it.
 *
 * @example
 * { token: 'xoxb-…', securityChannel: '#security-compliance', defaultChannel: '#compliance-triage',
 *   securitySeverities: ['Critical'], channelIntervalMs: 1000, floodThreshold: 20, floodWindowMs: 300000, debounceMs: 600000 }
 */
export const SlackNotifierConfig = z.object({
  token: z
    .string()
    .startsWith('xox', 'expected a Slack token (xoxb-...)')
    .transform((value) => new SlackToken(value))
    .optional(),
  apiUrl: z.url().optional(),
  securityChannel: z.string().min(1),
  defaultChannel: z.string().min(1),
  securitySeverities: z.array(Severity),
  /** Minimum gap between two calls for one channel. */
  channelIntervalMs: Ms.default(1_000),
  /** More than this many new findings for one channel and rule within floodWindowMs become one digest. */
  floodThreshold: z.number().int().min(1).default(20),
  floodWindowMs: Ms.default(300_000),
  /** Resolved then reopened within this time: edit the old message instead of posting a new one. */
  debounceMs: Ms.default(600_000),
  /** A digest is re-rendered at most this often (chat.update is limited to ~50/min per workspace). */
  digestUpdateMs: Ms.default(15_000),
  pollIntervalMs: Ms.default(1_000),
  requestTimeoutMs: Ms.default(15_000),
  runbookBaseUrl: z.url().optional(),
  /** Intents claimed per drain. */
  batchSize: z.number().int().min(1).max(5_000).default(200),
  /** How long a claim holds; renewed while the drain runs, so only a dead notifier's claims expire. */
  leaseMs: Ms.default(120_000),
  /** Attempts of one Slack call within a drain before the intent is put back with a delay. */
  inlineAttempts: z.number().int().min(1).default(4),
  /** A Retry-After longer than this puts the intent back instead of waiting in the drain. */
  maxInlineWaitMs: Ms.default(60_000),
  backoffBaseMs: Ms.default(1_000),
  backoffMaxMs: Ms.default(300_000),
  /** Pause after an authentication failure (revoked token): nothing is sent, nothing is dropped. */
  authPauseMs: Ms.default(60_000),
  /** Digest posts and updates per drain. */
  digestsPerDrain: z.number().int().min(1).default(20),
  /** How far back to search a channel for a message whose post was not recorded (covers clock skew). */
  reconcileLookbackMs: Ms.default(600_000),
});
export type SlackNotifierConfig = z.infer<typeof SlackNotifierConfig>;
export type SlackNotifierConfigInput = z.input<typeof SlackNotifierConfig>;

/** Reads the notifier's settings; `overrides` lets tests and the demo shorten intervals. */
export function slackNotifierConfigFrom(settings: Settings, overrides: Partial<SlackNotifierConfigInput> = {}): SlackNotifierConfig {
  const severities = settings.SLACK_SECURITY_SEVERITIES.split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return SlackNotifierConfig.parse({
    ...(settings.SLACK_TOKEN ? { token: settings.SLACK_TOKEN } : {}),
    ...(settings.SLACK_API_URL ? { apiUrl: settings.SLACK_API_URL } : {}),
    securityChannel: settings.SLACK_SECURITY_CHANNEL,
    defaultChannel: settings.SLACK_DEFAULT_CHANNEL,
    securitySeverities: severities,
    channelIntervalMs: settings.SLACK_CHANNEL_INTERVAL_MS,
    floodThreshold: settings.SLACK_FLOOD_THRESHOLD,
    floodWindowMs: settings.SLACK_FLOOD_WINDOW_MS,
    debounceMs: settings.SLACK_DEBOUNCE_MS,
    digestUpdateMs: settings.SLACK_DIGEST_UPDATE_MS,
    pollIntervalMs: settings.SLACK_POLL_INTERVAL_MS,
    requestTimeoutMs: settings.SLACK_REQUEST_TIMEOUT_MS,
    leaseMs: settings.SLACK_CLAIM_LEASE_MS,
    ...(settings.DRIFTWATCH_RUNBOOK_BASE_URL ? { runbookBaseUrl: settings.DRIFTWATCH_RUNBOOK_BASE_URL } : {}),
    ...overrides,
  });
}
