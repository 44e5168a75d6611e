import type { Client } from '@opensearch-project/opensearch';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { EventProperties, FindingProperties } from '../../pipeline/sinks/opensearch/index-templates.ts';
import { ForeignIndexError, installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import { openSearchMigrationHook } from '../../pipeline/sinks/opensearch/opensearch-migration-hook.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { assertionClient, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

type Mapping = { _meta?: Record<string, unknown>; dynamic?: string; properties?: Record<string, { type: string }> };

describe('migrate touches only indices driftwatch created', () => {
  const prefix = testIndexPrefix();
  const others = [testIndexPrefix(), testIndexPrefix(), testIndexPrefix()];
  let url: string;
  let assert: Client;

  const mappingOf = async (index: string): Promise<Mapping> => {
    const body = (await assert.transport.request({ method: 'GET', path: `/${index}/_mapping` })).body as Record<string, { mappings: Mapping }>;
    return body[index]!.mappings;
  };
  const aliasesOf = async (index: string): Promise<string[]> => {
    const body = (await assert.transport.request({ method: 'GET', path: `/${index}/_alias` })).body as Record<string, { aliases: Record<string, unknown> }>;
    return Object.keys(body[index]!.aliases);
  };
  const install = async (indexPrefix: string) => {
    const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: indexPrefix });
    const client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
    try {
      return await installOpenSearchIndices(client, settings);
    } finally {
      await client.close();
    }
  };

  beforeAll(async () => {
    url = await ensureOpenSearch();
    assert = assertionClient(url);
  });

  afterAll(async () => {
    for (const p of [prefix, ...others]) await dropIndices(assert, p);
    await assert.close();
  });

  it('leaves a foreign index behind a matching alias, a look-alike name and an unmarked exact name alone, and adopts an old driftwatch index', async () => {
    // Another application's indices, there before driftwatch, with mappings that conflict with ours.
    const conflicting = { mappings: { properties: { eventId: { type: 'long' }, severity: { type: 'integer' } } } };
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-victim`, body: { ...conflicting, aliases: { [`${prefix}-events-victim`]: {} } } });
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-x-2020.01`, body: conflicting });
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-2020.02`, body: conflicting });
    // An event index created by an older driftwatch: its template's shape, no mark yet.
    await assert.transport.request({
      method: 'PUT',
      path: `/${prefix}-events-2020.03`,
      body: { aliases: { [`${prefix}-events`]: {} }, mappings: { dynamic: false, properties: { eventId: { type: 'keyword' }, accountId: { type: 'keyword' } } } },
    });
    const before = await Promise.all([`${prefix}-victim`, `${prefix}-events-x-2020.01`, `${prefix}-events-2020.02`].map(mappingOf));

    const report = await install(prefix);
    expect(report.eventIndices).toEqual([`${prefix}-events-2020.03`]);
    expect(report.foreignIndices).toEqual([`${prefix}-events-2020.02`, `${prefix}-events-x-2020.01`, `${prefix}-victim`]);
    const after = await Promise.all([`${prefix}-victim`, `${prefix}-events-x-2020.01`, `${prefix}-events-2020.02`].map(mappingOf));
    expect(after).toEqual(before);
    for (const mapping of after) expect(mapping._meta).toBeUndefined();

    const adopted = await mappingOf(`${prefix}-events-2020.03`);
    expect(adopted._meta).toEqual({ managed_by: 'driftwatch', kind: 'events' });
    expect(Object.keys(adopted.properties ?? {}).sort()).toEqual(Object.keys(EventProperties).sort());

    // Installing again is just as careful (this used to fail on the conflicting mappings).
    await expect(install(prefix)).resolves.toMatchObject({ eventIndices: [`${prefix}-events-2020.03`] });
  });

  it('gives new monthly indices the mark and the alias, but not look-alike names created after the templates', async () => {
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-2026.04`, body: {} });
    await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-y-2026.04`, body: {} });
    expect((await mappingOf(`${prefix}-events-2026.04`))._meta).toEqual({ managed_by: 'driftwatch', kind: 'events' });
    expect(await aliasesOf(`${prefix}-events-2026.04`)).toEqual([`${prefix}-events`]);
    expect((await mappingOf(`${prefix}-events-y-2026.04`))._meta).toBeUndefined();
    expect(await aliasesOf(`${prefix}-events-y-2026.04`)).toEqual([]);
    const report = await install(prefix);
    expect(report.eventIndices).toEqual([`${prefix}-events-2020.03`, `${prefix}-events-2026.04`]);
    expect(report.foreignIndices).toContain(`${prefix}-events-y-2026.04`);
    const lines = await openSearchMigrationHook(loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix }), pino({ level: 'silent' }))!();
    expect(lines.at(-1)).toMatch(new RegExp(`left 4 index\\(es\\) alone that match ${prefix}-events-\\* but are not driftwatch's`));
  });

  it('refuses, in one line, a findings index that is an alias of another index or not ours, and changes neither', async () => {
    const [aliased, unmarked] = others as [string, string];
    await assert.transport.request({ method: 'PUT', path: `/${aliased}-theirs`, body: { mappings: { properties: { status: { type: 'integer' } } }, aliases: { [`${aliased}-findings`]: {} } } });
    await assert.transport.request({ method: 'PUT', path: `/${unmarked}-findings`, body: { mappings: { properties: { status: { type: 'integer' } } } } });

    const aliasError = (await install(aliased).catch((error: unknown) => error)) as Error;
    expect(aliasError).toBeInstanceOf(ForeignIndexError);
    expect(aliasError.message).toMatch(new RegExp(`^${aliased}-findings is an alias of ${aliased}-theirs, not driftwatch's findings index`));
    expect(aliasError.message).not.toContain('\n');
    expect((await mappingOf(`${aliased}-theirs`)).properties).toEqual({ status: { type: 'integer' } });

    const foreignError = (await install(unmarked).catch((error: unknown) => error)) as Error;
    expect(foreignError).toBeInstanceOf(ForeignIndexError);
    expect(foreignError.message).toMatch(/exists but was not created by driftwatch .*OPENSEARCH_INDEX_PREFIX/);
    expect((await mappingOf(`${unmarked}-findings`)).properties).toEqual({ status: { type: 'integer' } });
  });

  it('adopts a findings index an older driftwatch created (its strict mapping with findingId), adding the mark', async () => {
    const legacy = others[2]!;
    await assert.transport.request({ method: 'PUT', path: `/${legacy}-findings`, body: { mappings: { dynamic: false, properties: { findingId: { type: 'keyword' } } } } });
    const report = await install(legacy);
    expect(report.findingsIndexCreated).toBe(false);
    const mapping = await mappingOf(`${legacy}-findings`);
    expect(mapping._meta).toEqual({ managed_by: 'driftwatch', kind: 'findings' });
    expect(Object.keys(mapping.properties ?? {}).sort()).toEqual(Object.keys(FindingProperties).sort());
  });
});
