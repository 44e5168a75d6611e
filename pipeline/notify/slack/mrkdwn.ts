/**
 * Slack mrkdwn control characters are &, < and >: `<!channel>`, `<@U123>` and `<http://x|click>` only mean
 * something when their angle brackets survive. Every string a user or an AWS resource controls goes through this.
 */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A link whose label is escaped; the URL must be one we built (encoded) or a validated config URL. */
export function mrkdwnLink(url: string, label: string): string {
  return `<${url.replace(/&/g, '&amp;').replace(/</g, '%3C').replace(/>/g, '%3E').replace(/\|/g, '%7C')}|${escapeMrkdwn(label)}>`;
}

/** Shortens to at most `max` characters (Slack rejects over-long fields and texts), marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(0, max - 1))}…`;
}

/** Escape, then shorten; the cut never splits an entity such as `&amp;`. */
export function safeText(text: string, max: number): string {
  const escaped = escapeMrkdwn(text);
  if (escaped.length <= max) return escaped;
  let cut = escaped.slice(0, Math.max(0, max - 1));
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  return `${cut}…`;
}

/**
 * `text` as inline code: escaped, shortened, and unable to leave its span. mrkdwn has no escape for a backtick, so one
 * inside the value (a resource id can hold any character) becomes U+02CB MODIFIER LETTER GRAVE ACCENT (ˋ), and a line
 * break (which ends inline code) a blank; the plain-text fallback keeps the exact value.
 */
export function codeSpan(text: string, max: number): string {
  const inner = safeText(text.replaceAll('`', '\u02cb').replace(/[\r\n]+/g, ' '), max);
  return `\`${inner.length > 0 ? inner : ' '}\``;
}

/** A date each reader sees in their own timezone, with a UTC fallback for clients that cannot localize. */
export function slackDate(ms: number): string {
  const seconds = Math.floor(ms / 1_000);
  return `<!date^${seconds}^{date_short_pretty} {time}|${utcText(ms)}>`;
}

export function utcText(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** 45s, 12m, 3h 4m, 2d 5h. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1_000));
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const seconds = total % 60;
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return minutes > 0 ? `${hours}h ${minutes}m` : `${hours}h`;
  if (minutes > 0) return `${minutes}m`;
  return `${seconds}s`;
}

/** Plain text fields (headers, buttons) are not parsed for mentions, but still have length limits. */
export function plainText(text: string, max: number): { readonly type: 'plain_text'; readonly text: string; readonly emoji: true } {
  return { type: 'plain_text', text: truncate(text.replace(/[\r\n]+/g, ' '), max), emoji: true };
}
