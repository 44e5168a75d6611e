import { evaluationKeyOf } from '../../../stages/enrich/enriched-event.ts';
import type { EnrichedEvent } from '../../../stages/enrich/enriched-event.ts';
import type { Item } from '../../../stages/stage.ts';
import type { Finding } from '../../../stages/track/finding.ts';
import { openFinding } from '../../../stages/track/open-finding.ts';
import type { TrackedEvent, Transition } from '../../../stages/track/tracked-event.ts';

let counter = 0;

/** A hand-made enriched event; every field explicit so tests can state exact expectations. */
export function enrichedEvent(overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  counter++;
  const base: EnrichedEvent = {
    eventId: `evt-${counter}`,
    evaluationKey: '',
    accountId: '111122223333',
    region: 'eu-west-1',
    rule: 's3-bucket-public-write-prohibited',
    configRuleName: 'OrgConfigRule-s3-bucket-public-write-prohibited-ab12',
    resourceType: 'AWS::S3::Bucket',
    resourceId: `bucket-${counter}`,
    compliance: 'NON_COMPLIANT',
    previousCompliance: 'COMPLIANT',
    orderingTime: Date.parse('2026-03-04T10:00:00Z'),
    eventTime: '2026-03-04T10:00:30Z',
    annotation: 'public write is allowed',
    evaluationMode: 'DETECTIVE',
    ruleTitle: 'S3 buckets do not allow public write',
    ruleCategory: 'public-access',
    severity: 'High',
    scope: 'All',
    ruleKnown: true,
    accountName: 'payments-prod',
    environment: 'production',
    owner: 'payments',
    slackChannel: '#payments',
    accountKnown: true,
    inScope: true,
  };
  const event = { ...base, ...overrides };
  return { ...event, evaluationKey: overrides.evaluationKey ?? evaluationKeyOf(event.accountId, event.region, event.rule, event.resourceType, event.resourceId) };
}

/** The finding an event opened (status open, no resolution). */
export function findingOf(event: EnrichedEvent, overrides: Partial<Finding> = {}): Finding {
  return { ...openFinding(event, `f-${event.eventId}`, event.orderingTime + 86_400_000), ...overrides };
}

export function tracked(event: EnrichedEvent, transition: Transition, finding: Finding | null): TrackedEvent {
  return { event, transition, state: null, finding };
}

export function asItems(values: readonly TrackedEvent[], shardId = 'shardId-000000000000'): Item<TrackedEvent>[] {
  return values.map((value, i) => ({ origin: { shardId, sequenceNumber: String(1_000 + i) }, value }));
}
