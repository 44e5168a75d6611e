import type { Logger } from 'pino';
import type { Clock } from '../clock/clock.ts';
import type { Sleep } from '../clock/sleep.ts';
import type { Backoff } from '../runtime/backoff.ts';
import type { DrainSummary } from './notifier.ts';

/** Something that says "the outbox may have new intents": a drain loop waits for it or for its poll interval. */
export interface DrainWakeup {
  /** True while wake-ups are delivered: the poll is then only a fallback, at ListeningPollMs or longer. */
  readonly listening: boolean;
  /** Resolves when woken (or at once if woken since the last `consume`); rejects when `signal` aborts. */
  wait(signal: AbortSignal): Promise<void>;
  /** Forgets wake-ups so far: called right before a drain, which sees everything committed until then. */
  consume(): void;
}

export interface DrainLoopOptions {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly sleep: Sleep;
  /** Wait after an empty drain while no wake-up is listening. */
  readonly pollIntervalMs: number;
  /** Waits after failed drains; reset by a drain that succeeds. */
  readonly backoff: Backoff;
  /** Until when drains are paused (on `clock`), e.g. after Slack refused the token. */
  readonly pausedUntil?: () => number;
  readonly wakeup?: DrainWakeup;
  /**
   * The earliest time (on `clock`) this notifier knows work becomes due without a wake-up: an intent or digest it put
   * back with a delay, a digest to re-render. The idle wait ends then at the latest.
   */
  readonly nextDueAt?: () => number | null;
}

/**
 * The fallback poll while wake-ups are delivered: it only catches what no wake-up announces (claims of a dead
 * notifier expiring, intents of another notifier's delay coming due).
 */
export const ListeningPollMs = 10_000;

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
      else await idle(options, idleMs(options), signal, true);
    } catch (error) {
      if (signal.aborted) break;
      const delay = backoff.next();
      logger.error({ err: error, delayMs: delay }, 'notifier drain failed; claims expire and are retried');
      await idle(options, delay, signal, false);
    }
  }
}

/** How long an empty drain waits: the poll (longer while listening), at most until known work is due. */
function idleMs(options: DrainLoopOptions): number {
  const poll = options.wakeup?.listening ? Math.max(options.pollIntervalMs, ListeningPollMs) : options.pollIntervalMs;
  const due = options.nextDueAt?.() ?? null;
  return due === null ? poll : Math.min(poll, Math.max(1, due - options.clock.now()));
}

/** Sleeps `ms`, or less when `wakeable` and the wake-up fires first; an abort just returns (the loop ends). */
async function idle(options: DrainLoopOptions, ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
  const wakeup = wakeable ? options.wakeup : undefined;
  if (signal.aborted) return;
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
