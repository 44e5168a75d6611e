import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { Database, FindingsTable } from '../../store/database-schema.ts';
import type { Selectable } from 'kysely';
import { exceptionCoversFinding } from '../../exceptions/exception-matching.ts';
import { consoleDatabase } from './console-database.ts';

export type FindingRow = Selectable<FindingsTable>;

/** One episode of the evaluation key: when it opened and (if it did) resolved. */
export interface Episode {
  readonly findingId: string;
  readonly openedAt: Date;
  readonly openedEventId: string;
  readonly resolvedAt: Date | null;
  readonly resolution: string | null;
  readonly resolvedEventId: string | null;
  readonly deadline: Date | null;
  readonly severity: string;
}

export interface TimelineEntry {
  readonly at: Date;
  readonly what: 'opened' | 'reopened' | 'resolved';
  readonly findingId: string;
  readonly detail: string | null;
  readonly eventId: string;
}

export interface ExceptionHistory {
  readonly id: string;
  readonly rule: string;
  readonly accountId: string | null;
  readonly resourceId: string | null;
  readonly until: Date;
  readonly reason: string;
  readonly createdBy: string;
  readonly revokedAt: Date | null;
  readonly revokedBy: string | null;
  readonly applies: boolean;
  readonly audit: readonly { readonly action: string; readonly actor: string; readonly at: Date }[];
}

export interface SlackRecord {
  readonly channel: string;
  readonly channelId: string | null;
  readonly ts: string | null;
  readonly threadTs: string | null;
  readonly role: string;
  readonly state: string;
  readonly shows: string | null;
  readonly postedAt: Date | null;
  /** The digest message a flood folded this finding into. */
  readonly digest: { readonly channel: string; readonly channelId: string | null; readonly ts: string | null } | null;
}

export interface FindingPage {
  readonly finding: FindingRow;
  readonly current: { readonly compliance: string; readonly orderingTime: Date; readonly inScope: boolean; readonly eventId: string } | null;
  readonly episodes: readonly Episode[];
  readonly timeline: readonly TimelineEntry[];
  readonly escalations: readonly { readonly kind: string; readonly n: number; readonly at: Date; readonly channel: string }[];
  readonly exceptions: readonly ExceptionHistory[];
  readonly slack: readonly SlackRecord[];
}

