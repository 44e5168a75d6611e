import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ReconcileReport } from './reconciler.ts';

/** How much the stream missed, on /metrics beside the pipeline's own metrics. */
export class ReconcileMetrics {
  readonly driftRatio: Gauge;
  readonly evaluations: Counter;
  readonly differences: Counter<'outcome'>;
  readonly throttled: Counter;
  readonly lastRun: Gauge;

  constructor(registry: Registry) {
    this.driftRatio = new Gauge({ name: 'driftwatch_reconcile_drift_ratio', help: 'last reconcile run: differences between the Config aggregator and the store, divided by evaluations compared (what the stream missed)', registers: [registry] });
    this.evaluations = new Counter({ name: 'driftwatch_reconcile_evaluations_total', help: 'aggregator results compared by reconcile runs', registers: [registry] });
    this.differences = new Counter({ name: 'driftwatch_reconcile_differences_total', help: 'differences fed through the stages by reconcile runs, by what they did (opened, resolved, recorded, gone)', labelNames: ['outcome'] as const, registers: [registry] });
    this.throttled = new Counter({ name: 'driftwatch_reconcile_throttled_calls_total', help: 'Config calls throttled and retried by reconcile runs', registers: [registry] });
    this.lastRun = new Gauge({ name: 'driftwatch_reconcile_last_run_timestamp_seconds', help: 'when the last reconcile run finished', registers: [registry] });
  }

  record(report: ReconcileReport): void {
    const t = report.totals;
    this.driftRatio.set(report.driftRate);
    this.evaluations.inc(t.evaluations);
    this.differences.inc({ outcome: 'opened' }, t.opened);
    this.differences.inc({ outcome: 'resolved' }, t.resolved);
    this.differences.inc({ outcome: 'gone' }, t.gone);
    this.differences.inc({ outcome: 'recorded' }, Math.max(0, t.differences - t.opened - t.resolved - t.gone));
    this.throttled.inc(report.throttled);
    this.lastRun.set(Date.parse(report.finishedAt) / 1_000);
  }
}
