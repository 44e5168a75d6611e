import { DateTime } from 'luxon';
import { html, raw } from 'hono/html';
import { formatCount } from '../../cli/output/format-table.ts';

/** What a view returns: HTML whose every interpolated value was escaped by hono's `html` tag. */
export type Html = ReturnType<typeof html>;

export { formatCount };

/** Dates and durations as the people of one organisation read them: in the SLA calendar's timezone. */
export class DisplayFormat {
  readonly #zone: string;

  constructor(timezone: string) {
    this.#zone = timezone;
  }

  /** `<time>` with the instant in its datetime attribute and local time as text. */
  time(at: Date | null | undefined): Html {
    if (!at) return html`<span class="muted">—</span>`;
    const local = DateTime.fromJSDate(at, { zone: this.#zone });
    return html`<time datetime="${at.toISOString()}">${local.toFormat('yyyy-LL-dd HH:mm ZZZZ')}</time>`;
  }

  /** "3 h 20 min left" or "overdue by 2 d 4 h"; no deadline: em dash. */
  deadline(deadline: Date | null, now: number, excepted = false): Html {
    if (!deadline) return html`<span class="muted">no deadline</span>`;
    const left = deadline.getTime() - now;
    const text = left >= 0 ? `${duration(left)} left` : `overdue by ${duration(-left)}`;
    const cls = excepted ? 'muted' : left < 0 ? 'overdue' : left < 86_400_000 ? 'due-soon' : '';
    return html`<span class="${cls}" title="${DateTime.fromJSDate(deadline, { zone: this.#zone }).toFormat('yyyy-LL-dd HH:mm ZZZZ')}">${text}</span>`;
  }
}

/** 90061000 -> "1 d 1 h"; two units at most, the larger first. */
export function duration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1_440);
  const hours = Math.floor((minutes % 1_440) / 60);
  const mins = minutes % 60;
  if (days > 0) return hours > 0 ? `${days} d ${hours} h` : `${days} d`;
  if (hours > 0) return mins > 0 ? `${hours} h ${mins} min` : `${hours} h`;
  return `${mins} min`;
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${rate.toFixed(rate === 100 ? 0 : 1)} %`;
}

export function severityBadge(severity: string): Html {
  const known = ['Critical', 'High', 'Medium', 'Low'].includes(severity) ? severity.toLowerCase() : 'unknown';
  return html`<span class="sev sev-${known}">${severity}</span>`;
}

/**
 * Data for a chart, in a non-executable `<script type="application/json">` block the chart script reads. JSON.stringify
 * does not escape `<`, so `</script>` inside a value could close the block: every `<`, `>`, `&` and line separator is
 * written as a \u escape, which JSON.parse reads back unchanged.
 */
export function chartData(id: string, data: unknown): Html {
  const json = JSON.stringify(data).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return html`<script type="application/json" id="${id}">${raw(json)}</script>`;
}

/** Links that leave the console: http(s) only, whatever a catalog file says (a `javascript:` URL never becomes a link). */
export function externalLink(url: string | null | undefined, label: string): Html {
  if (!url || !/^https?:\/\//i.test(url)) return html``;
  return html`<a class="external" href="${url}" rel="noopener noreferrer" target="_blank">${label}</a>`;
}

export const paths = {
  organisation: () => '/',
  team: (owner: string) => `/teams/${encodeURIComponent(owner)}`,
  finding: (findingId: string) => `/findings/${encodeURIComponent(findingId)}`,
  rule: (rule: string) => `/rules/${encodeURIComponent(rule)}`,
};
