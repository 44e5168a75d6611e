import { describe, expect, it } from 'vitest';
import type { Environment } from '../../schemas/account-registry.ts';
import type { RuleScope } from '../../schemas/rule-catalog.ts';
import { isInScope, ScopeStage } from '../../stages/scope/scope-stage.ts';
import { batchOf, enrichedEvent, originOf } from './stage-fixtures.ts';

const cases: readonly [RuleScope, Environment, boolean][] = [
  ['ProductionOnly', 'production', true],
  ['ProductionOnly', 'staging', false],
  ['ProductionOnly', 'development', false],
  ['ProductionOnly', 'sandbox', false],
  // Unknown environment stays in scope: a hidden finding is worse than a false alarm.
  ['ProductionOnly', 'unknown', true],
  ['All', 'production', true],
  ['All', 'staging', true],
  ['All', 'development', true],
  ['All', 'sandbox', true],
  ['All', 'unknown', true],
];

describe('ScopeStage', () => {
  it.each(cases)('a %s rule in a %s account -> inScope %s', async (scope, environment, expected) => {
    expect(isInScope({ scope, environment })).toBe(expected);
    const result = await new ScopeStage().process(batchOf([enrichedEvent({ scope, environment, inScope: !expected })]));
    expect(result.kept).toHaveLength(1);
    expect(result.kept[0]!.value.inScope).toBe(expected);
    expect(result.kept[0]!.value).toEqual(enrichedEvent({ scope, environment, inScope: expected }));
    expect(result.dropped).toEqual([]);
    expect(result.rejected).toEqual([]);
  });

  it('keeps every event, out of scope or not, in order with its origin', () => {
    const events = cases.map(([scope, environment], i) => enrichedEvent({ scope, environment, eventId: `e${i}` }));
    const result = new ScopeStage().process(batchOf(events));
    expect(result.kept.map((item) => item.value.eventId)).toEqual(events.map((event) => event.eventId));
    expect(result.kept.map((item) => item.origin)).toEqual(events.map((_, i) => originOf(i)));
    expect(result.kept.map((item) => item.value.inScope)).toEqual(cases.map(([, , expected]) => expected));
  });

  it('passes an item through untouched when inScope is already right, and does not mutate the input', () => {
    const inScope = enrichedEvent({ scope: 'All', environment: 'sandbox', inScope: true });
    const outOfScope = enrichedEvent({ scope: 'ProductionOnly', environment: 'sandbox', inScope: true });
    const batch = batchOf([inScope, outOfScope]);
    const result = new ScopeStage().process(batch);
    expect(result.kept[0]).toBe(batch.items[0]);
    expect(result.kept[1]!.value.inScope).toBe(false);
    expect(outOfScope.inScope).toBe(true);
  });
});
