/**
 * The V8 flags `driftwatch` starts with unless told otherwise. A long catch-up allocates fast; on a machine with plenty
 * of memory V8 sizes its heap from the machine's RAM and lets garbage grow to several times the live data (~100-200
 * MB) before collecting, so the process sizes its own heap: an old space well above the live data, and a young
 * generation large enough that short-lived batch garbage dies young instead of being promoted.
 * DRIFTWATCH_NODE_FLAGS replaces the defaults (empty: none); a flag already set in NODE_OPTIONS or on the node command
 * line wins over either.
 */
export const DefaultNodeFlags = '--max-old-space-size=256 --max-semi-space-size=16';

/**
 * The flags of `wanted` not already set by `execArgv` or `nodeOptions` (compared by name, `_` and `-` alike).
 *
 * @example
 * missingNodeFlags('--max-old-space-size=256', [], '--max_old_space_size=1024') // []
 */
export function missingNodeFlags(wanted, execArgv, nodeOptions) {
  const nameOf = (flag) => flag.split('=')[0].replaceAll('_', '-');
  const present = new Set([...execArgv, ...(nodeOptions ?? '').split(/\s+/)].filter((flag) => flag.startsWith('--')).map(nameOf));
  return wanted
    .split(/\s+/)
    .filter((flag) => flag.startsWith('--') && !present.has(nameOf(flag)));
}
