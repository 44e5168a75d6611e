/**
 * Writes driftwatch-dashboards.ndjson: OpenSearch Dashboards saved objects (index patterns, visualizations, saved
 * searches, two dashboards) importable through Dashboards Management -> Saved objects -> Import, or
 *   curl -X POST 'http://localhost:5601/api/saved_objects/_import?overwrite=true' -H 'osd-xsrf: true' \
 *        --form file=@infra/opensearch-dashboards/driftwatch-dashboards.ndjson
 *
 * Regenerate for another index prefix: npx tsx infra/opensearch-dashboards/build-saved-objects.ts [prefix] [out-file]
 * Objects use the 7.10 saved-object format OpenSearch Dashboards 2.x reads (references + *RefName), with fixed ids
 * derived from the prefix: importing again overwrites instead of duplicating, and the boards of two prefixes (two
 * deployments on one cluster) coexist.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;
interface SavedObject {
  readonly id: string;
  readonly type: 'index-pattern' | 'visualization' | 'search' | 'dashboard';
  readonly attributes: Json;
  readonly references: readonly { name: string; type: string; id: string }[];
  readonly migrationVersion: Record<string, string>;
}

const prefix = process.argv[2] ?? 'driftwatch';
const out = process.argv[3] ?? fileURLToPath(new URL('./driftwatch-dashboards.ndjson', import.meta.url));
/** Every id starts with the index prefix: `<prefix>-vis-…`, `<prefix>-dashboard-…`. */
const id = (name: string): string => `${prefix}-${name}`;
const EventsPattern = id('index-pattern-events');
const FindingsPattern = id('index-pattern-findings');
const IndexRef = 'kibanaSavedObjectMeta.searchSourceJSON.index';

function indexPattern(id: string, title: string, timeFieldName?: string): SavedObject {
  // No `fields`: Dashboards reads them from the mapping the first time the pattern is used.
  return { id, type: 'index-pattern', attributes: { title, ...(timeFieldName ? { timeFieldName } : {}) }, references: [], migrationVersion: { 'index-pattern': '7.6.0' } };
}

function searchSource(query: string): string {
  return JSON.stringify({ query: { query, language: 'lucene' }, filter: [], indexRefName: IndexRef });
}

function visualization(name: string, title: string, pattern: string, query: string, vis: { type: string; params: Json; aggs: Json[] }, description = ''): SavedObject {
  return {
    id: id(name),
    type: 'visualization',
    attributes: {
      title,
      visState: JSON.stringify({ title, type: vis.type, params: vis.params, aggs: vis.aggs }),
      uiStateJSON: '{}',
      description,
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: searchSource(query) },
    },
    references: [{ name: IndexRef, type: 'index-pattern', id: pattern }],
    migrationVersion: { visualization: '7.10.0' },
  };
}

function savedSearch(name: string, title: string, pattern: string, query: string, columns: string[], sort: [string, 'asc' | 'desc'][]): SavedObject {
  return {
    id: id(name),
    type: 'search',
    attributes: { title, description: '', hits: 0, columns, sort, version: 1, kibanaSavedObjectMeta: { searchSourceJSON: searchSource(query) } },
    references: [{ name: IndexRef, type: 'index-pattern', id: pattern }],
    migrationVersion: { search: '7.9.3' },
  };
}

const count = (label: string): Json => ({ id: '1', enabled: true, type: 'count', schema: 'metric', params: { customLabel: label } });
const terms = (id: string, schema: string, field: string, size: number, label: string, orderBy = '1'): Json => ({
  id, enabled: true, type: 'terms', schema,
  params: { field, size, order: 'desc', orderBy, otherBucket: false, otherBucketLabel: 'Other', missingBucket: false, missingBucketLabel: 'Missing', customLabel: label },
});

function metric(label: string): { type: string; params: Json; aggs: Json[] } {
  return {
    type: 'metric',
    params: {
      addTooltip: true, addLegend: false, type: 'metric',
      metric: {
        percentageMode: false, useRanges: false, colorSchema: 'Green to Red', metricColorMode: 'None', colorsRange: [{ from: 0, to: 10_000 }],
        labels: { show: true }, invertColors: false, style: { bgFill: '#000', bgColor: false, labelColor: false, subText: '', fontSize: 60 },
      },
    },
    aggs: [count(label)],
  };
}

