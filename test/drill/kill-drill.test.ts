import { describe, expect, it } from 'vitest';
import { runKillDrill } from '../../drill/kill-drill.ts';
import { formatDrill } from '../../drill/support/drill-run.ts';

/**
 * The short kill -9 drill of `npm run drill`: 3 SIGKILLs over 3,000 records (one while ingesting, one before and one
 * after Slack received a post the notifier had claimed), Postgres, OpenSearch and Slack checked.
 */
describe('kill -9 drill (short)', () => {
  it('loses nothing and duplicates nothing in Postgres, OpenSearch or Slack across 3 SIGKILLs, two in the post window', async () => {
    // Two of the kills restart the worker right at its first post: a little more time than three kills while ingesting.
    const result = await runKillDrill({ events: 3_000, kills: 3, shards: 4, seed: 29, timeoutMs: 80_000 });
    expect(result.figures).toMatchObject({ kills: 3, killsWhileIngesting: 1, killsBeforeSend: 1, killsAfterSend: 1 });
    for (const check of result.checks) expect.soft(check.ok, `${check.name}: ${check.detail}`).toBe(true);
    expect(result.checks.length, formatDrill(result)).toBeGreaterThanOrEqual(10);
    expect(result.ok, formatDrill(result)).toBe(true);
  }, 100_000);
});
