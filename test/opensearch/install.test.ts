import { Writable } from 'node:stream';
import type { Client } from '@opensearch-project/opensearch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { deleteExpiredEventIndices } from '../../pipeline/sinks/opensearch/delete-expired-event-indices.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import { openSearchMigrationHook } from '../../pipeline/sinks/opensearch/opensearch-migration-hook.ts';
import { retentionPolicy } from '../../pipeline/sinks/opensearch/retention-policy.ts';
import type { Settings } from '../../schemas/settings.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { assertionClient, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

describe('installOpenSearchIndices', () => {
  const prefix = testIndexPrefix();
  let settings: Settings;
  let client: Client;
  let assert: Client;

  beforeAll(async () => {
    const url = await ensureOpenSearch();
    settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
    client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
    assert = assertionClient(url);
  });

  afterAll(async () => {
    await dropIndices(assert, prefix);
    await Promise.all([client.close(), assert.close()]);
  });

  it('installs templates and the findings index, and installing twice changes nothing and fails nothing', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const first = await installOpenSearchIndices(client, settings, logger);
    const second = await installOpenSearchIndices(client, settings, logger);
    expect(first).toEqual({ templates: [`${prefix}-events`, `${prefix}-findings`], findingsIndex: `${prefix}-findings`, findingsIndexCreated: true, retention: 'not-installed', retentionDays: 400, eventIndices: [], foreignIndices: [] });
    expect(second).toEqual({ ...first, findingsIndexCreated: false });
    // The local node has no ISM plugin: said so, with the fallback to use.
    expect(lines.some((line) => line.includes('retention policy not installed') && line.includes('opensearch-retention'))).toBe(true);

    const templates = (await assert.transport.request({ method: 'GET', path: `/_index_template/${prefix}-*` })).body as { index_templates: { name: string; index_template: { version: number } }[] };
    expect(templates.index_templates.map((t) => t.name).sort()).toEqual([`${prefix}-events`, `${prefix}-findings`]);
  });

  it('gives a new monthly event index keyword and date mappings and the events alias', async () => {
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-2026.03`, body: {} });
    const mapping = (await assert.transport.request({ method: 'GET', path: `/${prefix}-events-2026.03/_mapping` })).body as Record<string, { mappings: { dynamic: string; properties: Record<string, { type: string }> } }>;
    const properties = mapping[`${prefix}-events-2026.03`]!.mappings.properties;
    expect(properties['@timestamp']!.type).toBe('date');
    expect(properties.accountName!.type).toBe('keyword');
    expect(properties.severity!.type).toBe('keyword');
    expect(properties.transition!.type).toBe('keyword');
    expect(properties.inScope!.type).toBe('boolean');
    const alias = await assert.transport.request({ method: 'GET', path: `/_alias/${prefix}-events` });
    expect(Object.keys(alias.body as object)).toEqual([`${prefix}-events-2026.03`]);

    const findings = (await assert.transport.request({ method: 'GET', path: `/${prefix}-findings/_mapping` })).body as Record<string, { mappings: { properties: Record<string, { type: string }> } }>;
    const fp = findings[`${prefix}-findings`]!.mappings.properties;
    expect([fp.deadline!.type, fp.openedAt!.type, fp.resolvedAt!.type]).toEqual(['date', 'date', 'date']);
    expect([fp.status!.type, fp.owner!.type, fp.timeToResolveHours!.type, fp.breached!.type]).toEqual(['keyword', 'keyword', 'double', 'boolean']);
  });

  it('reports the migrate step for people, retention included', async () => {
    const hook = openSearchMigrationHook(settings, pino({ level: 'silent' }))!;
    const lines = await hook();
    expect(lines[0]).toContain(`${prefix}-findings up to date`);
    expect(lines[1]).toMatch(/retention NOT installed.*opensearch-retention.*400 days/);
    expect(openSearchMigrationHook(loadSettings({}), pino({ level: 'silent' }))).toBeNull();
  });

  it('deletes event indices past retention without ISM (and a dry run deletes nothing)', async () => {
    for (const month of ['2024.01', '2025.01', '2025.02']) await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-${month}`, body: {} });
    const now = Date.parse('2026-03-20T00:00:00Z');
    const options = { indexPrefix: prefix, retentionDays: 400, now };
    // 2025.01 ends 2025-02-01, +400 days = 2026-03-08 (expired); 2025.02 ends 2025-03-01, +400 days = 2026-04-05 (kept).
    const dry = await deleteExpiredEventIndices(client, { ...options, dryRun: true });
    expect(dry).toEqual({ deleted: [`${prefix}-events-2024.01`, `${prefix}-events-2025.01`], kept: [`${prefix}-events-2025.02`, `${prefix}-events-2026.03`] });
    const real = await deleteExpiredEventIndices(client, options);
    expect(real).toEqual(dry);
    const left = (await assert.transport.request({ method: 'GET', path: `/_cat/indices/${prefix}-events-*`, querystring: { format: 'json', h: 'index' } })).body as { index: string }[];
    expect(left.map((r) => r.index).sort()).toEqual([`${prefix}-events-2025.02`, `${prefix}-events-2026.03`]);
  });

  it('builds an ISM policy deleting event indices after the retention days', () => {
    const policy = retentionPolicy('driftwatch', 400) as { policy: { states: { name: string; transitions: { conditions: { min_index_age: string } }[] }[]; ism_template: { index_patterns: string[] }[] } };
    expect(policy.policy.states[0]!.transitions[0]!.conditions.min_index_age).toBe('400d');
    expect(policy.policy.states[1]!.name).toBe('delete');
    // One pattern per leading digit: `driftwatch-events-x-…` (someone else's) is not managed.
    expect(policy.policy.ism_template[0]!.index_patterns).toEqual(Array.from({ length: 10 }, (_, d) => `driftwatch-events-${d}*`));
  });
});
