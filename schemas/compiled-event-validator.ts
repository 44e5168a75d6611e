import { ComplianceChangeEvent } from './compliance-change-event.ts';
import { compileZodPredicate } from './compile-zod-predicate.ts';
import { isStorableText } from './storable-text.ts';

/**
 * True when ComplianceChangeEvent accepts the parsed JSON, checked without copying it (zod's parse builds a new
 * object per event, a fifth of the decode stage's time). On false, run the schema itself for the reason.
 *
 * Pass `vouched = true` only for a value parsed from JSON text without a backslash: every string of it is then
 * storable (a NUL or a lone surrogate can reach a parsed string only as a \u escape: JSON refuses raw control
 * characters, and valid UTF-8 cannot encode a surrogate), so the per-string storability scans are skipped.
 */
export const isComplianceChangeEvent = compileZodPredicate(ComplianceChangeEvent, { vouchable: [isStorableText] });
