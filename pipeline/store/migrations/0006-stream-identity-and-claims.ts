import type { Kysely } from 'kysely';
import { executeStatements } from '../execute-statements.ts';

/**
 * Issue 17, related holes 2 and 3.
 *
 * Shard leases are keyed by the stream's identity, not its name: a stream deleted and recreated under the same name
 * has new shards with the old ids, and must not inherit the old checkpoints. `stream_id` is `<ARN>@<creation time>`
 * (the ARN alone repeats across recreations). Rows written before this migration are `unbound:<name>`; the first
 * consumer of that name binds the ones written while the live stream existed (ShardLeaseManager.useStream). Lease
 * tokens come from one sequence, so owner and token match one row whatever the stream's incarnation: the checkpoint
 * fence (stream_name, shard_id, owner, lease_token) stays exact. `expired_at`: the shard left the stream (retention)
 * before it was read to its end, and was finished so that its children could start.
 *
 * Slack digests get a claim owner (renewals and the pre-post check are fenced by it) and `available_at`, the retry
 * time that `claimed_until` used to double as: claims now run on the database clock, retry times on the notifier's.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await executeStatements(db, `
    alter table shard_leases add column stream_id text;
    update shard_leases set stream_id = 'unbound:' || stream_name;
    alter table shard_leases alter column stream_id set not null;
    alter table shard_leases drop constraint shard_leases_pkey;
    alter table shard_leases add primary key (stream_id, shard_id);
    -- The checkpoint fence and lease renewals find their row by name, shard, owner and token.
    create index shard_leases_by_name on shard_leases (stream_name, shard_id);
    alter table shard_leases add column expired_at timestamptz;
    create sequence shard_lease_token_seq;
    select setval('shard_lease_token_seq', coalesce((select max(lease_token) from shard_leases), 0) + 1, false);

    alter table slack_digests add column claimed_by text;
    alter table slack_digests add column available_at timestamptz;
    update slack_digests set available_at = claimed_until where state <> 'posted';
  `);
}
