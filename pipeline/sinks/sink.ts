import type { Batch } from '../../stages/stage.ts';

export interface RejectedItem {
  /** Index into the written batch's items. */
  readonly index: number;
  readonly reason: string;
}

/**
 * delivered: every item is stored. partial: retry these items, reject those (to dead letters), the rest is stored.
 * errored: nothing is known to be stored; retriable errors are retried with backoff, others stall the shard.
 */
export type WriteOutcome =
  | { readonly status: 'delivered' }
  | { readonly status: 'partial'; readonly retry: readonly number[]; readonly rejected: readonly RejectedItem[] }
  | { readonly status: 'errored'; readonly retriable: boolean; readonly error: Error };

/** A destination that acknowledges a batch only after delivery (Vector's sink contract). Writes must be idempotent. */
export interface Sink<T> {
  readonly name: string;
  healthcheck(signal: AbortSignal): Promise<void>;
  write(batch: Batch<T>, signal: AbortSignal): Promise<WriteOutcome>;
  close(): Promise<void>;
}

export class SinkError extends Error {
  override readonly name = 'SinkError';
  readonly sink: string;

  constructor(sink: string, message: string, options?: ErrorOptions) {
    super(`${sink}: ${message}`, options);
    this.sink = sink;
  }
}