function pie(field: string, label: string): { type: string; params: Json; aggs: Json[] } {
  return {
    type: 'pie',
    params: { type: 'pie', addTooltip: true, addLegend: true, legendPosition: 'right', isDonut: true, labels: { show: true, values: true, last_level: true, truncate: 100 } },
    aggs: [count('Findings'), terms('2', 'segment', field, 10, label)],
  };
}

function bars(kind: 'horizontal_bar' | 'histogram', metricAgg: Json, metricLabel: string, bucket: Json): { type: string; params: Json; aggs: Json[] } {
  const horizontal = kind === 'horizontal_bar';
  return {
    type: kind,
    params: {
      type: 'histogram',
      grid: { categoryLines: false },
      categoryAxes: [{ id: 'CategoryAxis-1', type: 'category', position: horizontal ? 'left' : 'bottom', show: true, style: {}, scale: { type: 'linear' },
        labels: { show: true, rotate: 0, filter: !horizontal, truncate: 200 }, title: {} }],
      valueAxes: [{ id: 'ValueAxis-1', name: horizontal ? 'BottomAxis-1' : 'LeftAxis-1', type: 'value', position: horizontal ? 'bottom' : 'left', show: true, style: {},
        scale: { type: 'linear', mode: 'normal' }, labels: { show: true, rotate: 0, filter: false, truncate: 100 }, title: { text: metricLabel } }],
      seriesParams: [{ show: true, type: 'histogram', mode: 'normal', data: { label: metricLabel, id: '1' }, valueAxis: 'ValueAxis-1', drawLinesBetweenPoints: true, lineWidth: 2, showCircles: true }],
      addTooltip: true, addLegend: false, legendPosition: 'right', times: [], addTimeMarker: false, labels: { show: false },
      thresholdLine: { show: false, value: 10, width: 1, style: 'full', color: '#E7664C' },
    },
    aggs: [metricAgg, bucket],
  };
}

function table(aggs: Json[], perPage = 20): { type: string; params: Json; aggs: Json[] } {
  return {
    type: 'table',
    params: { perPage, showPartialRows: false, showMetricsAtAllLevels: false, sort: { columnIndex: null, direction: null }, showTotal: true, totalFunc: 'sum', percentageCol: '' },
    aggs,
  };
}

function trend(): { type: string; params: Json; aggs: Json[] } {
  return {
    type: 'line',
    params: {
      type: 'line',
      grid: { categoryLines: false },
      categoryAxes: [{ id: 'CategoryAxis-1', type: 'category', position: 'bottom', show: true, style: {}, scale: { type: 'linear' }, labels: { show: true, filter: true, truncate: 100 }, title: {} }],
      valueAxes: [{ id: 'ValueAxis-1', name: 'LeftAxis-1', type: 'value', position: 'left', show: true, style: {}, scale: { type: 'linear', mode: 'normal' },
        labels: { show: true, rotate: 0, filter: false, truncate: 100 }, title: { text: 'Evaluations' } }],
      seriesParams: [{ show: true, type: 'line', mode: 'normal', data: { label: 'Evaluations', id: '1' }, valueAxis: 'ValueAxis-1', drawLinesBetweenPoints: true,
        lineWidth: 2, interpolate: 'linear', showCircles: true }],
      addTooltip: true, addLegend: true, legendPosition: 'right', times: [], addTimeMarker: false, labels: {},
      thresholdLine: { show: false, value: 10, width: 1, style: 'full', color: '#E7664C' },
    },
    aggs: [
      count('Evaluations'),
      { id: '2', enabled: true, type: 'date_histogram', schema: 'segment',
        params: { field: '@timestamp', useNormalizedOpenSearchInterval: true, scaleMetricValues: false, interval: 'd', drop_partials: false, min_doc_count: 1, extended_bounds: {}, customLabel: 'Day' } },
      { id: '3', enabled: true, type: 'filters', schema: 'group',
        params: { filters: [{ input: { query: 'compliance:COMPLIANT', language: 'lucene' }, label: 'Compliant' }, { input: { query: 'compliance:NON_COMPLIANT', language: 'lucene' }, label: 'Non-compliant' }] } },
    ],
  };
}

