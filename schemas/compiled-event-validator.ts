import { ComplianceChangeEvent } from './compliance-change-event.ts';
import { compileZodPredicate } from './compile-zod-predicate.ts';

/**
 * True when ComplianceChangeEvent accepts the parsed JSON, checked without copying it (zod's parse builds a new
 * object per event, a fifth of the decode stage's time). On false, run the schema itself for the reason.
 */
export const isComplianceChangeEvent = compileZodPredicate(ComplianceChangeEvent);
