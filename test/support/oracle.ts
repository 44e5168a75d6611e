import type { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';
import { evaluationKeyOf } from '../../stages/enrich/enriched-event.ts';

export interface OracleFinding {
  readonly key: string;
  readonly openedEventId: string;
  readonly status: 'open' | 'resolved';
}

const Prefixes = [/^OrgConfigRule-(.+)-[a-z0-9]{4,}$/i, /^(.+)-conformance-pack-[a-z0-9]{4,}$/i, /^securityhub-(.+)-[a-z0-9]{4,}$/i];

/**
 * The expected findings, computed without the pipeline's code: events applied per key in delivery order, the first
 * delivery of an id only, and an event not newer than the key's last applied one ignored.
 * `inScope` decides whether a NON_COMPLIANT event may open a finding.
 */
export function expectedFindings(
  deliveredInOrder: readonly ComplianceChangeEvent[],
  inScope: (event: ComplianceChangeEvent, rule: string) => boolean,
): OracleFinding[] {
  const seen = new Set<string>();
  const last = new Map<string, number>();
  const open = new Map<string, string>();
  const findings = new Map<string, { key: string; openedEventId: string; status: 'open' | 'resolved' }>();
  for (const event of deliveredInOrder) {
    if (seen.has(event.id)) continue;
    seen.add(event.id);
    const result = event.detail.newEvaluationResult!;
    const q = result.evaluationResultIdentifier.evaluationResultQualifier;
    let rule = q.configRuleName;
    for (const p of Prefixes) {
      const m = p.exec(rule);
      if (m) { rule = m[1]!; break; }
    }
    const key = evaluationKeyOf(event.detail.awsAccountId, event.detail.awsRegion, rule, q.resourceType, q.resourceId);
    const t = Date.parse(result.evaluationResultIdentifier.orderingTimestamp);
    if ((last.get(key) ?? -Infinity) >= t) continue;
    last.set(key, t);
    const current = open.get(key);
    if (result.complianceType === 'NON_COMPLIANT') {
      if (!current && inScope(event, rule)) {
        open.set(key, event.id);
        findings.set(`${key}#${event.id}`, { key, openedEventId: event.id, status: 'open' });
      }
    } else if (result.complianceType !== 'INSUFFICIENT_DATA' && current) {
      findings.get(`${key}#${current}`)!.status = 'resolved';
      open.delete(key);
    }
  }
  return [...findings.values()];
}

/** Oracle rows as `key#openedEventId#status`, for deliveries of a synthetic organisation in put order. */
export function expectedFindingRows(
  deliveries: readonly { readonly event?: ComplianceChangeEvent }[],
  accounts: readonly { readonly id: string; readonly environment: string }[],
  scopeOf: (rule: string) => 'ProductionOnly' | 'All',
): string[] {
  const environments = new Map(accounts.map((a) => [a.id, a.environment]));
  const events = deliveries.flatMap((d) => (d.event ? [d.event] : []));
  return expectedFindings(events, (event, rule) => {
    const environment = environments.get(event.detail.awsAccountId) ?? 'unknown';
    return scopeOf(rule) === 'All' || environment === 'production' || environment === 'unknown';
  })
    .map((f) => `${f.key}#${f.openedEventId}#${f.status}`)
    .sort();
}