/**
 * A dropdown filter control (Dashboards' "Controls" visualization): picking a team filters every panel of the board
 * whose index has the field, events and findings alike. The index pattern is a reference (`control_0_index_pattern`),
 * as the import format wants.
 */
function teamControl(name: string, title: string, pattern: string): SavedObject {
  const control = {
    id: '1', fieldName: 'owner', parent: '', label: 'Team (owner)', type: 'list',
    options: { type: 'terms', multiselect: true, dynamicOptions: true, size: 100, order: 'desc' },
    indexPatternRefName: 'control_0_index_pattern',
  };
  return {
    id: id(name),
    type: 'visualization',
    attributes: {
      title,
      visState: JSON.stringify({ title, type: 'input_control_vis', params: { controls: [control], updateFiltersOnChange: true, useTimeFilter: false, pinFilters: false }, aggs: [] }),
      uiStateJSON: '{}',
      description: 'Pick one or more teams: every panel of the board shows only their findings.',
      version: 1,
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'lucene' }, filter: [] }) },
    },
    references: [{ name: 'control_0_index_pattern', type: 'index-pattern', id: pattern }],
    migrationVersion: { visualization: '7.10.0' },
  };
}

const Open = 'status:open AND NOT excepted:true';
const OpenPastDeadline = `${Open} AND deadline:<now`;
const InScope = 'inScope:true AND NOT transition:stale';

const objects: SavedObject[] = [
  indexPattern(EventsPattern, `${prefix}-events-*`, '@timestamp'),
  // Findings are current state: no time field, so the time picker never hides an old open finding.
  indexPattern(FindingsPattern, `${prefix}-findings`),

  visualization('vis-open-findings', `${prefix} · Open findings`, FindingsPattern, Open, metric('Open findings')),
  visualization('vis-past-deadline', `${prefix} · Open past deadline`, FindingsPattern, OpenPastDeadline, metric('Past deadline')),
  visualization('vis-open-by-severity', `${prefix} · Open findings by severity`, FindingsPattern, Open, pie('severity', 'Severity')),
  visualization('vis-open-by-team', `${prefix} · Open findings by team`, FindingsPattern, Open,
    bars('horizontal_bar', count('Open findings'), 'Open findings', terms('2', 'segment', 'owner', 25, 'Team'))),
  visualization('vis-compliance-trend', `${prefix} · Daily evaluations: compliant vs non-compliant`, EventsPattern, InScope, trend(),
    'In-scope evaluation results per day (stale results excluded).'),
  visualization('vis-mttr-by-team', `${prefix} · Mean time to resolve by team (hours)`, FindingsPattern, 'status:resolved',
    bars('horizontal_bar', { id: '1', enabled: true, type: 'avg', schema: 'metric', params: { field: 'timeToResolveHours', customLabel: 'Mean hours to resolve' } },
      'Mean hours to resolve', terms('2', 'segment', 'owner', 25, 'Team'))),
  visualization('vis-accounts-table', `${prefix} · Open findings by account`, FindingsPattern, Open,
    table([count('Open'), terms('2', 'bucket', 'accountName', 200, 'Account'), terms('3', 'bucket', 'owner', 1, 'Owner'), terms('4', 'bucket', 'environment', 1, 'Environment')])),

  visualization('vis-rules-table', `${prefix} · Open findings by rule and severity`, FindingsPattern, Open,
    table([count('Open'), terms('2', 'bucket', 'rule', 50, 'Rule'), terms('3', 'bucket', 'severity', 4, 'Severity')])),
  visualization('vis-resource-types', `${prefix} · Resource types with most open findings`, FindingsPattern, Open,
    bars('horizontal_bar', count('Open findings'), 'Open findings', terms('2', 'segment', 'resourceType', 15, 'Resource type'))),
  visualization('vis-open-by-region', `${prefix} · Open findings by region`, FindingsPattern, Open,
    bars('histogram', count('Open findings'), 'Open findings', terms('2', 'segment', 'region', 20, 'Region'))),
  savedSearch('search-past-deadline', `${prefix} · Open findings past deadline (most overdue first)`, FindingsPattern, OpenPastDeadline,
    ['severity', 'accountName', 'owner', 'rule', 'resourceType', 'resourceId', 'region', 'deadline', 'openedAt'], [['deadline', 'asc']]),
  savedSearch('search-open-critical-high', `${prefix} · Open Critical and High findings`, FindingsPattern, `${Open} AND severity:(Critical OR High)`,
    ['severity', 'accountName', 'owner', 'rule', 'resourceType', 'resourceId', 'region', 'openedAt', 'deadline'], [['severityRank', 'desc'], ['openedAt', 'asc']]),
  teamControl('vis-team-filter', `${prefix} · Team filter`, FindingsPattern),
];

