import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { Batch, Item, Stage, StageResult } from '../stage.ts';

/**
 * A ProductionOnly rule evaluated in a non-production account is recorded but opens no finding.
 * An account of unknown environment stays in scope: hiding a finding is worse than a false alarm.
 */
export class ScopeStage implements Stage<EnrichedEvent, EnrichedEvent> {
  readonly name = 'scope';

  process(batch: Batch<EnrichedEvent>): StageResult<EnrichedEvent> {
    const kept: Item<EnrichedEvent>[] = new Array(batch.items.length);
    let i = 0;
    for (const item of batch.items) {
      const event = item.value;
      const inScope = isInScope(event);
      kept[i++] = inScope === event.inScope ? item : { origin: item.origin, value: { ...event, inScope } };
    }
    return { kept, dropped: [], rejected: [] };
  }
}

export function isInScope(event: Pick<EnrichedEvent, 'scope' | 'environment'>): boolean {
  return event.scope === 'All' || event.environment === 'production' || event.environment === 'unknown';
}
