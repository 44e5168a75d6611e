import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { EvaluationState, Finding } from './finding.ts';

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
  /**
   * The key's state before this event, as the writer that tracked it knew it (null: nothing stored). The state commit
   * writes the event's effect only if Postgres still holds that state, and tracks the event again otherwise.
   * Absent: unknown, so the commit reads the key before writing.
   */
  readonly previous?: EvaluationState | null;
  /**
   * Set when this is not a new effect but the first effect of an event committed earlier, rebuilt from Postgres (a
   * duplicate delivery, a redrive of a sink dead letter): sinks write what is missing and never overwrite.
   */
  readonly rebuilt?: true;
}
