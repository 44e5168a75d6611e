import type { EvaluationState } from './finding.ts';

/** Loads stored state for keys the stage has not seen (Postgres, or memory in benchmarks). */
export interface EvaluationStateStore {
  load(evaluationKeys: readonly string[], signal: AbortSignal): Promise<ReadonlyMap<string, EvaluationState>>;
}
