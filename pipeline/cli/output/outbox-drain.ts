import { setTimeout as sleep } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/database-schema.ts';
import { sql } from 'kysely';

export interface OutboxDrainResult {
  /** Notifications not yet delivered when the wait ended. */
  readonly waiting: number;
  /** When the earliest of them is due (epoch ms), or null. */
  readonly nextDueAt: number | null;
  /** Why the wait ended. */
  readonly ended: 'empty' | 'deferred' | 'timeout' | 'stopped';
}

/**
 * Waits (while the notifier keeps running) until the outbox is empty, or everything left is due only after `timeoutMs`
 * (rate limits, debounce and flood windows, a Slack outage's back-off), or `timeoutMs` passes.
 */
export async function waitForOutbox(
  db: Kysely<Database>,
  options: { readonly timeoutMs: number; readonly signal: AbortSignal; readonly pollMs?: number; readonly owner: string },
): Promise<OutboxDrainResult> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    // In flight: due now, or claimed by our own notifier. A claim of a notifier that died (a killed worker) holds until
    // it expires: those are due at claimed_until, like deferred ones.
    const row = (
      await sql<{ in_flight: number; later: number; next: Date | string | null }>`
        select count(*) filter (where (status = 'pending' and available_at <= now()) or (status = 'claimed' and claimed_by = ${options.owner}))::int as in_flight,
               count(*) filter (where (status = 'pending' and available_at > now()) or (status = 'claimed' and claimed_by is distinct from ${options.owner}))::int as later,
               min(case when status = 'pending' then available_at when claimed_by is distinct from ${options.owner} then claimed_until end) as next
        from notification_outbox where status in ('pending', 'claimed')`.execute(db)
    ).rows[0];
    const waiting = (row?.in_flight ?? 0) + (row?.later ?? 0);
    const nextDueAt = row?.next ? new Date(row.next).getTime() : null;
    if (waiting === 0) return { waiting: 0, nextDueAt: null, ended: 'empty' };
    if (options.signal.aborted) return { waiting, nextDueAt, ended: 'stopped' };
    // Nothing being delivered or due now, and the rest is due only after the bound: waiting longer achieves nothing.
    if (row?.in_flight === 0 && nextDueAt !== null && nextDueAt > deadline) return { waiting, nextDueAt, ended: 'deferred' };
    if (Date.now() >= deadline) return { waiting, nextDueAt, ended: 'timeout' };
    await sleep(options.pollMs ?? 250, undefined, { signal: options.signal }).catch(() => undefined);
  }
}

/** One line on what became of the notifications, saying plainly how many are left and why. */
export function describeOutboxDrain(result: OutboxDrainResult, timeoutMs: number): string {
  if (result.waiting === 0) return 'Notifications: all delivered.';
  const due = result.nextDueAt === null ? '' : `, next due ${new Date(result.nextDueAt).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
  const why =
    result.ended === 'deferred'
      ? 'they are held back (Slack rate limits, debounce and flood windows, back-off after Slack errors, or claimed by a notifier that stopped until its claim expires)'
      : result.ended === 'stopped'
        ? 'stopped before they went out'
        : `not all delivered within ${Math.round(timeoutMs / 1_000)} s (--drain-timeout)`;
  return `Notifications: ${result.waiting.toLocaleString('en-US')} still waiting${due}: ${why}; \`driftwatch notify\` or the next \`driftwatch run\` delivers them.`;
}