interface Panel { readonly ref: SavedObject; readonly x: number; readonly y: number; readonly w: number; readonly h: number }

function dashboard(name: string, title: string, description: string, panels: readonly Panel[]): SavedObject {
  return {
    id: id(name),
    type: 'dashboard',
    attributes: {
      title,
      description,
      hits: 0,
      panelsJSON: JSON.stringify(
        panels.map((p, i) => ({ version: '2.19.0', gridData: { x: p.x, y: p.y, w: p.w, h: p.h, i: String(i + 1) }, panelIndex: String(i + 1), embeddableConfig: {}, panelRefName: `panel_${i}` })),
      ),
      optionsJSON: JSON.stringify({ hidePanelTitles: false, useMargins: true }),
      version: 1,
      timeRestore: true,
      timeFrom: 'now-30d',
      timeTo: 'now',
      refreshInterval: { pause: false, value: 300_000 },
      kibanaSavedObjectMeta: { searchSourceJSON: JSON.stringify({ query: { query: '', language: 'lucene' }, filter: [] }) },
    },
    references: panels.map((p, i) => ({ name: `panel_${i}`, type: p.ref.type, id: p.ref.id })),
    migrationVersion: { dashboard: '7.9.3' },
  };
}

const byId = (name: string): SavedObject => objects.find((o) => o.id === id(name)) ?? (() => { throw new Error(`no saved object ${id(name)}`); })();
objects.push(
  dashboard('dashboard-organisation', `${prefix} · Organisation compliance`,
    'Compliance across the whole estate: what is open, how it trends, how fast each team fixes it.', [
      { ref: byId('vis-open-findings'), x: 0, y: 0, w: 12, h: 8 },
      { ref: byId('vis-past-deadline'), x: 12, y: 0, w: 12, h: 8 },
      { ref: byId('vis-open-by-severity'), x: 24, y: 0, w: 24, h: 8 },
      { ref: byId('vis-compliance-trend'), x: 0, y: 8, w: 48, h: 14 },
      { ref: byId('vis-open-by-team'), x: 0, y: 22, w: 24, h: 16 },
      { ref: byId('vis-mttr-by-team'), x: 24, y: 22, w: 24, h: 16 },
      { ref: byId('vis-accounts-table'), x: 0, y: 38, w: 48, h: 18 },
    ]),
  dashboard('dashboard-operators', `${prefix} · Non-compliance (operators)`,
    'The work queue: overdue findings first, then where non-compliance concentrates. Pick a team at the top for its own view.', [
      { ref: byId('vis-team-filter'), x: 0, y: 0, w: 48, h: 5 },
      { ref: byId('vis-past-deadline'), x: 0, y: 5, w: 12, h: 8 },
      { ref: byId('vis-open-findings'), x: 12, y: 5, w: 12, h: 8 },
      { ref: byId('vis-open-by-severity'), x: 24, y: 5, w: 24, h: 8 },
      { ref: byId('search-past-deadline'), x: 0, y: 13, w: 48, h: 16 },
      { ref: byId('vis-rules-table'), x: 0, y: 29, w: 24, h: 18 },
      { ref: byId('vis-resource-types'), x: 24, y: 29, w: 24, h: 18 },
      { ref: byId('vis-open-by-region'), x: 0, y: 47, w: 24, h: 14 },
      { ref: byId('search-open-critical-high'), x: 24, y: 47, w: 24, h: 14 },
    ]),
);

writeFileSync(out, objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
process.stdout.write(`wrote ${objects.length} saved objects for index prefix "${prefix}" to ${out}\n`);
