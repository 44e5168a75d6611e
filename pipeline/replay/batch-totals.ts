import type { BatchSummary } from '../processor/batch-processor.ts';

/** Running totals over batch summaries, for progress lines and final summaries. */
export class BatchTotals {
  records = 0;
  accepted = 0;
  duplicates = 0;
  stale = 0;
  opened = 0;
  resolved = 0;
  deadLetters = 0;
  notifications = 0;
  readonly startedAt = Date.now();

  add(summary: BatchSummary): void {
    this.records += summary.records;
    this.accepted += summary.accepted;
    this.duplicates += summary.duplicates;
    this.stale += summary.transitions.stale;
    this.opened += summary.opened;
    this.resolved += summary.resolved;
    this.deadLetters += summary.deadLetters;
    this.notifications += summary.notifications;
  }

  get elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  get ratePerSecond(): number {
    return this.records / Math.max(this.elapsedMs / 1_000, 0.001);
  }

  toJSON(): Record<string, number> {
    return {
      records: this.records,
      accepted: this.accepted,
      duplicates: this.duplicates,
      stale: this.stale,
      opened: this.opened,
      resolved: this.resolved,
      deadLetters: this.deadLetters,
      elapsedMs: this.elapsedMs,
      eventsPerSecond: Math.round(this.ratePerSecond),
    };
  }
}
