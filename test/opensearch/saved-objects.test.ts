import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../pipeline/config/load-settings.ts';
import { createOpenSearchClient } from '../../pipeline/sinks/opensearch/client.ts';
import { openSearchConfigFromSettings } from '../../pipeline/sinks/opensearch/config.ts';
import { EventProperties, FindingProperties } from '../../pipeline/sinks/opensearch/index-templates.ts';
import { installOpenSearchIndices } from '../../pipeline/sinks/opensearch/install-opensearch-indices.ts';
import { ensureOpenSearch } from '../support/opensearch.ts';
import { assertionClient, dropIndices, testIndexPrefix } from './support/opensearch-test-index.ts';

const file = fileURLToPath(new URL('../../infra/opensearch-dashboards/driftwatch-dashboards.ndjson', import.meta.url));
const generator = fileURLToPath(new URL('../../infra/opensearch-dashboards/build-saved-objects.ts', import.meta.url));

interface SavedObject {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  references: { name: string; type: string; id: string }[];
  migrationVersion: Record<string, string>;
}

const objects = readFileSync(file, 'utf8').trimEnd().split('\n').map((line) => JSON.parse(line) as SavedObject);
const byId = new Map(objects.map((o) => [o.id, o]));
const searchSource = (o: SavedObject) =>
  JSON.parse(String((o.attributes.kibanaSavedObjectMeta as { searchSourceJSON: string }).searchSourceJSON)) as { query: { query: string; language: string }; indexRefName?: string };
const patternOf = (o: SavedObject) => byId.get(o.references.find((r) => r.type === 'index-pattern')!.id)!;
const Aggregatable = new Set(['keyword', 'date', 'boolean', 'byte', 'integer', 'long', 'double']);

describe('OpenSearch Dashboards saved objects (infra/opensearch-dashboards)', () => {
  it('is what the generator writes (the ndjson is not edited by hand)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'dw-osd-')), 'out.ndjson');
    execFileSync(process.execPath, ['--import', 'tsx', generator, 'driftwatch', out], { stdio: 'ignore' });
    expect(readFileSync(out, 'utf8')).toBe(readFileSync(file, 'utf8'));
  });

  it('holds index patterns, visualizations, saved searches and the two dashboards, with unique ids', () => {
    expect(new Set(objects.map((o) => o.id)).size).toBe(objects.length);
    expect(objects.filter((o) => o.type === 'index-pattern').map((o) => o.attributes.title)).toEqual(['driftwatch-events-*', 'driftwatch-findings']);
    expect(objects.filter((o) => o.type === 'dashboard').map((o) => o.attributes.title)).toEqual([
      'driftwatch · Organisation compliance',
      'driftwatch · Non-compliance (operators)',
    ]);
    expect(objects.filter((o) => o.type === 'visualization').length).toBeGreaterThanOrEqual(6);
    for (const o of objects) expect(Object.keys(o.migrationVersion)).toEqual([o.type]);
  });

  it('resolves every reference inside the file: panels to visualizations/searches, sources to index patterns', () => {
    for (const o of objects) {
      for (const ref of o.references) expect(byId.get(ref.id)?.type, `${o.id} -> ${ref.id}`).toBe(ref.type);
      if (o.type === 'visualization' || o.type === 'search') {
        expect(searchSource(o).indexRefName).toBe('kibanaSavedObjectMeta.searchSourceJSON.index');
        expect(o.references.map((r) => r.name)).toEqual(['kibanaSavedObjectMeta.searchSourceJSON.index']);
      }
      if (o.type === 'dashboard') {
        const panels = JSON.parse(String(o.attributes.panelsJSON)) as { panelRefName: string; panelIndex: string; gridData: { i: string; w: number } }[];
        expect(panels.map((p) => p.panelRefName)).toEqual(o.references.map((r) => r.name));
        for (const p of panels) {
          expect(p.gridData.i).toBe(p.panelIndex);
          expect(p.gridData.w).toBeLessThanOrEqual(48);
        }
      }
    }
  });

  it('aggregates only on fields the index templates map as aggregatable', () => {
    for (const o of objects.filter((x) => x.type === 'visualization')) {
      const vis = JSON.parse(String(o.attributes.visState)) as { title: string; aggs: { params: { field?: string } }[] };
      expect(vis.title).toBe(o.attributes.title);
      const properties: Record<string, { type: string }> = patternOf(o).attributes.title === 'driftwatch-findings' ? FindingProperties : EventProperties;
      for (const agg of vis.aggs) {
        if (agg.params.field) expect(Aggregatable.has(properties[agg.params.field]?.type ?? 'missing'), `${o.id}: ${agg.params.field}`).toBe(true);
      }
    }
    for (const o of objects.filter((x) => x.type === 'search')) {
      const properties: Record<string, unknown> = FindingProperties;
      for (const column of o.attributes.columns as string[]) expect(properties[column], `${o.id}: ${column}`).toBeDefined();
    }
  });

  describe('queries run on real indices', () => {
    const prefix = testIndexPrefix();
    let client: Client;
    let assert: Client;

    beforeAll(async () => {
      const url = await ensureOpenSearch();
      const settings = loadSettings({ OPENSEARCH_URL: url, OPENSEARCH_INDEX_PREFIX: prefix });
      client = createOpenSearchClient(openSearchConfigFromSettings(settings)!);
      assert = assertionClient(url);
      await installOpenSearchIndices(client, settings);
      await assert.transport.request({ method: 'PUT', path: `/${prefix}-events-2026.03`, body: {} });
    });

    afterAll(async () => {
      await dropIndices(assert, prefix);
      await Promise.all([client.close(), assert.close()]);
    });

    it('every saved query parses as Lucene against its index pattern', async () => {
      for (const o of objects.filter((x) => x.type === 'visualization' || x.type === 'search')) {
        const { query } = searchSource(o);
        expect(query.language).toBe('lucene');
        const index = String(patternOf(o).attributes.title).replace(/^driftwatch/, prefix);
        const response = await assert.transport.request(
          { method: 'POST', path: `/${index}/_validate/query`, body: { query: { query_string: { query: query.query, analyze_wildcard: true } } }, querystring: { explain: true } },
        );
        expect((response.body as { valid: boolean }).valid, `${o.id}: ${query.query}`).toBe(true);
      }
    });
  });
});
