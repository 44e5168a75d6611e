import pg from 'pg';
import type { Logger } from 'pino';
import { systemSleep } from '../clock/sleep.ts';
import type { Sleep } from '../clock/sleep.ts';
import { Backoff } from '../runtime/backoff.ts';
import type { BackoffPolicy } from '../runtime/backoff.ts';
import type { BackgroundService } from '../types/background-service.ts';
import type { DrainWakeup } from './drain-loop.ts';
import { OutboxWakeupChannel } from './outbox-wakeup.ts';

export interface OutboxListenerOptions {
  /** postgres:// URL of the state store (a connection of its own: LISTEN holds it). */
  readonly connectionString: string;
  readonly logger: Logger;
  /** Waits between reconnections; reset once listening again. */
  readonly reconnect?: BackoffPolicy;
  readonly sleep?: Sleep;
}

/** Shown in pg_stat_activity, so an operator (or a test) can tell this connection apart. */
export const OutboxListenerApplicationName = 'driftwatch-outbox-listener';

/**
 * LISTENs on a dedicated connection for the wake-ups the state commit sends (wakeOutbox), so a notifier posts as soon
 * as intents are committed instead of at its next poll. A dropped connection is opened again with backoff; once it
 * listens again it wakes the notifier, which drains whatever was committed meanwhile (the poll covers the gap too).
 */
export class OutboxListener implements BackgroundService, DrainWakeup {
  readonly name = 'outbox-listener';
  readonly #options: OutboxListenerOptions;
  readonly #logger: Logger;
  readonly #sleep: Sleep;
  readonly #waiters = new Set<() => void>();
  #woken = false;
  #listening = false;
  #connections = 0;

  constructor(options: OutboxListenerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ job: 'outbox-listener' });
    this.#sleep = options.sleep ?? systemSleep;
  }

  /** True while the LISTEN connection is up: a commit then wakes the notifier at once. */
  get listening(): boolean {
    return this.#listening;
  }

  /** LISTEN connections opened so far (a reconnection counts one more). */
  get connections(): number {
    return this.#connections;
  }

  async run(signal: AbortSignal): Promise<void> {
    const backoff = new Backoff(this.#options.reconnect ?? { baseMs: 250, maxMs: 10_000 });
    while (!signal.aborted) {
      const client = new pg.Client({
        connectionString: this.#options.connectionString,
        application_name: OutboxListenerApplicationName,
        connectionTimeoutMillis: 10_000,
        // A peer that vanished without a reset (network partition) is noticed, not waited on forever.
        keepAlive: true,
      });
      const closed = new Promise<unknown>((resolve) => {
        client.on('error', resolve);
        client.on('end', () => resolve(new Error('connection ended')));
      });
      let onAbort = () => {};
      const aborted = new Promise<void>((resolve) => {
        onAbort = resolve;
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await client.connect();
        client.on('notification', (message) => {
          if (message.channel === OutboxWakeupChannel) this.wake();
        });
        await client.query(`listen ${OutboxWakeupChannel}`);
        this.#listening = true;
        this.#connections++;
        backoff.reset();
        this.#logger.debug({ connections: this.#connections }, 'listening for outbox wake-ups');
        // Whatever was committed while nobody listened is drained now, not at the next poll.
        this.wake();
        const reason = await Promise.race([closed, aborted]);
        if (!signal.aborted) this.#logger.warn({ reason: reason instanceof Error ? reason.message : 'unknown' }, 'outbox listener connection lost; reconnecting');
      } catch (error) {
        if (!signal.aborted) this.#logger.warn({ reason: error instanceof Error ? error.message : 'unknown' }, 'outbox listener cannot connect; the notifier polls meanwhile');
      } finally {
        signal.removeEventListener('abort', onAbort);
        this.#listening = false;
        await client.end().catch(() => undefined);
      }
      if (signal.aborted) break;
      await this.#sleep(backoff.next(), signal).catch(() => undefined);
    }
  }

  /** Resolves when woken, at once if woken since the last `consume`. */
  wait(signal: AbortSignal): Promise<void> {
    if (this.#woken) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        signal.removeEventListener('abort', onAbort);
        this.#waiters.delete(done);
        resolve();
      };
      const onAbort = () => {
        this.#waiters.delete(done);
        reject(signal.reason);
      };
      this.#waiters.add(done);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  consume(): void {
    this.#woken = false;
  }

  wake(): void {
    this.#woken = true;
    for (const waiter of [...this.#waiters]) waiter();
  }
}
