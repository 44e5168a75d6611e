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
import { savedObjectProblems } from './support/saved-object-format.ts';

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
const isControl = (o: SavedObject) => o.type === 'visualization' && (JSON.parse(String(o.attributes.visState)) as { type: string }).type === 'input_control_vis';
const generate = (prefix: string): string => {
  const out = join(mkdtempSync(join(tmpdir(), 'dw-osd-')), 'out.ndjson');
  execFileSync(process.execPath, ['--import', 'tsx', generator, prefix, out], { stdio: 'ignore' });
  return readFileSync(out, 'utf8');
};
const Aggregatable = new Set(['keyword', 'date', 'boolean', 'byte', 'integer', 'long', 'double']);

describe('OpenSearch Dashboards saved objects (infra/opensearch-dashboards)', () => {
  it('is what the generator writes (the ndjson is not edited by hand)', () => {
    expect(generate('driftwatch')).toBe(readFileSync(file, 'utf8'));
  });

  it('follows the Dashboards saved-object import format, for any prefix', () => {
    expect(savedObjectProblems(readFileSync(file, 'utf8'), 'driftwatch')).toEqual([]);
    expect(savedObjectProblems(generate('acme-prod'), 'acme-prod')).toEqual([]);
  });

  it('gives two prefixes disjoint ids, so both deployments\' boards coexist in one Dashboards', () => {
    const ids = (text: string) => text.trimEnd().split('\n').map((line) => (JSON.parse(line) as SavedObject).id);
    const a = ids(generate('acme-prod'));
    const b = ids(generate('acme-stage'));
    expect(a.filter((x) => b.includes(x))).toEqual([]);
    expect(a.every((x) => x.startsWith('acme-prod-'))).toBe(true);
    const other = generate('acme-stage');
    expect(other).toContain('"title":"acme-stage-findings"');
    expect(other).not.toContain('driftwatch-findings');
  });

  it('the validator catches what the import refuses (it is not a rubber stamp)', () => {
    const line = (o: Record<string, unknown>) => JSON.stringify(o);
    const pattern = { id: 'p-ip', type: 'index-pattern', attributes: { title: 'p-*' }, references: [], migrationVersion: { 'index-pattern': '7.6.0' } };
    const vis = (over: Record<string, unknown>) => ({
      id: 'p-vis', type: 'visualization', migrationVersion: { visualization: '7.10.0' },
      attributes: { title: 'v', visState: JSON.stringify({ title: 'v', type: 'metric', params: {}, aggs: [] }), uiStateJSON: '{}',
        kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ indexRefName: 'kibanaSavedObjectMeta.searchSourceJSON.index' }) } },
      references: [{ name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: 'p-ip' }],
      ...over,
    });
    expect(savedObjectProblems([line(pattern), line(vis({}))].join('\n'), 'p')).toEqual([]);
    expect(savedObjectProblems([line(pattern), line(vis({ references: [{ name: 'kibanaSavedObjectMeta.searchSourceJSON.index', type: 'index-pattern', id: 'gone' }] }))].join('\n'), 'p')).toEqual([
      'visualization p-vis: missing reference index-pattern gone',
    ]);
    expect(savedObjectProblems([line(pattern), line(vis({ attributes: { title: 'v', visState: '{not json', uiStateJSON: '{}', kibanaSavedObjectMeta: { searchSourceJSON: '{"index":"p-ip"}' } }, references: [] }))].join('\n'), 'p')).toEqual([
      'visualization p-vis: searchSourceJSON names an index inline (use indexRefName and a reference)',
      'visualization p-vis: visState is not valid JSON',
    ]);
    expect(savedObjectProblems([line(pattern), line(pattern)].join('\n'), 'q')).toContain('index-pattern:p-ip: duplicate type and id');
  });

  it('gives the operators\' board a team (owner) filter control on the findings', () => {
    const operators = objects.find((o) => o.type === 'dashboard' && o.attributes.title === 'driftwatch · Non-compliance (operators)')!;
    const controls = operators.references.map((r) => byId.get(r.id)!).filter(isControl);
    expect(controls).toHaveLength(1);
    const vis = JSON.parse(String(controls[0]!.attributes.visState)) as { params: { controls: { fieldName: string; type: string }[] } };
    expect(vis.params.controls).toEqual([expect.objectContaining({ fieldName: 'owner', type: 'list' })]);
    expect(patternOf(controls[0]!).attributes.title).toBe('driftwatch-findings');
    expect(FindingProperties.owner.type).toBe('keyword');
    expect(EventProperties.owner.type).toBe('keyword');
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
      if ((o.type === 'visualization' && !isControl(o)) || o.type === 'search') {
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
      for (const o of objects.filter((x) => (x.type === 'visualization' && !isControl(x)) || x.type === 'search')) {
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
