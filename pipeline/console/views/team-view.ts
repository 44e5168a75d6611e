import { html } from 'hono/html';
import type { TeamBoard, TeamFilters } from '../queries/team-board.ts';
import { formatCount, paths } from './format.ts';
import type { Html } from './format.ts';
import { severityChart } from './organisation-view.ts';
import { openFigures, openFindingsTable } from './tables.ts';
import type { ViewContext } from './tables.ts';

/** The URL of a team board with these filters (and page): what people paste into Slack. */
export function teamBoardUrl(owner: string, filters: TeamFilters, page = 1): string {
  const query = new URLSearchParams();
  if (filters.account) query.set('account', filters.account);
  if (filters.rule) query.set('rule', filters.rule);
  if (filters.severity) query.set('severity', filters.severity);
  if (page > 1) query.set('page', String(page));
  const text = query.toString();
  return `${paths.team(owner)}${text ? `?${text}` : ''}`;
}

export function teamView(board: TeamBoard, v: ViewContext): Html {
  const f = board.filters;
  const select = (name: keyof TeamFilters, label: string, options: readonly { key: string; label: string; count: number }[]) => html`<label>${label}
<select name="${name}">
<option value="">all</option>
${options.map((o) => html`<option value="${o.key}"${o.key === f[name] ? html` selected` : ''}>${o.label === o.key ? o.key : `${o.label} (${o.key})`} — ${formatCount(o.count)}</option>`)}
${f[name] && !options.some((o) => o.key === f[name]) ? html`<option value="${f[name]}" selected>${f[name]} — 0</option>` : ''}
</select></label>`;
  const first = (board.page - 1) * board.pageSize + 1;
  const last = first + board.rows.length - 1;
  const pages = Math.max(1, Math.ceil(board.matching / board.pageSize));
  return html`<h1>Team <span class="mono">${board.owner}</span></h1>
${openFigures(board.totals)}
<div class="charts">${severityChart('team-severity', 'Open findings by severity', board.bySeverity)}</div>
<form class="filters" method="get" action="${paths.team(board.owner)}" data-autosubmit>
${select('account', 'Account', board.facets.accounts)}
${select('rule', 'Rule', board.facets.rules)}
${select('severity', 'Severity', board.facets.severities)}
<button type="submit">Apply</button>
<a href="${paths.team(board.owner)}">Clear filters</a>
</form>
<p id="matching">${board.matching === 0 ? 'No open findings match.' : `Showing ${formatCount(first)}–${formatCount(last)} of ${formatCount(board.matching)} open finding(s), soonest deadline first.`}
${board.page > 1 ? html` <a rel="prev" href="${teamBoardUrl(board.owner, f, board.page - 1)}">Previous</a>` : ''}
${board.page < pages ? html` <a rel="next" href="${teamBoardUrl(board.owner, f, board.page + 1)}">Next</a>` : ''}
</p>
${openFindingsTable(board.rows, v, { id: 'team-findings', showOwner: false })}`;
}
