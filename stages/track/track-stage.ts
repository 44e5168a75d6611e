import { createHash } from 'node:crypto';
import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { Batch, Item, Stage, StageResult } from '../stage.ts';
import type { EvaluationState, Finding, Resolution } from './finding.ts';
import type { SlaPolicy } from './sla-policy.ts';

/**
 * opened/resolved: a finding changed. unchanged: the result moved but the finding did not (still non-compliant).
 * recorded: the result moved with no finding involved (compliant, out of scope, insufficient data).
 * stale: not newer than what is stored for the key, so it never moves state back.
 */
export type Transition = 'opened' | 'resolved' | 'unchanged' | 'recorded' | 'stale';

export interface TrackedEvent {
  readonly event: EnrichedEvent;
  readonly transition: Transition;
  /** The key's state after this event; null when the event was stale. */
  readonly state: EvaluationState | null;
  /** The finding this event opened, resolved, or left open. */
  readonly finding: Finding | null;
}

/** Loads stored state for keys the stage has not seen (Postgres, or memory in benchmarks). */
export interface EvaluationStateStore {
  load(evaluationKeys: readonly string[], signal: AbortSignal): Promise<ReadonlyMap<string, EvaluationState>>;
}

export interface TrackOptions {
  readonly store: EvaluationStateStore;
  readonly sla: SlaPolicy;
  /** Keys kept in memory; older ones are reloaded from the store on demand. */
  readonly cacheCapacity?: number;
}

/**
 * The finding lifecycle. Keeps each key's latest state in memory; the batch processor commits it and calls
 * `reset()` if a commit fails, so the cache never runs ahead of what is stored.
 */
export class TrackStage implements Stage<EnrichedEvent, TrackedEvent> {
  readonly name = 'track';
  readonly #store: EvaluationStateStore;
  readonly #sla: SlaPolicy;
  readonly #capacity: number;
  readonly #cache = new Map<string, EvaluationState | null>();

  constructor(options: TrackOptions) {
    this.#store = options.store;
    this.#sla = options.sla;
    // ~0.7 KB per state with its open finding: the default keeps a shard's cache near 15 MB.
    this.#capacity = options.cacheCapacity ?? 20_000;
  }

  async process(batch: Batch<EnrichedEvent>, signal: AbortSignal): Promise<StageResult<TrackedEvent>> {
    const missing: string[] = [];
    for (const item of batch.items) {
      const key = item.value.evaluationKey;
      if (!this.#cache.has(key)) {
        this.#cache.set(key, null);
        missing.push(key);
      }
    }
    if (missing.length > 0) {
      let loaded: ReadonlyMap<string, EvaluationState>;
      try {
        loaded = await this.#store.load(missing, signal);
      } catch (error) {
        // The placeholders would otherwise read as "nothing stored" on the next attempt.
        for (const key of missing) this.#cache.delete(key);
        throw error;
      }
      for (const [key, state] of loaded) this.#cache.set(key, state);
    }
    const kept: Item<TrackedEvent>[] = new Array(batch.items.length);
    let i = 0;
    for (const item of batch.items) kept[i++] = { origin: item.origin, value: this.apply(item.value) };
    this.#evictOverCapacity();
    return { kept, dropped: [], rejected: [] };
  }

  reset(): void {
    this.#cache.clear();
  }

  apply(event: EnrichedEvent): TrackedEvent {
    const key = event.evaluationKey;
    const current = this.#cache.get(key) ?? null;
    if (current && event.orderingTime <= current.orderingTime) {
      return { event, transition: 'stale', state: null, finding: current.openFinding };
    }
    let transition: Transition = 'recorded';
    let openFinding = current?.openFinding ?? null;
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
        openFinding = this.#open(event);
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
      evaluationKey: key,
      compliance: event.compliance,
      orderingTime: event.orderingTime,
      eventId: event.eventId,
      inScope: event.inScope,
      openFinding,
    };
    // Delete first so insertion order is recency order for eviction.
    this.#cache.delete(key);
    this.#cache.set(key, state);
    return { event, transition, state, finding };
  }

  #open(event: EnrichedEvent): Finding {
    return {
      findingId: findingIdOf(event.evaluationKey, event.eventId),
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
      deadline: this.#sla.deadline(event.orderingTime, event.severity),
      resolvedAt: null,
      resolution: null,
      resolvedEventId: null,
    };
  }

  #evictOverCapacity(): void {
    let excess = this.#cache.size - this.#capacity;
    if (excess <= 0) return;
    for (const key of this.#cache.keys()) {
      if (excess-- <= 0) break;
      this.#cache.delete(key);
    }
  }
}

function resolve(finding: Finding, event: EnrichedEvent, resolution: Resolution): Finding {
  return { ...finding, status: 'resolved', resolvedAt: event.orderingTime, resolution, resolvedEventId: event.eventId };
}

/** Deterministic, so a replay after a crash produces the same id (and the same OpenSearch document). */
export function findingIdOf(evaluationKey: string, openingEventId: string): string {
  return createHash('sha256').update(evaluationKey).update('\0').update(openingEventId).digest('base64url').slice(0, 22);
}
