import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@opensearch-project/opensearch';
import { runCli } from '../support/cli.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { createTestDatabase } from '../support/postgres.ts';
import type { TestDatabase } from '../support/postgres.ts';
import { complianceEvent } from '../support/events.ts';
import { assertionClient, countDocs, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('redrive of documents OpenSearch refused', () => {
  const prefix = testIndexPrefix();
  let database: TestDatabase;
  let client: Client;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    client = assertionClient(url);
    database = await createTestDatabase();
    env = { DATABASE_URL: database.url, OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix };
  });

  afterAll(async () => {
    await dropIndices(client, prefix);
    await client?.close();
    await database?.drop();
  });

  it('re-sends a sink dead letter to that sink only once the cause is fixed, without touching state twice', async () => {
    // A month index created by hand with a wrong mapping: resourceId as a number refuses bucket names.
    await client.transport.request({ method: 'PUT', path: `/${prefix}-events-2026.01`, body: { mappings: { properties: { resourceId: { type: 'long' } } } } });
    const dir = await mkdtemp(join(tmpdir(), 'dw-redrive-'));
    const at = Date.parse('2026-01-15T10:00:00Z');
    const events = [
      complianceEvent({ id: 'redrive-1', resourceId: 'bucket-a', compliance: 'NON_COMPLIANT', at }),
      complianceEvent({ id: 'redrive-2', resourceId: '12345', compliance: 'NON_COMPLIANT', at }),
    ];
    await writeFile(join(dir, 'events.ndjson'), events.map((e) => JSON.stringify(e)).join('\n'));

    const replay = await runCli(['replay', '--file', join(dir, 'events.ndjson'), '--json'], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(JSON.parse(replay.stdout)).toMatchObject({ accepted: 2, opened: 2, deadLetters: 1 });
    const letters = JSON.parse((await runCli(['dead-letters', '--json'], env)).stdout) as { stage: string; reason: string }[];
    expect(letters).toHaveLength(1);
    expect(letters[0]!.stage).toBe('sink:opensearch');
    expect(letters[0]!.reason).toMatch(/mapper_parsing_exception|failed to parse/);

    // Still broken: the redrive fails again and says why.
    const again = JSON.parse((await runCli(['redrive', '--json'], env)).stdout);
    expect(again).toMatchObject({ considered: 1, redriven: 0, failedAgain: 1 });

    // The fix: drop the bad index; the templates give the next one the right mapping.
    await client.indices.delete({ index: `${prefix}-events-2026.01` });
    const fixed = JSON.parse((await runCli(['redrive', '--include-failed', '--json'], env)).stdout);
    expect(fixed).toMatchObject({ considered: 1, redriven: 1, failedAgain: 0 });
    await client.indices.refresh({ index: `${prefix}-events-*` });
    expect(await countDocs(client, `${prefix}-events-*`, { term: { eventId: 'redrive-1' } })).toBe(1);
    // State was committed once at replay; the redrive did not open anything again.
    const findings = await database.db.selectFrom('findings').select('finding_id').execute();
    expect(findings).toHaveLength(2);
  });
});
