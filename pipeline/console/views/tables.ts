import { html } from 'hono/html';
import type { OpenCounts } from '../queries/console-database.ts';
import type { BreakdownLine } from '../queries/organisation-board.ts';
import type { OpenFinding } from '../queries/open-findings.ts';
import type { ConsoleLinks } from './console-links.ts';
import { externalLink, formatCount, paths, percent, severityBadge } from './format.ts';
import type { DisplayFormat, Html } from './format.ts';

export interface ViewContext {
  readonly now: number;
  readonly format: DisplayFormat;
  readonly links: ConsoleLinks;
}

/** The three numbers every board leads with. */
export function openFigures(counts: OpenCounts, extra: Html = html``): Html {
  return html`<div class="figures">
  ${extra}
  <div class="figure"><span class="value" data-figure="open">${formatCount(counts.open)}</span><span class="label">open findings</span></div>
  <div class="figure ${counts.overdue > 0 ? 'bad' : ''}"><span class="value" data-figure="overdue">${formatCount(counts.overdue)}</span><span class="label">overdue</span></div>
  <div class="figure"><span class="value" data-figure="excepted">${formatCount(counts.excepted)}</span><span class="label">excepted (accepted risk)</span></div>
</div>`;
}

export function severityTable(rows: readonly (OpenCounts & { readonly severity: string })[]): Html {
  return html`<table class="data" id="by-severity">
<thead><tr><th scope="col">Severity</th><th scope="col" class="num">Open</th><th scope="col" class="num">Overdue</th><th scope="col" class="num">Excepted</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr><td>${severityBadge(r.severity)}</td><td class="num">${formatCount(r.open)}</td><td class="num ${r.overdue > 0 ? 'overdue' : ''}">${formatCount(r.overdue)}</td><td class="num">${formatCount(r.excepted)}</td></tr>`,
  )}</tbody>
</table>`;
}

export interface BreakdownOptions {
  readonly id: string;
  readonly caption: string;
  readonly keyHeader: string;
  readonly href?: (key: string) => string;
  /** Show the compliance rate column (accounts and rules have one in the snapshots). */
  readonly rates: boolean;
  /** Show the key (account id, rule name) under its label. */
  readonly showKey?: boolean;
}

export function breakdownTable(lines: readonly BreakdownLine[], o: BreakdownOptions): Html {
  if (lines.length === 0) return html`<p class="muted" id="${o.id}">${o.caption}: nothing yet.</p>`;
  return html`<table class="data" id="${o.id}">
<caption>${o.caption}</caption>
<thead><tr><th scope="col">${o.keyHeader}</th>${o.rates ? html`<th scope="col" class="num">Compliance</th>` : ''}<th scope="col" class="num">Open</th><th scope="col" class="num">Overdue</th><th scope="col" class="num">Excepted</th></tr></thead>
<tbody>${lines.map(
    (l) => html`<tr>
<td>${o.href ? html`<a href="${o.href(l.key)}">${l.label}</a>` : l.label}${o.showKey && l.key !== l.label ? html` <span class="muted mono">${l.key}</span>` : ''}</td>
${o.rates ? html`<td class="num">${percent(l.rate)}${l.evaluated !== null ? html` <span class="muted">(${formatCount(l.compliant ?? 0)}/${formatCount(l.evaluated)})</span>` : ''}</td>` : ''}
<td class="num">${formatCount(l.open)}</td><td class="num ${l.overdue > 0 ? 'overdue' : ''}">${formatCount(l.overdue)}</td><td class="num">${formatCount(l.excepted)}</td></tr>`,
  )}</tbody>
</table>`;
}

/** Open findings as operators work them: soonest deadline first, with the way to the resource and the runbook. */
export function openFindingsTable(rows: readonly OpenFinding[], v: ViewContext, o: { id: string; showOwner: boolean }): Html {
  if (rows.length === 0) return html`<p class="muted" id="${o.id}">No open findings.</p>`;
  return html`<table class="data findings" id="${o.id}">
<thead><tr>
<th scope="col">Deadline</th><th scope="col">Severity</th><th scope="col">Resource</th><th scope="col">Rule</th><th scope="col">Account</th><th scope="col">Region</th>${o.showOwner ? html`<th scope="col">Team</th>` : ''}<th scope="col">Exception</th><th scope="col">Links</th>
</tr></thead>
<tbody>${rows.map((f) => {
    const runbook = v.links.runbook(f.rule);
    return html`<tr data-finding="${f.findingId}">
<td>${v.format.deadline(f.deadline, v.now, f.exception !== null)}${f.escalatedAt ? html`<br><span class="tag">escalated</span>` : ''}</td>
<td>${severityBadge(f.severity)}</td>
<td><a class="resource" href="${paths.finding(f.findingId)}"><span class="mono">${f.resourceId}</span></a><br><span class="muted">${f.resourceType}</span></td>
<td><a href="${paths.rule(f.rule)}">${f.ruleTitle}</a></td>
<td>${f.accountName}<br><span class="muted mono">${f.accountId}</span></td>
<td>${f.region}</td>
${o.showOwner ? html`<td><a href="${paths.team(f.owner)}">${f.owner}</a></td>` : ''}
<td>${f.exception ? html`<span class="tag" title="${f.exception.reason}">excepted until ${v.format.time(f.exception.until)}</span><br><span class="muted">by ${f.exception.by}</span>` : html`<span class="muted">none</span>`}</td>
<td class="links">${externalLink(v.links.awsConsole(f.region, f.resourceType, f.resourceId), 'AWS Config')} ${externalLink(runbook, 'Runbook')}</td>
</tr>`;
  })}</tbody>
</table>`;
}

/** A chart (drawn by /assets/console.js with uPlot) and its numbers as a table, for readers without JavaScript. */
export function chart(id: string, title: string, dataBlock: Html, fallback: Html): Html {
  return html`<figure class="chart">
<figcaption>${title}</figcaption>
<div class="chart-canvas" data-chart="${id}"></div>
${dataBlock}
<details><summary>As a table</summary>${fallback}</details>
</figure>`;
}
