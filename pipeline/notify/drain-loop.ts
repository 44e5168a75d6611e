import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.ts';
import type { Sleep } from '../clock/sleep.ts';
import type { Backoff } from '../runtime/backoff.ts';
import type { DrainSummary } from './notifier.ts';

/** Something that says "the outbox may have new intents": a drain loop waits for it or for its poll interval. */
export interface DrainWakeup {
  /** Resolves when woken (or at once if woken since the last `consume`); rejects when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void>;
  /** Forgets wake-ups so far: called right before a drain, which sees everything committed until then. */
  consume(): void;
}

export interface DrainLoopOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** Wait after an empty drain; with a wake-up, only the fallback for a missed one. */
  readonly pollIntervalMs: number;
  /** Waits after failed drains; reset by a drain that succeeds. */
  readonly backoff: Backoff;
  /** Until when drains are paused (on `clock`), e.g. after Slack refused the token. */
  readonly pausedUntil?: () => number;
  readonly wakeup?: DrainWakeup;
}

/**
 * A notifier's run loop: drains the outbox until `signal` aborts, at once again after a drain that claimed
 * something, else after the poll interval or a wake-up, whichever comes first. A failed drain is retried with
 * backoff: its claims expire and are claimed again.
 */
export async function runDrainLoop(drain: (signal: AbortSignal) => Promise<DrainSummary>, signal: AbortSignal, options: DrainLoopOptions): Promise<void> {
  const { logger, clock, pollIntervalMs, backoff } = options;
  while (!signal.aborted) {
    const paused = (options.pausedUntil?.() ?? 0) - clock.now();
    if (paused > 0) {
      await idle(options, Math.min(paused, Math.max(pollIntervalMs, 1_000)), signal, false);
      continue;
    }
    try {
      options.wakeup?.consume();
      const summary = await drain(signal);
      backoff.reset();
      if (summary.claimed > 0) logger.debug(summary, 'drained');
      else await idle(options, pollIntervalMs, signal, true);
    } catch (error) {
      if (signal.aborted) break;
      const delay = backoff.next();
      logger.error({ err: error, delayMs: delay }, 'notifier drain failed; claims expire and are retried');
      await idle(options, delay, signal, false);
    }
  }
}

/** Sleeps `ms`, or less when `wakeable` and the wake-up fires first; an abort just returns (the loop ends). */
async function idle(options: DrainLoopOptions, ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
  const wakeup = wakeable ? options.wakeup : undefined;
  if (!wakeup) {
    await options.sleep(ms, signal).catch(() => undefined);
    return;
  }
  const done = new AbortController();
  const both = AbortSignal.any([signal, done.signal]);
  try {
    await Promise.race([options.sleep(ms, both), wakeup.wait(both)]);
  } catch {
    // aborted: the loop condition ends the run
  } finally {
    done.abort();
  }
}
