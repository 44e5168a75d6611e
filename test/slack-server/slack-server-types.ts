/**
 * Public types of the local Slack Web API server used by tests, benchmarks and drills.
 */

/** Millisecond clock; defaults to `Date.now`. Inject a manual clock to make rate limits deterministic. */
export type Clock = () => number;

/** A workspace-wide limit for one Web API method (Slack "tiers": 1 ≈ 1/min, 2 ≈ 20/min, 3 ≈ 50/min, 4 ≈ 100/min). */
export interface TierLimit {
  readonly perMinute: number;
  /** Bucket size, i.e. how many calls may be made back to back. Defaults to `perMinute`. */
  readonly burst?: number;
}

export interface KnownChannel {
  readonly id: string;
  readonly name: string;
}

/** What `auth.test` reports and what posted messages are attributed to. */
export interface SlackIdentity {
  readonly url: string;
  readonly team: string;
  readonly teamId: string;
  readonly user: string;
  readonly userId: string;
  readonly botId: string;
  readonly appId: string;
}

export interface RateLimitSettings {
  /** Turn every rate limit (per channel and per method) on or off. Default true. */
  readonly rateLimiting?: boolean;
  /** Sustained chat.postMessage rate per channel. Default 1. */
  readonly perChannelPerSecond?: number;
  /** Back-to-back chat.postMessage calls allowed per channel before 429s start. Default 3. */
  readonly perChannelBurst?: number;
  /** Per-method limits merged over `RateLimiter.defaultTierLimits`; `null` removes a method's limit. */
  readonly tierLimits?: Readonly<Record<string, TierLimit | null>>;
}

export interface SlackServerOptions extends RateLimitSettings {
  /** Default '127.0.0.1'. */
  readonly host?: string;
  /** Default 0 (an ephemeral port). */
  readonly port?: number;
  /** Valid bot token(s). Default 'xoxb-test'. */
  readonly token?: string | readonly string[];
  readonly identity?: Partial<SlackIdentity>;
  /** Channels that exist up front: a name ('alerts' / '#alerts'), an id ('C0123ABCD') or `{ id, name }`. */
  readonly channels?: readonly (string | KnownChannel)[];
  /** When true, any channel not in `channels` answers `channel_not_found`. Default false (every channel exists). */
  readonly restrictChannels?: boolean;
  /**
   * Retry-After (seconds) for every 429 that does not carry its own value. When unset the server computes it like
   * Slack: whole seconds until a call would succeed, at least 1. Tests use 0 to keep retries instant.
   */
  readonly retryAfterSeconds?: number;
  /** Clock for rate limits, outages, storms, message timestamps and the call log. Default `Date.now`. */
  readonly now?: Clock;
  /** Delay (real milliseconds) before every API response. Default 0. */
  readonly latencyMs?: number;
  /** Serve the `/_admin/*` HTTP control routes (for drills against a standalone server). Default true. */
  readonly adminRoutes?: boolean;
  /** Reported in the `x-oauth-scopes` response header. */
  readonly scopes?: readonly string[];
}

export interface MessageContent {
  readonly text?: string;
  readonly blocks?: readonly unknown[];
  readonly attachments?: readonly unknown[];
}

export interface MessageEdit extends MessageContent {
  /** Clock time of the chat.update call. */
  readonly editedAt: number;
  /** Slack-style ts of the edit (what `message.edited.ts` reports). */
  readonly editTs: string;
}

export interface RecordedMessage extends MessageContent {
  /** Channel id (always an id, even if the message was posted by name). */
  readonly channel: string;
  readonly channelName: string;
  readonly ts: string;
  /** Set on replies (and on a thread's root once it has a reply, as in Slack). */
  readonly thread_ts?: string;
  readonly user: string;
  /** Absent on messages seeded as a human (those answer `cant_update_message`). */
  readonly bot_id?: string;
  readonly reply_broadcast: boolean;
  /** Clock time the message was posted. */
  readonly postedAt: number;
  /** Content as first posted. */
  readonly original: MessageContent;
  /** One entry per successful chat.update, oldest first, holding the content after that update. */
  readonly edits: readonly MessageEdit[];
  /** Every argument of the chat.postMessage call (token removed), normalised (JSON strings parsed). */
  readonly params: Readonly<Record<string, unknown>>;
}

/** One API request as the server saw it. */
export interface CallRecord {
  readonly method: string;
  /** HTTP status served (0 when the connection was reset, -1 while a hung request is pending). */
  readonly status: number;
  /** The `ok` field of the JSON body (undefined for fault responses without a Slack body). */
  readonly ok?: boolean;
  readonly error?: string;
  /** Clock time the request arrived. */
  readonly time: number;
  /** The raw `channel` argument, if any. */
  readonly channel?: string;
  readonly retryAfter?: number;
  /** Which fault injection produced the response, if any. */
  readonly fault?: 'failNext' | 'outage' | 'storm';
}

export interface ServerStats {
  readonly requests: number;
  /** Number of HTTP 429 responses served (rate limits, storms, injected 429s). */
  readonly rateLimited: number;
  readonly faultsInjected: number;
  readonly byStatus: Readonly<Record<string, number>>;
  readonly byMethod: Readonly<Record<string, number>>;
}

/**
 * An HTTP status to answer with, or drop the connection ('reset'), or never answer ('hang'), or carry the call out
 * and never answer ('lose-reply': the message is posted, the client never learns its ts).
 */
export type FaultStatus = number | 'reset' | 'hang' | 'lose-reply';

export interface FailNextOptions {
  /** Only requests to these methods consume the failure. Default: any method. */
  readonly methods?: readonly string[];
  /** Retry-After when status is 429. */
  readonly retryAfterSeconds?: number;
}

export interface OutageOptions {
  /** Default 503. 429 responses carry Retry-After. */
  readonly status?: number;
  /** Outage length from now (clock ms). */
  readonly durationMs?: number;
  /** Absolute clock time the outage ends. Without durationMs/untilMs it lasts until `clearOutage()`. */
  readonly untilMs?: number;
  /** Only these methods are affected. Default: all. */
  readonly methods?: readonly string[];
  readonly retryAfterSeconds?: number;
}

export interface StormOptions {
  /** Default: seconds left in the storm (at least 1), or the server's `retryAfterSeconds`. */
  readonly retryAfterSeconds?: number;
  /** Default ['chat.postMessage', 'chat.update']. */
  readonly methods?: readonly string[];
}

export interface SeedMessageOptions {
  readonly channel: string;
  readonly text?: string;
  readonly blocks?: readonly unknown[];
  readonly thread_ts?: string;
  /** Default 'U0HUMAN001'. Seeded messages have no bot_id, so chat.update answers `cant_update_message`. */
  readonly user?: string;
}

export interface WaitForMessagesOptions {
  readonly channel?: string;
  /** Real milliseconds. Default 2000. */
  readonly timeoutMs?: number;
}
