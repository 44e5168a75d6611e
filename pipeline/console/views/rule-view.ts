import { html } from 'hono/html';
import type { RuleDefinition } from '../../../schemas/rule-catalog.ts';
import type { RulePage } from '../queries/rule-page.ts';
import { externalLink, severityBadge } from './format.ts';
import type { Html } from './format.ts';
import { trendChart } from './organisation-view.ts';
import { breakdownTable, openFigures, openFindingsTable } from './tables.ts';
import type { ViewContext } from './tables.ts';

export function ruleView(page: RulePage, rule: RuleDefinition, known: boolean, v: ViewContext, trendDays: number): Html {
  const runbook = v.links.runbook(rule.name);
  const row = (label: string, value: unknown) => html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
  return html`<h1>${severityBadge(rule.severity)} ${rule.title}</h1>
${known ? '' : html`<p class="error">This rule is not in the rule catalog: it gets the catalog's defaults.</p>`}
<table class="facts" id="rule-facts"><tbody>
${row('Rule', html`<span class="mono">${rule.name}</span>`)}
${row('Severity', rule.severity)}
${row('Scope', rule.scope === 'ProductionOnly' ? 'production accounts only' : 'every account')}
${row('Category', rule.category)}
${row('Risk', rule.risk || html`<span class="muted">—</span>`)}
${row('How to fix', rule.remediation || html`<span class="muted">—</span>`)}
${row('Runbook', runbook ? externalLink(runbook, runbook) : html`<span class="muted">none (set runbookUrl in the catalog or DRIFTWATCH_RUNBOOK_BASE_URL)</span>`)}
</tbody></table>
<h2>Where it is non-compliant now</h2>
${openFigures(page.totals)}
<div class="charts">${trendChart('rule-trend', `Compliance with this rule, last ${trendDays} days`, page.trend, trendDays)}</div>
<section>${breakdownTable(page.byAccount, { id: 'rule-by-account', caption: 'Per account', keyHeader: 'Account', rates: true, showKey: true })}</section>
<section>${breakdownTable(page.byRegion, { id: 'rule-by-region', caption: 'Per region', keyHeader: 'Region', rates: false })}</section>
<section><h2>Open findings</h2>${openFindingsTable(page.findings, v, { id: 'rule-findings', showOwner: true })}</section>`;
}
