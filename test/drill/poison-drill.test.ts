import { describe, expect, it } from 'vitest';
import { runPoisonDrill } from '../../drill/poison-drill.ts';
import { formatDrill } from '../../drill/support/drill-run.ts';

/**
 * The short poison drill of `npm run drill`: 500 fast-check malformed records (among them values only Postgres refuses:
 * NUL, unpaired surrogates, over-long ids and names) among 3,000 valid ones and 75 events of resources a `|`-joined
 * key would merge. The time budget leaves room for a 2-core machine shared with other work.
 */
describe('poison drill (short)', () => {
  it('dead-letters every malformed record with its reason and bytes, and processes every valid event', async () => {
    const result = await runPoisonDrill({ validEvents: 3_000, poison: 500, shards: 4, seed: 37, timeoutMs: 80_000 });
    for (const check of result.checks) expect.soft(check.ok, `${check.name}: ${check.detail}`).toBe(true);
    expect(result.checks.length, formatDrill(result)).toBeGreaterThanOrEqual(7);
    expect(result.ok, formatDrill(result)).toBe(true);
  }, 90_000);
});
