import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DefaultNodeFlags, launchEnv, missingNodeFlags } from '../../bin/node-flags.mjs';

const Bin = join(import.meta.dirname, '../../bin/driftwatch.mjs');
// Preloaded into every node process the launcher runs (main thread only: tsx's loader has a worker of its own):
// prints its pid, node flags, heap limit and malloc arena limit.
const Probe = join(mkdtempSync(join(tmpdir(), 'dw-flags-')), 'probe.cjs');
writeFileSync(
  Probe,
  `if (require('node:worker_threads').isMainThread) process.stderr.write('probe ' + JSON.stringify({ pid: process.pid, execArgv: process.execArgv, heapMiB: require('node:v8').getHeapStatistics().heap_size_limit / 1048576, mallocArenaMax: process.env.MALLOC_ARENA_MAX ?? null }) + '\\n');`,
);

interface ProbeLine {
  readonly pid: number;
  readonly execArgv: string[];
  readonly heapMiB: number;
  readonly mallocArenaMax: string | null;
}

function launch(env: Record<string, string>): { status: number | null; probes: ProbeLine[]; stdout: string } {
  const inherited = { ...process.env };
  delete inherited.MALLOC_ARENA_MAX;
  const result = spawnSync(process.execPath, [Bin, '--help'], {
    env: { ...inherited, ...env, NODE_OPTIONS: `--require ${Probe} ${env.NODE_OPTIONS ?? ''}`.trim() },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const probes = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('probe '))
    .map((line) => JSON.parse(line.slice('probe '.length)) as ProbeLine);
  return { status: result.status, probes, stdout: result.stdout };
}

const canReplaceItself = typeof (process as { execve?: unknown }).execve === 'function';

describe('missingNodeFlags', () => {
  it('adds the flags nobody set, and never one set on the command line or in NODE_OPTIONS (either spelling)', () => {
    expect(missingNodeFlags(DefaultNodeFlags, [], undefined)).toEqual(DefaultNodeFlags.split(' '));
    expect(missingNodeFlags('--max-old-space-size=256 --max-semi-space-size=16', ['--max-old-space-size=1024'], '')).toEqual(['--max-semi-space-size=16']);
    expect(missingNodeFlags('--max-old-space-size=256 --max-semi-space-size=16', [], '--inspect --max_semi_space_size=4')).toEqual(['--max-old-space-size=256']);
    expect(missingNodeFlags('', [], undefined)).toEqual([]);
  });
});

describe('launchEnv', () => {
  it('bounds malloc arenas unless the environment says otherwise', () => {
    expect(launchEnv({ PATH: '/usr/bin' })).toEqual({ PATH: '/usr/bin', MALLOC_ARENA_MAX: '2' });
    expect(launchEnv({ MALLOC_ARENA_MAX: '8' })).toEqual({ MALLOC_ARENA_MAX: '8' });
    expect(launchEnv({ MALLOC_ARENA_MAX: '' })).toEqual({ MALLOC_ARENA_MAX: '' });
  });
});

describe('the driftwatch launcher sizes its own heap', () => {
  it('runs as one process with the default flags (where node can replace itself), and works either way', () => {
    const { status, probes, stdout } = launch({});
    expect(status).toBe(0);
    expect(stdout).toContain('Usage: driftwatch');
    const last = probes.at(-1)!;
    if (canReplaceItself) {
      // Same pid before and after: signals, supervisors and SIGKILL in crash tests reach the process that runs.
      expect(new Set(probes.map((p) => p.pid)).size).toBe(1);
      expect(last.execArgv).toEqual(expect.arrayContaining(DefaultNodeFlags.split(' ')));
      expect(last.heapMiB).toBeLessThan(400);
      expect(last.mallocArenaMax).toBe('2');
    } else {
      expect(probes).toHaveLength(1);
      expect(last.execArgv).toEqual([]);
    }
  });

  it('leaves node alone with DRIFTWATCH_NODE_FLAGS empty, and keeps a heap size set in NODE_OPTIONS', () => {
    const none = launch({ DRIFTWATCH_NODE_FLAGS: '' });
    expect(none.status).toBe(0);
    expect(none.probes).toHaveLength(1);
    expect(none.probes[0]!.execArgv).toEqual([]);
    expect(none.probes[0]!.mallocArenaMax).toBeNull();

    const own = launch({ NODE_OPTIONS: '--max-old-space-size=700' });
    expect(own.status).toBe(0);
    const last = own.probes.at(-1)!;
    expect(last.heapMiB).toBeGreaterThan(700);
    expect(last.execArgv.some((flag) => flag.startsWith('--max-old-space-size'))).toBe(false);
    if (canReplaceItself) expect(last.execArgv).toEqual(['--max-semi-space-size=8']);
  });

  it('keeps a malloc arena limit set by the operator', () => {
    const own = launch({ MALLOC_ARENA_MAX: '4' });
    expect(own.status).toBe(0);
    expect(own.probes.at(-1)!.mallocArenaMax).toBe('4');
    if (canReplaceItself) expect(own.probes.at(-1)!.execArgv).toEqual(expect.arrayContaining(DefaultNodeFlags.split(' ')));
  });
});
