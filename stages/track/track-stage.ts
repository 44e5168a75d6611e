import { hash } from 'node:crypto';
import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { Batch, CommittedBatch, Item, Stage, StageOutput, StageResult } from '../stage.ts';
import { applyEvent, applyEvents } from './apply-event.ts';
import type { EvaluationState, Finding } from './finding.ts';
import type { SlaPolicy } from './sla-policy.ts';
import type { EvaluationStateStore } from './evaluation-state-store.ts';
import { openFinding } from './open-finding.ts';
import { StateCache } from './state-cache.ts';
import type { TrackedEvent } from './tracked-event.ts';

export interface TrackOptions {
  readonly store: EvaluationStateStore;
  readonly sla: SlaPolicy;
  /** Keys kept in memory; older ones are reloaded from the store on demand. */
  readonly cacheCapacity?: number;
}

/**
 * The finding lifecycle. Keeps each key's latest state in memory; the batch processor commits it and calls
 * `rolledBack()` if a commit fails, so the cache never runs ahead of what is stored.
 */
export class TrackStage implements Stage<EnrichedEvent, TrackedEvent> {
  readonly name = 'track';
  readonly #store: EvaluationStateStore;
  readonly #sla: SlaPolicy;
  readonly #cache: StateCache<EvaluationState | null>;

  constructor(options: TrackOptions) {
    this.#store = options.store;
    this.#sla = options.sla;
    // ~0.7 KB per state with its open finding: the default keeps a shard's cache near 15 MB.
    this.#cache = new StateCache(options.cacheCapacity ?? 20_000);
  }

  process(batch: Batch<EnrichedEvent>, signal: AbortSignal): StageOutput<TrackedEvent> {
    const missing: string[] = [];
    for (const item of batch.items) {
      const key = item.value.evaluationKey;
      if (!this.#cache.has(key)) {
        this.#cache.set(key, null);
        missing.push(key);
      }
    }
    // Every key cached: the answer is ready now, no promise on the hot path.
    if (missing.length === 0) return this.#applyAll(batch);
    return this.#loadThenApply(batch, missing, signal);
  }

  async #loadThenApply(batch: Batch<EnrichedEvent>, missing: readonly string[], signal: AbortSignal): Promise<StageResult<TrackedEvent>> {
    let loaded: ReadonlyMap<string, EvaluationState>;
    try {
      loaded = await this.#store.load(missing, signal);
    } catch (error) {
      // The placeholders would otherwise read as "nothing stored" on the next attempt.
      for (const key of missing) this.#cache.delete(key);
      throw error;
    }
    for (const [key, state] of loaded) this.#cache.set(key, state);
    return this.#applyAll(batch);
  }

  #applyAll(batch: Batch<EnrichedEvent>): StageResult<TrackedEvent> {
    const kept: Item<TrackedEvent>[] = new Array(batch.items.length);
    let i = 0;
    for (const item of batch.items) kept[i++] = { origin: item.origin, value: this.apply(item.value) };
    this.#cache.rotate();
    return { kept, dropped: [], rejected: [] };
  }

  /** A failed commit: the cache may run ahead of what is stored, so it is dropped and reloaded on demand. */
  rolledBack(): void {
    this.#cache.clear();
  }

  apply(event: EnrichedEvent): TrackedEvent {
    const key = event.evaluationKey;
    const tracked = applyEvent(this.#cache.get(key) ?? null, event, this.#openFinding);
    if (tracked.state) this.#cache.set(key, tracked.state);
    return tracked;
  }

  /**
   * A key's events applied to the state Postgres holds, without touching the cache: the state commit calls this when
   * another writer moved the key since this stage's cache learned it (issue 17).
   */
  retrack(stored: EvaluationState | null, events: readonly EnrichedEvent[]): readonly TrackedEvent[] {
    return applyEvents(stored, events, this.#openFinding).tracked;
  }

  /** After a commit: what Postgres holds for keys whose cached state turned out to be behind. */
  committed(batch: CommittedBatch): void {
    // No rotation here: a batch whose keys were looked up may still be waiting for the store (overlapped batches).
    for (const [key, state] of batch.refreshed) this.#cache.set(key, state);
  }

  readonly #openFinding = (event: EnrichedEvent): Finding => this.#open(event);

  #open(event: EnrichedEvent): Finding {
    return openFinding(event, findingIdOf(event.evaluationKey, event.eventId), this.#sla.deadline(event.orderingTime, event.severity));
  }
}

/** Deterministic, so a replay after a crash produces the same id (and the same OpenSearch document). */
export function findingIdOf(evaluationKey: string, openingEventId: string): string {
  return hash('sha256', `${evaluationKey}\0${openingEventId}`, 'base64url').slice(0, 22);
}
