import type { AnalystQuery } from './analyst-query.ts';
import { ComplianceTrend } from './queries/compliance-trend.ts';
import { MeanTimeToResolveByRule, MeanTimeToResolveByTeam } from './queries/mean-time-to-resolve.ts';
import { OpenBySeverity } from './queries/open-by-severity.ts';
import { PastDeadline } from './queries/past-deadline.ts';
import { WorstResourceTypes } from './queries/worst-resource-types.ts';

/** The named queries of docs/analyst-queries.md, in the order people usually ask them. */
export const AnalystQueries: readonly AnalystQuery[] = [
  OpenBySeverity,
  PastDeadline,
  MeanTimeToResolveByRule,
  MeanTimeToResolveByTeam,
  ComplianceTrend,
  WorstResourceTypes,
];
