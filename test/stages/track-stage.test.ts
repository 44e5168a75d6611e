import { describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { EvaluationState, Finding } from '../../stages/track/finding.ts';
import { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { findingIdOf, TrackStage } from '../../stages/track/track-stage.ts';
import type { EvaluationStateStore } from '../../stages/track/evaluation-state-store.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { batchOf, enrichedEvent, originOf } from './stage-fixtures.ts';

const HourMs = 3_600_000;
const T0 = Date.parse('2026-03-04T10:00:00Z');
const signal = new AbortController().signal;

/** Stands in for Postgres: what `commit` stored is what `load` returns. */
class MemoryStateStore implements EvaluationStateStore {
  readonly states = new Map<string, EvaluationState>();
  readonly loads: string[][] = [];

  async load(evaluationKeys: readonly string[], loadSignal: AbortSignal): Promise<ReadonlyMap<string, EvaluationState>> {
    loadSignal.throwIfAborted();
    this.loads.push([...evaluationKeys]);
    const found = new Map<string, EvaluationState>();
    for (const key of evaluationKeys) {
      const state = this.states.get(key);
      if (state) found.set(key, state);
    }
    return found;
  }

  commit(tracked: readonly TrackedEvent[]): void {
    for (const { state } of tracked) if (state) this.states.set(state.evaluationKey, state);
  }
}

interface Harness {
  readonly store: MemoryStateStore;
  readonly stage: TrackStage;
  /** Processes one batch; commits it to the store unless told not to (a failed commit). */
  run(events: readonly EnrichedEvent[], options?: { commit?: boolean }): Promise<TrackedEvent[]>;
}

function harness(options: { cacheCapacity?: number; store?: MemoryStateStore } = {}): Harness {
  const store = options.store ?? new MemoryStateStore();
  const stage = new TrackStage({ store, sla: SlaPolicy.defaults(), ...(options.cacheCapacity ? { cacheCapacity: options.cacheCapacity } : {}) });
  return {
    store,
    stage,
    async run(events, { commit = true } = {}) {
      const result = await stage.process(batchOf(events), signal);
      expect(result.dropped).toEqual([]);
      expect(result.rejected).toEqual([]);
      expect(result.kept.map((item) => item.origin)).toEqual(events.map((_, i) => originOf(i)));
      const tracked = result.kept.map((item) => item.value);
      if (commit) store.commit(tracked);
      return tracked;
    },
  };
}

let eventCount = 0;
/** An event of the default evaluation key at `orderingTime`, with a fresh event id. */
function at(orderingTime: number, overrides: Partial<EnrichedEvent> = {}): EnrichedEvent {
  return enrichedEvent({ eventId: `event-${++eventCount}`, orderingTime, ...overrides });
}

async function one(h: Harness, event: EnrichedEvent): Promise<TrackedEvent> {
  const [tracked] = await h.run([event]);
  return tracked!;
}

describe('TrackStage', () => {
  it('opens a finding on NON_COMPLIANT with the SLA deadline (Critical: opened + 24 h)', async () => {
    const h = harness();
    const event = at(T0, { annotation: 'public write ACL' });
    const tracked = await one(h, event);
    expect(tracked.transition).toBe('opened');
    const expected: Finding = {
      findingId: findingIdOf(event.evaluationKey, event.eventId),
      evaluationKey: event.evaluationKey,
      accountId: '111122223333',
      accountName: 'payments-prod',
      region: 'eu-west-1',
      rule: 's3-bucket-public-write-prohibited',
      configRuleName: 'OrgConfigRule-s3-bucket-public-write-prohibited-a1b2c3d4',
      ruleTitle: 'S3 buckets do not allow public write',
      resourceType: 'AWS::S3::Bucket',
      resourceId: 'my-bucket',
      severity: 'Critical',
      environment: 'production',
      owner: 'payments',
      slackChannel: '#payments-alerts',
      annotation: 'public write ACL',
      status: 'open',
      openedAt: T0,
      openedEventId: event.eventId,
      deadline: T0 + 24 * HourMs,
      resolvedAt: null,
      resolution: null,
      resolvedEventId: null,
    };
    expect(tracked.finding).toEqual(expected);
    expect(tracked.state).toEqual({
      evaluationKey: event.evaluationKey,
      compliance: 'NON_COMPLIANT',
      orderingTime: T0,
      eventId: event.eventId,
      inScope: true,
      openFinding: expected,
    });
  });

  it.each(['Critical', 'High', 'Medium', 'Low'] as const)('takes the deadline of a %s finding from the SLA policy', async (severity) => {
    const tracked = await one(harness(), at(T0, { severity }));
    expect(tracked.finding?.deadline).toBe(SlaPolicy.defaults().deadline(T0, severity));
    expect(tracked.finding?.deadline).toBeGreaterThan(T0);
  });

  it('leaves the finding unchanged on a newer NON_COMPLIANT', async () => {
    const h = harness();
    const opened = await one(h, at(T0));
    const again = await one(h, at(T0 + HourMs));
    expect(again.transition).toBe('unchanged');
    expect(again.finding).toEqual(opened.finding);
    expect(again.state?.orderingTime).toBe(T0 + HourMs);
    expect(again.state?.openFinding).toEqual(opened.finding);
  });

  it("carries the account's current owner, name and channel onto a cached open finding, through to its resolution", async () => {
    const h = harness();
    const opened = await one(h, at(T0));
    const moved = { owner: 'team-new', accountName: 'renamed', slackChannel: '#new-alerts' };
    expect(opened.finding).not.toMatchObject(moved);
    const again = await one(h, at(T0 + HourMs, moved));
    expect(again.transition).toBe('unchanged');
    expect(again.finding).toEqual({ ...opened.finding, ...moved });
    expect(again.state?.openFinding).toEqual({ ...opened.finding, ...moved });
    const resolved = await one(h, at(T0 + 2 * HourMs, { ...moved, compliance: 'COMPLIANT' }));
    expect(resolved.finding).toMatchObject({ ...moved, findingId: opened.finding!.findingId, status: 'resolved' });
    // Nothing moved: the cached finding itself goes on, no copy.
    const same = harness();
    const first = await one(same, at(T0));
    expect((await one(same, at(T0 + HourMs))).finding).toBe(first.finding);
  });

  it.each(['COMPLIANT', 'NOT_APPLICABLE', 'DELETED'] as const)('resolves the open finding on %s at its ordering time', async (compliance) => {
    const h = harness();
    const opened = await one(h, at(T0));
    const event = at(T0 + 5 * HourMs, { compliance });
    const resolved = await one(h, event);
    expect(resolved.transition).toBe('resolved');
    expect(resolved.finding).toEqual({
      ...opened.finding,
      status: 'resolved',
      resolution: compliance,
      resolvedAt: T0 + 5 * HourMs,
      resolvedEventId: event.eventId,
    });
    expect(resolved.state).toMatchObject({ compliance, orderingTime: T0 + 5 * HourMs, openFinding: null });
  });

  it.each(['COMPLIANT', 'NOT_APPLICABLE', 'DELETED', 'INSUFFICIENT_DATA'] as const)('records %s with no open finding', async (compliance) => {
    const tracked = await one(harness(), at(T0, { compliance }));
    expect(tracked.transition).toBe('recorded');
    expect(tracked.finding).toBeNull();
    expect(tracked.state).toMatchObject({ compliance, openFinding: null });
  });

  it('opens a new finding with a new id when the resource becomes non-compliant again', async () => {
    const h = harness();
    const first = await one(h, at(T0));
    await one(h, at(T0 + HourMs, { compliance: 'COMPLIANT' }));
    const second = await one(h, at(T0 + 2 * HourMs));
    expect(second.transition).toBe('opened');
    expect(second.finding?.findingId).not.toBe(first.finding?.findingId);
    expect(second.finding).toMatchObject({ status: 'open', openedAt: T0 + 2 * HourMs, deadline: T0 + 26 * HourMs });
  });

  it.each([
    ['an older COMPLIANT', 'COMPLIANT', T0 - 1],
    ['a COMPLIANT with the same timestamp', 'COMPLIANT', T0],
    ['an older NON_COMPLIANT', 'NON_COMPLIANT', T0 - HourMs],
    ['an older DELETED', 'DELETED', T0 - HourMs],
  ] as const)('treats %s as stale and changes nothing', async (_name, compliance, orderingTime) => {
    const h = harness();
    const opened = await one(h, at(T0));
    const storedBefore = h.store.states.get(opened.event.evaluationKey);
    const stale = await one(h, at(orderingTime, { compliance }));
    expect(stale.transition).toBe('stale');
    expect(stale.state).toBeNull();
    expect(stale.finding).toEqual(opened.finding);
    expect(h.store.states.get(opened.event.evaluationKey)).toBe(storedBefore);
    // The cached state did not move either: a newer NON_COMPLIANT still sees the open finding.
    const next = await one(h, at(T0 + 1));
    expect(next.transition).toBe('unchanged');
    expect(next.finding?.findingId).toBe(opened.finding?.findingId);
  });

  it('treats a stale event for a key without a finding as stale too', async () => {
    const h = harness();
    await one(h, at(T0, { compliance: 'COMPLIANT' }));
    const stale = await one(h, at(T0 - HourMs));
    expect(stale).toMatchObject({ transition: 'stale', state: null, finding: null });
  });

  it('records an out-of-scope NON_COMPLIANT without opening a finding', async () => {
    const tracked = await one(harness(), at(T0, { scope: 'ProductionOnly', environment: 'sandbox', inScope: false }));
    expect(tracked.transition).toBe('recorded');
    expect(tracked.finding).toBeNull();
    expect(tracked.state).toMatchObject({ compliance: 'NON_COMPLIANT', inScope: false, openFinding: null });
  });

  it('keeps the open finding through INSUFFICIENT_DATA and resolves it later', async () => {
    const h = harness();
    const opened = await one(h, at(T0));
    const insufficient = await one(h, at(T0 + HourMs, { compliance: 'INSUFFICIENT_DATA' }));
    expect(insufficient.transition).toBe('unchanged');
    expect(insufficient.finding).toEqual(opened.finding);
    expect(insufficient.state).toMatchObject({ compliance: 'INSUFFICIENT_DATA', openFinding: opened.finding });
    const resolved = await one(h, at(T0 + 2 * HourMs, { compliance: 'COMPLIANT' }));
    expect(resolved.transition).toBe('resolved');
    expect(resolved.finding?.findingId).toBe(opened.finding?.findingId);
  });

  it('resolves a finding it finds open in the store', async () => {
    const earlier = harness();
    const opened = await one(earlier, at(T0));
    // A new stage (another worker, or after a restart) over the same store.
    const h = harness({ store: earlier.store });
    const event = at(T0 + HourMs, { compliance: 'COMPLIANT' });
    const resolved = await one(h, event);
    expect(h.store.loads.at(-1)).toEqual([event.evaluationKey]);
    expect(resolved.transition).toBe('resolved');
    expect(resolved.finding).toMatchObject({ findingId: opened.finding?.findingId, openedAt: T0, status: 'resolved', resolution: 'COMPLIANT', resolvedAt: T0 + HourMs });
  });

  it('judges staleness against the stored state', async () => {
    const store = new MemoryStateStore();
    const opened = await one(harness({ store }), at(T0));
    const stale = await one(harness({ store }), at(T0 - 1, { compliance: 'COMPLIANT' }));
    expect(stale.transition).toBe('stale');
    expect(stale.finding).toEqual(opened.finding);
  });

  it('loads each unseen key once per batch and never reloads a cached key', async () => {
    const h = harness();
    const other = { resourceId: 'other-bucket' };
    await h.run([at(T0), at(T0 + 1, other), at(T0 + 2), at(T0 + 3, { compliance: 'COMPLIANT' })]);
    expect(h.store.loads).toHaveLength(1);
    expect(h.store.loads[0]).toHaveLength(2);
    await h.run([at(T0 + 10), at(T0 + 11, other)]);
    expect(h.store.loads).toHaveLength(1);
  });

  it('opens and resolves within one batch, in order', async () => {
    const tracked = await harness().run([at(T0), at(T0 + 1), at(T0 + 2, { compliance: 'COMPLIANT' }), at(T0 + 1, { compliance: 'NON_COMPLIANT' })]);
    expect(tracked.map((t) => t.transition)).toEqual(['opened', 'unchanged', 'resolved', 'stale']);
    const ids = tracked.slice(0, 3).map((t) => t.finding?.findingId);
    expect(ids[0]).toBeDefined();
    expect(new Set(ids).size).toBe(1);
    // Stale after the resolution: no finding is open any more.
    expect(tracked[3]?.finding).toBeNull();
  });

  it('computes finding ids deterministically from the key and the opening event', async () => {
    const key = '111122223333|eu-west-1|restricted-ssh|AWS::EC2::SecurityGroup|sg-1';
    expect(findingIdOf(key, 'event-a')).toBe(findingIdOf(key, 'event-a'));
    expect(findingIdOf(key, 'event-a')).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(findingIdOf(key, 'event-b')).not.toBe(findingIdOf(key, 'event-a'));
    expect(findingIdOf(`${key}2`, 'event-a')).not.toBe(findingIdOf(key, 'event-a'));
    // The separator keeps (key + id) pairs that concatenate alike apart.
    expect(findingIdOf('ab', 'c')).not.toBe(findingIdOf('a', 'bc'));
    // A replay of the same event by another stage produces the same finding.
    const event = at(T0);
    const [first, replayed] = [await one(harness(), event), await one(harness(), event)];
    expect(replayed.finding?.findingId).toBe(first.finding?.findingId);
  });

  it('after rolledBack() forgets uncommitted state and reloads from the store', async () => {
    const h = harness();
    const committed = await one(h, at(T0));
    // This batch's commit fails: the cache saw the resolution, the store did not.
    const [uncommitted] = await h.run([at(T0 + HourMs, { compliance: 'COMPLIANT' })], { commit: false });
    expect(uncommitted?.transition).toBe('resolved');
    h.stage.rolledBack();
    const redelivered = await one(h, at(T0 + HourMs, { compliance: 'COMPLIANT' }));
    expect(h.store.loads).toHaveLength(2);
    expect(redelivered.transition).toBe('resolved');
    expect(redelivered.finding?.findingId).toBe(committed.finding?.findingId);
  });

  it('without rolledBack() trusts its cache over the store', async () => {
    const h = harness();
    await one(h, at(T0));
    await h.run([at(T0 + HourMs, { compliance: 'COMPLIANT' })], { commit: false });
    const next = await one(h, at(T0 + 2 * HourMs, { compliance: 'COMPLIANT' }));
    expect(next.transition).toBe('recorded');
    expect(h.store.loads).toHaveLength(1);
  });

  it('still tracks every key correctly when the cache holds fewer keys than are in use (capacity 2, 5 keys)', async () => {
    const h = harness({ cacheCapacity: 2 });
    const keys = ['b1', 'b2', 'b3', 'b4', 'b5'];
    const opened = await h.run(keys.map((resourceId) => at(T0, { resourceId })));
    expect(opened.map((t) => t.transition)).toEqual(keys.map(() => 'opened'));

    // Alternate keys so both cached and evicted ones are hit.
    const order = ['b1', 'b5', 'b2', 'b4', 'b3'];
    const stale = await h.run(order.map((resourceId) => at(T0 - 1, { resourceId, compliance: 'COMPLIANT' })));
    expect(stale.map((t) => t.transition)).toEqual(order.map(() => 'stale'));

    for (const resourceId of order) {
      const again = await one(h, at(T0 + HourMs, { resourceId }));
      expect(again.transition).toBe('unchanged');
    }
    const resolved = await h.run(keys.map((resourceId) => at(T0 + 2 * HourMs, { resourceId, compliance: 'COMPLIANT' })));
    expect(resolved.map((t) => t.transition)).toEqual(keys.map(() => 'resolved'));
    expect(resolved.map((t) => t.finding?.findingId)).toEqual(opened.map((t) => t.finding?.findingId));
    // Evicted keys were reloaded from the store, so more than the first load happened.
    expect(h.store.loads.length).toBeGreaterThan(1);
    const b1 = at(T0, { resourceId: 'b1' }).evaluationKey;
    expect(h.store.loads.flat().filter((key) => key === b1).length).toBeGreaterThan(1);
  });

  it('after a failed load, loads the keys again on the next attempt', async () => {
    const store = new MemoryStateStore();
    const opened = await one(harness({ store }), at(T0));
    let failures = 1;
    const flaky: EvaluationStateStore = {
      load: async (keys, loadSignal) => {
        if (failures-- > 0) throw new Error('connection reset');
        return store.load(keys, loadSignal);
      },
    };
    const stage = new TrackStage({ store: flaky, sla: SlaPolicy.defaults() });
    const batch = batchOf([at(T0 + HourMs, { compliance: 'COMPLIANT' })]);
    await expect(stage.process(batch, signal)).rejects.toThrow('connection reset');
    const retried = await stage.process(batch, signal);
    expect(retried.kept[0]?.value.transition).toBe('resolved');
    expect(retried.kept[0]?.value.finding?.findingId).toBe(opened.finding?.findingId);
  });

  it('passes the abort signal to the store', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stopping'));
    const stage = new TrackStage({ store: new MemoryStateStore(), sla: SlaPolicy.defaults() });
    await expect(stage.process(batchOf([at(T0)]), controller.signal)).rejects.toThrow('stopping');
  });

  it('tracks a key again from what another writer stored, without touching its cache, then adopts that state', async () => {
    const h = harness();
    const opened = await one(h, at(T0));
    // Another writer resolved the finding at T0+1h: the stored state this writer's cache does not know.
    const resolvedElsewhere: EvaluationState = { ...opened.state!, compliance: 'COMPLIANT', orderingTime: T0 + HourMs, eventId: 'elsewhere', openFinding: null };
    const late = at(T0 + 2 * HourMs);
    const fromCache = h.stage.apply(late);
    expect(fromCache).toMatchObject({ transition: 'unchanged', previous: opened.state });
    const again = h.stage.retrack(resolvedElsewhere, [late, at(T0 + 30 * 60_000, { compliance: 'COMPLIANT' })]);
    expect(again.map((t) => t.transition)).toEqual(['opened', 'stale']);
    expect(again[0]!.finding?.findingId).toBe(findingIdOf(late.evaluationKey, late.eventId));
    expect(again[0]!.finding?.findingId).not.toBe(opened.finding?.findingId);
    expect(again[0]!.previous).toBe(resolvedElsewhere);
    h.stage.committed({ eventIds: [], refreshed: new Map([[late.evaluationKey, again[0]!.state]]) });
    const next = h.stage.apply(at(T0 + 3 * HourMs, { compliance: 'COMPLIANT' }));
    expect(next).toMatchObject({ transition: 'resolved', finding: { findingId: again[0]!.finding?.findingId } });
  });
});