/** A finding, the other episodes of its evaluation key, and what happened around it (escalations, exceptions, Slack). */
export async function loadFindingPage(database: Kysely<Database>, findingId: string): Promise<FindingPage | null> {
  const db = consoleDatabase(database);
  const finding = await db.selectFrom('findings').selectAll().where('finding_id', '=', findingId).executeTakeFirst();
  if (!finding) return null;
  const [current, episodes, escalations, exceptions, slack] = await Promise.all([
    db
      .selectFrom('evaluations')
      .select(['compliance', 'ordering_time', 'in_scope', 'event_id'])
      .where('evaluation_key', '=', finding.evaluation_key)
      .executeTakeFirst(),
    db
      .selectFrom('findings')
      .select(['finding_id', 'opened_at', 'opened_event_id', 'resolved_at', 'resolution', 'resolved_event_id', 'deadline', 'severity'])
      .where('evaluation_key', '=', finding.evaluation_key)
      .orderBy('opened_at')
      .orderBy('finding_id')
      .execute(),
    db.selectFrom('escalations').select(['kind', 'n', 'at', 'channel']).where('finding_id', '=', findingId).orderBy('n').execute(),
    sql<{
      id: string; rule: string; account_id: string | null; resource_id: string | null; until: Date; reason: string; created_by: string;
      revoked_at: Date | null; revoked_by: string | null; audit: { action: string; actor: string; at: string }[] | string | null;
    }>`
      select e.id, e.rule, e.account_id, e.resource_id, e.until, e.reason, e.created_by, e.revoked_at, e.revoked_by,
        (select json_agg(json_build_object('action', a.action, 'actor', a.actor, 'at', a.at) order by a.at, a.id)
           from exception_audit a where a.exception_id = e.id) as audit
      from risk_exceptions e, findings f
      where f.finding_id = ${findingId} and ${exceptionCoversFinding('e', 'f')}
      order by e.created_at, e.id`.execute(db),
    sql<{
      channel: string; channel_id: string | null; ts: string | null; thread_ts: string | null; role: string; state: string; shows: string | null;
      posted_at: Date | null; digest_channel: string | null; digest_channel_id: string | null; digest_ts: string | null;
    }>`
      select m.channel, m.channel_id, m.ts, m.thread_ts, m.role, m.state, m.shows, m.posted_at,
        d.channel as digest_channel, d.channel_id as digest_channel_id, d.ts as digest_ts
      from slack_messages m
      left join slack_digests d on d.digest_id = m.digest_id
      where m.finding_id = ${findingId}
      order by m.created_at, m.post_key`.execute(db),
  ]);

  const episodeList: Episode[] = episodes.map((e) => ({
    findingId: e.finding_id,
    openedAt: new Date(e.opened_at),
    openedEventId: e.opened_event_id,
    resolvedAt: e.resolved_at === null ? null : new Date(e.resolved_at),
    resolution: e.resolution,
    resolvedEventId: e.resolved_event_id,
    deadline: e.deadline === null ? null : new Date(e.deadline),
    severity: e.severity,
  }));
  const timeline: TimelineEntry[] = [];
  episodeList.forEach((e, i) => {
    timeline.push({ at: e.openedAt, what: i === 0 ? 'opened' : 'reopened', findingId: e.findingId, detail: 'NON_COMPLIANT', eventId: e.openedEventId });
    if (e.resolvedAt) timeline.push({ at: e.resolvedAt, what: 'resolved', findingId: e.findingId, detail: e.resolution, eventId: e.resolvedEventId ?? '' });
  });
  timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
  return {
    finding: {
      ...finding,
      opened_at: new Date(finding.opened_at),
      deadline: finding.deadline === null ? null : new Date(finding.deadline),
      resolved_at: finding.resolved_at === null ? null : new Date(finding.resolved_at),
      escalated_at: finding.escalated_at === null ? null : new Date(finding.escalated_at),
      last_reminder_at: finding.last_reminder_at === null ? null : new Date(finding.last_reminder_at),
    },
    current: current ? { compliance: current.compliance, orderingTime: new Date(current.ordering_time), inScope: current.in_scope, eventId: current.event_id } : null,
    episodes: episodeList,
    timeline,
    escalations: escalations.map((e) => ({ kind: e.kind, n: Number(e.n), at: new Date(e.at), channel: e.channel })),
    exceptions: exceptions.rows.map((e) => ({
      id: e.id,
      rule: e.rule,
      accountId: e.account_id,
      resourceId: e.resource_id,
      until: new Date(e.until),
      reason: e.reason,
      createdBy: e.created_by,
      revokedAt: e.revoked_at === null ? null : new Date(e.revoked_at),
      revokedBy: e.revoked_by,
      applies: e.id === finding.exception_id,
      audit: (typeof e.audit === 'string' ? (JSON.parse(e.audit) as { action: string; actor: string; at: string }[]) : (e.audit ?? [])).map((a) => ({
        action: a.action,
        actor: a.actor,
        at: new Date(a.at),
      })),
    })),
    slack: slack.rows.map((m) => ({
      channel: m.channel,
      channelId: m.channel_id,
      ts: m.ts,
      threadTs: m.thread_ts,
      role: m.role,
      state: m.state,
      shows: m.shows,
      postedAt: m.posted_at === null ? null : new Date(m.posted_at),
      digest: m.digest_channel !== null ? { channel: m.digest_channel, channelId: m.digest_channel_id, ts: m.digest_ts } : null,
    })),
  };
}
