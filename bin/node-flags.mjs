/**
 * The V8 flags `driftwatch` starts with unless told otherwise. On a machine with plenty of memory V8 sizes its heap
 * from the machine's RAM and lets garbage grow to several times the live data (~100-200 MB with 4 shards) before
 * collecting: 590 MiB peak RSS on a backlog. A limit above the live data of 4 shards at the default batch and cache
 * sizes (~30 MB each over a ~60 MB base) and 8 MB semi-spaces keep it under 400 MiB at the same catch-up rate
 * (npm run bench:memory). A worker holding more shards, or larger batches, needs a larger limit: README, sizing.
 * DRIFTWATCH_NODE_FLAGS replaces the defaults (empty: none); a flag already set in NODE_OPTIONS or on the node command
 * line wins over either.
 */
export const DefaultNodeFlags = '--max-old-space-size=192 --max-semi-space-size=8';

/**
 * The environment the launcher restarts node with: MALLOC_ARENA_MAX=2 unless set. glibc gives threads that allocate
 * (V8's GC helpers, libuv's pool, the main thread's socket and Buffer memory) arenas of their own, up to 8 per core,
 * and memory freed in one arena is not reused by another: with 2 arenas the 1,000,000-event backlog peaked at 380 MiB
 * instead of 415 MiB, at the same catch-up rate (npm run bench:memory). Other C libraries ignore the variable.
 *
 * @example
 * launchEnv({ PATH: '/usr/bin' }) // { PATH: '/usr/bin', MALLOC_ARENA_MAX: '2' }
 */
export function launchEnv(env) {
  return env.MALLOC_ARENA_MAX === undefined ? { ...env, MALLOC_ARENA_MAX: '2' } : env;
}

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
