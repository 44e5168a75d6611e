import { html } from 'hono/html';
import type { RuleDefinition } from '../../../schemas/rule-catalog.ts';
import type { FindingPage } from '../queries/finding-page.ts';
import type { EventLogEntry } from '../event-log.ts';
import { duration, externalLink, paths, severityBadge } from './format.ts';
import type { Html } from './format.ts';
import type { ViewContext } from './tables.ts';

export function findingView(page: FindingPage, rule: RuleDefinition, v: ViewContext, eventLog: readonly EventLogEntry[] | string | null): Html {
  const f = page.finding;
  const runbook = v.links.runbook(f.rule);
  const status = f.status === 'open' ? (f.exception_id ? 'open, excepted' : 'open') : `resolved (${f.resolution ?? 'resolved'})`;
  const row = (label: string, value: unknown) => html`<tr><th scope="row">${label}</th><td>${value}</td></tr>`;
  return html`<h1>${severityBadge(f.severity)} ${f.rule_title}</h1>
<p class="status status-${f.status}" id="finding-status">${status}${f.status === 'open' ? html` · ${v.format.deadline(f.deadline, v.now, f.exception_id !== null)}` : ''}</p>
<p class="links">${externalLink(v.links.awsConsole(f.region, f.resource_type, f.resource_id), 'Open in AWS Config')} ${externalLink(runbook, 'Runbook')}</p>
<table class="facts" id="finding-facts"><tbody>
${row('Resource', html`<span class="mono" id="resource-id">${f.resource_id}</span>`)}
${row('Resource type', f.resource_type)}
${row('Account', html`${f.account_name} <span class="muted mono">${f.account_id}</span> (${f.environment})`)}
${row('Region', f.region)}
${row('Rule', html`<a href="${paths.rule(f.rule)}">${f.rule}</a> <span class="muted mono">${f.config_rule_name}</span>`)}
${row('Team', html`<a href="${paths.team(f.owner)}">${f.owner}</a>`)}
${row('Slack channel', f.slack_channel)}
${row('Opened', v.format.time(f.opened_at))}
${row('Deadline', v.format.time(f.deadline))}
${f.resolved_at ? row('Resolved', html`${v.format.time(f.resolved_at)} after ${duration(f.resolved_at.getTime() - f.opened_at.getTime())}`) : ''}
${row('Annotation', f.annotation ? html`<span id="annotation">${f.annotation}</span>` : html`<span class="muted">none</span>`)}
${row('Latest evaluation', page.current ? html`${page.current.compliance} at ${v.format.time(page.current.orderingTime)}${page.current.inScope ? '' : ' (out of scope)'}` : html`<span class="muted">unknown</span>`)}
${row('Finding id', html`<span class="mono">${f.finding_id}</span>`)}
</tbody></table>
<section><h2>Timeline of this resource and rule</h2>
<p class="muted">Every episode of non-compliance of this evaluation key (account, region, rule, resource); event times are AWS Config's ordering timestamps.</p>
<ol class="timeline" id="timeline">${page.timeline.map(
    (t) => html`<li class="${t.findingId === f.finding_id ? 'this' : ''}"><span class="what what-${t.what}">${t.what}</span> ${v.format.time(t.at)}${t.detail ? html` · ${t.detail}` : ''}${
      t.findingId === f.finding_id ? html` <span class="tag">this finding</span>` : html` <a href="${paths.finding(t.findingId)}">episode</a>`
    } <span class="muted mono" title="event id">${t.eventId}</span></li>`,
  )}</ol>
</section>
<section><h2>Escalation</h2>${
    page.escalations.length === 0
      ? html`<p class="muted" id="escalations">Not escalated.</p>`
      : html`<table class="data" id="escalations"><thead><tr><th scope="col">When</th><th scope="col">What</th><th scope="col">Channel</th></tr></thead><tbody>${page.escalations.map(
          (e) => html`<tr><td>${v.format.time(e.at)}</td><td>${e.kind === 'escalation' ? 'escalated to security' : `reminder ${e.n}`}</td><td>${e.channel}</td></tr>`,
        )}</tbody></table>`
  }</section>
<section><h2>Risk exceptions</h2>${
    page.exceptions.length === 0
      ? html`<p class="muted" id="exceptions">No risk exception covers this finding.</p>`
      : html`<table class="data" id="exceptions"><thead><tr><th scope="col">Exception</th><th scope="col">Scope</th><th scope="col">Until</th><th scope="col">Reason</th><th scope="col">History</th></tr></thead><tbody>${page.exceptions.map(
          (e) => html`<tr><td class="mono">${e.id}${e.applies ? html` <span class="tag">applies</span>` : ''}</td>
<td>${e.accountId ?? 'every account'} · ${e.resourceId ?? 'every resource'}</td><td>${v.format.time(e.until)}</td><td>${e.reason}</td>
<td><ul class="plain">${e.audit.map((a) => html`<li>${a.action} by ${a.actor}, ${v.format.time(a.at)}</li>`)}</ul></td></tr>`,
        )}</tbody></table>`
  }</section>
<section><h2>Slack</h2>${
    page.slack.length === 0
      ? html`<p class="muted" id="slack">No Slack message recorded for this finding (yet).</p>`
      : html`<table class="data" id="slack"><thead><tr><th scope="col">Channel</th><th scope="col">Message</th><th scope="col">Shows</th><th scope="col">Posted</th></tr></thead><tbody>${page.slack.map(
          (m) => html`<tr><td>${m.channel}${m.channelId ? html` <span class="muted mono">${m.channelId}</span>` : ''}</td>
<td>${m.digest ? html`in the digest ${m.digest.ts ?? '(not posted yet)'} of ${m.digest.channel}` : html`${m.role}${m.ts ? html` <span class="mono">ts ${m.ts}</span>` : html` (${m.state})`}${m.threadTs ? html` in thread <span class="mono">${m.threadTs}</span>` : ''}`}</td>
<td>${m.shows ?? ''}</td><td>${v.format.time(m.postedAt)}</td></tr>`,
        )}</tbody></table>`
  }</section>
${eventLog === null ? '' : eventLogSection(eventLog, v)}
<section><h2>About the rule</h2><p>${rule.risk || html`<span class="muted">No risk text in the catalog.</span>`}</p>${rule.remediation ? html`<p><strong>Fix:</strong> ${rule.remediation}</p>` : ''}</section>`;
}

function eventLogSection(log: readonly EventLogEntry[] | string, v: ViewContext): Html {
  if (typeof log === 'string') return html`<section><h2>Event log</h2><p class="muted" id="event-log">${log}</p></section>`;
  return html`<section><h2>Event log (OpenSearch)</h2>${
    log.length === 0
      ? html`<p class="muted" id="event-log">No events of this resource and rule in OpenSearch.</p>`
      : html`<table class="data" id="event-log"><thead><tr><th scope="col">Evaluated</th><th scope="col">Result</th><th scope="col">Change</th><th scope="col">Annotation</th><th scope="col">Event</th></tr></thead><tbody>${log.map(
          (e) => html`<tr><td>${v.format.time(e.at)}</td><td>${e.compliance}</td><td>${e.transition}</td><td>${e.annotation ?? ''}</td><td class="mono">${e.eventId}</td></tr>`,
        )}</tbody></table>`
  }</section>`;
}
