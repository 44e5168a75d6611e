/**
 * Index names derived from the configured prefix. Events go to one index per UTC month of their ordering time, so the
 * same event always lands in the same index (idempotent redelivery) and retention deletes whole months.
 */
export const IndexNames = {
  events: (prefix: string, orderingTime: number): string => {
    const date = new Date(orderingTime);
    const month = date.getUTCMonth() + 1;
    return `${prefix}-events-${date.getUTCFullYear()}.${month < 10 ? '0' : ''}${month}`;
  },
  /** Matches every monthly event index (and nothing else: the month suffix starts with a digit). */
  eventsPattern: (prefix: string): string => `${prefix}-events-*`,
  /** Alias over all monthly event indices, for people who prefer one name. */
  eventsAlias: (prefix: string): string => `${prefix}-events`,
  findings: (prefix: string): string => `${prefix}-findings`,
  eventsTemplate: (prefix: string): string => `${prefix}-events`,
  findingsTemplate: (prefix: string): string => `${prefix}-findings`,
  retentionPolicy: (prefix: string): string => `${prefix}-events-retention`,
  /** The first instant (UTC ms) of the month an event index holds, or null if `index` is not one of ours. */
  monthStartOf: (prefix: string, index: string): number | null => {
    const match = /^(\d{4})\.(\d{2})$/.exec(index.startsWith(`${prefix}-events-`) ? index.slice(prefix.length + 8) : '');
    if (!match) return null;
    const month = Number(match[2]);
    return month >= 1 && month <= 12 ? Date.UTC(Number(match[1]), month - 1, 1) : null;
  },
} as const;
