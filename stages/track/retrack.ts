import type { EnrichedEvent } from '../enrich/enriched-event.ts';
import type { EvaluationState } from './finding.ts';
import type { TrackedEvent } from './tracked-event.ts';

/** A key's events applied again, in order, to the state Postgres holds (TrackStage.retrack). */
export type Retrack = (stored: EvaluationState | null, events: readonly EnrichedEvent[]) => readonly TrackedEvent[];
