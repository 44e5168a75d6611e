import { createSyntheticOrg, generateTraffic } from '../../pipeline/demo/synthetic-org.ts';
import type { Delivery, SyntheticOrg } from '../../pipeline/demo/synthetic-org.ts';
import type { Check } from './drill-checks.ts';

/**
 * Consumer settings of every drill. Slack: no pacing, no flood digests, no debounce, so every opened finding gets
 * its own message and "once" can be checked per finding; short claim and shard leases, so a killed process's work
 * is taken over in seconds rather than minutes. The worker id is fixed: a restarted worker takes its own leases back.
 */
export const DrillConsumerSettings: Readonly<Record<string, string>> = {
  DRIFTWATCH_WORKER_ID: 'drill-worker',
  LOG_LEVEL: 'info',
  DRIFTWATCH_POLL_INTERVAL_MS: '200',
  DRIFTWATCH_LEASE_MS: '5000',
  SLACK_CHANNEL_INTERVAL_MS: '0',
  SLACK_FLOOD_THRESHOLD: '100000',
  SLACK_DEBOUNCE_MS: '0',
  SLACK_CLAIM_LEASE_MS: '3000',
  SLACK_POLL_INTERVAL_MS: '200',
  // The checks below expect security to get Critical alerts only (the product default is every severity).
  SLACK_SECURITY_SEVERITIES: 'Critical',
};

export const SlackExpectations = { securityChannel: '#security-compliance', securitySeverities: ['Critical'] } as const;

export interface DrillResult {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly figures: Readonly<Record<string, number | string>>;
  readonly checks: readonly Check[];
  /** Longer facts for the report (breakdowns), not verdicts. */
  readonly notes?: readonly string[];
}

export function drillResult(name: string, started: number, figures: Record<string, number | string>, checks: readonly Check[], notes: readonly string[] = []): DrillResult {
  return { name, ok: checks.length > 0 && checks.every((c) => c.ok), seconds: Math.round((Date.now() - started) / 100) / 10, figures, checks, notes };
}

/**
 * Realistic traffic (duplicates, out-of-order pairs, a few malformed records) whose event times start a minute ago,
 * so no finding is past its SLA deadline during the drill (escalations would add messages the checks do not expect).
 */
export function drillTraffic(events: number, seed: number, options: { malformedRate?: number } = {}): { org: SyntheticOrg; deliveries: Delivery[] } {
  const org = createSyntheticOrg({ accounts: 120, seed });
  const deliveries = [
    ...generateTraffic(org, { deliveries: events, seed, duplicateRate: 0.04, outOfOrderRate: 0.04, malformedRate: options.malformedRate ?? 0.002, startTime: Date.now() - 60_000 }),
  ];
  return { org, deliveries };
}

/** One line per drill for logs and reports. */
export function formatDrill(result: DrillResult): string {
  const lines = [`${result.ok ? 'PASS' : 'FAIL'} ${result.name} (${result.seconds} s) ${Object.entries(result.figures).map(([k, v]) => `${k}=${typeof v === 'number' ? v.toLocaleString('en-US') : v}`).join(', ')}`];
  for (const c of result.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  for (const note of result.notes ?? []) lines.push(`  note ${note}`);
  return lines.join('\n');
}
