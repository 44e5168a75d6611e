import type { RateLimitSettings, TierLimit } from './slack-server-types.ts';
import { TokenBucket } from './token-bucket.ts';

/**
 * Slack-like rate limits: a workspace-wide bucket per method ("tiers") and, for chat.postMessage,
 * a bucket per channel (about one message per second with some burst).
 */
export class RateLimiter {
  /** Roughly Slack's documented tiers for the methods the server implements. */
  static readonly defaultTierLimits: Readonly<Record<string, TierLimit>> = {
    'auth.test': { perMinute: 100 },
    'chat.postMessage': { perMinute: 300 },
    'chat.update': { perMinute: 50 },
    'chat.getPermalink': { perMinute: 100 },
    'conversations.history': { perMinute: 50 },
    'conversations.replies': { perMinute: 50 },
  };

  #enabled = true;
  #perChannelPerSecond = 1;
  #perChannelBurst = 3;
  #tiers: Map<string, TierLimit> = new Map();
  readonly #methodBuckets = new Map<string, TokenBucket>();
  readonly #channelBuckets = new Map<string, TokenBucket>();

  constructor(settings: RateLimitSettings = {}) {
    this.configure(settings);
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  /** Applies the given settings over the current ones and empties every bucket's history. */
  configure(settings: RateLimitSettings): void {
    if (settings.rateLimiting !== undefined) this.#enabled = settings.rateLimiting;
    if (settings.perChannelPerSecond !== undefined) this.#perChannelPerSecond = settings.perChannelPerSecond;
    if (settings.perChannelBurst !== undefined) this.#perChannelBurst = settings.perChannelBurst;
    if (!(this.#perChannelPerSecond > 0)) throw new RangeError('perChannelPerSecond must be > 0');
    if (!(this.#perChannelBurst >= 1)) throw new RangeError('perChannelBurst must be >= 1');
    if (settings.tierLimits !== undefined || this.#tiers.size === 0) {
      const tiers = new Map<string, TierLimit>(Object.entries(RateLimiter.defaultTierLimits));
      for (const [method, limit] of Object.entries(settings.tierLimits ?? {})) {
        if (limit === null) tiers.delete(method);
        else {
          if (!(limit.perMinute > 0)) throw new RangeError(`tier limit for ${method} must be > 0 per minute`);
          tiers.set(method, limit);
        }
      }
      this.#tiers = tiers;
    }
    this.reset();
  }

  /** Consumes one call of `method`. Returns 0 when allowed, else milliseconds until it would be. */
  checkMethod(method: string, now: number): number {
    if (!this.#enabled) return 0;
    const tier = this.#tiers.get(method);
    if (tier === undefined) return 0;
    let bucket = this.#methodBuckets.get(method);
    if (bucket === undefined) {
      bucket = new TokenBucket(Math.max(1, tier.burst ?? tier.perMinute), tier.perMinute / 60, now);
      this.#methodBuckets.set(method, bucket);
    }
    return bucket.tryTake(now);
  }

  /** Consumes one chat.postMessage to `channelId`. Returns 0 when allowed, else milliseconds until it would be. */
  checkChannel(channelId: string, now: number): number {
    if (!this.#enabled) return 0;
    let bucket = this.#channelBuckets.get(channelId);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.#perChannelBurst, this.#perChannelPerSecond, now);
      this.#channelBuckets.set(channelId, bucket);
    }
    return bucket.tryTake(now);
  }

  /** Forgets all consumed calls (settings are kept). */
  reset(): void {
    this.#methodBuckets.clear();
    this.#channelBuckets.clear();
  }
}
