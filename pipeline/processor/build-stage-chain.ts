import { DecodeStage } from '../../stages/decode/decode-stage.ts';
import type { DecodedEvent } from '../../stages/decode/decoded-event.ts';
import type { RawRecord } from '../../stages/decode/raw-record.ts';
import { DedupeStage } from '../../stages/dedupe/dedupe-stage.ts';
import type { AccountRegistry } from '../../stages/enrich/account-registry.ts';
import { EnrichStage } from '../../stages/enrich/enrich-stage.ts';
import type { EnrichedEvent } from '../../stages/enrich/enriched-event.ts';
import type { RuleCatalog } from '../../stages/enrich/rule-catalog.ts';
import { ScopeStage } from '../../stages/scope/scope-stage.ts';
import type { Stage } from '../../stages/stage.ts';
import type { SlaPolicy } from '../../stages/track/sla-policy.ts';
import { TrackStage } from '../../stages/track/track-stage.ts';
import type { EvaluationStateStore } from '../../stages/track/evaluation-state-store.ts';
import type { TrackedEvent } from '../../stages/track/tracked-event.ts';
import { StageChain } from './stage-chain.ts';
import type { TrackingChain } from './stage-chain.ts';
import type { Retrack } from '../../stages/track/retrack.ts';

export interface EnrichChainOptions {
  readonly catalog: RuleCatalog;
  readonly accounts: AccountRegistry;
  readonly maxRecordBytes: number;
}

export interface StageChainOptions extends EnrichChainOptions {
  readonly sla: SlaPolicy;
  readonly stateStore: EvaluationStateStore;
  /** Evaluation states the track stage keeps per shard (default: the stage's own). */
  readonly stateCacheSize?: number | undefined;
}

/**
 * decode -> dedupe -> enrich -> scope -> track: the one chain of `run`, `replay`, `redrive`, the Lambda handler and
 * the benchmarks. One chain per shard: dedupe and track hold that shard's recent memory.
 */
export function buildStageChain(options: StageChainOptions): TrackingChain<RawRecord, TrackedEvent> {
  const track = new TrackStage({ store: options.stateStore, sla: options.sla, ...(options.stateCacheSize ? { cacheCapacity: options.stateCacheSize } : {}) });
  const stages = link(new DecodeStage({ maxRecordBytes: options.maxRecordBytes }), new DedupeStage(), ...enrichScope(options), track);
  const retrack: Retrack = (stored, events) => track.retrack(stored, events);
  // Built with its retrack, so the narrower type holds.
  return new StageChain<RawRecord, TrackedEvent>(stages, retrack) as TrackingChain<RawRecord, TrackedEvent>;
}

/**
 * decode -> enrich -> scope, without memory: an event as the chain hands it to track, for `redrive` to rebuild the
 * input of a sink that refused an event whose state is already committed.
 */
export function buildEnrichChain(options: EnrichChainOptions): StageChain<RawRecord, EnrichedEvent> {
  const [enrich, scope] = enrichScope(options);
  return new StageChain([new DecodeStage({ maxRecordBytes: options.maxRecordBytes }) as Stage<unknown, unknown>, enrich, scope]);
}

function enrichScope(options: EnrichChainOptions): [Stage<DecodedEvent, EnrichedEvent>, Stage<EnrichedEvent, EnrichedEvent>] {
  return [new EnrichStage({ catalog: options.catalog, accounts: options.accounts }), new ScopeStage()];
}

/** The compiler checks that each stage's output is the next one's input; the loop itself sees untyped stages. */
function link<A, B, C, D, E, F>(
  a: Stage<A, B>,
  b: Stage<B, C>,
  c: Stage<C, D>,
  d: Stage<D, E>,
  e: Stage<E, F>,
): readonly Stage<unknown, unknown>[] {
  return [a, b, c, d, e] as readonly Stage<unknown, unknown>[];
}
