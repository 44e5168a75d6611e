import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { Finding } from './finding.ts';

/** The finding a NON_COMPLIANT event opens: the event's resource, rule and owner, open since the event's ordering time. */
export function openFinding(event: EnrichedEvent, findingId: string, deadline: number | null): Finding {
  return {
    findingId,
    evaluationKey: event.evaluationKey,
    accountId: event.accountId,
    accountName: event.accountName,
    region: event.region,
    rule: event.rule,
    configRuleName: event.configRuleName,
    ruleTitle: event.ruleTitle,
    resourceType: event.resourceType,
    resourceId: event.resourceId,
    severity: event.severity,
    environment: event.environment,
    owner: event.owner,
    slackChannel: event.slackChannel,
    annotation: event.annotation,
    status: 'open',
    openedAt: event.orderingTime,
    openedEventId: event.eventId,
    deadline,
    resolvedAt: null,
    resolution: null,
    resolvedEventId: null,
  };
}
