/** What one drain did; counts are per intent except posts/updates (Slack calls that changed a message). */
export interface DrainSummary {
  /** Intents claimed from the outbox. */
  readonly claimed: number;
  readonly sent: number;
  readonly suppressed: number;
  readonly failed: number;
  /** Put back with a delay (rate limit, Slack down). */
  readonly retried: number;
  readonly posted: number;
  readonly updated: number;
  /** Deliveries folded into a digest instead of a message of their own. */
  readonly digested: number;
  readonly digestsPosted: number;
  readonly digestsUpdated: number;
}

/** A drain's counts while it runs. */
export type DrainCounts = { -readonly [K in keyof DrainSummary]: number };

export const EmptyDrainSummary: DrainSummary = {
  claimed: 0, sent: 0, suppressed: 0, failed: 0, retried: 0, posted: 0, updated: 0, digested: 0, digestsPosted: 0, digestsUpdated: 0,
};

/**
 * Drains notification_outbox into Slack (or the console). A separate loop from the Kinesis consumer, so a slow or
 * absent Slack never holds the stream back: intents simply wait in Postgres.
 */
export interface Notifier {
  readonly name: string;
  init(signal?: AbortSignal): Promise<void>;
  /** Claims one batch of due intents and settles each (sent, suppressed, failed, or put back with a delay). */
  drainOnce(signal: AbortSignal): Promise<DrainSummary>;
  /** drainOnce until `signal` aborts, sleeping between empty drains. */
  run(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
