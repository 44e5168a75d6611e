import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Batch, Item } from '../../stages/stage.ts';
import { Backoff } from '../runtime/backoff.ts';
import type { RejectedItem, Sink } from './sink.ts';
import { SinkError } from './sink.ts';

export interface DeliveryPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DefaultDeliveryPolicy: DeliveryPolicy = { initialBackoffMs: 200, maxBackoffMs: 30_000 };

/** Told as delivery goes, so a stall is visible while it lasts (metrics), not only once the batch settles. */
export interface DeliveryObserver {
  /** Before each wait for another attempt. */
  onRetry?(attempt: number, pending: number): void;
  /** Once, after at least one onRetry, when the batch is settled or the delivery ends (abort, non-retriable error). */
  onRecovered?(): void;
}

export interface DeliveryResult<T> {
  /** Items the sink refused for good: the caller dead-letters them. */
  readonly rejected: readonly { readonly item: Item<T>; readonly reason: string }[];
  readonly attempts: number;
}

/**
 * Writes until every item is delivered or rejected. Retriable failures back off with full jitter and are retried
 * for as long as it takes: the shard stalls (its checkpoint does not move) rather than losing anything.
 * Only `signal` ends the wait; a non-retriable whole-batch error is thrown so the shard restarts from its checkpoint.
 */
export async function deliver<T>(
  sink: Sink<T>,
  batch: Batch<T>,
  signal: AbortSignal,
  logger: Logger,
  policy: DeliveryPolicy = DefaultDeliveryPolicy,
  observer: DeliveryObserver = {},
): Promise<DeliveryResult<T>> {
  const rejected: { item: Item<T>; reason: string }[] = [];
  let pending: readonly Item<T>[] = batch.items;
  let attempts = 0;
  const backoff = new Backoff({ baseMs: policy.initialBackoffMs, maxMs: policy.maxBackoffMs });
  let retried = false;
  try {
    while (pending.length > 0) {
      signal.throwIfAborted();
      attempts++;
      const outcome = await sink.write({ shardId: batch.shardId, items: pending }, signal);
      if (outcome.status === 'delivered') break;
      if (outcome.status === 'errored' && !outcome.retriable) {
        throw new SinkError(sink.name, `write failed and is not retriable: ${outcome.error.message}`, { cause: outcome.error });
      }
      if (outcome.status === 'partial') {
        for (const { index, reason } of outcome.rejected as readonly RejectedItem[]) {
          const item = pending[index];
          if (item) rejected.push({ item, reason });
        }
        const next = outcome.retry.map((index) => pending[index]).filter((item): item is Item<T> => item !== undefined);
        if (next.length === 0) break;
        pending = next;
      }
      const delay = backoff.next();
      logger.warn(
        { attempt: attempts, retrying: pending.length, delayMs: delay, error: outcome.status === 'errored' ? outcome.error.message : undefined },
        'sink write incomplete, retrying',
      );
      retried = true;
      observer.onRetry?.(attempts, pending.length);
      await sleep(delay, undefined, { signal });
    }
  } finally {
    if (retried) observer.onRecovered?.();
  }
  return { rejected, attempts };
}
