import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalystQuery } from '../../pipeline/analytics/analyst-query.ts';
import { QueryTimeoutError, runAnalystQuery } from '../../pipeline/analytics/run-analyst-query.ts';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { runCli } from '../support/cli.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { assertionClient, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

describe('query: bounded windows and sizes, and no search left running after a timeout', () => {
  const prefix = testIndexPrefix();
  let url: string;
  let assert: Client;

  beforeAll(async () => {
    url = await ensureOpenSearch();
    assert = assertionClient(url);
  });

  afterAll(async () => {
    await dropIndices(assert, prefix);
    await assert.close();
  });

  it.each([
    [['compliance-trend', '--days', '100000000'], /^error: option '--days <n>' argument '100000000' is invalid\. expected a whole number from 1 to 3,660\n$/],
    [['compliance-trend', '--days', '0'], /argument '0' is invalid\. expected a whole number from 1 to 3,660/],
    [['past-deadline', '--limit', '1e9'], /^error: option '--limit <n>' argument '1e9' is invalid\. expected a whole number from 1 to 1,000\n$/],
    [['past-deadline', '--limit', '50000'], /expected a whole number from 1 to 1,000/],
    [['compliance-trend', '--at', '275760-09-13'], /^error: option '--at <time>' argument '275760-09-13' is invalid\. expected an ISO time/],
    [['compliance-trend', '--at', '0001-01-01T00:00:00Z'], /is invalid\. expected a time between 1980 and 9999/],
  ])('refuses %j in one line naming the option, before asking the cluster', async (args, message) => {
    const result = await runCli(['query', ...args], { OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/HTTP 400|Invalid time value/);
  });

  it('accepts the largest window and size and answers (empty indices give empty rows)', async () => {
    const result = await runCli(['query', 'compliance-trend', '--days', '3660', '--json'], { OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ query: 'compliance-trend', days: 3660 });
  });

  it('cancels the search task on the cluster when the query times out', async () => {
    const index = `${prefix}-burn`;
    await assert.transport.request({ method: 'PUT', path: `/${index}`, body: { settings: { number_of_shards: 1, number_of_replicas: 0 } } });
    const bulk = Array.from({ length: 20_000 }, (_, i) => `{"index":{}}\n{"n":${i}}\n`).join('');
    await assert.transport.request({ method: 'POST', path: `/${index}/_bulk`, body: bulk, querystring: { refresh: 'true' } });
    // A query that costs seconds of CPU on the cluster: a Painless loop per document.
    const slow: AnalystQuery = {
      name: 'slow',
      title: 'slow',
      description: 'burns cluster time',
      columns: [],
      defaultDays: null,
      search: () => ({
        index,
        body: { size: 0, track_total_hits: true, query: { script: { script: { source: 'long s = 0; for (int i = 0; i < 900000; i++) { s += i; } return s > 0;' } } } },
      }),
      read: () => ({ rows: [] }),
    };
    const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    const client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
    const started = Date.now();
    const error = await runAnalystQuery(client, slow, { indexPrefix: prefix, now: Date.now(), days: 30, limit: 20 }, (t) => t, { timeoutMs: 300 }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    await client.close();
    expect(error).toBeInstanceOf(QueryTimeoutError);
    expect(error?.message).toMatch(/^query slow took longer than 0\.3 s \(OPENSEARCH_REQUEST_TIMEOUT_MS\) and was cancelled.*try a shorter --days/);
    // Uncancelled, this search runs for about 8 s on the local node; cancelled, it is gone from the task list within 2 s.
    let running = 1;
    for (let attempt = 0; attempt < 10 && running > 0; attempt++) {
      const tasks = (await assert.transport.request({ method: 'GET', path: '/_tasks', querystring: { actions: '*search*', detailed: true, group_by: 'none' } })).body as {
        tasks: { description?: string }[];
      };
      running = tasks.tasks.filter((task) => task.description?.includes(index)).length;
      if (running > 0) await sleep(200);
    }
    expect(running).toBe(0);
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});
