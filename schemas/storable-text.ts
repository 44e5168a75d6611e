import { z } from 'zod';

// With the u flag a surrogate pair is one code point above U+FFFF, so the class matches only a lone surrogate.
const Unstorable = /[\0\ud800-\udfff]/u;
const UnstorableGlobal = /[\0\ud800-\udfff]/gu;
// Without the u flag: a NUL or any surrogate code unit, paired or not.
const AnySuspect = /[\0\ud800-\udfff]/;

/**
 * True when Postgres can hold the string as it is. It cannot hold a NUL (text refuses 0x00, jsonb refuses \u0000),
 * and a lone surrogate is refused by jsonb (`"\ud83d"`) and silently turned into U+FFFD by text columns.
 */
export function isStorableText(value: string): boolean {
  // Most text has no NUL and no surrogate at all: the non-unicode scan is several times cheaper than the exact one.
  return !AnySuspect.test(value) || !Unstorable.test(value);
}

/** Why a string is not storable, naming the first offending code unit as an escape (never the raw character). */
export function unstorableReason(value: string): string {
  const match = Unstorable.exec(value);
  if (!match) return 'is storable';
  const code = match[0].charCodeAt(0);
  return code === 0
    ? 'contains a NUL character (\\u0000), which the state store cannot hold'
    : `contains an unpaired UTF-16 surrogate (\\u${code.toString(16)}), which the state store cannot hold`;
}

/** The string with every NUL and lone surrogate written as a `\uXXXX` escape: for text built from bad input (reasons). */
export function toStorableText(value: string): string {
  return value.replace(UnstorableGlobal, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A string the state store can hold, of at most `max` UTF-16 code units.
 *
 * @example
 * const ResourceId = storableString({ min: 1, max: 768 });
 */
export function storableString(bounds: { readonly min?: number; readonly max: number }) {
  const base = bounds.min !== undefined ? z.string().min(bounds.min).max(bounds.max) : z.string().max(bounds.max);
  return base.refine(isStorableText, { error: (issue) => unstorableReason(typeof issue.input === 'string' ? issue.input : '') });
}
