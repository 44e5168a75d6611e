import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { EvaluationState, Finding, Resolution } from './finding.ts';
import type { TrackedEvent, Transition } from './tracked-event.ts';

/**
 * The finding lifecycle for one event, as a pure function of the key's state before it: the track stage applies it to
 * its cache, and the state commit applies it again to the state Postgres holds when the cache was behind (issue 17).
 * `open` builds the finding a NON_COMPLIANT event opens (its deadline comes from the SLA policy).
 */
export function applyEvent(current: EvaluationState | null, event: EnrichedEvent, open: (event: EnrichedEvent) => Finding): TrackedEvent {
  if (current && event.orderingTime <= current.orderingTime) {
    return { event, transition: 'stale', state: null, finding: current.openFinding, previous: current };
  }
  let transition: Transition = 'recorded';
  let openFinding = current?.openFinding ? withRegistryOf(current.openFinding, event) : null;
  let finding: Finding | null = null;
  if (event.compliance === 'NON_COMPLIANT') {
    if (openFinding && !event.inScope) {
      // Its account left production (accounts sync): a ProductionOnly finding no longer applies there.
      finding = resolve(openFinding, event, 'OUT_OF_SCOPE');
      openFinding = null;
      transition = 'resolved';
    } else if (openFinding) {
      transition = 'unchanged';
      finding = openFinding;
    } else if (event.inScope) {
      openFinding = open(event);
      finding = openFinding;
      transition = 'opened';
    }
  } else if (event.compliance !== 'INSUFFICIENT_DATA' && openFinding) {
    finding = resolve(openFinding, event, event.compliance);
    openFinding = null;
    transition = 'resolved';
  } else if (openFinding) {
    finding = openFinding;
    transition = 'unchanged';
  }
  const state: EvaluationState = {
    evaluationKey: event.evaluationKey,
    compliance: event.compliance,
    orderingTime: event.orderingTime,
    eventId: event.eventId,
    inScope: event.inScope,
    openFinding,
  };
  return { event, transition, state, finding, previous: current };
}

/** A key's events applied in order to `stored`: what they do on top of what Postgres holds, and the state after them. */
export function applyEvents(
  stored: EvaluationState | null,
  events: readonly EnrichedEvent[],
  open: (event: EnrichedEvent) => Finding,
): { readonly tracked: TrackedEvent[]; readonly state: EvaluationState | null } {
  let state = stored;
  const tracked: TrackedEvent[] = [];
  for (const event of events) {
    const result = applyEvent(state, event, open);
    if (result.state) state = result.state;
    tracked.push(result);
  }
  return { tracked, state };
}

/**
 * The open finding with its account's owner, name and channel as this event's enrichment gives them: an accounts sync
 * moves them in Postgres, and a state cached before it would otherwise write the old owner back onto the finding's
 * OpenSearch document with every later event of the key. The same object when nothing changed.
 */
function withRegistryOf(finding: Finding, event: EnrichedEvent): Finding {
  if (finding.owner === event.owner && finding.accountName === event.accountName && finding.slackChannel === event.slackChannel) return finding;
  return { ...finding, owner: event.owner, accountName: event.accountName, slackChannel: event.slackChannel };
}

function resolve(finding: Finding, event: EnrichedEvent, resolution: Resolution): Finding {
  return { ...finding, status: 'resolved', resolvedAt: event.orderingTime, resolution, resolvedEventId: event.eventId };
}
