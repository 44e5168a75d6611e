import { html } from 'hono/html';
import { DateTime } from 'luxon';
import type { RankingEntry } from '../../report/monthly-report.ts';
import type { OrganisationBoard, TrendPoint } from '../queries/organisation-board.ts';
import { chartData, formatCount, paths, percent } from './format.ts';
import type { Html } from './format.ts';
import { breakdownTable, chart, openFigures, severityTable } from './tables.ts';
import type { ViewContext } from './tables.ts';

export function organisationView(board: OrganisationBoard, v: ViewContext, trendDays: number): Html {
  const snapshot = board.snapshot;
  const rate = html`<div class="figure"><span class="value" data-figure="rate">${percent(snapshot?.rate)}</span><span class="label">compliant${
    snapshot ? html` (${formatCount(snapshot.compliant)} of ${formatCount(snapshot.evaluated)} rule-resource pairs, ${v.format.time(snapshot.takenAt)})` : html` (no snapshot yet)`
  }</span></div>`;
  return html`<h1>Organisation</h1>
${openFigures(board.totals, rate)}
${snapshot === null
    ? html`<p class="muted">No daily compliance snapshot yet: <code>driftwatch run</code> takes one every scheduler pass (<code>DRIFTWATCH_SCHEDULE_INTERVAL_MS</code>).</p>`
    : ''}
<div class="charts">
${trendChart('trend', `Compliance, last ${trendDays} days`, board.trend, trendDays)}
${severityChart('severity-mix', 'Open findings by severity', board.bySeverity)}
</div>
<section class="ranking" id="ranking">
<h2>Ranking, ${board.ranking.month} so far</h2>
<div class="columns">
${rankingList('Best', 'ranking-highest', board.ranking.highest, (e) => percent(e.complianceRate))}
${rankingList('Most improved', 'ranking-improvers', board.ranking.improvers, (e) => `${e.change !== null && e.change > 0 ? '+' : ''}${e.change ?? '—'} points`)}
${rankingList('Lowest', 'ranking-lowest', board.ranking.lowest, (e) => percent(e.complianceRate))}
</div>
</section>
<section><h2>Open findings by severity</h2>${severityTable(board.bySeverity)}</section>
<section><h2>By team</h2>${breakdownTable(board.byTeam, { id: 'by-team', caption: 'Open findings per owning team', keyHeader: 'Team', href: paths.team, rates: false })}</section>
<section><h2>By account</h2>${breakdownTable(board.byAccount, { id: 'by-account', caption: 'Compliance (latest snapshot) and open findings per account', keyHeader: 'Account', rates: true, showKey: true })}</section>
<section><h2>By rule</h2>${breakdownTable(board.byRule, { id: 'by-rule', caption: 'Compliance and open findings per rule', keyHeader: 'Rule', href: paths.rule, rates: true, showKey: true })}</section>
<section><h2>By region</h2>${breakdownTable(board.byRegion, { id: 'by-region', caption: 'Open findings per region', keyHeader: 'Region', rates: false })}</section>`;
}

function rankingList(title: string, id: string, entries: readonly RankingEntry[], figure: (e: RankingEntry) => string): Html {
  return html`<div><h3>${title}</h3>${
    entries.length === 0
      ? html`<p class="muted" id="${id}">Nobody yet.</p>`
      : html`<ol id="${id}">${entries.map((e) => html`<li>${e.accountName} <span class="muted mono">${e.accountId}</span> <strong>${figure(e)}</strong></li>`)}</ol>`
  }</div>`;
}

export function trendChart(id: string, title: string, trend: readonly TrendPoint[], days = 90): Html {
  const last = trend.length > 0 ? DateTime.fromISO(trend[trend.length - 1]!.day, { zone: 'utc' }) : null;
  const data = {
    kind: 'trend',
    // uPlot's time axis is in seconds; days are local dates, drawn at their midnight UTC.
    x: trend.map((p) => DateTime.fromISO(p.day, { zone: 'utc' }).toSeconds()),
    y: trend.map((p) => p.rate),
    label: 'compliant %',
    // The whole window, even while few days have snapshots (one point alone would stretch the axis over years).
    range: last ? [last.minus({ days: days - 1 }).toSeconds(), last.toSeconds()] : null,
  };
  const table = html`<table class="data"><thead><tr><th scope="col">Day</th><th scope="col" class="num">Compliance</th><th scope="col" class="num">Evaluated</th></tr></thead>
<tbody>${[...trend].reverse().map((p) => html`<tr><td>${p.day}</td><td class="num">${percent(p.rate)}</td><td class="num">${formatCount(p.evaluated)}</td></tr>`)}</tbody></table>`;
  if (trend.length === 0) return html`<figure class="chart"><figcaption>${title}</figcaption><p class="muted">No snapshots yet.</p></figure>`;
  return chart(id, title, chartData(`${id}-data`, data), table);
}

export function severityChart(id: string, title: string, rows: readonly { severity: string; open: number; overdue: number; excepted: number }[]): Html {
  const data = { kind: 'bars', labels: rows.map((r) => r.severity), series: [{ label: 'open', values: rows.map((r) => r.open) }, { label: 'overdue', values: rows.map((r) => r.overdue) }] };
  return chart(id, title, chartData(`${id}-data`, data), severityTable(rows));
}
