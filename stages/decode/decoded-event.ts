import type { ComplianceChangeEvent } from '../../schemas/compliance-change-event.ts';

/** A record that is a valid compliance-change event. */
export interface DecodedEvent {
  readonly event: ComplianceChangeEvent;
  /** Kept (not copied) so a later stage can still dead-letter the original bytes. */
  readonly raw: Uint8Array;
}
